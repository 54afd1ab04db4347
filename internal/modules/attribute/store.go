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
//
// Versions: a write that names an expected version applies only while the
// group or definition is still at it, checked in the same statement as
// the write (never read, compare, write); 0 where allowed means any
// version. Every write, checked or not, adds one to the version, the
// renumbering of positions included.
type Store interface {
	// InsertGroup stores a new group (at g.Version, 1).
	InsertGroup(ctx context.Context, g contract.AttributeGroup) error
	Group(ctx context.Context, id string) (contract.AttributeGroup, error)
	// Groups returns every group ordered by position.
	Groups(ctx context.Context) ([]contract.AttributeGroup, error)
	// UpdateGroup writes name, slug, position and updated_at as version
	// expected+1, if g is still at expected (> 0).
	UpdateGroup(ctx context.Context, g contract.AttributeGroup, expected int64) error
	// ReorderGroups puts ids at positions 0, 1, …, touching updated_at
	// and the version only of those whose position changes.
	ReorderGroups(ctx context.Context, ids []string, now time.Time) error
	// DeleteGroup deletes an empty group at expected (0: any);
	// errGroupInUse where the backend can tell that definitions still
	// point at it.
	DeleteGroup(ctx context.Context, id string, expected int64) error

	// InsertDefinition stores a new definition (at d.Version, 1).
	InsertDefinition(ctx context.Context, d contract.AttributeDefinition) error
	Definition(ctx context.Context, id string) (contract.AttributeDefinition, error)
	DefinitionByCode(ctx context.Context, code string) (contract.AttributeDefinition, error)
	// GroupDefinitions returns the definitions of one group by position.
	GroupDefinitions(ctx context.Context, groupID string) ([]contract.AttributeDefinition, error)
	// Definitions returns every definition ordered by group and position.
	Definitions(ctx context.Context) ([]contract.AttributeDefinition, error)
	// UpdateDefinition writes every field of d (group and position
	// included) as version expected+1, if d is still at expected (> 0).
	UpdateDefinition(ctx context.Context, d contract.AttributeDefinition, expected int64) error
	// ReorderDefinitions puts ids, in that order, into groupID at positions
	// 0, 1, …, touching updated_at and the version only of those whose
	// group or position changes.
	ReorderDefinitions(ctx context.Context, groupID string, ids []string, now time.Time) error
	// DeleteDefinition deletes definition id at expected (0: any).
	DeleteDefinition(ctx context.Context, id string, expected int64) error
}

var (
	// errStale: the group or definition is not at the version the write
	// expected.
	errStale = errors.New("version moved")
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
