package web

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
)

// categoryPageSize is the product grid's page: 24 (4 × 6, 3 × 8, 2 × 12).
const categoryPageSize = 24

// maxCategoryPage bounds ?page=: the product list's page is an offset.
const maxCategoryPage = 1000

// sortChoice is one entry of the sort select.
type sortChoice struct {
	Code, Label string
	sort, order string
}

// sortChoices are the category page's sorts; the first is the default.
var sortChoices = []sortChoice{
	{"newest", "Newest", contract.SortCreated, contract.OrderDesc},
	{"price-asc", "Price: low to high", contract.SortPrice, contract.OrderAsc},
	{"price-desc", "Price: high to low", contract.SortPrice, contract.OrderDesc},
	{"name", "Name", contract.SortName, contract.OrderAsc},
}

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
	const noFacets = "Filters are unavailable right now: showing every product in this category."
	if m.seams.facets == nil {
		g.Required("products", list)
		v.Notices = append(v.Notices, notice{Kind: "info", Text: noFacets})
	} else {
		g.Optional("facets", noFacets, func(r *http.Request) error {
			panel, err := m.seams.facets(r, id, r.URL.Query())
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
	for _, c := range cv.Category.Children {
		cv.Children = append(cv.Children, crumb{Name: c.Name, Path: cv.Path + "/" + c.Slug})
	}
	cv.Pages = max(1, (cv.Products.Total+categoryPageSize-1)/categoryPageSize)
	v.Meta = PageMeta{Title: cv.Category.Name, Canonical: withQuery(cv.Path, "page", lq.page),
		Description: "Shop " + cv.Category.Name + ": " + strconv.Itoa(cv.Products.Total) + " products."}
	if lq.sort.Code != sortChoices[0].Code {
		v.Meta.Robots = "noindex,follow" // one indexed order per category
	}
	m.finish(w, r, g, v, "category")
}

// searchPage renders /search. Search is the filter module's (its text
// index and facets); until it is wired (seams.search) the page says so
// with a 503, keeping the query in the box.
func (m *Module) searchPage(w http.ResponseWriter, r *http.Request) {
	if m.seams.search == nil {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
		m.renderError(w, r, http.StatusServiceUnavailable, "Search is not available yet",
			"Searching the catalogue is not available right now; browse the departments in the menu instead.")
		return
	}
	m.seams.search(w, r)
}
