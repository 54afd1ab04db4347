package category

import (
	"context"
	"time"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
)

// Store is the category module's narrow view of its database. Both
// implementations return store.ErrNotFound and store.ErrDuplicate (a slug
// taken) the same way, so the logic maps them to bus codes once.
type Store interface {
	Insert(ctx context.Context, c contract.Category) error
	Get(ctx context.Context, id string) (contract.Category, error)
	BySlug(ctx context.Context, slug string) (contract.Category, error)
	// Children returns parentID's children ordered by position ("" for roots).
	Children(ctx context.Context, parentID string) ([]contract.Category, error)
	// Nodes returns every category's place in the tree, ordered by parent
	// and position.
	Nodes(ctx context.Context) ([]Node, error)
	// Revision is a number that changes with every write, in this process
	// or another: readers cache what they derive from the whole table
	// (the tree) and reload only when it moved.
	Revision(ctx context.Context) (int64, error)
	// Update writes name, slug, description and updated_at.
	Update(ctx context.Context, c contract.Category) error
	// Reorder puts ids, in that order, under parentID at positions 0, 1, …,
	// touching updated_at only of those whose parent or position changes.
	Reorder(ctx context.Context, parentID string, ids []string, now time.Time) error
	Delete(ctx context.Context, ids []string) error
}

// Node is a category's place in the tree.
type Node struct {
	ID, ParentID, Name, Slug string
	Position                 int
}

// OpenStore returns the Store for db's backend, with its schema or indexes
// in place.
func OpenStore(ctx context.Context, db *store.DB) (Store, error) {
	return store.OpenModule[Store](ctx, db, contract.CategoryQueue, openSQLStore, openMongoStore)
}
