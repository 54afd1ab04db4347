package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
)

// categoryPageSize is the product grid's page: 24 (4 × 6, 3 × 8, 2 × 12).
const categoryPageSize = 24

// facetsBudget bounds the filter module's part of a category page within
// the page's budget. Over RabbitMQ a module that is down leaves its queue
// unconsumed, so the call gets no answer until its deadline: without a
// bound of its own it would spend the whole page budget, and the product
// module's plain list, the fallback, would have none left (a 503 instead
// of the degraded page). 600 ms leaves the list 300 ms, what seo's
// answers get (seoBudget).
const facetsBudget = 600 * time.Millisecond

// maxCategoryPage bounds ?page=: the product list's page is an offset.
const maxCategoryPage = 1000

// sortChoice is one entry of the sort select.
type sortChoice struct {
	Code, Label string
	sort, order string
}

// sortChoices are the category page's sorts; the first is the default.
// Their codes are the filter module's, so one URL serves both the
// filtered page and the product list it falls back to.
var sortChoices = []sortChoice{
	{contract.SortNewest, "Newest", contract.SortCreated, contract.OrderDesc},
	{contract.SortPriceAsc, "Price: low to high", contract.SortPrice, contract.OrderAsc},
	{contract.SortPriceDesc, "Price: high to low", contract.SortPrice, contract.OrderDesc},
	{contract.SortByName, "Name", contract.SortName, contract.OrderAsc},
}

// searchSorts are /search's sorts: relevance first (a q is required).
var searchSorts = append([]sortChoice{{Code: contract.SortRelevance, Label: "Relevance"}}, sortChoices...)

// categoryView is a category page.
type categoryView struct {
	Category contract.CategoryNode
	Path     string
	Crumbs   []crumb
	Children []crumb // subcategories with their paths
	Products contract.Page[contract.ProductSummary]
	Facets   *facetPanel // nil: facets unavailable (filter down or not wired)
	Sort     string
	Sorts    []sortChoice
	Page     int
	Pages    int
}

// listQuery is a category page's query: sort and page. Anything else
// (facets) belongs to the filter module and is left to it.
type listQuery struct {
	sort sortChoice
	page int
}

// parseListQuery reads ?sort= and ?page=, refusing values it does not
// know with a message for the page.
func parseListQuery(q url.Values) (listQuery, error) {
	lq := listQuery{sort: sortChoices[0], page: 1}
	if s := q.Get("sort"); s != "" {
		found := false
		for _, c := range sortChoices {
			if c.Code == s {
				lq.sort, found = c, true
			}
		}
		if !found {
			return lq, bus.Errorf(bus.CodeInvalid, "Unknown sort %.40q: choose one from the list.", s)
		}
	}
	if p := q.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > maxCategoryPage {
			return lq, bus.Errorf(bus.CodeInvalid, "Page %.20q: want a page number from 1 to %d.", p, maxCategoryPage)
		}
		lq.page = n
	}
	return lq, nil
}

