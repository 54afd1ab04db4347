package option

import (
	"context"
	"slices"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
)

// Store is the option module's narrow view of its database: option groups
// with their values, read and written whole. Both implementations return
// store.ErrNotFound, store.ErrDuplicate (a group code, or a value code
// within a group, taken) and store.ErrStale the same way, so the logic maps them
// to bus codes once. Groups come back with their values ordered by
// position, never nil.
//
// Versions: a write names the version it expects and applies only while
// the group is still at it, checked in the same statement or transaction
// as the write; every write adds one.
//
// Events: every write commits its events with it (the transactional
// outbox, package outbox), in the same SQLite transaction, or on MongoDB
// in the same single-document write as the change (a delete records them
// with outbox.DeleteWith), so an event is never lost between a commit and
// a publish and never announces a write that did not happen: a write that
// fails leaves none. Inserts and updates take their events (the handler
// knows the version they make, expected+1); a delete, whose payload is
// the group as the delete finds it, takes an announce and calls it inside
// the write. The module's relay publishes what Outbox holds.
type Store interface {
	// Insert stores a new group (at g.Version, 1) with its values and
	// events.
	Insert(ctx context.Context, g contract.OptionGroup, events ...outbox.Event) error
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
	// expected (> 0), with its events.
	Update(ctx context.Context, g contract.OptionGroup, expected int64, events ...outbox.Event) error
	// Delete removes group id with its values, if it is at expected (0:
	// any), and returns it as it was; deleted gets it as last written.
	Delete(ctx context.Context, id string, expected int64, deleted announce[contract.OptionGroup]) (contract.OptionGroup, error)
	// Outbox is where the writes leave their events for the relay.
	Outbox() outbox.Source
}

// announce builds the events of a write of one entity from the entity as
// the write commits it; the store calls it inside the write, so the events
// are those of what is committed. nil announces nothing.
type announce[T any] func(T) ([]outbox.Event, error)

// events calls a, if there is one.
func (a announce[T]) events(x T) ([]outbox.Event, error) {
	if a == nil {
		return nil, nil
	}
	return a(x)
}

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
