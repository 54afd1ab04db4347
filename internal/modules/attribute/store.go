package attribute

import (
	"context"
	"errors"
	"time"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
)

// Store is the attribute module's narrow view of its database: groups and
// the definitions in them. Both implementations return store.ErrNotFound,
// store.ErrDuplicate (a group slug or definition code taken) and the
// errors below the same way, so the logic maps them to bus codes once.
//
// Versions: a write that names an expected version applies only while the
// group or definition is still at it, checked in the same statement as
// the write (never read, compare, write); 0 where allowed means any
// version. Every write, checked or not, adds one to the version, the
// renumbering of positions included.
//
// Events: every write commits its events with it (the transactional
// outbox, package outbox), in the same SQLite transaction, or on MongoDB
// in the same single-document write as the change (a delete records them
// with outbox.DeleteWith), so an event is never lost between a commit and
// a publish and never announces a write that did not happen: a write that
// fails leaves none. Where the handler knows the payload before the write
// (the version it makes is expected+1), the write takes the events; where
// only the write knows it (which groups or definitions a renumbering
// moves, and their new versions; what a delete removes), it takes an
// announce and calls it inside the write. The module's relay publishes
// what Outbox holds.
type Store interface {
	// InsertGroup stores a new group (at g.Version, 1) with its events.
	InsertGroup(ctx context.Context, g contract.AttributeGroup, events ...outbox.Event) error
	Group(ctx context.Context, id string) (contract.AttributeGroup, error)
	// Groups returns every group ordered by position.
	Groups(ctx context.Context) ([]contract.AttributeGroup, error)
	// UpdateGroup writes name, slug, position and updated_at as version
	// expected+1, if g is still at expected (> 0), with its events.
	UpdateGroup(ctx context.Context, g contract.AttributeGroup, expected int64, events ...outbox.Event) error
	// ReorderGroups puts ids at positions 0, 1, …, touching updated_at
	// and the version only of those whose position changes; moved gets
	// each of those as the renumbering leaves it.
	ReorderGroups(ctx context.Context, ids []string, now time.Time, moved announce[contract.AttributeGroup]) error
	// DeleteGroup deletes an empty group at expected (0: any);
	// errGroupInUse where the backend can tell that definitions still
	// point at it. deleted gets the group as last written.
	DeleteGroup(ctx context.Context, id string, expected int64, deleted announce[contract.AttributeGroup]) error

	// InsertDefinition stores a new definition (at d.Version, 1) with its
	// events.
	InsertDefinition(ctx context.Context, d contract.AttributeDefinition, events ...outbox.Event) error
	Definition(ctx context.Context, id string) (contract.AttributeDefinition, error)
	DefinitionByCode(ctx context.Context, code string) (contract.AttributeDefinition, error)
	// GroupDefinitions returns the definitions of one group by position.
	GroupDefinitions(ctx context.Context, groupID string) ([]contract.AttributeDefinition, error)
	// Definitions returns every definition ordered by group and position.
	Definitions(ctx context.Context) ([]contract.AttributeDefinition, error)
	// UpdateDefinition writes every field of d (group and position
	// included) as version expected+1, if d is still at expected (> 0),
	// with its events.
	UpdateDefinition(ctx context.Context, d contract.AttributeDefinition, expected int64, events ...outbox.Event) error
	// ReorderDefinitions puts ids, in that order, into groupID at positions
	// 0, 1, …, touching updated_at and the version only of those whose
	// group or position changes; moved gets each of those as the
	// renumbering leaves it.
	ReorderDefinitions(ctx context.Context, groupID string, ids []string, now time.Time, moved announce[contract.AttributeDefinition]) error
	// DeleteDefinition deletes definition id at expected (0: any);
	// deleted gets it as last written.
	DeleteDefinition(ctx context.Context, id string, expected int64, deleted announce[contract.AttributeDefinition]) error
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

var (
	// errGroupInUse: a group still has definitions.
	errGroupInUse = errors.New("group has definitions")
	// errNoGroup: a definition names a group that does not exist.
	errNoGroup = errors.New("no such group")
)

// OpenStore returns the Store for db's backend, with its schema or indexes
// in place.
func OpenStore(ctx context.Context, db *store.DB) (Store, error) {
	return store.OpenModule[Store](ctx, db, contract.AttributeQueue, openSQLStore, openMongoStore)
}
