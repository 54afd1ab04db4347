package attribute

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/slugs"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/validate"
)

const (
	maxNameLen = 200
	maxUnitLen = 20
	// usageTimeout bounds the question to the product module; it gets at
	// most half of the caller's remaining time, so that an unreachable
	// product module is answered as unavailable before the caller gives up.
	usageTimeout = 5 * time.Second
)

func checkID(field, id string) error { return validate.ID(field, id) }

func checkName(name string) (string, error) { return validate.Name("name", name, maxNameLen) }

func checkPosition(pos *int) error {
	if pos != nil && *pos < 0 {
		return bus.Errorf(bus.CodeInvalid, "position %d: must be 0 or more", *pos)
	}
	return nil
}

func checkType(t contract.AttributeType) error {
	switch t {
	case contract.AttributeText, contract.AttributeNumber, contract.AttributeBoolean, contract.AttributeSelect, contract.AttributeMultiselect:
		return nil
	case "":
		return bus.Errorf(bus.CodeInvalid, "type: required (text, number, boolean, select or multiselect)")
	}
	return bus.Errorf(bus.CodeInvalid, "type %q: want text, number, boolean, select or multiselect", t)
}

func hasValues(t contract.AttributeType) bool {
	return t == contract.AttributeSelect || t == contract.AttributeMultiselect
}

// cleanValues checks each allowed value on its own (code format, label,
// codes unique) and returns them with labels trimmed; nil for none.
func cleanValues(vs []contract.AllowedValue) ([]contract.AllowedValue, error) {
	if len(vs) == 0 {
		return nil, nil
	}
	if len(vs) > contract.MaxAllowedValues {
		return nil, bus.Errorf(bus.CodeInvalid, "values: %d given, at most %d allowed", len(vs), contract.MaxAllowedValues)
	}
	out := make([]contract.AllowedValue, len(vs))
	seen := make(map[string]bool, len(vs))
	for i, v := range vs {
		if err := validate.Code(fmt.Sprintf("values[%d].code", i), v.Code); err != nil {
			return nil, err
		}
		if seen[v.Code] {
			return nil, bus.Errorf(bus.CodeInvalid, "values[%d].code %q: repeated", i, v.Code)
		}
		seen[v.Code] = true
		label, err := validate.Name(fmt.Sprintf("values[%d].label", i), v.Label, maxNameLen)
		if err != nil {
			return nil, err
		}
		out[i] = contract.AllowedValue{Code: v.Code, Label: label}
	}
	return out, nil
}

// cleanUnit trims an optional unit ("kg", "cm") and checks it.
func cleanUnit(unit string) (string, error) {
	unit = strings.TrimSpace(unit)
	if unit == "" {
		return "", nil
	}
	return validate.Name("unit", unit, maxUnitLen)
}

// checkShape checks what the type allows: values for select types only
// (at least one), a unit for numbers only.
func checkShape(d contract.AttributeDefinition) error {
	if hasValues(d.Type) && len(d.Values) == 0 {
		return bus.Errorf(bus.CodeInvalid, "values: a %s attribute needs at least one allowed value", d.Type)
	}
	if !hasValues(d.Type) && len(d.Values) > 0 {
		return bus.Errorf(bus.CodeInvalid, "values: only select and multiselect attributes have allowed values, not %s", d.Type)
	}
	if d.Type != contract.AttributeNumber && d.Unit != "" {
		return bus.Errorf(bus.CodeInvalid, "unit: only number attributes have a unit, not %s", d.Type)
	}
	return nil
}

// loadGroup returns the group, or not_found.
func (m *Module) loadGroup(ctx context.Context, id string) (contract.AttributeGroup, error) {
	g, err := m.store.Group(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return g, bus.Errorf(bus.CodeNotFound, "attribute group %s not found", id)
	}
	return g, err
}

// loadDefinition returns the definition, or not_found.
func (m *Module) loadDefinition(ctx context.Context, id string) (contract.AttributeDefinition, error) {
	d, err := m.store.Definition(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return d, bus.Errorf(bus.CodeNotFound, "attribute %s not found", id)
	}
	return d, err
}

