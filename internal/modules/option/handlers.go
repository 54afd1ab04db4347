package option

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/validate"
)

const (
	maxNameLen  = 200
	maxLabelLen = 200
	// maxValues bounds a group's values: enough for any real option (a
	// palette of colours), and it keeps a group well inside a bus message.
	maxValues = 200
	// maxVariantGroups bounds the groups of one generate_variants request;
	// groups of one value would otherwise let it grow without adding
	// combinations.
	maxVariantGroups = 20
)

func checkName(name string) (string, error) { return validate.Name("name", name, maxNameLen) }

func checkLabel(field, label string) (string, error) { return validate.Name(field, label, maxLabelLen) }

func checkPosition(pos *int) error {
	if pos != nil && *pos < 0 {
		return bus.Errorf(bus.CodeInvalid, "position %d: must be 0 or more", *pos)
	}
	return nil
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// storeError maps what the store says about group id to the bus error the
// caller gets.
func storeError(err error, id, code string) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return bus.Errorf(bus.CodeNotFound, "option group %s not found", id)
	case errors.Is(err, store.ErrDuplicate):
		return bus.Errorf(bus.CodeConflict, "code %q is taken", code)
	}
	return err
}

// conflict is the error of a write that expected version want of g.
func conflict(g contract.OptionGroup, want int64) error {
	return contract.VersionConflict("option group "+g.ID, g.Version, want)
}

// renumber sets positions 0, 1, … in slice order.
func renumber(vs []contract.OptionValue) {
	for i := range vs {
		vs[i].Position = i
	}
}

func valueIndex(g *contract.OptionGroup, valueID string) (int, error) {
	i := slices.IndexFunc(g.Values, func(v contract.OptionValue) bool { return v.ID == valueID })
	if i < 0 {
		return -1, bus.Errorf(bus.CodeNotFound, "value %s not found in option group %s", valueID, g.ID)
	}
	return i, nil
}

func codeTaken(g *contract.OptionGroup, code, exceptID string) error {
	for _, v := range g.Values {
		if v.Code == code && v.ID != exceptID {
			return bus.Errorf(bus.CodeConflict, "value code %q is taken in option group %s", code, g.ID)
		}
	}
	return nil
}

func (m *Module) create(ctx context.Context, req contract.CreateOptionGroupRequest) (contract.OptionGroup, error) {
	if err := validate.Code("code", req.Code); err != nil {
		return contract.OptionGroup{}, err
	}
	name, err := checkName(req.Name)
	if err != nil {
		return contract.OptionGroup{}, err
	}
	if len(req.Values) > maxValues {
		return contract.OptionGroup{}, bus.Errorf(bus.CodeInvalid, "values: %d given, at most %d", len(req.Values), maxValues)
	}
	now := m.now()
	g := contract.OptionGroup{ID: newID(), Code: req.Code, Name: name, Values: make([]contract.OptionValue, len(req.Values)),
		Version: 1, CreatedAt: now, UpdatedAt: now}
	seen := make(map[string]int, len(req.Values))
	for i, v := range req.Values {
		field := fmt.Sprintf("values[%d].code", i)
		if err := validate.Code(field, v.Code); err != nil {
			return contract.OptionGroup{}, err
		}
		if j, dup := seen[v.Code]; dup {
			return contract.OptionGroup{}, bus.Errorf(bus.CodeInvalid, "%s %q: already given as values[%d].code", field, v.Code, j)
		}
		seen[v.Code] = i
		label, err := checkLabel(fmt.Sprintf("values[%d].label", i), v.Label)
		if err != nil {
			return contract.OptionGroup{}, err
		}
		g.Values[i] = contract.OptionValue{ID: newID(), Code: v.Code, Label: label, Position: i}
	}
	ev, err := outbox.New(contract.OptionGroupCreated, g.ID, event(g))
	if err != nil {
		return contract.OptionGroup{}, err
	}
	if err := m.store.Insert(ctx, g, ev); err != nil {
		return contract.OptionGroup{}, storeError(err, g.ID, g.Code)
	}
	m.relay.Notify()
	return g, nil
}

// Bounds of the re-reads of a write made without an expected version
// that keeps losing the race for the group to others.
const (
	modifyAttempts = 50
	maxPause       = 32 * time.Millisecond
)

