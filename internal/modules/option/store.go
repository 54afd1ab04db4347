package option

import (
	"context"
	"errors"
	"slices"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
)

// Store is the option module's narrow view of its database: option groups
// with their values, read and written whole. Both implementations return
// store.ErrNotFound and store.ErrDuplicate (a group code, or a value code
// within a group, taken) the same way, so the logic maps them to bus codes
// once. Groups come back with their values ordered by position, never nil.
type Store interface {
	// Insert stores a new group with its values.
	Insert(ctx context.Context, g contract.OptionGroup) error
	Get(ctx context.Context, id string) (contract.OptionGroup, error)
	ByCode(ctx context.Context, code string) (contract.OptionGroup, error)
	// GetMany returns the groups of ids that exist, in no particular order.
	GetMany(ctx context.Context, ids []string) ([]contract.OptionGroup, error)
	// List returns every group, ordered by code.
	List(ctx context.Context) ([]contract.OptionGroup, error)
	// Modify applies fn to the current state of group id and writes the
	// result (code, name, values, updated_at; id and created_at stay) as
	// one atomic step: a concurrent Modify of the same group, in this
	// process or another, is never lost. fn may run more than once (on a
	// lost race it is re-run on the newer state), so it must depend only
	// on the group it is given; an error from fn aborts without writing.
	// ErrContended reports a group too busy to get a write through.
	Modify(ctx context.Context, id string, fn func(g *contract.OptionGroup) error) (contract.OptionGroup, error)
	// Delete removes group id with its values and returns it as it was.
	Delete(ctx context.Context, id string) (contract.OptionGroup, error)
}

// ErrContended: Modify lost the race for a group's version too many times.
var ErrContended = errors.New("too many concurrent edits")

// OpenStore returns the Store for db's backend, with its schema or indexes
// in place.
func OpenStore(ctx context.Context, db *store.DB) (Store, error) {
	return store.OpenModule[Store](ctx, db, contract.OptionQueue, openSQLStore, openMongoStore)
}

// clone returns g with its own values slice, so that fn in Modify cannot
// touch the state a retry starts from.
func clone(g contract.OptionGroup) contract.OptionGroup {
	g.Values = slices.Clone(g.Values)
	if g.Values == nil {
		g.Values = []contract.OptionValue{}
	}
	return g
}
