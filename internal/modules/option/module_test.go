package option

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/bus/bustest"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/moduletest"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store/storetest"
)

// module is the option module as moduletest starts it.
var module = moduletest.Spec[Store, *Module]{Open: OpenStore, New: New,
	Relay: func(m *Module, r *outbox.Relay) { m.relay = r }}

// harness is a running option module (moduletest.Start).
type harness = moduletest.Harness[*Module]

func call[Req, Resp any](t *testing.T, h *harness, e bus.Endpoint[Req, Resp], req Req) Resp {
	t.Helper()
	return bustest.CallAs(t, moduletest.AdminMeta, h.Bus, e, req)
}

func callErr[Req, Resp any](t *testing.T, h *harness, e bus.Endpoint[Req, Resp], req Req, code bus.Code, mention string) {
	t.Helper()
	bustest.CallErrAs(t, moduletest.AdminMeta, h.Bus, e, req, code, mention)
}

func ptr[T any](v T) *T { return &v }

func values(codes ...string) []contract.NewOptionValue {
	out := make([]contract.NewOptionValue, len(codes))
	for i, c := range codes {
		out[i] = contract.NewOptionValue{Code: c, Label: strings.ToUpper(c[:1]) + c[1:]}
	}
	return out
}

func valueID(t *testing.T, g contract.OptionGroup, code string) string {
	t.Helper()
	for _, v := range g.Values {
		if v.Code == code {
			return v.ID
		}
	}
	t.Fatalf("group %s has no value %q: %+v", g.Code, code, g.Values)
	return ""
}

func positionsOK(t *testing.T, g contract.OptionGroup) {
	t.Helper()
	for i, v := range g.Values {
		if v.Position != i {
			t.Fatalf("group %s: value %s at position %d, want %d", g.Code, v.Code, v.Position, i)
		}
	}
}