// modify applies change to group id and writes the result as the next
// version, if the group is at version want. With want 0 (a value added or
// removed without an expected version) it applies to whatever version
// the group is at: a lost race re-reads and re-applies change after a
// short jittered pause, so concurrent adds are all kept. change must
// depend only on the group it is given; its error aborts without writing.
// The write carries the group's updated event, built for the version it
// makes, so each attempt builds its own.
func (m *Module) modify(ctx context.Context, id string, want int64, change func(g *contract.OptionGroup) error) (contract.OptionGroup, error) {
	for attempt := 1; ; attempt++ {
		g, err := m.store.Get(ctx, id)
		if err != nil {
			return contract.OptionGroup{}, storeError(err, id, "")
		}
		if want > 0 && g.Version != want {
			return contract.OptionGroup{}, conflict(g, want)
		}
		next := clone(g)
		if err := change(&next); err != nil {
			return contract.OptionGroup{}, err
		}
		next.ID, next.CreatedAt, next.UpdatedAt, next.Version = g.ID, g.CreatedAt, m.now(), g.Version+1
		ev, err := outbox.New(contract.OptionGroupUpdated, next.ID, event(next))
		if err != nil {
			return contract.OptionGroup{}, err
		}
		err = m.store.Update(ctx, next, g.Version, ev)
		switch {
		case err == nil:
			m.relay.Notify()
			return next, nil
		case errors.Is(err, store.ErrDuplicate):
			// change checked codes on the state it was given; this is the
			// constraint behind that check.
			return contract.OptionGroup{}, bus.Errorf(bus.CodeConflict, "option group %s: code %q or a value code is taken", id, next.Code)
		case !errors.Is(err, store.ErrStale):
			return contract.OptionGroup{}, storeError(err, id, next.Code)
		case want > 0:
			// Lost the race after the check: say where it is now.
			if g, err = m.store.Get(ctx, id); err != nil {
				return contract.OptionGroup{}, storeError(err, id, "")
			}
			return contract.OptionGroup{}, conflict(g, want)
		case attempt == modifyAttempts:
			return contract.OptionGroup{}, bus.Errorf(bus.CodeConflict, "option group %s: too many concurrent edits, try again", id)
		}
		pause := time.Duration(1 + rand.Int64N(int64(min(time.Millisecond<<min(attempt, 5), maxPause))))
		select {
		case <-ctx.Done():
			return contract.OptionGroup{}, ctx.Err()
		case <-time.After(pause):
		}
	}
}

func (m *Module) update(ctx context.Context, req contract.UpdateOptionGroupRequest) (contract.OptionGroup, error) {
	if err := validate.ID("id", req.ID); err != nil {
		return contract.OptionGroup{}, err
	}
	if err := validate.Version(req.Version, true); err != nil {
		return contract.OptionGroup{}, err
	}
	if req.Code == nil && req.Name == nil {
		return contract.OptionGroup{}, bus.Errorf(bus.CodeInvalid, "nothing to update: give code or name")
	}
	var name string
	if req.Code != nil {
		if err := validate.Code("code", *req.Code); err != nil {
			return contract.OptionGroup{}, err
		}
	}
	if req.Name != nil {
		var err error
		if name, err = checkName(*req.Name); err != nil {
			return contract.OptionGroup{}, err
		}
	}
	g, err := m.modify(ctx, req.ID, req.Version, func(g *contract.OptionGroup) error {
		if req.Code != nil {
			g.Code = *req.Code
		}
		if req.Name != nil {
			g.Name = name
		}
		return nil
	})
	if errors.Is(err, bus.ErrConflict) && req.Code != nil && !contract.IsVersionConflict(err) {
		return contract.OptionGroup{}, bus.Errorf(bus.CodeConflict, "code %q is taken", *req.Code)
	}
	return g, err
}

func (m *Module) delete(ctx context.Context, req contract.DeleteOptionGroupRequest) (contract.DeleteOptionGroupReply, error) {
	if err := validate.ID("id", req.ID); err != nil {
		return contract.DeleteOptionGroupReply{}, err
	}
	if err := validate.Version(req.Version, false); err != nil {
		return contract.DeleteOptionGroupReply{}, err
	}
	g, err := m.store.Delete(ctx, req.ID, req.Version, func(g contract.OptionGroup) ([]outbox.Event, error) {
		// The delete is the group's last write: its event carries the
		// version after it, so a consumer holding the last update applies it.
		g.Version++
		ev, err := outbox.New(contract.OptionGroupDeleted, g.ID, event(g))
		return []outbox.Event{ev}, err
	})
	if errors.Is(err, store.ErrStale) {
		if g, err = m.store.Get(ctx, req.ID); err == nil {
			err = conflict(g, req.Version)
		}
	}
	if err != nil {
		return contract.DeleteOptionGroupReply{}, storeError(err, req.ID, "")
	}
	m.relay.Notify()
	return contract.DeleteOptionGroupReply{Deleted: g.ID}, nil
}