// categoryPage renders the category id that the catch-all resolved: its
// breadcrumbs and subcategories from the tree, and a page of its products
// (and its subcategories'). Facets come from the filter module when it is
// wired and answers; otherwise the product module's list is shown with a
// notice, so a category page never needs the filter module.
func (m *Module) categoryPage(w http.ResponseWriter, r *http.Request, id string) {
	lq, err := parseListQuery(r.URL.Query())
	if err != nil {
		m.pageError(w, r, err)
		return
	}
	if m.redirectPriceForm(w, r) {
		return
	}
	g := m.gather(r)
	v := m.layout(g, r)
	cv := &categoryView{Sort: lq.sort.Code, Sorts: sortChoices, Page: lq.page}
	v.Page = cv
	m.withSEO(g, v)
	list := func(r *http.Request) (err error) {
		cv.Products, err = call(m, r, contract.ListProducts, contract.ListProductsRequest{CategoryID: id, IncludeDescendants: true,
			Status: contract.ProductPublished, Sort: lq.sort.sort, Order: lq.sort.order, Page: lq.page, PageSize: categoryPageSize})
		return err
	}
	var invalid error
	const noFacets = "Filters are unavailable right now: showing every product in this category."
	if m.seams.facets == nil {
		g.Required("products", list)
		v.Notices = append(v.Notices, notice{Kind: "info", Text: noFacets})
	} else {
		g.Optional("facets", noFacets, func(r *http.Request) error {
			ctx, cancel := context.WithTimeout(r.Context(), facetsBudget)
			defer cancel()
			panel, err := m.seams.facets(r.WithContext(ctx), r.URL.Path, id, r.URL.Query())
			if bus.CodeOf(err) == bus.CodeInvalid {
				invalid = err // the shopper's URL, not the filter, is wrong: a 400
				return nil
			}
			if err == nil {
				cv.Facets, cv.Products = &panel, panel.Products
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		m.pageError(w, r, err)
		return
	}
	if invalid != nil {
		m.pageError(w, r, invalid)
		return
	}
	if m.seams.facets != nil && cv.Facets == nil {
		g.Required("products", list) // the filter module failed: the plain list
	}
	trail := findTrail(v.Header.Menu, id)
	if trail == nil {
		// The menu did not come (or the category moved since): one
		// direct read names the page at least.
		g.Required("category", func(r *http.Request) error {
			c, err := call(m, r, contract.GetCategory, contract.CategoryID{ID: id})
			trail = []contract.CategoryNode{{ID: c.ID, Name: c.Name, Slug: c.Slug}}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		m.pageError(w, r, err)
		return
	}
	cv.Crumbs = crumbsOf(trail)
	cv.Category, cv.Path = trail[len(trail)-1], cv.Crumbs[len(cv.Crumbs)-1].Path
	if cv.Facets != nil {
		for _, c := range cv.Facets.Subcategories {
			cv.Children = append(cv.Children, crumb{Name: c.Name + " (" + strconv.Itoa(c.Count) + ")", Path: cv.Path + "/" + c.Slug})
		}
	} else {
		for _, c := range cv.Category.Children {
			cv.Children = append(cv.Children, crumb{Name: c.Name, Path: cv.Path + "/" + c.Slug})
		}
	}
	cv.Pages = max(1, (cv.Products.Total+categoryPageSize-1)/categoryPageSize)
	v.Meta = PageMeta{Title: cv.Category.Name, Canonical: withQuery(cv.Path, "page", lq.page),
		Description: "Shop " + cv.Category.Name + ": " + strconv.Itoa(cv.Products.Total) + " products."}
	if len(withParam(listingState(r.URL.Query()), "page", "")) > 0 {
		v.Meta.Robots = "noindex,follow" // one indexed order, unfiltered, per category
	}
	m.finish(w, r, g, v, "category")
}

// searchPage renders /search. Search is the filter module's (its text
// index and facets); without it (seams.search nil) the page says so with
// a 503, keeping the query in the box.
func (m *Module) searchPage(w http.ResponseWriter, r *http.Request) {
	if m.seams.search == nil {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
		m.renderError(w, r, http.StatusServiceUnavailable, "Search is not available yet",
			"Searching the catalogue is not available right now; browse the departments in the menu instead.")
		return
	}
	m.seams.search(w, r)
}

// searchView is the /search page: the prompt (no q) or the results.
type searchView struct {
	Q     string
	Panel *facetPanel // nil: no q yet, the page prompts for one
}

// searchResults serves /search from the filter module: q with the same
// facets, price, stock, sort and paging as a category page. No q shows
// the prompt without a bus call; the filter not answering is the 503 of
// a required part.
func (m *Module) searchResults(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if m.redirectPriceForm(w, r) {
		return
	}
	g := m.gather(r)
	v := m.layout(g, r)
	v.Header.Query = q
	sv := &searchView{Q: q}
	v.Page = sv
	v.Meta = PageMeta{Title: "Search", Robots: "noindex,follow"}
	if q != "" {
		v.Meta.Title = "Search: " + q
		g.Required("search", func(r *http.Request) error {
			panel, err := m.filterSearch(r, r.URL.Path, "", r.URL.Query())
			if err == nil {
				sv.Panel = &panel
			}
			return err
		})
	}
	m.finish(w, r, g, v, "search")
}
