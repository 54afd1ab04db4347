package contract

import (
	"time"

	"github.com/shopengine/shop/internal/bus"
)

// The filter module answers a whole category page (items, facets with
// disjunctive counts, price histogram, subcategories) in one call, from
// its own read model of the published catalogue. It is fed by the
// product, category, attribute and option events and owns no other data.

// Sorts of search. SortRelevance needs a q; without a q the default is
// SortNewest, with one SortRelevance.
const (
	SortRelevance = "relevance"
	SortPriceAsc  = "price_asc"
	SortPriceDesc = "price_desc"
	SortByName    = "name"
	SortNewest    = "newest"
)

// Limits of search.
const (
	// MaxSearchQueryLen bounds q, in characters.
	MaxSearchQueryLen = 200
	// MaxFacetValues bounds the values of one facet in a reply; a facet
	// with more says More.
	MaxFacetValues = 50
	// MaxSearchPageSize bounds PageSize.
	MaxSearchPageSize = 100
)

// SearchRequest asks for one page of published products and the facets
// around it.
//
// Category (an id or a slug; empty: the whole catalogue) includes its
// descendants. Facets maps a facet code (an attribute code, or an option
// group code) to the selected value codes: OR within a facet, AND across
// facets. A number facet's values are ranges "lo-hi" (either end may be
// left out: "-10", "100-"), as its buckets are coded. PriceMin and
// PriceMax (minor units, inclusive, either may be nil) bound the lowest
// variant price. Q is free text: every word must match a name,
// description or text attribute, the last one as a prefix; its characters
// are plain text, never operators. Page counts from 1 (0: 1); PageSize is
// 1..MaxSearchPageSize (0 is invalid: say how many).
type SearchRequest struct {
	Category string              `json:"category,omitempty"`
	Q        string              `json:"q,omitempty"`
	Facets   map[string][]string `json:"facets,omitempty"`
	PriceMin *int64              `json:"price_min,omitempty"`
	PriceMax *int64              `json:"price_max,omitempty"`
	InStock  bool                `json:"in_stock,omitempty"`
	Sort     string              `json:"sort,omitempty"`
	Page     int                 `json:"page,omitempty"`
	PageSize int                 `json:"page_size"`
}

// SearchItem is a product as a listing shows it: no second call needed.
type SearchItem struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Slug      string    `json:"slug"`
	Currency  string    `json:"currency"`
	PriceMin  int64     `json:"price_min"`
	PriceMax  int64     `json:"price_max"`
	Image     *Image    `json:"image,omitempty"`
	InStock   bool      `json:"in_stock"`
	CreatedAt time.Time `json:"created_at"`
}

// Facet kinds: the attribute types that facet (select, multiselect,
// boolean, number) and option groups.
const (
	FacetSelect      = "select"
	FacetMultiselect = "multiselect"
	FacetBoolean     = "boolean"
	FacetNumber      = "number"
	FacetOption      = "option"
)

// FacetValue is one value of a facet with the number of products it
// would show. Counts are disjunctive: computed with every other facet's
// selection applied and this facet's own left out.
type FacetValue struct {
	Code     string `json:"code"`
	Label    string `json:"label"`
	Count    int    `json:"count"`
	Selected bool   `json:"selected,omitempty"`
}

// Facet is one filterable attribute or option group. Values come
// selected first, then in the attribute's order (allowed values and
// option values by position, yes before no, number buckets ascending);
// at most MaxFacetValues, with More when some were left out. A number
// facet has Min and Max of the matching values.
type Facet struct {
	Code   string       `json:"code"`
	Name   string       `json:"name"`
	Kind   string       `json:"kind"`
	Unit   string       `json:"unit,omitempty"`
	Values []FacetValue `json:"values"`
	More   bool         `json:"more,omitempty"`
	Min    *float64     `json:"min,omitempty"`
	Max    *float64     `json:"max,omitempty"`
}

// PriceBucket is one bar of the price histogram: products whose lowest
// price is in [From, To).
type PriceBucket struct {
	From  int64 `json:"from"`
	To    int64 `json:"to"`
	Count int   `json:"count"`
}

// PriceFacet is the price range of the matching products (the price
// selection left out) and its histogram.
type PriceFacet struct {
	Min       int64         `json:"min"`
	Max       int64         `json:"max"`
	Histogram []PriceBucket `json:"histogram"`
}

// CategoryCount is a subcategory of the current category (a root without
// one) with the number of matching products under it.
type CategoryCount struct {
	ID    string `json:"id"`
	Slug  string `json:"slug"`
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// SearchReply is one page of results, the total, and the facets.
type SearchReply struct {
	Total      int             `json:"total"`
	Page       int             `json:"page"`
	PageSize   int             `json:"page_size"`
	Items      []SearchItem    `json:"items"`
	Facets     []Facet         `json:"facets"`
	Price      PriceFacet      `json:"price"`
	Categories []CategoryCount `json:"categories"`
}

// Search is the filter module's one endpoint.
var Search = bus.Endpoint[SearchRequest, SearchReply]{Queue: FilterQueue, Op: "search"}
