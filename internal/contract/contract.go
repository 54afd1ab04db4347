// Package contract is the shared type library of the modules: for each
// module, one file with its entities, the requests and replies of its
// endpoints, and its events. A module imports contract for the types of
// the others, never their packages, so message formats are checked by the
// compiler on both sides of the bus.
package contract

import (
	"strings"

	"github.com/shopengine/shop/internal/bus"
)

// The domain modules' names. Each is the module's one name constant: its
// queue on the bus (consumed by every instance of it), its store (SQLite
// file or MongoDB database) and its entry in the registry.
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

// Optimistic concurrency (DESIGN.md, Conventions). Every mutable entity
// carries `version`: 1 when created, one more on every write. A write
// request names the version its client read (`version` in the request);
// the module applies it only while the entity is still at that version,
// atomically in its store, and otherwise fails with VersionConflict.
//
// The rule for an expected version of 0, the same in every module:
//   - update_* requests (partial edits merged into what the client read)
//     require it: 0 is invalid, because a stale read would silently undo
//     somebody else's edit;
//   - requests that state their whole outcome (delete, move, add or remove
//     one value, a status) take it optionally: 0 means "whatever the
//     current version", > 0 is checked.
//
// Siblings renumbered as a side effect of a write (positions closing up
// after a move or delete) get a new version without a check of theirs.

// Versioned is an entity that carries its version. The web module sends
// a reply that implements it with `ETag: "<version>"`, so an HTTP client
// can answer with If-Match.
type Versioned interface {
	ETagVersion() int64
}

// versionConflictPrefix starts the message of every version conflict, so
// that a caller on the far side of the bus (which gets only code and
// message) can tell a stale version from other conflicts such as a taken
// slug: web answers the first with 412 when the request came with
// If-Match.
const versionConflictPrefix = "version: "

// VersionConflict is the error of a write that expected version want of
// what ("category 0198…") while it is at have: code conflict, message
// "version: category 0198… is at version 4, not 3; reload it".
func VersionConflict(what string, have, want int64) *bus.Error {
	return bus.Errorf(bus.CodeConflict, "%s%s is at version %d, not %d; reload it", versionConflictPrefix, what, have, want)
}

// IsVersionConflict reports whether err is a VersionConflict, on either
// side of the bus.
func IsVersionConflict(err error) bool {
	be := bus.AsError(err)
	return be != nil && be.Code == bus.CodeConflict && strings.HasPrefix(be.Message, versionConflictPrefix)
}