func TestOptionModule(t *testing.T) {
	moduletest.ForEach(t, module, func(t *testing.T, h *harness) {
		events := bustest.Record[contract.OptionGroupEvent](t, h.Bus, "option.#")
		size := call(t, h, contract.CreateOptionGroup, contract.CreateOptionGroupRequest{Code: "size", Name: "  Size ", Values: values("s", "m", "l")})
		if size.Name != "Size" || size.Code != "size" || !slices.Equal(valueCodes(size), []string{"s", "m", "l"}) || size.Values[1].Label != "M" {
			t.Fatalf("created %+v", size)
		}
		positionsOK(t, size)
		for _, id := range append([]string{size.ID}, size.Values[0].ID, size.Values[2].ID) {
			if u, err := uuid.Parse(id); err != nil || u.Version() != 7 {
				t.Fatalf("id %q is not a UUID v7", id)
			}
		}
		colour := call(t, h, contract.CreateOptionGroup, contract.CreateOptionGroupRequest{Code: "colour", Name: "Colour"})
		if colour.Values == nil || len(colour.Values) != 0 {
			t.Fatalf("created without values: %#v", colour.Values)
		}
		callErr(t, h, contract.CreateOptionGroup, contract.CreateOptionGroupRequest{Code: "size", Name: "Another size"}, bus.CodeConflict, `"size" is taken`)

		if got := call(t, h, contract.GetOptionGroup, contract.OptionGroupID{ID: size.ID}); !reflect.DeepEqual(got, size) {
			t.Fatalf("get %+v, want %+v", got, size)
		}
		if got := call(t, h, contract.GetOptionGroupByCode, contract.OptionGroupCode{Code: "colour"}); got.ID != colour.ID {
			t.Fatalf("by code %+v", got)
		}
		callErr(t, h, contract.GetOptionGroupByCode, contract.OptionGroupCode{Code: "material"}, bus.CodeNotFound, "material")
		if list := call(t, h, contract.ListOptionGroups, contract.ListOptionGroupsRequest{}); !slices.Equal(groupIDs(list.Items), []string{colour.ID, size.ID}) {
			t.Fatalf("list %+v", list)
		}

		// Group update: name and code; a taken code is a conflict.
		upd := call(t, h, contract.UpdateOptionGroup, contract.UpdateOptionGroupRequest{ID: colour.ID, Version: ver(t, h, colour.ID), Name: ptr("Color"), Code: ptr("color")})
		if upd.Name != "Color" || upd.Code != "color" || !upd.CreatedAt.Equal(colour.CreatedAt) || upd.UpdatedAt.Before(colour.UpdatedAt) {
			t.Fatalf("updated %+v", upd)
		}
		callErr(t, h, contract.UpdateOptionGroup, contract.UpdateOptionGroupRequest{ID: colour.ID, Version: ver(t, h, colour.ID), Code: ptr("size")}, bus.CodeConflict, "taken")
		callErr(t, h, contract.GetOptionGroupByCode, contract.OptionGroupCode{Code: "colour"}, bus.CodeNotFound, "colour")

		// Values: append, insert at a position, conflict on a taken code.
		g := call(t, h, contract.AddOptionValue, contract.AddOptionValueRequest{GroupID: colour.ID, Code: "red", Label: "Red"})
		g = call(t, h, contract.AddOptionValue, contract.AddOptionValueRequest{GroupID: colour.ID, Code: "blue", Label: "Blue"})
		g = call(t, h, contract.AddOptionValue, contract.AddOptionValueRequest{GroupID: colour.ID, Code: "black", Label: "Black", Position: ptr(0)})
		g = call(t, h, contract.AddOptionValue, contract.AddOptionValueRequest{GroupID: colour.ID, Code: "white", Label: "White", Position: ptr(99)})
		if !slices.Equal(valueCodes(g), []string{"black", "red", "blue", "white"}) {
			t.Fatalf("after adds %v", valueCodes(g))
		}
		positionsOK(t, g)
		callErr(t, h, contract.AddOptionValue, contract.AddOptionValueRequest{GroupID: colour.ID, Code: "red", Label: "Rouge"}, bus.CodeConflict, `"red" is taken`)

		// Update a value: label, code, and a move; a taken code is a conflict.
		blue := valueID(t, g, "blue")
		g = call(t, h, contract.UpdateOptionValue, contract.UpdateOptionValueRequest{GroupID: colour.ID, Version: ver(t, h, colour.ID), ValueID: blue, Label: ptr("Navy"), Code: ptr("navy"), Position: ptr(0)})
		if !slices.Equal(valueCodes(g), []string{"navy", "black", "red", "white"}) || g.Values[0].Label != "Navy" || g.Values[0].ID != blue {
			t.Fatalf("after value update %+v", g.Values)
		}
		positionsOK(t, g)
		g = call(t, h, contract.UpdateOptionValue, contract.UpdateOptionValueRequest{GroupID: colour.ID, Version: ver(t, h, colour.ID), ValueID: blue, Position: ptr(3)})
		if !slices.Equal(valueCodes(g), []string{"black", "red", "white", "navy"}) {
			t.Fatalf("after move to last %v", valueCodes(g))
		}
		g = call(t, h, contract.UpdateOptionValue, contract.UpdateOptionValueRequest{GroupID: colour.ID, Version: ver(t, h, colour.ID), ValueID: blue, Code: ptr("navy")})
		if g.Values[3].Code != "navy" {
			t.Fatalf("keeping its own code %+v", g.Values)
		}
		callErr(t, h, contract.UpdateOptionValue, contract.UpdateOptionValueRequest{GroupID: colour.ID, Version: ver(t, h, colour.ID), ValueID: blue, Code: ptr("red")}, bus.CodeConflict, "taken")
		callErr(t, h, contract.UpdateOptionValue, contract.UpdateOptionValueRequest{GroupID: colour.ID, Version: ver(t, h, colour.ID), ValueID: size.Values[0].ID, Label: ptr("x")}, bus.CodeNotFound, size.Values[0].ID)

		// Remove a value: the rest close up.
		g = call(t, h, contract.RemoveOptionValue, contract.RemoveOptionValueRequest{GroupID: colour.ID, ValueID: valueID(t, g, "red")})
		if !slices.Equal(valueCodes(g), []string{"black", "white", "navy"}) {
			t.Fatalf("after remove %v", valueCodes(g))
		}
		positionsOK(t, g)
		if got := call(t, h, contract.GetOptionGroup, contract.OptionGroupID{ID: colour.ID}); !reflect.DeepEqual(got, g) {
			t.Fatalf("stored %+v, replied %+v", got, g)
		}

		// Delete: gone, and its code free again.
		if del := call(t, h, contract.DeleteOptionGroup, contract.DeleteOptionGroupRequest{ID: size.ID}); del.Deleted != size.ID {
			t.Fatalf("deleted %+v", del)
		}
		callErr(t, h, contract.GetOptionGroup, contract.OptionGroupID{ID: size.ID}, bus.CodeNotFound, size.ID)
		callErr(t, h, contract.DeleteOptionGroup, contract.DeleteOptionGroupRequest{ID: size.ID}, bus.CodeNotFound, size.ID)
		callErr(t, h, contract.AddOptionValue, contract.AddOptionValueRequest{GroupID: size.ID, Code: "xl", Label: "XL"}, bus.CodeNotFound, size.ID)
		call(t, h, contract.CreateOptionGroup, contract.CreateOptionGroupRequest{Code: "size", Name: "Size"})

		// Events: one per write, carrying the group as it then was.
		evs := events.Wait(t, 13)
		byTopic := map[string][]contract.OptionGroupEvent{}
		for _, e := range evs {
			byTopic[e.Topic] = append(byTopic[e.Topic], e.Event)
		}
		if len(evs) != 13 || len(byTopic["option.group.created"]) != 3 || len(byTopic["option.group.updated"]) != 9 || len(byTopic["option.group.deleted"]) != 1 {
			t.Fatalf("events %+v", byTopic)
		}
		if d := byTopic["option.group.deleted"][0]; d.ID != size.ID || len(d.Values) != 3 {
			t.Fatalf("deleted event %+v", d)
		}
		if u := byTopic["option.group.updated"]; !reflect.DeepEqual(u[len(u)-1], event(g)) {
			t.Fatalf("last updated event %+v, want %+v", u[len(u)-1], g)
		}
	})
}

