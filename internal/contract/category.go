package contract

import (
	"time"

	"github.com/shopengine/shop/internal/bus"
)

// Category is a node of the category tree.
type Category struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Slug        string    `json:"slug"`
	Description string    `json:"description"`
	ParentID    string    `json:"parent_id,omitempty"` // empty for a root
	Position    int       `json:"position"`            // among siblings, from 0
	Version     int64     `json:"version"`             // 1 when created, +1 on every write
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// ETagVersion implements Versioned.
func (c Category) ETagVersion() int64 { return c.Version }

// CategoryNode is a category in the tree: what navigation needs, with its
// children ordered by position. (Descriptions and timestamps would make a
// tree of thousands of categories several megabytes; get them per id.)
type CategoryNode struct {
	ID       string         `json:"id"`
	Name     string         `json:"name"`
	Slug     string         `json:"slug"`
	Position int            `json:"position"`
	Children []CategoryNode `json:"children"`
}

// CreateCategoryRequest creates a category. Slug is generated from Name
// when empty; Position nil appends after the last sibling.
type CreateCategoryRequest struct {
	Name        string `json:"name"`
	Slug        string `json:"slug,omitempty"`
	Description string `json:"description,omitempty"`
	ParentID    string `json:"parent_id,omitempty"`
	Position    *int   `json:"position,omitempty"`
}

// UpdateCategoryRequest changes the fields that are set, if the category
// is still at Version (required).
type UpdateCategoryRequest struct {
	ID          string  `json:"id"`
	Version     int64   `json:"version"`
	Name        *string `json:"name,omitempty"`
	Slug        *string `json:"slug,omitempty"`
	Description *string `json:"description,omitempty"`
}

// MoveCategoryRequest puts a category under ParentID (empty: make it a root)
// at Position among its new siblings (nil: last); with Version > 0 only if
// the category is still at that version. The siblings whose positions
// change get new versions too.
type MoveCategoryRequest struct {
	ID       string `json:"id"`
	Version  int64  `json:"version,omitempty"`
	ParentID string `json:"parent_id"`
	Position *int   `json:"position,omitempty"`
}

// DeleteCategoryRequest deletes a category; one with children only when
// Cascade is set, and then its whole subtree. With Version > 0 only if the
// category (not its descendants) is still at that version.
type DeleteCategoryRequest struct {
	ID      string `json:"id"`
	Version int64  `json:"version,omitempty"`
	Cascade bool   `json:"cascade,omitempty"`
}

// DeleteCategoryReply lists the ids deleted.
type DeleteCategoryReply struct {
	Deleted []string `json:"deleted"`
}

// CategoryID addresses one category.
type CategoryID struct {
	ID string `json:"id"`
}

// CategorySlug addresses one category by slug.
type CategorySlug struct {
	Slug string `json:"slug"`
}

// ListChildrenRequest lists the children of ParentID (empty: the roots).
type ListChildrenRequest struct {
	ParentID string `json:"parent_id"`
}

// CategoryTree is the whole tree: the roots with their descendants.
type CategoryTree struct {
	Roots []CategoryNode `json:"roots"`
	Count int            `json:"count"`
}

// Category endpoints. Breadcrumbs and children are short ordered lists: a
// Page with every item and no cursor.
var (
	CreateCategory    = bus.Endpoint[CreateCategoryRequest, Category]{Queue: CategoryQueue, Op: "create"}
	UpdateCategory    = bus.Endpoint[UpdateCategoryRequest, Category]{Queue: CategoryQueue, Op: "update"}
	MoveCategory      = bus.Endpoint[MoveCategoryRequest, Category]{Queue: CategoryQueue, Op: "move"}
	DeleteCategory    = bus.Endpoint[DeleteCategoryRequest, DeleteCategoryReply]{Queue: CategoryQueue, Op: "delete"}
	GetCategory       = bus.Endpoint[CategoryID, Category]{Queue: CategoryQueue, Op: "get"}
	GetCategoryBySlug = bus.Endpoint[CategorySlug, Category]{Queue: CategoryQueue, Op: "get_by_slug"}
	GetCategoryTree   = bus.Endpoint[Empty, CategoryTree]{Queue: CategoryQueue, Op: "get_tree"}
	// GetBreadcrumbs is the category's path from its root, the category last.
	GetBreadcrumbs = bus.Endpoint[CategoryID, Page[Category]]{Queue: CategoryQueue, Op: "get_breadcrumbs"}
	ListChildren   = bus.Endpoint[ListChildrenRequest, Page[Category]]{Queue: CategoryQueue, Op: "list_children"}
)

// CategoryEvent is the payload of every category event: enough for a read
// model to place the category without asking (ancestors root first), and
// its version, so that a consumer can ignore an event older than what it
// holds. The event's id is the bus envelope's (bus.Event.ID).
type CategoryEvent struct {
	ID          string   `json:"id"`
	Version     int64    `json:"version"`
	Slug        string   `json:"slug"`
	Name        string   `json:"name"`
	ParentID    string   `json:"parent_id,omitempty"`
	AncestorIDs []string `json:"ancestor_ids"`
	Position    int      `json:"position"`
}

// Category events.
var (
	CategoryCreated = bus.EventType[CategoryEvent]{Topic: "category.created"}
	CategoryUpdated = bus.EventType[CategoryEvent]{Topic: "category.updated"}
	CategoryMoved   = bus.EventType[CategoryEvent]{Topic: "category.moved"}
	CategoryDeleted = bus.EventType[CategoryEvent]{Topic: "category.deleted"}
)
