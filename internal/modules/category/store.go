package category

import (
	"context"
	"time"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
)

// Store is the category module's narrow view of its database. Both
// implementations return store.ErrNotFound, store.ErrDuplicate (a slug
// taken) and store.ErrStale (a version moved) the same way, so the logic maps
// them to bus codes once.
//
// Versions: a write that names an expected version applies only while the
// category is still at it, checked in the same statement as the write
// (never read, compare, write); 0 where allowed means any version. Every
// write of a category, checked or not, adds one to its version, including
// the renumbering of siblings.
//
// Events: a write that announces something commits its events with it
// (the transactional outbox, package outbox), in the same SQLite
// transaction, or on MongoDB in the same single-document write as the
// change (a delete records them with outbox.DeleteWith), so an event is
// never lost between a commit and a publish and never announces a write
// that did not happen: a write that fails leaves none. Where the
// handler knows the payload before the write (the version it will make
// is expected+1), the write takes the events; where only the write knows
// it (the version of a move without an expected version, the categories
// a delete finds), it takes an announce and calls it inside the write.
// The renumbering of siblings announces nothing, as before the outbox:
// only their positions change, while consumers follow parents and
// ancestors (the product module re-indexes on every category.moved), and
// a reader that needs sibling order reads the tree. The module's relay
// publishes what Outbox holds.
type Store interface {
	// Insert stores a new category (at c.Version, 1) with its events.
	Insert(ctx context.Context, c contract.Category, events ...outbox.Event) error
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
	// expected+1, if c is still at expected (> 0), with its events.
	Update(ctx context.Context, c contract.Category, expected int64, events ...outbox.Event) error
	// Move puts c under c.ParentID at c.Position (and c.UpdatedAt), if it
	// is still at expected (0: any), then the ids of order (c's new
	// siblings and c) under c.ParentID at positions 0, 1, …, and, when c
	// changed parent, renumbers the children of oldParent that are left.
	// SQLite does all of it in one transaction; on MongoDB the checked
	// write of c comes first, so a conflict changes nothing. moved gets c
	// as the move leaves it (its new version included), and its events
	// commit with the move of c.
	Move(ctx context.Context, c contract.Category, expected int64, oldParent string, order []string, moved announce[contract.Category]) error
	// Reorder puts ids, in that order, under parentID at positions 0, 1, …,
	// touching updated_at and the version only of those whose parent or
	// position changes.
	Reorder(ctx context.Context, parentID string, ids []string, now time.Time) error
	// Delete deletes ids, if ids[0] is still at expected (0: any);
	// otherwise it deletes nothing. deleted gets each category it deletes
	// as last written (parents before children, as in ids), and the
	// events it returns commit with the delete.
	Delete(ctx context.Context, ids []string, expected int64, deleted announce[contract.Category]) error
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