// createN creates a group with n values v0, v1, ….
func createN(t *testing.T, h *harness, code string, n int) contract.OptionGroup {
	t.Helper()
	vs := make([]contract.NewOptionValue, n)
	for i := range vs {
		vs[i] = contract.NewOptionValue{Code: fmt.Sprint(code, i), Label: fmt.Sprint(code, " ", i)}
	}
	return call(t, h, contract.CreateOptionGroup, contract.CreateOptionGroupRequest{Code: code, Name: code, Values: vs})
}

func suffixes(r contract.GenerateVariantsReply) []string {
	out := make([]string, len(r.Variants))
	for i, v := range r.Variants {
		out[i] = v.SKUSuffix
	}
	return out
}

func TestGenerateVariants(t *testing.T) {
	moduletest.ForEach(t, module, func(t *testing.T, h *harness) {
		size := call(t, h, contract.CreateOptionGroup, contract.CreateOptionGroupRequest{Code: "size", Name: "Size", Values: values("s", "m", "l")})
		colour := call(t, h, contract.CreateOptionGroup, contract.CreateOptionGroupRequest{Code: "colour", Name: "Colour", Values: values("red", "blue")})
		gen := func(sel ...contract.VariantSelection) contract.GenerateVariantsReply {
			t.Helper()
			return call(t, h, contract.GenerateVariants, contract.GenerateVariantsRequest{Groups: sel})
		}

		// Groups in the order given, the first varying slowest; values by position.
		r := gen(contract.VariantSelection{GroupID: size.ID}, contract.VariantSelection{GroupID: colour.ID})
		want := []string{"S-RED", "S-BLUE", "M-RED", "M-BLUE", "L-RED", "L-BLUE"}
		if got := suffixes(r); !slices.Equal(got, want) {
			t.Fatalf("suffixes %v, want %v", got, want)
		}
		first := r.Variants[0].Options
		if len(first) != 2 || first[0] != (contract.VariantOption{GroupID: size.ID, GroupCode: "size", ValueID: size.Values[0].ID, ValueCode: "s", Label: "S"}) ||
			first[1].GroupID != colour.ID || first[1].ValueCode != "red" || first[1].Label != "Red" {
			t.Fatalf("first combination %+v", first)
		}
		r = gen(contract.VariantSelection{GroupID: colour.ID}, contract.VariantSelection{GroupID: size.ID})
		if got := suffixes(r); !slices.Equal(got, []string{"RED-S", "RED-M", "RED-L", "BLUE-S", "BLUE-M", "BLUE-L"}) {
			t.Fatalf("other order %v", got)
		}

		// A subset, given in any order, comes out by position.
		sub := contract.VariantSelection{GroupID: size.ID, ValueIDs: []string{size.Values[2].ID, size.Values[0].ID}}
		r = gen(sub, contract.VariantSelection{GroupID: colour.ID, ValueIDs: []string{colour.Values[1].ID}})
		if got := suffixes(r); !slices.Equal(got, []string{"S-BLUE", "L-BLUE"}) {
			t.Fatalf("subset %v", got)
		}

		// Deterministic: labels, names and reordering elsewhere do not move a suffix.
		before := gen(contract.VariantSelection{GroupID: size.ID}, contract.VariantSelection{GroupID: colour.ID})
		call(t, h, contract.UpdateOptionValue, contract.UpdateOptionValueRequest{GroupID: size.ID, Version: ver(t, h, size.ID), ValueID: size.Values[1].ID, Label: ptr("Medium")})
		call(t, h, contract.UpdateOptionGroup, contract.UpdateOptionGroupRequest{ID: colour.ID, Version: ver(t, h, colour.ID), Name: ptr("Color")})
		after := gen(contract.VariantSelection{GroupID: size.ID}, contract.VariantSelection{GroupID: colour.ID})
		if !slices.Equal(suffixes(before), suffixes(after)) || after.Variants[2].Options[0].Label != "Medium" {
			t.Fatalf("regenerated %v, was %v", suffixes(after), suffixes(before))
		}
		one := gen(contract.VariantSelection{GroupID: size.ID})
		if got := suffixes(one); !slices.Equal(got, []string{"S", "M", "L"}) {
			t.Fatalf("one group %v", got)
		}

		// The limit: 10×10×10 is fine, 10×10×11 is refused.
		a, b, c := createN(t, h, "a", 10), createN(t, h, "b", 10), createN(t, h, "c", 11)
		r = gen(contract.VariantSelection{GroupID: a.ID}, contract.VariantSelection{GroupID: b.ID},
			contract.VariantSelection{GroupID: c.ID, ValueIDs: []string{c.Values[0].ID, c.Values[1].ID, c.Values[2].ID, c.Values[3].ID, c.Values[4].ID,
				c.Values[5].ID, c.Values[6].ID, c.Values[7].ID, c.Values[8].ID, c.Values[10].ID}})
		if len(r.Variants) != 1000 || r.Variants[0].SKUSuffix != "A0-B0-C0" || r.Variants[999].SKUSuffix != "A9-B9-C10" {
			t.Fatalf("1000: %d variants, %q … %q", len(r.Variants), r.Variants[0].SKUSuffix, r.Variants[len(r.Variants)-1].SKUSuffix)
		}
		seen := map[string]bool{}
		for _, v := range r.Variants {
			if seen[v.SKUSuffix] {
				t.Fatalf("suffix %s twice", v.SKUSuffix)
			}
			seen[v.SKUSuffix] = true
		}
		callErr(t, h, contract.GenerateVariants, contract.GenerateVariantsRequest{Groups: []contract.VariantSelection{{GroupID: a.ID}, {GroupID: b.ID}, {GroupID: c.ID}}},
			bus.CodeInvalid, "1000")

		// Refusals name what is wrong.
		missing := newID()
		empty := call(t, h, contract.CreateOptionGroup, contract.CreateOptionGroupRequest{Code: "empty", Name: "Empty"})
		for _, tt := range []struct {
			name    string
			groups  []contract.VariantSelection
			mention string
		}{
			{"no groups", nil, "groups"},
			{"unknown group", []contract.VariantSelection{{GroupID: size.ID}, {GroupID: missing}}, missing},
			{"group twice", []contract.VariantSelection{{GroupID: size.ID}, {GroupID: colour.ID}, {GroupID: size.ID}}, "groups[2].group_id"},
			{"value of another group", []contract.VariantSelection{{GroupID: size.ID, ValueIDs: []string{colour.Values[0].ID}}}, colour.Values[0].ID},
			{"unknown value", []contract.VariantSelection{{GroupID: size.ID, ValueIDs: []string{size.Values[0].ID, missing}}}, "groups[0].value_ids[1]"},
			{"value twice", []contract.VariantSelection{{GroupID: size.ID, ValueIDs: []string{size.Values[0].ID, size.Values[0].ID}}}, "groups[0].value_ids[1]"},
			{"not a uuid", []contract.VariantSelection{{GroupID: "size"}}, "groups[0].group_id"},
			{"group without values", []contract.VariantSelection{{GroupID: size.ID}, {GroupID: empty.ID}}, "no values"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				callErr(t, h, contract.GenerateVariants, contract.GenerateVariantsRequest{Groups: tt.groups}, bus.CodeInvalid, tt.mention)
			})
		}
	})
}

