package category

import (
	"context"
	"errors"
	"time"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
)

// Store is the category module's narrow view of its database. Both
// implementations return store.ErrNotFound, store.ErrDuplicate (a slug
// taken) and errStale (a version moved) the same way, so the logic maps
// them to bus codes once.
//
// Versions: a write that names an expected version applies only while the
// category is still at it, checked in the same statement as the write
// (never read, compare, write); 0 where allowed means any version. Every
// write of a category, checked or not, adds one to its version, including
// the renumbering of siblings.
type Store interface {
	// Insert stores a new category (at c.Version, 1).
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
	// Update writes name, slug, description and updated_at as version
	// expected+1, if c is still at expected (> 0).
	Update(ctx context.Context, c contract.Category, expected int64) error
	// Move puts c under c.ParentID at c.Position (and c.UpdatedAt), if it
	// is still at expected (0: any), then the ids of order (c's new
	// siblings and c) under c.ParentID at positions 0, 1, …, and, when c
	// changed parent, renumbers the children of oldParent that are left.
	// SQLite does all of it in one transaction; on MongoDB the checked
	// write of c comes first, so a conflict changes nothing.
	Move(ctx context.Context, c contract.Category, expected int64, oldParent string, order []string) error
	// Reorder puts ids, in that order, under parentID at positions 0, 1, …,
	// touching updated_at and the version only of those whose parent or
	// position changes.
	Reorder(ctx context.Context, parentID string, ids []string, now time.Time) error
	// Delete deletes ids, if ids[0] is still at expected (0: any);
	// otherwise it deletes nothing.
	Delete(ctx context.Context, ids []string, expected int64) error
}

// errStale: the category is not at the version the write expected.
var errStale = errors.New("version moved")

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
