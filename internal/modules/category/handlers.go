package category

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/slugs"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/validate"
)

const (
	maxNameLen        = 200
	maxDescriptionLen = 10_000
	// maxDepth bounds ancestor walks: a deeper tree means corrupt data.
	maxDepth = 100
)

func checkID(field, id string) error { return validate.ID(field, id) }

func checkName(name string) (string, error) { return validate.Name("name", name, maxNameLen) }

func checkDescription(d string) error { return validate.Text("description", d, maxDescriptionLen) }

// load returns the category id, or not_found.
func (m *Module) load(ctx context.Context, id string) (contract.Category, error) {
	c, err := m.store.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return c, bus.Errorf(bus.CodeNotFound, "category %s not found", id)
	}
	if err != nil {
		return c, fmt.Errorf("load category %s: %w", id, err)
	}
	return c, nil
}

// conflict is the error of a write that expected version want of c.
func conflict(c contract.Category, want int64) error {
	return contract.VersionConflict("category "+c.ID, c.Version, want)
}

// checkExpected refuses early, with the exact versions, a write whose
// expected version (0: any) the category is no longer at; the store's
// checked write still guards the race after it.
func checkExpected(c contract.Category, want int64) error {
	if want > 0 && c.Version != want {
		return conflict(c, want)
	}
	return nil
}

// storeError maps a failed write of category id, expected at version
// want, to the bus error the caller gets.
func (m *Module) storeError(ctx context.Context, err error, id string, want int64) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return bus.Errorf(bus.CodeNotFound, "category %s not found", id)
	case errors.Is(err, store.ErrStale):
		// Lost the race after checkExpected: say where it is now.
		c, lerr := m.load(ctx, id)
		if lerr != nil {
			return lerr
		}
		return conflict(c, want)
	}
	return err
}

// parent checks that parentID ("" for the root level) exists.
func (m *Module) parent(ctx context.Context, parentID string) error {
	if parentID == "" {
		return nil
	}
	if err := checkID("parent_id", parentID); err != nil {
		return err
	}
	if _, err := m.store.Get(ctx, parentID); errors.Is(err, store.ErrNotFound) {
		return bus.Errorf(bus.CodeInvalid, "parent_id %s: no such category", parentID)
	} else if err != nil {
		return fmt.Errorf("load parent %s: %w", parentID, err)
	}
	return nil
}

// ancestors returns c's ancestors, root first.
func (m *Module) ancestors(ctx context.Context, c contract.Category) ([]contract.Category, error) {
	var out []contract.Category
	for id := c.ParentID; id != ""; {
		if len(out) == maxDepth {
			return nil, fmt.Errorf("category %s: deeper than %d levels (a cycle?)", c.ID, maxDepth)
		}
		p, err := m.load(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("ancestors of %s: %w", c.ID, err)
		}
		out = append(out, p)
		id = p.ParentID
	}
	slices.Reverse(out)
	return out, nil
}

func ids(cs []contract.Category) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

// insertAt returns list with id at position pos (nil: last), and the index.
func insertAt(list []string, id string, pos *int) ([]string, int, error) {
	at := len(list)
	if pos != nil {
		if *pos < 0 {
			return nil, 0, bus.Errorf(bus.CodeInvalid, "position %d: must be 0 or more", *pos)
		}
		at = min(*pos, len(list))
	}
	return slices.Insert(slices.Clone(list), at, id), at, nil
}