func TestOptionBadInput(t *testing.T) {
	h := moduletest.Start(t, storetest.SQLite(t), module)
	events := bustest.Record[contract.OptionGroupEvent](t, h.Bus, "option.#")
	size := call(t, h, contract.CreateOptionGroup, contract.CreateOptionGroupRequest{Code: "size", Name: "Size", Values: values("s", "m")})
	missing := newID()
	tests := []struct {
		name    string
		call    func() error
		code    bus.Code
		mention string
	}{
		{"no code", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.CreateOptionGroup, contract.CreateOptionGroupRequest{Name: "X"}))
		}, bus.CodeInvalid, "code"},
		{"bad code", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.CreateOptionGroup, contract.CreateOptionGroupRequest{Code: "Big Size", Name: "X"}))
		}, bus.CodeInvalid, "code"},
		{"empty name", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.CreateOptionGroup, contract.CreateOptionGroupRequest{Code: "x", Name: " "}))
		}, bus.CodeInvalid, "name"},
		{"long name", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.CreateOptionGroup, contract.CreateOptionGroupRequest{Code: "x", Name: strings.Repeat("x", maxNameLen+1)}))
		}, bus.CodeInvalid, "name"},
		{"bad value code", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.CreateOptionGroup, contract.CreateOptionGroupRequest{Code: "x", Name: "X",
				Values: []contract.NewOptionValue{{Code: "a", Label: "A"}, {Code: "B", Label: "B"}}}))
		}, bus.CodeInvalid, "values[1].code"},
		{"duplicate value code", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.CreateOptionGroup, contract.CreateOptionGroupRequest{Code: "x", Name: "X", Values: values("a", "a")}))
		}, bus.CodeInvalid, "values[1].code"},
		{"value without label", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.CreateOptionGroup, contract.CreateOptionGroupRequest{Code: "x", Name: "X",
				Values: []contract.NewOptionValue{{Code: "a"}}}))
		}, bus.CodeInvalid, "values[0].label"},
		{"too many values", func() error {
			vs := make([]contract.NewOptionValue, maxValues+1)
			for i := range vs {
				vs[i] = contract.NewOptionValue{Code: fmt.Sprint("v", i), Label: "V"}
			}
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.CreateOptionGroup, contract.CreateOptionGroupRequest{Code: "x", Name: "X", Values: vs}))
		}, bus.CodeInvalid, "values"},
		{"control chars", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.AddOptionValue, contract.AddOptionValueRequest{GroupID: size.ID, Code: "l", Label: "a\x00b"}))
		}, bus.CodeInvalid, "label"},
		{"get bad id", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.GetOptionGroup, contract.OptionGroupID{ID: "x"}))
		}, bus.CodeInvalid, "UUID"},
		{"get missing", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.GetOptionGroup, contract.OptionGroupID{ID: missing}))
		}, bus.CodeNotFound, missing},
		{"code injection", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.GetOptionGroupByCode, contract.OptionGroupCode{Code: `{"$gt":""}`}))
		}, bus.CodeInvalid, "code"},
		{"empty update", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.UpdateOptionGroup, contract.UpdateOptionGroupRequest{ID: size.ID, Version: 1}))
		}, bus.CodeInvalid, "nothing to update"},
		{"update bad code", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.UpdateOptionGroup, contract.UpdateOptionGroupRequest{ID: size.ID, Version: 1, Code: ptr("")}))
		}, bus.CodeInvalid, "code"},
		{"update missing", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.UpdateOptionGroup, contract.UpdateOptionGroupRequest{ID: missing, Version: 1, Name: ptr("x")}))
		}, bus.CodeNotFound, missing},
		{"add value bad group id", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.AddOptionValue, contract.AddOptionValueRequest{GroupID: "1", Code: "l", Label: "L"}))
		}, bus.CodeInvalid, "group_id"},
		{"add value negative position", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.AddOptionValue, contract.AddOptionValueRequest{GroupID: size.ID, Code: "l", Label: "L", Position: ptr(-1)}))
		}, bus.CodeInvalid, "position"},
		{"update value bad id", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.UpdateOptionValue, contract.UpdateOptionValueRequest{GroupID: size.ID, Version: 1, ValueID: "v", Label: ptr("x")}))
		}, bus.CodeInvalid, "value_id"},
		{"empty value update", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.UpdateOptionValue, contract.UpdateOptionValueRequest{GroupID: size.ID, Version: 1, ValueID: size.Values[0].ID}))
		}, bus.CodeInvalid, "nothing to update"},
		{"update value bad code", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.UpdateOptionValue, contract.UpdateOptionValueRequest{GroupID: size.ID, Version: 1, ValueID: size.Values[0].ID, Code: ptr("X-L")}))
		}, bus.CodeInvalid, "code"},
		{"remove missing value", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.RemoveOptionValue, contract.RemoveOptionValueRequest{GroupID: size.ID, ValueID: missing}))
		}, bus.CodeNotFound, missing},
		{"delete missing", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.DeleteOptionGroup, contract.DeleteOptionGroupRequest{ID: missing}))
		}, bus.CodeNotFound, missing},
		{"too many groups", func() error {
			sel := make([]contract.VariantSelection, maxVariantGroups+1)
			for i := range sel {
				sel[i].GroupID = newID()
			}
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.GenerateVariants, contract.GenerateVariantsRequest{Groups: sel}))
		}, bus.CodeInvalid, "groups"},
		{"unknown field", func() error {
			return errOf(h.Bus.Request(moduletest.Admin(t.Context()), contract.OptionQueue, "create", []byte(`{"code":"x","name":"X","admin":true}`)))
		}, bus.CodeInvalid, "admin"},
		{"operator injection", func() error {
			return errOf(h.Bus.Request(moduletest.Admin(t.Context()), contract.OptionQueue, "get_by_code", []byte(`{"code":{"$gt":""}}`)))
		}, bus.CodeInvalid, "code"},
		{"unknown op", func() error {
			return errOf(h.Bus.Request(moduletest.Admin(t.Context()), contract.OptionQueue, "drop", []byte(`{}`)))
		}, bus.CodeNotFound, "drop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if bus.CodeOf(err) != tt.code || !strings.Contains(err.Error(), tt.mention) {
				t.Fatalf("got %v, want %s mentioning %q", err, tt.code, tt.mention)
			}
		})
	}
	// Nothing was written by the bad requests.
	list := call(t, h, contract.ListOptionGroups, contract.ListOptionGroupsRequest{})
	if len(list.Items) != 1 || !reflect.DeepEqual(list.Items[0], size) {
		t.Fatalf("bad input changed the data: %+v", list.Items)
	}
	// Nor published: after one good write, its event is the second one.
	call(t, h, contract.UpdateOptionGroup, contract.UpdateOptionGroupRequest{ID: size.ID, Version: ver(t, h, size.ID), Name: ptr("Sizes")})
	if evs := events.Wait(t, 2); len(evs) != 2 || evs[1].Event.Name != "Sizes" {
		t.Fatalf("bad input published events: %+v", evs)
	}
}

