package web

import (
	"net/http"
	"net/url"

	"github.com/shopengine/shop/internal/contract"
)

// The storefront's seams: where the modules that land after it (seo,
// cart, filter, article) plug in. Each is one function field of seams,
// set in newSeams; a nil one is the module's absence, which every page
// handles as its degraded mode, so wiring a module is one assignment
// there plus its function.
type seams struct {
	// resolve maps an entity path ("/shoes/boots", "/p/x", "/blog/y") to
	// what it names: seo's registry (resolveSEO), which falls back to
	// the direct lookups when seo does not answer.
	resolve func(r *http.Request, path string) (target, error)
	// cartBadge is the header's cart count; nil: no badge.
	cartBadge func(r *http.Request) (cartBadge, error)
	// facets is a category page's facet panel and its filtered product
	// page; nil: the product module's plain list, with a notice (filter
	// down).
	facets func(r *http.Request, path, categoryID string, q url.Values) (facetPanel, error)
	// search serves /search (text and facets); nil: a 503 page saying
	// search is not available.
	search func(w http.ResponseWriter, r *http.Request)
	// articles are the latest articles on the home page; nil: none.
	articles func(r *http.Request, limit int) ([]articleCard, error)
	// meta is seo's metadata of the page r asks for; nil: the page's own
	// defaults.
	meta func(r *http.Request) (PageMeta, error)
}

func (m *Module) newSeams() seams {
	return seams{resolve: m.resolveSEO, meta: m.seoMeta, cartBadge: m.cartBadge, articles: m.latestArticles,
		facets: m.filterSearch, search: m.searchResults}
}

// targetKind is the kind of entity a storefront path names.
type targetKind string

// Kinds of targets.
const (
	targetCategory targetKind = "category"
	targetProduct  targetKind = "product"
	targetArticle  targetKind = "article"
)

// target is what a catch-all path resolves to: an entity, a permanent
// redirect (an old slug) or gone (a deleted entity: 410). An entity is
// named by ID (seo's answer) or, looked up without seo, by Slug.
type target struct {
	Kind     targetKind
	ID       string
	Slug     string
	Redirect string
	Gone     bool
}

// facetPanel is what the filter module gives a listing page (a category
// or /search): the facets with counts, each value's toggle link, the
// selections, the price range, and the page of products they select.
// Every URL in it is the page's state in the search grammar.
type facetPanel struct {
	Path           string
	Q              string
	Sort           string       // the sort select's choice
	SortParam      string       // the URL's sort= ("" the default)
	Sorts          []sortChoice // the select's choices
	Groups         []facetGroup
	Selected       []chip // shown first, each removable
	InStock        bool
	InStockToggle  string
	PriceMin       string // the selected bounds, major units ("" none)
	PriceMax       string
	PriceLow       int64 // the matching products' range, major units
	PriceHigh      int64
	Keep           []keepField // hidden fields of the sort form
	KeepForFilters []keepField // hidden fields of the filter form (q)
	Subcategories  []subcategory
	Products       contract.Page[contract.ProductSummary]
	PageNo, Pages  int
	Prev, Next     string
	// shared numbers a panel that filterSearch shares (MarshalJSON).
	shared uint64
}

// facetGroup is one facet (an attribute or option group) with its values.
type facetGroup struct {
	Code, Name string
	Param      string // its query parameter, f.<code>
	Values     []facetValue
	More       bool
}

// facetValue is one value of a facet with how many products have it and
// the link that toggles it.
type facetValue struct {
	Code, Label string
	Count       int
	Selected    bool
	Toggle      string
}

// chip is a selection shown above the facets with its removal link.
type chip struct{ Label, Remove string }

// keepField is a hidden field carrying state a form does not set.
type keepField struct{ Name, Value string }

// subcategory is a child of the category with its matching count.
type subcategory struct {
	Name, Slug string
	Count      int
}

// articleCard is an article as the home page lists it.
type articleCard struct {
	Title, Path, Excerpt, CoverURL string
}