// groupExists checks a group_id given for a definition: invalid, not
// not_found, when it names no group (the request is wrong, not its target).
func (m *Module) groupExists(ctx context.Context, id string) error {
	if err := checkID("group_id", id); err != nil {
		return err
	}
	if _, err := m.store.Group(ctx, id); errors.Is(err, store.ErrNotFound) {
		return bus.Errorf(bus.CodeInvalid, "group_id %s: no such attribute group", id)
	} else if err != nil {
		return err
	}
	return nil
}

// insertAt returns list with id at position pos (nil: last), and the index.
func insertAt(list []string, id string, pos *int) ([]string, int) {
	at := len(list)
	if pos != nil {
		at = min(*pos, len(list))
	}
	return slices.Insert(slices.Clone(list), at, id), at
}

func without(list []string, id string) []string {
	return slices.DeleteFunc(slices.Clone(list), func(x string) bool { return x == id })
}

func groupIDs(gs []contract.AttributeGroup) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.ID
	}
	return out
}

func definitionIDs(ds []contract.AttributeDefinition) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

// after returns a write time later than was, so that every write moves
// updated_at and the compare-and-swap on it stays sound.
func (m *Module) after(was time.Time) time.Time {
	t := m.now()
	if !t.After(was) {
		t = was.Add(time.Millisecond)
	}
	return t
}

// --- groups ---

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
	g := contract.AttributeGroup{ID: uuid.Must(uuid.NewV7()).String(), Name: name, CreatedAt: now, UpdatedAt: now}
	order, at := insertAt(groupIDs(siblings), g.ID, req.Position)
	g.Position = at
	if g.Slug, err = slugs.Claim(base, generated, store.ErrDuplicate, func(slug string) error {
		g.Slug = slug
		return m.store.InsertGroup(ctx, g)
	}); err != nil {
		return contract.AttributeGroup{}, err
	}
	if at < len(siblings) {
		if err := m.reorderGroups(ctx, siblings, order, now); err != nil {
			return contract.AttributeGroup{}, err
		}
	}
	m.publishGroup(ctx, contract.AttributeGroupCreated, g)
	return g, nil
}

// reorderGroups stores order and reports the groups of before whose
// position it changed.
func (m *Module) reorderGroups(ctx context.Context, before []contract.AttributeGroup, order []string, now time.Time) error {
	if err := m.store.ReorderGroups(ctx, order, now); err != nil {
		return err
	}
	for _, g := range before {
		if at := slices.Index(order, g.ID); at >= 0 && at != g.Position {
			g.Position, g.UpdatedAt = at, now
			m.publishGroup(ctx, contract.AttributeGroupUpdated, g)
		}
	}
	return nil
}

