package attribute

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/slugs"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/validate"
)

// The attribute group endpoints.

func groupIDs(gs []contract.AttributeGroup) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.ID
	}
	return out
}

// groupWriteError maps a failed write of group id at version want.
func (m *Module) groupWriteError(ctx context.Context, err error, id string, want int64) error {
	return writeError(err, "attribute group "+id, want, func() (int64, error) {
		g, err := m.loadGroup(ctx, id)
		return g.Version, err
	})
}

func (m *Module) createGroup(ctx context.Context, req contract.CreateAttributeGroupRequest) (contract.AttributeGroup, error) {
	name, err := checkName(req.Name)
	if err != nil {
		return contract.AttributeGroup{}, err
	}
	base, generated := req.Slug, req.Slug == ""
	if generated {
		base = slugs.Make(name, "group")
	} else if err := slugs.Validate(base); err != nil {
		return contract.AttributeGroup{}, bus.Errorf(bus.CodeInvalid, "%v", err)
	}
	if err := checkPosition(req.Position); err != nil {
		return contract.AttributeGroup{}, err
	}
	siblings, err := m.store.Groups(ctx)
	if err != nil {
		return contract.AttributeGroup{}, err
	}
	now := m.now()
	g := contract.AttributeGroup{ID: uuid.Must(uuid.NewV7()).String(), Name: name, Version: 1, CreatedAt: now, UpdatedAt: now}
	order, at := insertAt(groupIDs(siblings), g.ID, req.Position)
	g.Position = at
	if g.Slug, err = slugs.Claim(base, generated, store.ErrDuplicate, func(slug string) error {
		g.Slug = slug
		return m.store.InsertGroup(ctx, g)
	}); err != nil {
		return contract.AttributeGroup{}, err
	}
	if at < len(siblings) {
		if err := m.reorderGroups(ctx, siblings, order, now, g.ID); err != nil {
			return contract.AttributeGroup{}, err
		}
	}
	m.publishGroup(ctx, contract.AttributeGroupCreated, g)
	return g, nil
}

// reorderGroups stores order and reports, as they are after it, the
// groups of before whose position it changed, but skip (the group the
// caller reports itself).
func (m *Module) reorderGroups(ctx context.Context, before []contract.AttributeGroup, order []string, now time.Time, skip string) error {
	if err := m.store.ReorderGroups(ctx, order, now); err != nil {
		return err
	}
	after, err := m.store.Groups(ctx)
	if err != nil {
		return err
	}
	was := make(map[string]int, len(before))
	for _, g := range before {
		was[g.ID] = g.Position
	}
	for _, g := range after {
		if at, ok := was[g.ID]; ok && g.ID != skip && at != g.Position {
			m.publishGroup(ctx, contract.AttributeGroupUpdated, g)
		}
	}
	return nil
}