func (m *Module) get(ctx context.Context, req contract.OptionGroupID) (contract.OptionGroup, error) {
	if err := validate.ID("id", req.ID); err != nil {
		return contract.OptionGroup{}, err
	}
	g, err := m.store.Get(ctx, req.ID)
	if err != nil {
		return g, storeError(err, req.ID, "")
	}
	return g, nil
}

func (m *Module) getByCode(ctx context.Context, req contract.OptionGroupCode) (contract.OptionGroup, error) {
	if err := validate.Code("code", req.Code); err != nil {
		return contract.OptionGroup{}, err
	}
	g, err := m.store.ByCode(ctx, req.Code)
	if errors.Is(err, store.ErrNotFound) {
		return g, bus.Errorf(bus.CodeNotFound, "no option group with code %q", req.Code)
	}
	return g, err
}

// A cursor of list is the code of the last group of the page before,
// base64url-encoded: opaque to clients, a plain keyset to the store.
func encodeCursor(code string) string { return base64.RawURLEncoding.EncodeToString([]byte(code)) }

func decodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || validate.Code("cursor", string(b)) != nil {
		return "", bus.Errorf(bus.CodeInvalid, "cursor %q: not one this list gave", c)
	}
	return string(b), nil
}

func (m *Module) list(ctx context.Context, req contract.ListOptionGroupsRequest) (contract.Page[contract.OptionGroup], error) {
	var page contract.Page[contract.OptionGroup]
	limit := req.Limit
	switch {
	case limit == 0:
		limit = contract.DefaultOptionGroupsPage
	case limit < 0 || limit > contract.MaxOptionGroupsPage:
		return page, bus.Errorf(bus.CodeInvalid, "limit %d: want 1 to %d", limit, contract.MaxOptionGroupsPage)
	}
	after := ""
	if req.Cursor != "" {
		var err error
		if after, err = decodeCursor(req.Cursor); err != nil {
			return page, err
		}
	}
	// One more than asked tells whether there is a next page.
	gs, err := m.store.List(ctx, after, limit+1)
	if err != nil {
		return page, err
	}
	if len(gs) > limit {
		gs = gs[:limit]
		page.NextCursor = encodeCursor(gs[limit-1].Code)
	}
	if page.Total, err = m.store.Count(ctx); err != nil {
		return page, err
	}
	page.Items = gs
	if page.Items == nil {
		page.Items = []contract.OptionGroup{}
	}
	return page, nil
}

func (m *Module) addValue(ctx context.Context, req contract.AddOptionValueRequest) (contract.OptionGroup, error) {
	if err := validate.ID("group_id", req.GroupID); err != nil {
		return contract.OptionGroup{}, err
	}
	if err := validate.Version(req.Version, false); err != nil {
		return contract.OptionGroup{}, err
	}
	if err := validate.Code("code", req.Code); err != nil {
		return contract.OptionGroup{}, err
	}
	label, err := checkLabel("label", req.Label)
	if err != nil {
		return contract.OptionGroup{}, err
	}
	if err := checkPosition(req.Position); err != nil {
		return contract.OptionGroup{}, err
	}
	v := contract.OptionValue{ID: newID(), Code: req.Code, Label: label}
	g, err := m.modify(ctx, req.GroupID, req.Version, func(g *contract.OptionGroup) error {
		if len(g.Values) >= maxValues {
			return bus.Errorf(bus.CodeConflict, "option group %s already has %d values, the most it may have", g.ID, len(g.Values))
		}
		if err := codeTaken(g, v.Code, ""); err != nil {
			return err
		}
		at := len(g.Values)
		if req.Position != nil {
			at = min(*req.Position, at)
		}
		g.Values = slices.Insert(g.Values, at, v)
		renumber(g.Values)
		return nil
	})
	return g, err
}