func (m *Module) updateGroup(ctx context.Context, req contract.UpdateAttributeGroupRequest) (contract.AttributeGroup, error) {
	if err := checkID("id", req.ID); err != nil {
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
	was, changed := g, false
	// The slug stays when the name changes: URLs outlive names.
	if req.Name != nil {
		g.Name = name
	}
	if req.Slug != nil {
		g.Slug = *req.Slug
	}
	if g.Name != was.Name || g.Slug != was.Slug {
		changed = true
		g.UpdatedAt = m.after(was.UpdatedAt)
		switch err := m.store.UpdateGroup(ctx, g, was.UpdatedAt); {
		case errors.Is(err, store.ErrDuplicate):
			return contract.AttributeGroup{}, bus.Errorf(bus.CodeConflict, "slug %q is taken", g.Slug)
		case errors.Is(err, store.ErrNotFound):
			return contract.AttributeGroup{}, bus.Errorf(bus.CodeNotFound, "attribute group %s not found", g.ID)
		case errors.Is(err, errChanged):
			return contract.AttributeGroup{}, bus.Errorf(bus.CodeConflict, "attribute group %s was changed by someone else: reload and retry", g.ID)
		case err != nil:
			return contract.AttributeGroup{}, err
		}
	}
	if req.Position != nil {
		siblings, err := m.store.Groups(ctx)
		if err != nil {
			return g, err
		}
		order, _ := insertAt(without(groupIDs(siblings), g.ID), g.ID, req.Position)
		others := slices.DeleteFunc(siblings, func(x contract.AttributeGroup) bool { return x.ID == g.ID })
		if err := m.reorderGroups(ctx, others, order, m.now()); err != nil {
			return g, err
		}
		if g, err = m.loadGroup(ctx, g.ID); err != nil {
			return g, err
		}
		changed = changed || g.Position != was.Position
	}
	if changed {
		m.publishGroup(ctx, contract.AttributeGroupUpdated, g)
	}
	return g, nil
}

func (m *Module) deleteGroup(ctx context.Context, req contract.AttributeGroupID) (contract.DeleteAttributeReply, error) {
	var reply contract.DeleteAttributeReply
	if err := checkID("id", req.ID); err != nil {
		return reply, err
	}
	g, err := m.loadGroup(ctx, req.ID)
	if err != nil {
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
	switch err := m.store.DeleteGroup(ctx, g.ID); {
	case errors.Is(err, errGroupInUse):
		return reply, inUse(1)
	case errors.Is(err, store.ErrNotFound):
		return reply, bus.Errorf(bus.CodeNotFound, "attribute group %s not found", g.ID)
	case err != nil:
		return reply, err
	}
	left, err := m.store.Groups(ctx)
	if err != nil {
		return reply, err
	}
	m.publishGroup(ctx, contract.AttributeGroupDeleted, g)
	if err := m.reorderGroups(ctx, left, groupIDs(left), m.now()); err != nil {
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

func (m *Module) listGroups(ctx context.Context, _ contract.Empty) (contract.AttributeGroupList, error) {
	gs, err := m.store.Groups(ctx)
	if gs == nil {
		gs = []contract.AttributeGroup{}
	}
	return contract.AttributeGroupList{Items: gs}, err
}

// --- definitions ---

func (m *Module) create(ctx context.Context, req contract.CreateAttributeDefinitionRequest) (contract.AttributeDefinition, error) {
	var d contract.AttributeDefinition
	if err := validate.Code("code", req.Code); err != nil {
		return d, err
	}
	name, err := checkName(req.Name)
	if err != nil {
		return d, err
	}
	if err := checkType(req.Type); err != nil {
		return d, err
	}
	values, err := cleanValues(req.Values)
	if err != nil {
		return d, err
	}
	unit, err := cleanUnit(req.Unit)
	if err != nil {
		return d, err
	}
	if err := checkPosition(req.Position); err != nil {
		return d, err
	}
	now := m.now()
	d = contract.AttributeDefinition{
		ID: uuid.Must(uuid.NewV7()).String(), Code: req.Code, Name: name, GroupID: req.GroupID, Type: req.Type,
		Values: values, Unit: unit, Filterable: req.Filterable, Required: req.Required, CreatedAt: now, UpdatedAt: now,
	}
	if err := checkShape(d); err != nil {
		return contract.AttributeDefinition{}, err
	}
	if err := m.groupExists(ctx, req.GroupID); err != nil {
		return contract.AttributeDefinition{}, err
	}
	siblings, err := m.store.GroupDefinitions(ctx, d.GroupID)
	if err != nil {
		return contract.AttributeDefinition{}, err
	}
	order, at := insertAt(definitionIDs(siblings), d.ID, req.Position)
	d.Position = at
	switch err := m.store.InsertDefinition(ctx, d); {
	case errors.Is(err, store.ErrDuplicate):
		return contract.AttributeDefinition{}, bus.Errorf(bus.CodeConflict, "code %q is taken", d.Code)
	case errors.Is(err, errNoGroup):
		return contract.AttributeDefinition{}, bus.Errorf(bus.CodeInvalid, "group_id %s: no such attribute group", d.GroupID)
	case err != nil:
		return contract.AttributeDefinition{}, err
	}
	if at < len(siblings) {
		if err := m.reorderDefinitions(ctx, d.GroupID, siblings, order, now); err != nil {
			return contract.AttributeDefinition{}, err
		}
	}
	m.publishDefinition(ctx, contract.AttributeDefinitionCreated, d)
	return d, nil
}

// reorderDefinitions stores order in groupID and reports the definitions
// of before whose group or position it changed.
func (m *Module) reorderDefinitions(ctx context.Context, groupID string, before []contract.AttributeDefinition, order []string, now time.Time) error {
	switch err := m.store.ReorderDefinitions(ctx, groupID, order, now); {
	case errors.Is(err, errNoGroup):
		return bus.Errorf(bus.CodeInvalid, "group_id %s: no such attribute group", groupID)
	case err != nil:
		return err
	}
	for _, d := range before {
		if at := slices.Index(order, d.ID); at >= 0 && (at != d.Position || d.GroupID != groupID) {
			d.GroupID, d.Position, d.UpdatedAt = groupID, at, now
			m.publishDefinition(ctx, contract.AttributeDefinitionUpdated, d)
		}
	}
	return nil
}

// updateChecks checks the fields of an update on their own, before
// anything is loaded.
func updateChecks(req contract.UpdateAttributeDefinitionRequest) (name, unit string, values []contract.AllowedValue, err error) {
	if err := checkID("id", req.ID); err != nil {
		return "", "", nil, err
	}
	if req.Code == nil && req.Name == nil && req.GroupID == nil && req.Type == nil && req.Values == nil &&
		req.Unit == nil && req.Filterable == nil && req.Required == nil && req.Position == nil {
		return "", "", nil, bus.Errorf(bus.CodeInvalid, "nothing to update: give code, name, group_id, type, values, unit, filterable, required or position")
	}
	if req.Code != nil {
		if err := validate.Code("code", *req.Code); err != nil {
			return "", "", nil, err
		}
	}
	if req.Name != nil {
		if name, err = checkName(*req.Name); err != nil {
			return "", "", nil, err
		}
	}
	if req.GroupID != nil {
		if err := checkID("group_id", *req.GroupID); err != nil {
			return "", "", nil, err
		}
	}
	if req.Type != nil {
		if err := checkType(*req.Type); err != nil {
			return "", "", nil, err
		}
	}
	if req.Values != nil {
		if values, err = cleanValues(*req.Values); err != nil {
			return "", "", nil, err
		}
	}
	if req.Unit != nil {
		if unit, err = cleanUnit(*req.Unit); err != nil {
			return "", "", nil, err
		}
	}
	return name, unit, values, checkPosition(req.Position)
}

func (m *Module) update(ctx context.Context, req contract.UpdateAttributeDefinitionRequest) (contract.AttributeDefinition, error) {
	name, unit, values, err := updateChecks(req)
	if err != nil {
		return contract.AttributeDefinition{}, err
	}
	d, err := m.loadDefinition(ctx, req.ID)
	if err != nil {
		return d, err
	}
	was := d
	if req.Code != nil {
		d.Code = *req.Code
	}
	if req.Name != nil {
		d.Name = name
	}
	if req.Type != nil {
		d.Type = *req.Type
	}
	// Values and unit the new type cannot have go, unless given.
	switch {
	case req.Values != nil:
		d.Values = values
	case !hasValues(d.Type):
		d.Values = nil
	}
	switch {
	case req.Unit != nil:
		d.Unit = unit
	case d.Type != contract.AttributeNumber:
		d.Unit = ""
	}
	if req.Filterable != nil {
		d.Filterable = *req.Filterable
	}
	if req.Required != nil {
		d.Required = *req.Required
	}
	if err := checkShape(d); err != nil {
		return contract.AttributeDefinition{}, err
	}
	moveTo := d.GroupID
	if req.GroupID != nil && *req.GroupID != d.GroupID {
		moveTo = *req.GroupID
		if err := m.groupExists(ctx, moveTo); err != nil {
			return contract.AttributeDefinition{}, err
		}
	}
	if err := m.refuseOrphaning(ctx, was, d); err != nil {
		return contract.AttributeDefinition{}, err
	}
	if !sameContent(d, was) {
		d.UpdatedAt = m.after(was.UpdatedAt)
		switch err := m.store.UpdateDefinition(ctx, d, was.UpdatedAt); {
		case errors.Is(err, store.ErrDuplicate):
			return contract.AttributeDefinition{}, bus.Errorf(bus.CodeConflict, "code %q is taken", d.Code)
		case errors.Is(err, store.ErrNotFound):
			return contract.AttributeDefinition{}, bus.Errorf(bus.CodeNotFound, "attribute %s not found", d.ID)
		case errors.Is(err, errChanged):
			return contract.AttributeDefinition{}, bus.Errorf(bus.CodeConflict, "attribute %s was changed by someone else: reload and retry", d.ID)
		case err != nil:
			return contract.AttributeDefinition{}, err
		}
	}
	if moveTo != was.GroupID || req.Position != nil {
		if err := m.place(ctx, d, moveTo, req.Position); err != nil {
			return contract.AttributeDefinition{}, err
		}
		if d, err = m.loadDefinition(ctx, d.ID); err != nil {
			return d, err
		}
	}
	if !sameContent(d, was) || d.GroupID != was.GroupID || d.Position != was.Position {
		m.publishDefinition(ctx, contract.AttributeDefinitionUpdated, d)
	}
	return d, nil
}

// sameContent reports whether a and b agree in everything UpdateDefinition
// writes.
func sameContent(a, b contract.AttributeDefinition) bool {
	return a.Code == b.Code && a.Name == b.Name && a.Type == b.Type && slices.Equal(a.Values, b.Values) &&
		a.Unit == b.Unit && a.Filterable == b.Filterable && a.Required == b.Required
}

// place puts d into groupID at pos (nil: last when it changes group, else
// where it is) and closes the gap it leaves in its old group.
func (m *Module) place(ctx context.Context, d contract.AttributeDefinition, groupID string, pos *int) error {
	siblings, err := m.store.GroupDefinitions(ctx, groupID)
	if err != nil {
		return err
	}
	others := slices.DeleteFunc(siblings, func(x contract.AttributeDefinition) bool { return x.ID == d.ID })
	order, _ := insertAt(definitionIDs(others), d.ID, pos)
	now := m.now()
	if err := m.reorderDefinitions(ctx, groupID, others, order, now); err != nil {
		return err
	}
	if groupID != d.GroupID {
		left, err := m.store.GroupDefinitions(ctx, d.GroupID)
		if err != nil {
			return err
		}
		return m.reorderDefinitions(ctx, d.GroupID, left, definitionIDs(left), now)
	}
	return nil
}

// refuseOrphaning asks the product module whether products use what the
// change from was to d takes away: the code, the type, or allowed values.
func (m *Module) refuseOrphaning(ctx context.Context, was, d contract.AttributeDefinition) error {
	switch {
	case d.Code != was.Code:
		return m.refuseIfUsed(ctx, was.Code, "", fmt.Sprintf("change its code to %q", d.Code))
	case d.Type != was.Type:
		return m.refuseIfUsed(ctx, was.Code, "", fmt.Sprintf("change its type from %s to %s", was.Type, d.Type))
	}
	for _, v := range was.Values {
		if !slices.ContainsFunc(d.Values, func(x contract.AllowedValue) bool { return x.Code == v.Code }) {
			if err := m.refuseIfUsed(ctx, was.Code, v.Code, fmt.Sprintf("remove its value %q", v.Code)); err != nil {
				return err
			}
		}
	}
	return nil
}

// refuseIfUsed answers conflict when products use attribute code (or, with
// value, that allowed value of it), and unavailable or timeout when the
// product module cannot tell: a change that would orphan product data is
// never made blindly. change says what would be done ("delete it").
func (m *Module) refuseIfUsed(ctx context.Context, code, value, change string) error {
	budget := usageTimeout
	if dl, ok := ctx.Deadline(); ok {
		budget = min(budget, time.Until(dl)/2)
	}
	actx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	usage, err := bus.Call(actx, m.Bus, contract.ProductsUsingAttribute, contract.AttributeUsageRequest{Code: code, Value: value})
	if err != nil {
		switch c := bus.CodeOf(err); c {
		case bus.CodeUnavailable, bus.CodeTimeout:
			return bus.Errorf(c, "attribute %q: cannot %s now: the product module cannot tell whether products use it (%v)", code, change, err)
		default:
			return fmt.Errorf("attribute %q: ask product for its usage: %w", code, err)
		}
	}
	if usage.Count > 0 {
		subject := fmt.Sprintf("attribute %q", code)
		if value != "" {
			subject = fmt.Sprintf("value %q of attribute %q", value, code)
		}
		return bus.Errorf(bus.CodeConflict, "%s is used by %d products: cannot %s", subject, usage.Count, change)
	}
	return nil
}

func (m *Module) delete(ctx context.Context, req contract.AttributeDefinitionID) (contract.DeleteAttributeReply, error) {
	var reply contract.DeleteAttributeReply
	if err := checkID("id", req.ID); err != nil {
		return reply, err
	}
	d, err := m.loadDefinition(ctx, req.ID)
	if err != nil {
		return reply, err
	}
	if err := m.refuseIfUsed(ctx, d.Code, "", "delete it"); err != nil {
		return reply, err
	}
	switch err := m.store.DeleteDefinition(ctx, d.ID); {
	case errors.Is(err, store.ErrNotFound):
		return reply, bus.Errorf(bus.CodeNotFound, "attribute %s not found", d.ID)
	case err != nil:
		return reply, err
	}
	m.publishDefinition(ctx, contract.AttributeDefinitionDeleted, d)
	left, err := m.store.GroupDefinitions(ctx, d.GroupID)
	if err != nil {
		return reply, err
	}
	if err := m.reorderDefinitions(ctx, d.GroupID, left, definitionIDs(left), m.now()); err != nil {
		return reply, err
	}
	return contract.DeleteAttributeReply{Deleted: d.ID}, nil
}

func (m *Module) get(ctx context.Context, req contract.AttributeDefinitionID) (contract.AttributeDefinition, error) {
	if err := checkID("id", req.ID); err != nil {
		return contract.AttributeDefinition{}, err
	}
	return m.loadDefinition(ctx, req.ID)
}

func (m *Module) byCode(ctx context.Context, req contract.AttributeCode) (contract.AttributeDefinition, error) {
	if err := validate.Code("code", req.Code); err != nil {
		return contract.AttributeDefinition{}, err
	}
	d, err := m.store.DefinitionByCode(ctx, req.Code)
	if errors.Is(err, store.ErrNotFound) {
		return d, bus.Errorf(bus.CodeNotFound, "no attribute with code %q", req.Code)
	}
	return d, err
}

func (m *Module) list(ctx context.Context, _ contract.Empty) (contract.AttributeCatalog, error) {
	groups, err := m.store.Groups(ctx)
	if err != nil {
		return contract.AttributeCatalog{}, err
	}
	defs, err := m.store.Definitions(ctx)
	if err != nil {
		return contract.AttributeCatalog{}, err
	}
	byGroup := make(map[string][]contract.AttributeDefinition, len(groups))
	for _, d := range defs {
		byGroup[d.GroupID] = append(byGroup[d.GroupID], d)
	}
	out := contract.AttributeCatalog{Groups: make([]contract.AttributeGroupWithDefinitions, len(groups))}
	for i, g := range groups {
		ds := byGroup[g.ID]
		if ds == nil {
			ds = []contract.AttributeDefinition{}
		}
		out.Groups[i] = contract.AttributeGroupWithDefinitions{AttributeGroup: g, Definitions: ds}
	}
	return out, nil
}

// --- validation of product values ---

func (m *Module) validate(ctx context.Context, req contract.ValidateAttributesRequest) (contract.ValidateAttributesReply, error) {
	defs, err := m.store.Definitions(ctx)
	if err != nil {
		return contract.ValidateAttributesReply{}, err
	}
	return check(defs, req.Values), nil
}

// check validates values against defs (see contract.ValidateAttributes).
// A null, an empty or blank text and an empty multiselect count as no
// value: left out of the normalised values, and missing if required.
func check(defs []contract.AttributeDefinition, values contract.AttributeValues) contract.ValidateAttributesReply {
	byCode := make(map[string]contract.AttributeDefinition, len(defs))
	for _, d := range defs {
		byCode[d.Code] = d
	}
	reply := contract.ValidateAttributesReply{Problems: []contract.AttributeProblem{}, Values: contract.AttributeValues{}}
	problem := func(code, kind, format string, args ...any) {
		reply.Problems = append(reply.Problems, contract.AttributeProblem{Code: code, Problem: kind, Message: "values." + code + ": " + fmt.Sprintf(format, args...)})
	}
	for code, v := range values {
		d, ok := byCode[code]
		if !ok {
			problem(code, contract.ProblemUnknown, "no such attribute")
			continue
		}
		norm, kind, msg := checkValue(d, v)
		switch {
		case kind != "":
			problem(code, kind, "%s", msg)
		case norm != nil:
			reply.Values[code] = norm
		}
	}
	for _, d := range defs {
		if _, ok := reply.Values[d.Code]; d.Required && !ok {
			if _, given := values[d.Code]; !given || isEmpty(values[d.Code]) {
				problem(d.Code, contract.ProblemMissingRequired, "required")
			}
		}
	}
	slices.SortFunc(reply.Problems, func(a, b contract.AttributeProblem) int {
		if c := strings.Compare(a.Code, b.Code); c != 0 {
			return c
		}
		return strings.Compare(a.Problem, b.Problem)
	})
	reply.Valid = len(reply.Problems) == 0
	return reply
}

// isEmpty reports whether v counts as no value.
func isEmpty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(v) == ""
	case []any:
		return len(v) == 0
	}
	return false
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "true/false"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// checkValue returns v normalised for d (nil for no value), or the kind of
// problem and a message.
func checkValue(d contract.AttributeDefinition, v any) (norm any, kind, msg string) {
	if v == nil {
		return nil, "", ""
	}
	wrong := func(want string) (any, string, string) {
		return nil, contract.ProblemWrongType, fmt.Sprintf("a %s attribute takes %s, got %s", d.Type, want, describe(v))
	}
	allowed := func(code string) bool {
		return slices.ContainsFunc(d.Values, func(a contract.AllowedValue) bool { return a.Code == code })
	}
	switch d.Type {
	case contract.AttributeText:
		s, ok := v.(string)
		if !ok {
			return wrong("a string")
		}
		s = strings.TrimSpace(s)
		switch {
		case !utf8.ValidString(s):
			return nil, contract.ProblemWrongType, "invalid UTF-8"
		case utf8.RuneCountInString(s) > contract.MaxAttributeTextLen:
			return nil, contract.ProblemWrongType, fmt.Sprintf("longer than %d characters", contract.MaxAttributeTextLen)
		case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }):
			return nil, contract.ProblemWrongType, "contains control characters"
		case s == "":
			return nil, "", ""
		}
		return s, "", ""
	case contract.AttributeNumber:
		f, ok := v.(float64)
		if !ok {
			return wrong("a number")
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, contract.ProblemWrongType, "not a finite number"
		}
		return f, "", ""
	case contract.AttributeBoolean:
		b, ok := v.(bool)
		if !ok {
			return wrong("true or false")
		}
		return b, "", ""
	case contract.AttributeSelect:
		s, ok := v.(string)
		if !ok {
			return wrong("the code of one allowed value")
		}
		if !allowed(s) {
			return nil, contract.ProblemNotAllowed, fmt.Sprintf("%q is not an allowed value (%s)", s, codes(d.Values))
		}
		return s, "", ""
	case contract.AttributeMultiselect:
		arr, ok := v.([]any)
		if !ok {
			return wrong("an array of allowed value codes")
		}
		out := make([]string, 0, len(arr))
		seen := make(map[string]bool, len(arr))
		var bad []string
		for _, x := range arr {
			s, ok := x.(string)
			if !ok {
				return nil, contract.ProblemWrongType, fmt.Sprintf("a multiselect attribute takes allowed value codes, got %s in the array", describe(x))
			}
			if seen[s] {
				return nil, contract.ProblemWrongType, fmt.Sprintf("%q is given twice", s)
			}
			seen[s] = true
			if !allowed(s) {
				bad = append(bad, fmt.Sprintf("%q", s))
			}
			out = append(out, s)
		}
		if len(bad) > 0 {
			return nil, contract.ProblemNotAllowed, fmt.Sprintf("%s not allowed (%s)", strings.Join(bad, ", "), codes(d.Values))
		}
		if len(out) == 0 {
			return nil, "", ""
		}
		slices.Sort(out)
		return out, "", ""
	}
	return nil, contract.ProblemWrongType, fmt.Sprintf("attribute has unknown type %q", d.Type)
}

// codes lists the allowed codes for a message.
func codes(vs []contract.AllowedValue) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Code
	}
	return "allowed: " + strings.Join(out, ", ")
}

// --- events ---

// publishGroup and publishDefinition send an event after the write it
// reports. The write stands if publishing fails; the failure is logged for
// the operator (there is no outbox yet, so such an event is lost).
func (m *Module) publishGroup(ctx context.Context, ev bus.EventType[contract.AttributeGroup], g contract.AttributeGroup) {
	if err := bus.Emit(ctx, m.Bus, ev, g); err != nil {
		m.log.Error("attribute event not published", "topic", ev.Topic, "id", g.ID, "err", err)
	}
}

func (m *Module) publishDefinition(ctx context.Context, ev bus.EventType[contract.AttributeDefinition], d contract.AttributeDefinition) {
	if err := bus.Emit(ctx, m.Bus, ev, d); err != nil {
		m.log.Error("attribute event not published", "topic", ev.Topic, "id", d.ID, "err", err)
	}
}
