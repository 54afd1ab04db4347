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
// store.ErrNotFound, store.ErrDuplicate (a group code, or a value code
// within a group, taken) and errStale the same way, so the logic maps them
// to bus codes once. Groups come back with their values ordered by
// position, never nil.
//
// Versions: a write names the version it expects and applies only while
// the group is still at it, checked in the same statement or transaction
// as the write; every write adds one.
type Store interface {
	// Insert stores a new group (at g.Version, 1) with its values.
	Insert(ctx context.Context, g contract.OptionGroup) error
	Get(ctx context.Context, id string) (contract.OptionGroup, error)
	ByCode(ctx context.Context, code string) (contract.OptionGroup, error)
	// GetMany returns the groups of ids that exist, in no particular order.
	GetMany(ctx context.Context, ids []string) ([]contract.OptionGroup, error)
	// List returns up to limit groups whose codes sort after after ("":
	// from the first), ordered by code: one keyset page.
	List(ctx context.Context, after string, limit int) ([]contract.OptionGroup, error)
	// Count returns the number of groups.
	Count(ctx context.Context) (int, error)
	// Update writes g whole (code, name, values, updated_at; id and
	// created_at stay) as version expected+1, if the group is still at
	// expected (> 0).
	Update(ctx context.Context, g contract.OptionGroup, expected int64) error
	// Delete removes group id with its values, if it is at expected (0:
	// any), and returns it as it was.
	Delete(ctx context.Context, id string, expected int64) (contract.OptionGroup, error)
}

// errStale: the group is not at the version the write expected.
var errStale = errors.New("version moved")

// OpenStore returns the Store for db's backend, with its schema or indexes
// in place.
func OpenStore(ctx context.Context, db *store.DB) (Store, error) {
	return store.OpenModule[Store](ctx, db, contract.OptionQueue, openSQLStore, openMongoStore)
}

// clone returns g with its own values slice, so that a change made to it
// cannot touch the state it was read as.
func clone(g contract.OptionGroup) contract.OptionGroup {
	g.Values = slices.Clone(g.Values)
	if g.Values == nil {
		g.Values = []contract.OptionValue{}
	}
	return g
}