func (m *Module) updateValue(ctx context.Context, req contract.UpdateOptionValueRequest) (contract.OptionGroup, error) {
	if err := validate.ID("group_id", req.GroupID); err != nil {
		return contract.OptionGroup{}, err
	}
	if err := validate.ID("value_id", req.ValueID); err != nil {
		return contract.OptionGroup{}, err
	}
	if err := validate.Version(req.Version, true); err != nil {
		return contract.OptionGroup{}, err
	}
	if req.Code == nil && req.Label == nil && req.Position == nil {
		return contract.OptionGroup{}, bus.Errorf(bus.CodeInvalid, "nothing to update: give code, label or position")
	}
	if req.Code != nil {
		if err := validate.Code("code", *req.Code); err != nil {
			return contract.OptionGroup{}, err
		}
	}
	var label string
	if req.Label != nil {
		var err error
		if label, err = checkLabel("label", *req.Label); err != nil {
			return contract.OptionGroup{}, err
		}
	}
	if err := checkPosition(req.Position); err != nil {
		return contract.OptionGroup{}, err
	}
	g, err := m.modify(ctx, req.GroupID, req.Version, func(g *contract.OptionGroup) error {
		i, err := valueIndex(g, req.ValueID)
		if err != nil {
			return err
		}
		v := g.Values[i]
		if req.Code != nil {
			if err := codeTaken(g, *req.Code, v.ID); err != nil {
				return err
			}
			v.Code = *req.Code
		}
		if req.Label != nil {
			v.Label = label
		}
		g.Values = slices.Delete(g.Values, i, i+1)
		at := i
		if req.Position != nil {
			at = min(*req.Position, len(g.Values))
		}
		g.Values = slices.Insert(g.Values, at, v)
		renumber(g.Values)
		return nil
	})
	return g, err
}

func (m *Module) removeValue(ctx context.Context, req contract.RemoveOptionValueRequest) (contract.OptionGroup, error) {
	if err := validate.ID("group_id", req.GroupID); err != nil {
		return contract.OptionGroup{}, err
	}
	if err := validate.ID("value_id", req.ValueID); err != nil {
		return contract.OptionGroup{}, err
	}
	if err := validate.Version(req.Version, false); err != nil {
		return contract.OptionGroup{}, err
	}
	g, err := m.modify(ctx, req.GroupID, req.Version, func(g *contract.OptionGroup) error {
		i, err := valueIndex(g, req.ValueID)
		if err != nil {
			return err
		}
		g.Values = slices.Delete(g.Values, i, i+1)
		renumber(g.Values)
		return nil
	})
	return g, err
}

// axis is one group's part of a generate_variants request: its values in
// position order, as variant options, with their SKU parts.
type axis struct {
	options []contract.VariantOption
	sku     []string // upper-cased value codes
}

