// Package contract is the shared type library of the modules: for each
// module, one file with its entities, the requests and replies of its
// endpoints, and its events. A module imports contract for the types of
// the others, never their packages, so message formats are checked by the
// compiler on both sides of the bus.
package contract

// The domain modules' names. Each is the module's one name constant: its
// queue on the bus (consumed by every instance of it), its store (SQLite
// file or MongoDB database) and its entry in the registry.
const (
	AuthQueue      = "auth"
	ProductQueue   = "product"
	CategoryQueue  = "category"
	AttributeQueue = "attribute"
	OptionQueue    = "option"
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
