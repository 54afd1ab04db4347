package web

import (
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
)

// The category and search pages share the JSON search route's query
// grammar (searchRequest): f.<facet>=v1,v2, price=lo-hi in minor units,
// in_stock=1, sort=, page=. The page URL is the whole state, so every
// link and form below is that grammar re-encoded.

// pageStateParams are the query parameters a listing page keeps in its
// links; any other (a tracking tag, a notice) is left to the page.
var pageStateParams = []string{"q", "price", "in_stock", "sort", "page"}

// Price form fields: the shopper types major units; the page redirects
// them to price=lo-hi in minor units, the grammar's one price parameter.
const (
	priceMinField = "min"
	priceMaxField = "max"
)

// minorPerMajor converts the price form's major units to minor units (the
// shop's currencies have two decimals, as FormatMoney prints them).
const minorPerMajor = 100

// stockShownInStock is the card's stock for a search item in stock: the
// filter module says only whether a product is in stock, so the card
// gets a count high enough for "In stock" and no low-stock hint.
const stockShownInStock = 5

// listingState is a listing page's query reduced to the search grammar.
func listingState(q url.Values) url.Values {
	st := url.Values{}
	for k, vs := range q {
		if strings.HasPrefix(k, facetParam) || slices.Contains(pageStateParams, k) {
			st[k] = vs
		}
	}
	return st
}