func (m *Module) updateGroup(ctx context.Context, req contract.UpdateAttributeGroupRequest) (contract.AttributeGroup, error) {
	if err := checkID("id", req.ID); err != nil {
		return contract.AttributeGroup{}, err
	}
	if err := validate.Version(req.Version, true); err != nil {
		return contract.AttributeGroup{}, err
	}
	if req.Name == nil && req.Slug == nil && req.Position == nil {
		return contract.AttributeGroup{}, bus.Errorf(bus.CodeInvalid, "nothing to update: give name, slug or position")
	}
	var name string
	var err error
	if req.Name != nil {
		if name, err = checkName(*req.Name); err != nil {
			return contract.AttributeGroup{}, err
		}
	}
	if req.Slug != nil {
		if err := slugs.Validate(*req.Slug); err != nil {
			return contract.AttributeGroup{}, bus.Errorf(bus.CodeInvalid, "%v", err)
		}
	}
	if err := checkPosition(req.Position); err != nil {
		return contract.AttributeGroup{}, err
	}
	g, err := m.loadGroup(ctx, req.ID)
	if err != nil {
		return g, err
	}
	if err := checkExpected("attribute group "+g.ID, g.Version, req.Version); err != nil {
		return contract.AttributeGroup{}, err
	}
	was := g
	// The slug stays when the name changes: URLs outlive names.
	if req.Name != nil {
		g.Name = name
	}
	if req.Slug != nil {
		g.Slug = *req.Slug
	}
	var siblings []contract.AttributeGroup
	var order []string
	if req.Position != nil {
		if siblings, err = m.store.Groups(ctx); err != nil {
			return contract.AttributeGroup{}, err
		}
		order, g.Position = insertAt(without(groupIDs(siblings), g.ID), g.ID, req.Position)
	}
	if g.Name == was.Name && g.Slug == was.Slug && g.Position == was.Position {
		return g, nil // nothing changes: no write, no new version
	}
	now := m.now()
	g.UpdatedAt = now
	switch err := m.store.UpdateGroup(ctx, g, req.Version); {
	case errors.Is(err, store.ErrDuplicate):
		return contract.AttributeGroup{}, bus.Errorf(bus.CodeConflict, "slug %q is taken", g.Slug)
	case err != nil:
		return contract.AttributeGroup{}, m.groupWriteError(ctx, err, g.ID, req.Version)
	}
	g.Version = req.Version + 1
	if g.Position != was.Position {
		if err := m.reorderGroups(ctx, siblings, order, now, g.ID); err != nil {
			return g, err
		}
	}
	m.publishGroup(ctx, contract.AttributeGroupUpdated, g)
	return g, nil
}

func (m *Module) deleteGroup(ctx context.Context, req contract.DeleteAttributeGroupRequest) (contract.DeleteAttributeReply, error) {
	var reply contract.DeleteAttributeReply
	if err := checkID("id", req.ID); err != nil {
		return reply, err
	}
	if err := validate.Version(req.Version, false); err != nil {
		return reply, err
	}
	g, err := m.loadGroup(ctx, req.ID)
	if err != nil {
		return reply, err
	}
	if err := checkExpected("attribute group "+g.ID, g.Version, req.Version); err != nil {
		return reply, err
	}
	defs, err := m.store.GroupDefinitions(ctx, g.ID)
	if err != nil {
		return reply, err
	}
	inUse := func(n int) error {
		return bus.Errorf(bus.CodeConflict, "attribute group %s has %d attributes: delete or move them first", g.ID, n)
	}
	if len(defs) > 0 {
		return reply, inUse(len(defs))
	}
	switch err := m.store.DeleteGroup(ctx, g.ID, req.Version); {
	case errors.Is(err, errGroupInUse):
		return reply, inUse(1)
	case err != nil:
		return reply, m.groupWriteError(ctx, err, g.ID, req.Version)
	}
	// The delete is the group's last write: its event carries the version
	// after it, so a consumer holding the last update applies it.
	g.Version++
	m.publishGroup(ctx, contract.AttributeGroupDeleted, g)
	left, err := m.store.Groups(ctx)
	if err != nil {
		return reply, err
	}
	if err := m.reorderGroups(ctx, left, groupIDs(left), m.now(), ""); err != nil {
		return reply, err
	}
	return contract.DeleteAttributeReply{Deleted: g.ID}, nil
}

func (m *Module) getGroup(ctx context.Context, req contract.AttributeGroupID) (contract.AttributeGroup, error) {
	if err := checkID("id", req.ID); err != nil {
		return contract.AttributeGroup{}, err
	}
	return m.loadGroup(ctx, req.ID)
}

// listGroups answers every group, in position order: a short list, so a
// Page without a cursor.
func (m *Module) listGroups(ctx context.Context, _ contract.Empty) (contract.Page[contract.AttributeGroup], error) {
	gs, err := m.store.Groups(ctx)
	if err != nil {
		return contract.Page[contract.AttributeGroup]{}, err
	}
	if gs == nil {
		gs = []contract.AttributeGroup{}
	}
	return contract.Page[contract.AttributeGroup]{Items: gs, Total: len(gs)}, nil
}
