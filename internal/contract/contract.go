// Package contract is the shared type library of the modules: for each
// module, one file with its entities, the requests and replies of its
// endpoints, and its events. A module imports contract for the types of
// the others, never their packages, so message formats are checked by the
// compiler on both sides of the bus.
package contract

// Queue names: one per module, consumed by every instance of it.
const (
	AuthQueue      = "auth"
	ProductQueue   = "product"
	CategoryQueue  = "category"
	AttributeQueue = "attribute"
	OptionQueue    = "option"
	CartQueue      = "cart"
	FilterQueue    = "filter"
	ArticleQueue   = "article"
	SEOQueue       = "seo"
)

// Empty is the request or reply of an endpoint that carries nothing.
type Empty struct{}

// Page is one page of every list: its items, the total number of matches,
// and, on lists long enough for keyset paging, the cursor of the next page
// (empty on the last). Every list endpoint replies with a Page, so a client
// learns paging once.
type Page[T any] struct {
	Items      []T    `json:"items"`
	Total      int    `json:"total"`
	NextCursor string `json:"next_cursor,omitempty"`
}