func errOf[T any](_ T, err error) error { return err }

// ver is the version group id is at, as a client that just read it would
// send.
func ver(t *testing.T, h *harness, id string) int64 {
	t.Helper()
	return call(t, h, contract.GetOptionGroup, contract.OptionGroupID{ID: id}).Version
}

// TestConcurrentValueAdds has 20 callers add a value each to one group at
// once: every value must be there afterwards. Where the backend serialises
// independent clients, requests go to two module instances with their own
// store handles, as two processes would.
func TestConcurrentValueAdds(t *testing.T) {
	moduletest.ForEach(t, module, func(t *testing.T, h *harness) {
		if storetest.BackendOf(t, h.DB).Has(storetest.MultiClient) {
			moduletest.Start(t, storetest.Another(t, h.DB), module, moduletest.OnBus(h.Bus))
		}
		g := call(t, h, contract.CreateOptionGroup, contract.CreateOptionGroupRequest{Code: "colour", Name: "Colour"})
		const n = 20
		// 20 version-checked adds to one document retry each other; on
		// FerretDB's one connection they take 7 s on a quiet machine, so
		// the bus's 10 s default is no bound for a loaded one.
		ctx, cancel := context.WithTimeout(moduletest.Admin(t.Context()), time.Minute)
		defer cancel()
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				_, err := bus.Call(ctx, h.Bus, contract.AddOptionValue, contract.AddOptionValueRequest{GroupID: g.ID, Code: fmt.Sprint("c", i), Label: fmt.Sprint("Colour ", i)})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got := call(t, h, contract.GetOptionGroup, contract.OptionGroupID{ID: g.ID})
		if len(got.Values) != n {
			t.Fatalf("%d values after %d concurrent adds: %v", len(got.Values), n, valueCodes(got))
		}
		positionsOK(t, got)
		codes := valueCodes(got)
		slices.Sort(codes)
		for i := range n {
			if _, ok := slices.BinarySearch(codes, fmt.Sprint("c", i)); !ok {
				t.Fatalf("value c%d lost: %v", i, codes)
			}
		}
	})
}

