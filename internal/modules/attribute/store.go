package attribute

import (
	"context"
	"errors"
	"time"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
)

// Store is the attribute module's narrow view of its database: groups and
// the definitions in them. Both implementations return store.ErrNotFound,
// store.ErrDuplicate (a group slug or definition code taken) and the
// errors below the same way, so the logic maps them to bus codes once.
type Store interface {
	InsertGroup(ctx context.Context, g contract.AttributeGroup) error
	Group(ctx context.Context, id string) (contract.AttributeGroup, error)
	// Groups returns every group ordered by position.
	Groups(ctx context.Context) ([]contract.AttributeGroup, error)
	// UpdateGroup writes name, slug and updated_at if the stored updated_at
	// is still was (else errChanged): a compare-and-swap, so two editors
	// never silently overwrite each other.
	UpdateGroup(ctx context.Context, g contract.AttributeGroup, was time.Time) error
	// ReorderGroups puts ids at positions 0, 1, …, touching updated_at only
	// of those whose position changes.
	ReorderGroups(ctx context.Context, ids []string, now time.Time) error
	// DeleteGroup deletes an empty group; errGroupInUse where the backend
	// can tell that definitions still point at it.
	DeleteGroup(ctx context.Context, id string) error

	InsertDefinition(ctx context.Context, d contract.AttributeDefinition) error
	Definition(ctx context.Context, id string) (contract.AttributeDefinition, error)
	DefinitionByCode(ctx context.Context, code string) (contract.AttributeDefinition, error)
	// GroupDefinitions returns the definitions of one group by position.
	GroupDefinitions(ctx context.Context, groupID string) ([]contract.AttributeDefinition, error)
	// Definitions returns every definition ordered by group and position.
	Definitions(ctx context.Context) ([]contract.AttributeDefinition, error)
	// UpdateDefinition writes every field but group and position, as a
	// compare-and-swap on updated_at like UpdateGroup.
	UpdateDefinition(ctx context.Context, d contract.AttributeDefinition, was time.Time) error
	// ReorderDefinitions puts ids, in that order, into groupID at positions
	// 0, 1, …, touching updated_at only of those whose group or position
	// changes.
	ReorderDefinitions(ctx context.Context, groupID string, ids []string, now time.Time) error
	DeleteDefinition(ctx context.Context, id string) error
}

var (
	// errChanged: a compare-and-swap found the row changed since it was read.
	errChanged = errors.New("changed concurrently")
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