// priceFormRedirect is the URL the price form's min/max (major units)
// stand for, as price=lo-hi; ok is false when the query has no min/max.
// An unreadable amount is an invalid error naming the field.
func priceFormRedirect(path string, q url.Values) (string, bool, error) {
	if !q.Has(priceMinField) && !q.Has(priceMaxField) {
		return "", false, nil
	}
	st := listingState(q)
	minor := func(field string) (string, error) {
		s := strings.TrimSpace(q.Get(field))
		if s == "" {
			return "", nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 || math.IsInf(f, 0) || f*minorPerMajor > float64(contract.MaxPrice) {
			return "", bus.Errorf(bus.CodeInvalid, "Price %s %.20q: want an amount such as 25 or 19.99.", field, s)
		}
		return strconv.FormatInt(int64(math.Round(f*minorPerMajor)), 10), nil
	}
	lo, err := minor(priceMinField)
	if err != nil {
		return "", true, err
	}
	hi, err := minor(priceMaxField)
	if err != nil {
		return "", true, err
	}
	st.Del("price")
	st.Del("page")
	if lo != "" || hi != "" {
		st.Set("price", lo+"-"+hi)
	}
	return encodeState(path, st), true, nil
}

// redirectPriceForm answers the price form (min/max in major units) with
// a 303 to the same page with price=lo-hi, or a 400 page for an amount it
// cannot read; it reports whether it answered.
func (m *Module) redirectPriceForm(w http.ResponseWriter, r *http.Request) bool {
	to, ok, err := priceFormRedirect(r.URL.Path, r.URL.Query())
	switch {
	case !ok:
		return false
	case err != nil:
		m.pageError(w, r, err)
	default:
		http.Redirect(w, r, to, http.StatusSeeOther)
	}
	return true
}

// encodeState is path with st as its query.
func encodeState(path string, st url.Values) string {
	if len(st) == 0 {
		return path
	}
	return path + "?" + st.Encode()
}

// withParam is st with k set to v (deleted when v is empty), paging reset
// unless k is the page: a new selection starts at page 1.
func withParam(st url.Values, k, v string) url.Values {
	out := url.Values{}
	for key, vs := range st {
		out[key] = slices.Clone(vs)
	}
	if k != "page" {
		out.Del("page")
	}
	if v == "" {
		out.Del(k)
	} else {
		out.Set(k, v)
	}
	return out
}

// filterSearch asks the filter module for the page of category (empty:
// the whole catalogue) that q selects, and builds its panel with every
// link re-encoding the state. The filter's invalid (an unknown facet or
// value) comes back as is, for the page's 400.
func (m *Module) filterSearch(r *http.Request, path, category string, q url.Values) (facetPanel, error) {
	st := listingState(q)
	req, err := searchRequest(st)
	if err != nil {
		return facetPanel{}, err
	}
	req.Category, req.PageSize = category, categoryPageSize
	// The panel is a function of the path, the state and the reply: it
	// is shared, under a number of its own (see facetPanel.MarshalJSON),
	// by the pages that show the same within the parts' TTL.
	p, err := sharedBy(m, "panel\x00"+path+"\x00"+category+"\x00"+st.Encode(), func() (*facetPanel, error) {
		rep, err := call(m, r, contract.Search, req)
		if err != nil {
			return nil, err
		}
		p := buildPanel(path, st, req, rep)
		if req.Q != "" {
			p.Sorts = searchSorts
		}
		if p.Sort == "" {
			p.Sort = p.Sorts[0].Code
		}
		if m.cfg.PartsTTL > 0 {
			p.shared = sharedIDs.Add(1)
		}
		return &p, nil
	})
	if err != nil {
		return facetPanel{}, err
	}
	return *p, nil
}

// plainPanel is facetPanel without its MarshalJSON.
type plainPanel facetPanel

// MarshalJSON is a shared panel's number, else the panel's plain
// encoding. The render memo's key (memo.go) is the encoding of the
// page's view, and the panel is most of a listing page's view: a number
// stands for it exactly, because a shared panel is never changed after
// it is made and its number is never given to another.
func (p facetPanel) MarshalJSON() ([]byte, error) {
	if p.shared != 0 {
		return append(strconv.AppendUint([]byte(`{"shared_panel":`), p.shared, 10), '}'), nil
	}
	return json.Marshal(plainPanel(p))
}

// buildPanel turns a search reply into the page's panel.
func buildPanel(path string, st url.Values, req contract.SearchRequest, rep contract.SearchReply) facetPanel {
	p := facetPanel{Path: path, InStock: req.InStock, Q: req.Q, Sort: req.Sort, SortParam: req.Sort, Sorts: sortChoices,
		InStockToggle: encodeState(path, withParam(st, "in_stock", map[bool]string{false: "1"}[req.InStock]))}
	p.Products = contract.Page[contract.ProductSummary]{Total: rep.Total}
	for _, it := range rep.Items {
		ps := contract.ProductSummary{ID: it.ID, Name: it.Name, Slug: it.Slug, Currency: it.Currency,
			PriceMin: it.PriceMin, PriceMax: it.PriceMax, Image: it.Image, CreatedAt: it.CreatedAt}
		if it.InStock {
			ps.TotalStock = stockShownInStock
		}
		p.Products.Items = append(p.Products.Items, ps)
	}
	for _, f := range rep.Facets {
		g := facetGroup{Code: f.Code, Name: f.Name, Param: facetParam + f.Code, More: f.More}
		selected := req.Facets[f.Code]
		for _, v := range f.Values {
			fv := facetValue{Code: v.Code, Label: v.Label, Count: v.Count, Selected: v.Selected}
			next := slices.DeleteFunc(slices.Clone(selected), func(s string) bool { return s == v.Code })
			if !v.Selected {
				next = append(next, v.Code)
			}
			fv.Toggle = encodeState(path, withParam(st, g.Param, strings.Join(next, ",")))
			if v.Selected {
				p.Selected = append(p.Selected, chip{Label: f.Name + ": " + v.Label, Remove: fv.Toggle})
			}
			g.Values = append(g.Values, fv)
		}
		p.Groups = append(p.Groups, g)
	}
	if req.PriceMin != nil || req.PriceMax != nil {
		p.Selected = append(p.Selected, chip{Label: "Price: " + priceLabel(req.PriceMin, req.PriceMax),
			Remove: encodeState(path, withParam(st, "price", ""))})
	}
	if req.InStock {
		p.Selected = append(p.Selected, chip{Label: "In stock only", Remove: p.InStockToggle})
	}
	p.PriceMin, p.PriceMax = majorUnits(req.PriceMin), majorUnits(req.PriceMax)
	p.PriceLow, p.PriceHigh = rep.Price.Min/minorPerMajor, (rep.Price.Max+minorPerMajor-1)/minorPerMajor
	p.Keep = keepFields(st, "sort", "page")
	p.KeepForFilters = keepFields(st, "page", "price", "in_stock", "sort")
	p.KeepForFilters = slices.DeleteFunc(p.KeepForFilters, func(kv keepField) bool { return strings.HasPrefix(kv.Name, facetParam) })
	pages := max(1, (rep.Total+categoryPageSize-1)/categoryPageSize)
	page := max(1, req.Page)
	if page > 1 {
		p.Prev = encodeState(path, withParam(st, "page", pageParam(page-1)))
	}
	if page < pages {
		p.Next = encodeState(path, withParam(st, "page", strconv.Itoa(page+1)))
	}
	p.PageNo, p.Pages = page, pages
	for _, c := range rep.Categories {
		p.Subcategories = append(p.Subcategories, subcategory{Name: c.Name, Slug: c.Slug, Count: c.Count})
	}
	return p
}

// pageParam is page n as the URL has it: page 1 is no parameter.
func pageParam(n int) string {
	if n <= 1 {
		return ""
	}
	return strconv.Itoa(n)
}

// keepFields are st's parameters but the named ones, as hidden fields of
// a form that sets those.
func keepFields(st url.Values, drop ...string) []keepField {
	var out []keepField
	for k, vs := range st {
		if slices.Contains(drop, k) {
			continue
		}
		for _, v := range vs {
			out = append(out, keepField{Name: k, Value: v})
		}
	}
	slices.SortFunc(out, func(a, b keepField) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// majorUnits is a price bound as the price form shows it.
func majorUnits(v *int64) string {
	if v == nil {
		return ""
	}
	if *v%minorPerMajor == 0 {
		return strconv.FormatInt(*v/minorPerMajor, 10)
	}
	return strconv.FormatFloat(float64(*v)/minorPerMajor, 'f', 2, 64)
}

// priceLabel is a selected price range in major units.
func priceLabel(lo, hi *int64) string {
	switch {
	case lo == nil:
		return "up to " + majorUnits(hi)
	case hi == nil:
		return "from " + majorUnits(lo)
	}
	return majorUnits(lo) + " to " + majorUnits(hi)
}