func (m *Module) create(ctx context.Context, req contract.CreateCategoryRequest) (contract.Category, error) {
	name, err := checkName(req.Name)
	if err != nil {
		return contract.Category{}, err
	}
	if err := checkDescription(req.Description); err != nil {
		return contract.Category{}, err
	}
	base, generated := req.Slug, req.Slug == ""
	if generated {
		base = slugs.Make(name, "category")
	} else if err := slugs.Validate(base); err != nil {
		return contract.Category{}, bus.Errorf(bus.CodeInvalid, "%v", err)
	}
	if err := m.parent(ctx, req.ParentID); err != nil {
		return contract.Category{}, err
	}
	siblings, err := m.store.Children(ctx, req.ParentID)
	if err != nil {
		return contract.Category{}, err
	}
	now := m.now()
	c := contract.Category{
		ID: uuid.Must(uuid.NewV7()).String(), Name: name, Description: req.Description,
		ParentID: req.ParentID, Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	order, at, err := insertAt(ids(siblings), c.ID, req.Position)
	if err != nil {
		return contract.Category{}, err
	}
	c.Position = at
	up, err := m.ancestorIDs(ctx, c)
	if err != nil {
		return contract.Category{}, err
	}
	if c.Slug, err = slugs.Claim(base, generated, store.ErrDuplicate, func(slug string) error {
		c.Slug = slug
		ev, err := outbox.New(contract.CategoryCreated, c.ID, event(c, up))
		if err != nil {
			return err
		}
		return m.store.Insert(ctx, c, ev)
	}); err != nil {
		return contract.Category{}, err
	}
	m.relay.Notify()
	if at < len(siblings) {
		if err := m.store.Reorder(ctx, c.ParentID, order, now); err != nil {
			return contract.Category{}, err
		}
	}
	return c, nil
}

func (m *Module) update(ctx context.Context, req contract.UpdateCategoryRequest) (contract.Category, error) {
	if err := checkID("id", req.ID); err != nil {
		return contract.Category{}, err
	}
	if err := validate.Version(req.Version, true); err != nil {
		return contract.Category{}, err
	}
	if req.Name == nil && req.Slug == nil && req.Description == nil {
		return contract.Category{}, bus.Errorf(bus.CodeInvalid, "nothing to update: give name, slug or description")
	}
	var err error
	var name string
	if req.Name != nil {
		if name, err = checkName(*req.Name); err != nil {
			return contract.Category{}, err
		}
	}
	if req.Slug != nil {
		if err := slugs.Validate(*req.Slug); err != nil {
			return contract.Category{}, bus.Errorf(bus.CodeInvalid, "%v", err)
		}
	}
	if req.Description != nil {
		if err := checkDescription(*req.Description); err != nil {
			return contract.Category{}, err
		}
	}
	c, err := m.load(ctx, req.ID)
	if err != nil {
		return c, err
	}
	if err := checkExpected(c, req.Version); err != nil {
		return contract.Category{}, err
	}
	// The slug stays when the name changes: URLs outlive names.
	if req.Name != nil {
		c.Name = name
	}
	if req.Slug != nil {
		c.Slug = *req.Slug
	}
	if req.Description != nil {
		c.Description = *req.Description
	}
	c.UpdatedAt = m.now()
	c.Version = req.Version + 1
	up, err := m.ancestorIDs(ctx, c)
	if err != nil {
		return contract.Category{}, err
	}
	ev, err := outbox.New(contract.CategoryUpdated, c.ID, event(c, up))
	if err != nil {
		return contract.Category{}, err
	}
	switch err := m.store.Update(ctx, c, req.Version, ev); {
	case errors.Is(err, store.ErrDuplicate):
		return contract.Category{}, bus.Errorf(bus.CodeConflict, "slug %q is taken", c.Slug)
	case err != nil:
		return contract.Category{}, m.storeError(ctx, err, c.ID, req.Version)
	}
	m.relay.Notify()
	return c, nil
}

func (m *Module) move(ctx context.Context, req contract.MoveCategoryRequest) (contract.Category, error) {
	if err := checkID("id", req.ID); err != nil {
		return contract.Category{}, err
	}
	if err := validate.Version(req.Version, false); err != nil {
		return contract.Category{}, err
	}
	if req.ParentID == req.ID {
		return contract.Category{}, bus.Errorf(bus.CodeInvalid, "cannot move category %s under itself", req.ID)
	}
	if err := m.parent(ctx, req.ParentID); err != nil {
		return contract.Category{}, err
	}
	c, err := m.load(ctx, req.ID)
	if err != nil {
		return c, err
	}
	if err := checkExpected(c, req.Version); err != nil {
		return contract.Category{}, err
	}
	// The ancestors c will have: the new parent's, then the parent.
	up := []string{}
	if req.ParentID != "" {
		p, err := m.load(ctx, req.ParentID)
		if err != nil {
			return c, err
		}
		above, err := m.ancestors(ctx, p)
		if err != nil {
			return c, err
		}
		if up = append(ids(above), p.ID); slices.Contains(up, c.ID) {
			return c, bus.Errorf(bus.CodeInvalid, "cannot move category %s under its descendant %s", c.ID, p.ID)
		}
	}
	newSiblings, err := m.store.Children(ctx, req.ParentID)
	if err != nil {
		return c, err
	}
	rest := slices.DeleteFunc(ids(newSiblings), func(id string) bool { return id == c.ID })
	order, at, err := insertAt(rest, c.ID, req.Position)
	if err != nil {
		return c, err
	}
	oldParent := c.ParentID
	c.ParentID, c.Position, c.UpdatedAt = req.ParentID, at, m.now()
	// The store builds the event from c as moved: without an expected
	// version only it knows the version the move makes.
	var moved contract.Category
	if err := m.store.Move(ctx, c, req.Version, oldParent, order, func(after contract.Category) ([]outbox.Event, error) {
		moved = after
		ev, err := outbox.New(contract.CategoryMoved, after.ID, event(after, up))
		return []outbox.Event{ev}, err
	}); err != nil {
		return contract.Category{}, m.storeError(ctx, err, c.ID, req.Version)
	}
	m.relay.Notify()
	return moved, nil
}

// closeGap renumbers parentID's children 0, 1, … after one left.
func (m *Module) closeGap(ctx context.Context, parentID string, now time.Time) error {
	left, err := m.store.Children(ctx, parentID)
	if err != nil {
		return err
	}
	return m.store.Reorder(ctx, parentID, ids(left), now)
}

func (m *Module) delete(ctx context.Context, req contract.DeleteCategoryRequest) (contract.DeleteCategoryReply, error) {
	var reply contract.DeleteCategoryReply
	if err := checkID("id", req.ID); err != nil {
		return reply, err
	}
	if err := validate.Version(req.Version, false); err != nil {
		return reply, err
	}
	c, err := m.load(ctx, req.ID)
	if err != nil {
		return reply, err
	}
	if err := checkExpected(c, req.Version); err != nil {
		return reply, err
	}
	// Collect the subtree breadth-first, parents before children.
	subtree := []contract.Category{c}
	for i := 0; i < len(subtree); i++ {
		kids, err := m.store.Children(ctx, subtree[i].ID)
		if err != nil {
			return reply, err
		}
		if len(kids) > 0 && !req.Cascade {
			return reply, bus.Errorf(bus.CodeConflict, "category %s has %d children: delete or move them first, or ask for cascade", c.ID, len(kids))
		}
		subtree = append(subtree, kids...)
	}
	// Events carry ancestors, known only before the delete.
	up, err := m.ancestorIDs(ctx, c)
	if err != nil {
		return reply, err
	}
	anc := map[string][]string{c.ID: up}
	for _, x := range subtree[1:] {
		anc[x.ID] = append(slices.Clone(anc[x.ParentID]), x.ParentID)
	}
	reply.Deleted = ids(subtree)
	if err := m.store.Delete(ctx, reply.Deleted, req.Version, func(x contract.Category) ([]outbox.Event, error) {
		// The delete is the category's last write: its event carries the
		// version after it, so a consumer holding the last update applies it.
		x.Version++
		ev, err := outbox.New(contract.CategoryDeleted, x.ID, event(x, anc[x.ID]))
		return []outbox.Event{ev}, err
	}); err != nil {
		return contract.DeleteCategoryReply{}, m.storeError(ctx, err, c.ID, req.Version)
	}
	m.relay.Notify()
	if err := m.closeGap(ctx, c.ParentID, m.now()); err != nil {
		return reply, err
	}
	return reply, nil
}

func (m *Module) get(ctx context.Context, req contract.CategoryID) (contract.Category, error) {
	if err := checkID("id", req.ID); err != nil {
		return contract.Category{}, err
	}
	return m.load(ctx, req.ID)
}

func (m *Module) getBySlug(ctx context.Context, req contract.CategorySlug) (contract.Category, error) {
	if err := slugs.Validate(req.Slug); err != nil {
		return contract.Category{}, bus.Errorf(bus.CodeInvalid, "%v", err)
	}
	c, err := m.store.BySlug(ctx, req.Slug)
	if errors.Is(err, store.ErrNotFound) {
		return c, bus.Errorf(bus.CodeNotFound, "no category with slug %q", req.Slug)
	}
	return c, err
}

// tree answers from the cached tree while the store's revision has not
// moved, and rebuilds it from one query when it has: correct across
// processes, and cheap for the common case of a tree read far more often
// than written.
func (m *Module) getTree(ctx context.Context, _ contract.Empty) (contract.CategoryTree, error) {
	rev, err := m.store.Revision(ctx)
	if err != nil {
		return contract.CategoryTree{}, err
	}
	m.cache.mu.Lock()
	defer m.cache.mu.Unlock()
	if m.cache.valid && m.cache.rev == rev {
		return m.cache.tree, nil
	}
	// The revision is read before the nodes, so the cached tree is never
	// older than the revision it is filed under.
	nodes, err := m.store.Nodes(ctx)
	if err != nil {
		return contract.CategoryTree{}, err
	}
	t := buildTree(nodes)
	m.cache.rev, m.cache.tree, m.cache.valid = rev, t, true
	return t, nil
}

// treeCache is the last tree built and the revision it was built at.
type treeCache struct {
	mu    sync.Mutex
	valid bool
	rev   int64
	tree  contract.CategoryTree
}

// buildTree nests nodes ordered by parent and position.
func buildTree(nodes []Node) contract.CategoryTree {
	kids := make(map[string][]int, len(nodes)/4+1)
	for i, n := range nodes {
		kids[n.ParentID] = append(kids[n.ParentID], i)
	}
	var build func(parent string, depth int) []contract.CategoryNode
	build = func(parent string, depth int) []contract.CategoryNode {
		idx := kids[parent]
		if depth > maxDepth {
			return nil
		}
		out := make([]contract.CategoryNode, len(idx))
		for i, k := range idx {
			n := nodes[k]
			out[i] = contract.CategoryNode{ID: n.ID, Name: n.Name, Slug: n.Slug, Position: n.Position, Children: build(n.ID, depth+1)}
		}
		return out
	}
	return contract.CategoryTree{Roots: build("", 0), Count: len(nodes)}
}

// page is a whole short list as a Page: every item, no cursor.
func page(items []contract.Category) contract.Page[contract.Category] {
	if items == nil {
		items = []contract.Category{}
	}
	return contract.Page[contract.Category]{Items: items, Total: len(items)}
}

func (m *Module) getBreadcrumbs(ctx context.Context, req contract.CategoryID) (contract.Page[contract.Category], error) {
	if err := checkID("id", req.ID); err != nil {
		return contract.Page[contract.Category]{}, err
	}
	c, err := m.load(ctx, req.ID)
	if err != nil {
		return contract.Page[contract.Category]{}, err
	}
	up, err := m.ancestors(ctx, c)
	if err != nil {
		return contract.Page[contract.Category]{}, err
	}
	return page(append(up, c)), nil
}

func (m *Module) listChildren(ctx context.Context, req contract.ListChildrenRequest) (contract.Page[contract.Category], error) {
	if err := m.parent(ctx, req.ParentID); err != nil {
		if bus.CodeOf(err) == bus.CodeInvalid && req.ParentID != "" && checkID("parent_id", req.ParentID) == nil {
			return contract.Page[contract.Category]{}, bus.Errorf(bus.CodeNotFound, "category %s not found", req.ParentID)
		}
		return contract.Page[contract.Category]{}, err
	}
	kids, err := m.store.Children(ctx, req.ParentID)
	if err != nil {
		return contract.Page[contract.Category]{}, err
	}
	return page(kids), nil
}

// event builds the payload of an event about c, whose ancestors (root
// first) are ancestorIDs. The handlers build it before the write, or the
// store calls them to build it inside the write, so that it goes into the
// outbox with the write it announces (outbox.New).
func event(c contract.Category, ancestorIDs []string) contract.CategoryEvent {
	if ancestorIDs == nil {
		ancestorIDs = []string{}
	}
	return contract.CategoryEvent{ID: c.ID, Version: c.Version, Slug: c.Slug, Name: c.Name, ParentID: c.ParentID, AncestorIDs: ancestorIDs, Position: c.Position}
}

// ancestorIDs returns the ids of c's ancestors, root first, for its events.
func (m *Module) ancestorIDs(ctx context.Context, c contract.Category) ([]string, error) {
	up, err := m.ancestors(ctx, c)
	if err != nil {
		return nil, err
	}
	return ids(up), nil
}