// TestOptionVersions: every write of a group, value operations included,
// checks the expected version; a stale one is a conflict that changes
// nothing and publishes nothing, the right one (or none, where optional)
// bumps the version, which the reply and the event carry.
func TestOptionVersions(t *testing.T) {
	moduletest.ForEach(t, module, func(t *testing.T, h *harness) {
		events := bustest.Record[contract.OptionGroupEvent](t, h.Bus, "option.#")
		tests := []struct {
			name string
			// write gets the group (at version 2, values a and b) and
			// the version to send.
			write func(g contract.OptionGroup, v int64) error
			give  int64 // the version sent, relative: 0 the group's, -1 one behind, 1 none
			ok    bool
			topic string
		}{
			{"update stale", func(g contract.OptionGroup, v int64) error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.UpdateOptionGroup, contract.UpdateOptionGroupRequest{ID: g.ID, Version: v, Name: ptr("New")}))
			}, -1, false, ""},
			{"update", func(g contract.OptionGroup, v int64) error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.UpdateOptionGroup, contract.UpdateOptionGroupRequest{ID: g.ID, Version: v, Name: ptr("New")}))
			}, 0, true, "option.group.updated"},
			{"add value stale", func(g contract.OptionGroup, v int64) error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.AddOptionValue, contract.AddOptionValueRequest{GroupID: g.ID, Version: v, Code: "c", Label: "C"}))
			}, -1, false, ""},
			{"add value", func(g contract.OptionGroup, v int64) error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.AddOptionValue, contract.AddOptionValueRequest{GroupID: g.ID, Version: v, Code: "c", Label: "C"}))
			}, 0, true, "option.group.updated"},
			{"add value without version", func(g contract.OptionGroup, v int64) error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.AddOptionValue, contract.AddOptionValueRequest{GroupID: g.ID, Version: v, Code: "c", Label: "C"}))
			}, 1, true, "option.group.updated"},
			{"update value stale", func(g contract.OptionGroup, v int64) error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.UpdateOptionValue, contract.UpdateOptionValueRequest{GroupID: g.ID, ValueID: g.Values[0].ID, Version: v, Label: ptr("X")}))
			}, -1, false, ""},
			{"update value", func(g contract.OptionGroup, v int64) error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.UpdateOptionValue, contract.UpdateOptionValueRequest{GroupID: g.ID, ValueID: g.Values[0].ID, Version: v, Label: ptr("X")}))
			}, 0, true, "option.group.updated"},
			{"remove value stale", func(g contract.OptionGroup, v int64) error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.RemoveOptionValue, contract.RemoveOptionValueRequest{GroupID: g.ID, ValueID: g.Values[0].ID, Version: v}))
			}, -1, false, ""},
			{"remove value", func(g contract.OptionGroup, v int64) error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.RemoveOptionValue, contract.RemoveOptionValueRequest{GroupID: g.ID, ValueID: g.Values[0].ID, Version: v}))
			}, 0, true, "option.group.updated"},
			{"delete stale", func(g contract.OptionGroup, v int64) error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.DeleteOptionGroup, contract.DeleteOptionGroupRequest{ID: g.ID, Version: v}))
			}, -1, false, ""},
			{"delete", func(g contract.OptionGroup, v int64) error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.DeleteOptionGroup, contract.DeleteOptionGroupRequest{ID: g.ID, Version: v}))
			}, 0, true, "option.group.deleted"},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				g := call(t, h, contract.CreateOptionGroup, contract.CreateOptionGroupRequest{Code: fmt.Sprint("g", i), Name: "G", Values: values("a")})
				g = call(t, h, contract.AddOptionValue, contract.AddOptionValueRequest{GroupID: g.ID, Version: 1, Code: "b", Label: "B"})
				if g.Version != 2 {
					t.Fatalf("set-up: version %d", g.Version)
				}
				seen := len(moduletest.Settle(t, h.Outbox, events))
				v := map[int64]int64{0: g.Version, -1: g.Version - 1, 1: 0}[tt.give]
				err := tt.write(g, v)
				evs := moduletest.Settle(t, h.Outbox, events)
				got, gerr := bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.GetOptionGroup, contract.OptionGroupID{ID: g.ID})
				if !tt.ok {
					if !contract.IsVersionConflict(err) || !strings.Contains(err.Error(), fmt.Sprintf("is at version 2, not %d", v)) {
						t.Fatalf("stale write: %v, want a version conflict", err)
					}
					if gerr != nil || !reflect.DeepEqual(got, g) || len(evs) != seen {
						t.Fatalf("a stale write changed something: %+v (%v), events %+v", got, gerr, evs[seen:])
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(evs) != seen+1 || evs[seen].Topic != tt.topic || evs[seen].Event.Version != 3 {
					t.Fatalf("events after the write %+v, want one %s at version 3", evs[seen:], tt.topic)
				}
				if tt.topic == "option.group.deleted" {
					if bus.CodeOf(gerr) != bus.CodeNotFound {
						t.Fatalf("after delete: %v", gerr)
					}
					return
				}
				if gerr != nil || got.Version != 3 {
					t.Fatalf("after the write %+v, %v; want version 3", got, gerr)
				}
			})
		}
		g := call(t, h, contract.CreateOptionGroup, contract.CreateOptionGroupRequest{Code: "required", Name: "R", Values: values("a")})
		callErr(t, h, contract.UpdateOptionGroup, contract.UpdateOptionGroupRequest{ID: g.ID, Name: ptr("x")}, bus.CodeInvalid, "version is required")
		callErr(t, h, contract.UpdateOptionValue, contract.UpdateOptionValueRequest{GroupID: g.ID, ValueID: g.Values[0].ID, Label: ptr("x")}, bus.CodeInvalid, "version is required")
		callErr(t, h, contract.RemoveOptionValue, contract.RemoveOptionValueRequest{GroupID: g.ID, ValueID: g.Values[0].ID, Version: -2}, bus.CodeInvalid, "version -2")
	})
}