// generateVariants returns the cartesian product of the selected values:
// groups in the order given (the first varies slowest), values by position.
// Every id is checked and the number of combinations counted before any is
// built.
func (m *Module) generateVariants(ctx context.Context, req contract.GenerateVariantsRequest) (contract.GenerateVariantsReply, error) {
	var reply contract.GenerateVariantsReply
	n := len(req.Groups)
	if n == 0 {
		return reply, bus.Errorf(bus.CodeInvalid, "groups: at least one option group is required")
	}
	if n > maxVariantGroups {
		return reply, bus.Errorf(bus.CodeInvalid, "groups: %d given, at most %d", n, maxVariantGroups)
	}
	ids := make([]string, n)
	seen := make(map[string]int, n)
	for i, sel := range req.Groups {
		field := fmt.Sprintf("groups[%d].group_id", i)
		if err := validate.ID(field, sel.GroupID); err != nil {
			return reply, err
		}
		if j, dup := seen[sel.GroupID]; dup {
			return reply, bus.Errorf(bus.CodeInvalid, "%s %s: option group already given as groups[%d]", field, sel.GroupID, j)
		}
		seen[sel.GroupID], ids[i] = i, sel.GroupID
		if len(sel.ValueIDs) > maxValues {
			return reply, bus.Errorf(bus.CodeInvalid, "groups[%d].value_ids: %d given, at most %d", i, len(sel.ValueIDs), maxValues)
		}
		vseen := make(map[string]int, len(sel.ValueIDs))
		for k, vid := range sel.ValueIDs {
			vfield := fmt.Sprintf("groups[%d].value_ids[%d]", i, k)
			if err := validate.ID(vfield, vid); err != nil {
				return reply, err
			}
			if j, dup := vseen[vid]; dup {
				return reply, bus.Errorf(bus.CodeInvalid, "%s %s: already given as groups[%d].value_ids[%d]", vfield, vid, i, j)
			}
			vseen[vid] = k
		}
	}
	found, err := m.store.GetMany(ctx, ids)
	if err != nil {
		return reply, err
	}
	byID := make(map[string]contract.OptionGroup, len(found))
	for _, g := range found {
		byID[g.ID] = g
	}
	axes := make([]axis, n)
	for i, sel := range req.Groups {
		g, ok := byID[sel.GroupID]
		if !ok {
			return reply, bus.Errorf(bus.CodeInvalid, "groups[%d].group_id %s: no such option group", i, sel.GroupID)
		}
		values := g.Values
		if len(sel.ValueIDs) > 0 {
			want := make(map[string]bool, len(sel.ValueIDs))
			for k, vid := range sel.ValueIDs {
				if !slices.ContainsFunc(g.Values, func(v contract.OptionValue) bool { return v.ID == vid }) {
					return reply, bus.Errorf(bus.CodeInvalid, "groups[%d].value_ids[%d] %s: not a value of option group %s (%s)", i, k, vid, g.ID, g.Code)
				}
				want[vid] = true
			}
			values = slices.DeleteFunc(slices.Clone(g.Values), func(v contract.OptionValue) bool { return !want[v.ID] })
		}
		if len(values) == 0 {
			return reply, bus.Errorf(bus.CodeInvalid, "groups[%d].group_id %s: option group %s has no values", i, g.ID, g.Code)
		}
		a := axis{options: make([]contract.VariantOption, len(values)), sku: make([]string, len(values))}
		for k, v := range values {
			a.options[k] = contract.VariantOption{GroupID: g.ID, GroupCode: g.Code, ValueID: v.ID, ValueCode: v.Code, Label: v.Label}
			a.sku[k] = strings.ToUpper(v.Code)
		}
		axes[i] = a
	}
	// Count before building; each factor is at most maxValues, and the
	// product stops at the limit, so it cannot overflow.
	total := 1
	for _, a := range axes {
		if total > contract.MaxVariantCombinations/len(a.options) {
			return reply, bus.Errorf(bus.CodeInvalid, "groups: the selection makes more than %d combinations; select fewer values", contract.MaxVariantCombinations)
		}
		total *= len(a.options)
	}
	if size := replySize(axes, total); size > bus.MaxBodySize {
		return reply, bus.Errorf(bus.CodeInvalid, "groups: the %d combinations would make a reply of about %d bytes, over the bus limit of %d; select fewer values or groups", total, size, bus.MaxBodySize)
	}
	reply.Variants = make([]contract.VariantCombination, total)
	all := make([]contract.VariantOption, total*n) // one allocation for every combination's options
	pick := make([]int, n)
	var sku []byte
	for c := range total {
		rest := c
		for i := n - 1; i >= 0; i-- {
			pick[i] = rest % len(axes[i].options)
			rest /= len(axes[i].options)
		}
		opts := all[c*n : (c+1)*n : (c+1)*n]
		sku = sku[:0]
		for i, k := range pick {
			opts[i] = axes[i].options[k]
			if i > 0 {
				sku = append(sku, '-')
			}
			sku = append(sku, axes[i].sku[k]...)
		}
		reply.Variants[c] = contract.VariantCombination{Options: opts, SKUSuffix: string(sku)}
	}
	return reply, nil
}

// replySize bounds the encoded size of the generate_variants reply from
// the sizes of its parts: each value of axis i appears in total/len(i)
// combinations.
func replySize(axes []axis, total int) int {
	const (
		envelope    = len(`{"variants":[]}`)
		combination = len(`{"options":[],"sku_suffix":""},`)
	)
	size := envelope + total*(combination+len(axes))
	for _, a := range axes {
		per := 0
		for k, o := range a.options {
			b, _ := json.Marshal(o)
			per += len(b) + 1 + len(a.sku[k]) // ",", and the SKU part (codes need no escaping)
		}
		size += total / len(a.options) * per
	}
	return size
}

// event builds the payload of an event about g. The handlers build it
// before the write, or the store calls them to build it inside the write
// (a delete), so that it goes into the outbox with the write it announces
// (outbox.New).
func event(g contract.OptionGroup) contract.OptionGroupEvent {
	return contract.OptionGroupEvent{ID: g.ID, Version: g.Version, Code: g.Code, Name: g.Name, Values: g.Values}
}
