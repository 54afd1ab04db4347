package attribute

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/validate"
)

// The attribute definition endpoints, and the question to the product
// module before a change that would orphan product data.

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

func definitionIDs(ds []contract.AttributeDefinition) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

// definitionWriteError maps a failed write of definition id at version
// want.
func (m *Module) definitionWriteError(ctx context.Context, err error, id string, want int64) error {
	return writeError(err, "attribute "+id, want, func() (int64, error) {
		d, err := m.loadDefinition(ctx, id)
		return d.Version, err
	})
}

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
		Values: values, Unit: unit, Filterable: req.Filterable, Required: req.Required, Version: 1, CreatedAt: now, UpdatedAt: now,
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
		if err := m.reorderDefinitions(ctx, d.GroupID, siblings, order, now, d.ID); err != nil {
			return contract.AttributeDefinition{}, err
		}
	}
	m.publishDefinition(ctx, contract.AttributeDefinitionCreated, d)
	return d, nil
}

// reorderDefinitions stores order in groupID and reports, as they are
// after it, the definitions of before whose group or position it changed,
// but skip (the definition the caller reports itself).
func (m *Module) reorderDefinitions(ctx context.Context, groupID string, before []contract.AttributeDefinition, order []string, now time.Time, skip string) error {
	switch err := m.store.ReorderDefinitions(ctx, groupID, order, now); {
	case errors.Is(err, errNoGroup):
		return bus.Errorf(bus.CodeInvalid, "group_id %s: no such attribute group", groupID)
	case err != nil:
		return err
	}
	after, err := m.store.GroupDefinitions(ctx, groupID)
	if err != nil {
		return err
	}
	type place struct {
		group    string
		position int
	}
	was := make(map[string]place, len(before))
	for _, d := range before {
		was[d.ID] = place{d.GroupID, d.Position}
	}
	for _, d := range after {
		if p, ok := was[d.ID]; ok && d.ID != skip && p != (place{d.GroupID, d.Position}) {
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
	if err := validate.Version(req.Version, true); err != nil {
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
	if err := checkExpected("attribute "+d.ID, d.Version, req.Version); err != nil {
		return contract.AttributeDefinition{}, err
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
	if req.GroupID != nil && *req.GroupID != d.GroupID {
		if err := m.groupExists(ctx, *req.GroupID); err != nil {
			return contract.AttributeDefinition{}, err
		}
		d.GroupID = *req.GroupID
	}
	// A move puts d into its group at Position: when it changes group,
	// nil is last there; in its group, nil is where it is.
	var siblings []contract.AttributeDefinition
	var order []string
	if d.GroupID != was.GroupID || req.Position != nil {
		if siblings, err = m.store.GroupDefinitions(ctx, d.GroupID); err != nil {
			return contract.AttributeDefinition{}, err
		}
		pos := req.Position
		if pos == nil && d.GroupID == was.GroupID {
			pos = &was.Position
		}
		order, d.Position = insertAt(without(definitionIDs(siblings), d.ID), d.ID, pos)
	}
	if sameContent(d, was) && d.GroupID == was.GroupID && d.Position == was.Position {
		return d, nil // nothing changes: no write, no new version
	}
	if err := m.refuseOrphaning(ctx, was, d); err != nil {
		return contract.AttributeDefinition{}, err
	}
	now := m.now()
	d.UpdatedAt = now
	switch err := m.store.UpdateDefinition(ctx, d, req.Version); {
	case errors.Is(err, store.ErrDuplicate):
		return contract.AttributeDefinition{}, bus.Errorf(bus.CodeConflict, "code %q is taken", d.Code)
	case errors.Is(err, errNoGroup):
		return contract.AttributeDefinition{}, bus.Errorf(bus.CodeInvalid, "group_id %s: no such attribute group", d.GroupID)
	case err != nil:
		return contract.AttributeDefinition{}, m.definitionWriteError(ctx, err, d.ID, req.Version)
	}
	d.Version = req.Version + 1
	if order != nil {
		if err := m.reorderDefinitions(ctx, d.GroupID, siblings, order, now, d.ID); err != nil {
			return d, err
		}
	}
	if d.GroupID != was.GroupID {
		left, err := m.store.GroupDefinitions(ctx, was.GroupID)
		if err != nil {
			return d, err
		}
		if err := m.reorderDefinitions(ctx, was.GroupID, left, definitionIDs(left), now, d.ID); err != nil {
			return d, err
		}
	}
	m.publishDefinition(ctx, contract.AttributeDefinitionUpdated, d)
	return d, nil
}

// sameContent reports whether a and b agree in everything but their
// place (group and position), id, version and times.
func sameContent(a, b contract.AttributeDefinition) bool {
	return a.Code == b.Code && a.Name == b.Name && a.Type == b.Type && slices.Equal(a.Values, b.Values) &&
		a.Unit == b.Unit && a.Filterable == b.Filterable && a.Required == b.Required
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

func (m *Module) delete(ctx context.Context, req contract.DeleteAttributeDefinitionRequest) (contract.DeleteAttributeReply, error) {
	var reply contract.DeleteAttributeReply
	if err := checkID("id", req.ID); err != nil {
		return reply, err
	}
	if err := validate.Version(req.Version, false); err != nil {
		return reply, err
	}
	d, err := m.loadDefinition(ctx, req.ID)
	if err != nil {
		return reply, err
	}
	if err := checkExpected("attribute "+d.ID, d.Version, req.Version); err != nil {
		return reply, err
	}
	if err := m.refuseIfUsed(ctx, d.Code, "", "delete it"); err != nil {
		return reply, err
	}
	if err := m.store.DeleteDefinition(ctx, d.ID, req.Version); err != nil {
		return reply, m.definitionWriteError(ctx, err, d.ID, req.Version)
	}
	// The delete is the definition's last write: its event carries the
	// version after it, so a consumer holding the last update applies it.
	d.Version++
	m.publishDefinition(ctx, contract.AttributeDefinitionDeleted, d)
	left, err := m.store.GroupDefinitions(ctx, d.GroupID)
	if err != nil {
		return reply, err
	}
	if err := m.reorderDefinitions(ctx, d.GroupID, left, definitionIDs(left), m.now(), ""); err != nil {
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

func (m *Module) getByCode(ctx context.Context, req contract.AttributeCode) (contract.AttributeDefinition, error) {
	if err := validate.Code("code", req.Code); err != nil {
		return contract.AttributeDefinition{}, err
	}
	d, err := m.store.DefinitionByCode(ctx, req.Code)
	if errors.Is(err, store.ErrNotFound) {
		return d, bus.Errorf(bus.CodeNotFound, "no attribute with code %q", req.Code)
	}
	return d, err
}

// list answers the whole catalog, grouped (see contract.ListAttributes).
func (m *Module) list(ctx context.Context, _ contract.Empty) (contract.Page[contract.AttributeGroupWithDefinitions], error) {
	var page contract.Page[contract.AttributeGroupWithDefinitions]
	groups, err := m.store.Groups(ctx)
	if err != nil {
		return page, err
	}
	defs, err := m.store.Definitions(ctx)
	if err != nil {
		return page, err
	}
	byGroup := make(map[string][]contract.AttributeDefinition, len(groups))
	for _, d := range defs {
		byGroup[d.GroupID] = append(byGroup[d.GroupID], d)
	}
	page.Items, page.Total = make([]contract.AttributeGroupWithDefinitions, len(groups)), len(groups)
	for i, g := range groups {
		ds := byGroup[g.ID]
		if ds == nil {
			ds = []contract.AttributeDefinition{}
		}
		page.Items[i] = contract.AttributeGroupWithDefinitions{AttributeGroup: g, Definitions: ds}
	}
	return page, nil
}