// TestConcurrentCheckedAdds has 10 callers add a value each, all
// expecting the same version: exactly one gets through, the others get a
// version conflict, and nothing is lost or doubled.
func TestConcurrentCheckedAdds(t *testing.T) {
	moduletest.ForEach(t, module, func(t *testing.T, h *harness) {
		if storetest.BackendOf(t, h.DB).Has(storetest.MultiClient) {
			moduletest.Start(t, storetest.Another(t, h.DB), module, moduletest.OnBus(h.Bus))
		}
		g := call(t, h, contract.CreateOptionGroup, contract.CreateOptionGroupRequest{Code: "colour", Name: "Colour"})
		const n = 10
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				_, err := bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.AddOptionValue, contract.AddOptionValueRequest{GroupID: g.ID, Version: g.Version, Code: fmt.Sprint("c", i), Label: "C"})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		won := 0
		for err := range errs {
			switch {
			case err == nil:
				won++
			case !contract.IsVersionConflict(err):
				t.Fatal(err)
			}
		}
		got := call(t, h, contract.GetOptionGroup, contract.OptionGroupID{ID: g.ID})
		if won != 1 || len(got.Values) != 1 || got.Version != 2 {
			t.Fatalf("%d of %d checked adds won; group %+v", won, n, got)
		}
	})
}

// TestListPages walks the option groups in keyset pages.
func TestListPages(t *testing.T) {
	moduletest.ForEach(t, module, func(t *testing.T, h *harness) {
		var want []string
		for _, code := range []string{"e", "a", "d", "b", "c"} {
			call(t, h, contract.CreateOptionGroup, contract.CreateOptionGroupRequest{Code: code, Name: code, Values: values("x", "y")})
		}
		want = []string{"a", "b", "c", "d", "e"}
		var got []string
		req := contract.ListOptionGroupsRequest{Limit: 2}
		for pages := 0; ; pages++ {
			if pages > 3 {
				t.Fatalf("more than 3 pages: %v", got)
			}
			page := call(t, h, contract.ListOptionGroups, req)
			if page.Total != 5 || len(page.Items) > 2 {
				t.Fatalf("page %+v", page)
			}
			for _, g := range page.Items {
				got = append(got, g.Code)
				if len(g.Values) != 2 {
					t.Fatalf("group %s with %d values", g.Code, len(g.Values))
				}
			}
			if page.NextCursor == "" {
				break
			}
			req.Cursor = page.NextCursor
		}
		if !slices.Equal(got, want) {
			t.Fatalf("walked %v, want %v", got, want)
		}
		if all := call(t, h, contract.ListOptionGroups, contract.ListOptionGroupsRequest{}); len(all.Items) != 5 || all.NextCursor != "" {
			t.Fatalf("default page %+v", all)
		}
		callErr(t, h, contract.ListOptionGroups, contract.ListOptionGroupsRequest{Limit: -1}, bus.CodeInvalid, "limit")
		callErr(t, h, contract.ListOptionGroups, contract.ListOptionGroupsRequest{Limit: contract.MaxOptionGroupsPage + 1}, bus.CodeInvalid, "limit")
		callErr(t, h, contract.ListOptionGroups, contract.ListOptionGroupsRequest{Cursor: "!!"}, bus.CodeInvalid, "cursor")
		callErr(t, h, contract.ListOptionGroups, contract.ListOptionGroupsRequest{Cursor: encodeCursor(`{"$gt":""}`)}, bus.CodeInvalid, "cursor")
	})
}
