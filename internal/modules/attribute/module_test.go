package attribute

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
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
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

// module is the attribute module as moduletest starts it.
var module = moduletest.Spec[Store, *Module]{Open: OpenStore, New: New,
	Relay: func(m *Module, r *outbox.Relay) { m.relay = r }}

// harness is a running attribute module (moduletest.Start) with a stub of
// the product module and a recorder of its events.
type harness struct {
	*moduletest.Harness[*Module]
	// products is the product module's stub; Stop it for a product
	// module that is down.
	products *moduletest.Stub
	usage    *usage
	events   *bustest.Recorder[json.RawMessage]
}

// start runs the attribute module on db with its product peer stubbed.
func start(t *testing.T, db *store.DB) *harness {
	t.Helper()
	return withProducts(t, moduletest.Start(t, db, module))
}

// withProducts stubs the product module and records the module's events.
func withProducts(t *testing.T, mt *moduletest.Harness[*Module]) *harness {
	t.Helper()
	h := &harness{Harness: mt, products: moduletest.NewStub(t, mt.Bus, contract.ProductQueue),
		usage: &usage{counts: map[contract.AttributeUsageRequest]int{}}, events: bustest.Record[json.RawMessage](t, mt.Bus, "attribute.#")}
	moduletest.Handle(h.products, contract.ProductsUsingAttribute, h.usage.answer)
	return h
}

// settle waits until the module's relay has published every event
// committed so far and returns all recorded (moduletest.Settle).
func (h *harness) settle(t *testing.T) []bustest.Recorded[json.RawMessage] {
	t.Helper()
	return moduletest.Settle(t, h.Outbox, h.events)
}

// usage is how the product stub answers ProductsUsingAttribute: from a
// table the test controls, keeping the questions asked. The product
// module's own tests cover the real counting; these tests cover what the
// attribute module does with the answer.
type usage struct {
	mu     sync.Mutex
	counts map[contract.AttributeUsageRequest]int
	asked  []contract.AttributeUsageRequest
}

func (u *usage) set(code, value string, n int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.counts[contract.AttributeUsageRequest{Code: code, Value: value}] = n
}

func (u *usage) questions() []contract.AttributeUsageRequest {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.asked)
}

func (u *usage) answer(_ context.Context, req contract.AttributeUsageRequest) (contract.AttributeUsage, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.asked = append(u.asked, req)
	return contract.AttributeUsage{Count: u.counts[req]}, nil
}

func call[Req, Resp any](t *testing.T, h *harness, e bus.Endpoint[Req, Resp], req Req) Resp {
	t.Helper()
	return bustest.CallAs(t, moduletest.AdminMeta, h.Bus, e, req)
}

func callErr[Req, Resp any](t *testing.T, h *harness, e bus.Endpoint[Req, Resp], req Req, code bus.Code, mention string) {
	t.Helper()
	bustest.CallErrAs(t, moduletest.AdminMeta, h.Bus, e, req, code, mention)
}

func topics(rs []bustest.Recorded[json.RawMessage]) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Topic
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// defAt and groupAt fill in the version the definition or group is at, as
// a client that just read it would send.
func defAt(t *testing.T, h *harness, req contract.UpdateAttributeDefinitionRequest) contract.UpdateAttributeDefinitionRequest {
	t.Helper()
	req.Version = call(t, h, contract.GetAttributeDefinition, contract.AttributeDefinitionID{ID: req.ID}).Version
	return req
}

func groupAt(t *testing.T, h *harness, req contract.UpdateAttributeGroupRequest) contract.UpdateAttributeGroupRequest {
	t.Helper()
	req.Version = call(t, h, contract.GetAttributeGroup, contract.AttributeGroupID{ID: req.ID}).Version
	return req
}

func errOf[T any](_ T, err error) error { return err }

func values(codes ...string) []contract.AllowedValue {
	out := make([]contract.AllowedValue, len(codes))
	for i, c := range codes {
		out[i] = contract.AllowedValue{Code: c, Label: strings.ToUpper(c[:1]) + c[1:]}
	}
	return out
}

func codesOf(ds []contract.AttributeDefinition) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Code
	}
	return out
}

func TestAttributeModule(t *testing.T) {
	moduletest.ForEach(t, module, func(t *testing.T, mt *moduletest.Harness[*Module]) {
		h := withProducts(t, mt)

		// Groups: slugs generated like category slugs, positions kept dense.
		tech := call(t, h, contract.CreateAttributeGroup, contract.CreateAttributeGroupRequest{Name: "  Technical data "})
		if tech.Name != "Technical data" || tech.Slug != "technical-data" || tech.Position != 0 {
			t.Fatalf("created %+v", tech)
		}
		if id, err := uuid.Parse(tech.ID); err != nil || id.Version() != 7 {
			t.Fatalf("id %q is not a UUID v7", tech.ID)
		}
		again := call(t, h, contract.CreateAttributeGroup, contract.CreateAttributeGroupRequest{Name: "Technical Data"})
		if again.Slug != "technical-data-2" || again.Position != 1 {
			t.Fatalf("second: %+v", again)
		}
		callErr(t, h, contract.CreateAttributeGroup, contract.CreateAttributeGroupRequest{Name: "X", Slug: "technical-data"}, bus.CodeConflict, "taken")
		looks := call(t, h, contract.CreateAttributeGroup, contract.CreateAttributeGroupRequest{Name: "Looks", Slug: "looks", Position: ptr(0)})
		groups := call(t, h, contract.ListAttributeGroups, contract.Empty{})
		if len(groups.Items) != 3 || groups.Items[0].ID != looks.ID || groups.Items[1].ID != tech.ID || groups.Items[2].Position != 2 {
			t.Fatalf("groups %+v", groups.Items)
		}
		if got := call(t, h, contract.GetAttributeGroup, contract.AttributeGroupID{ID: tech.ID}); got.Position != 1 || got.Slug != tech.Slug {
			t.Fatalf("get group %+v", got)
		}

		// Group update: the slug stays with a new name; position moves.
		upd := call(t, h, contract.UpdateAttributeGroup, groupAt(t, h, contract.UpdateAttributeGroupRequest{ID: again.ID, Name: ptr("Care"), Position: ptr(0)}))
		if upd.Name != "Care" || upd.Slug != "technical-data-2" || upd.Position != 0 || upd.Version != 3 { // created, shifted by looks, updated
			t.Fatalf("updated group %+v", upd)
		}
		callErr(t, h, contract.UpdateAttributeGroup, groupAt(t, h, contract.UpdateAttributeGroupRequest{ID: again.ID, Slug: ptr("looks")}), bus.CodeConflict, "taken")

		// Definitions.
		weight := call(t, h, contract.CreateAttributeDefinition, contract.CreateAttributeDefinitionRequest{
			Code: "weight", Name: "Weight", GroupID: tech.ID, Type: contract.AttributeNumber, Unit: " kg ", Filterable: true})
		if weight.Unit != "kg" || weight.Position != 0 || weight.Values != nil || !weight.Filterable || weight.Required {
			t.Fatalf("created %+v", weight)
		}
		material := call(t, h, contract.CreateAttributeDefinition, contract.CreateAttributeDefinitionRequest{
			Code: "material", Name: "Material", GroupID: tech.ID, Type: contract.AttributeSelect, Values: values("wood", "steel"), Required: true})
		waterproof := call(t, h, contract.CreateAttributeDefinition, contract.CreateAttributeDefinitionRequest{
			Code: "waterproof", Name: "Waterproof", GroupID: tech.ID, Type: contract.AttributeBoolean, Position: ptr(0)})
		color := call(t, h, contract.CreateAttributeDefinition, contract.CreateAttributeDefinitionRequest{
			Code: "color", Name: "Colour", GroupID: looks.ID, Type: contract.AttributeMultiselect, Values: values("red", "green", "blue"), Filterable: true})
		callErr(t, h, contract.CreateAttributeDefinition, contract.CreateAttributeDefinitionRequest{
			Code: "weight", Name: "Weight again", GroupID: looks.ID, Type: contract.AttributeText}, bus.CodeConflict, `code "weight" is taken`)

		// material moved down one when waterproof went first.
		got := call(t, h, contract.GetAttributeByCode, contract.AttributeCode{Code: "material"})
		shifted := material
		shifted.Position, shifted.Version, shifted.UpdatedAt = 2, 2, got.UpdatedAt
		if !reflect.DeepEqual(got, shifted) || got.UpdatedAt.Before(material.UpdatedAt) {
			t.Fatalf("by code %+v, want %+v", got, shifted)
		}
		if got := call(t, h, contract.GetAttributeDefinition, contract.AttributeDefinitionID{ID: weight.ID}); got.Position != 1 {
			t.Fatalf("weight after insert before it: %+v", got)
		}
		cat := call(t, h, contract.ListAttributes, contract.Empty{})
		if len(cat.Items) != 3 || cat.Items[0].ID != again.ID || len(cat.Items[0].Definitions) != 0 || cat.Items[0].Definitions == nil ||
			cat.Items[1].ID != looks.ID || !slices.Equal(codesOf(cat.Items[1].Definitions), []string{"color"}) ||
			cat.Items[2].ID != tech.ID || !slices.Equal(codesOf(cat.Items[2].Definitions), []string{"waterproof", "weight", "material"}) {
			t.Fatalf("catalog %+v", cat)
		}
		for i, d := range cat.Items[2].Definitions {
			if d.Position != i {
				t.Fatalf("%s at %d, want %d", d.Code, d.Position, i)
			}
		}

		// Updates that orphan nothing need no product answer.
		h.products.Stop()
		renamed := call(t, h, contract.UpdateAttributeDefinition, defAt(t, h, contract.UpdateAttributeDefinitionRequest{
			ID: color.ID, Name: ptr("Color"), Values: ptr(append(values("red", "green", "blue"), contract.AllowedValue{Code: "black", Label: "Black"})),
			Required: ptr(true), Filterable: ptr(false)}))
		if renamed.Name != "Color" || len(renamed.Values) != 4 || !renamed.Required || renamed.Filterable || renamed.Code != "color" || renamed.Version != color.Version+1 {
			t.Fatalf("renamed %+v", renamed)
		}
		// Moving to another group closes the gap behind.
		moved := call(t, h, contract.UpdateAttributeDefinition, defAt(t, h, contract.UpdateAttributeDefinitionRequest{ID: waterproof.ID, GroupID: ptr(looks.ID), Position: ptr(0)}))
		if moved.GroupID != looks.ID || moved.Position != 0 {
			t.Fatalf("moved %+v", moved)
		}
		cat = call(t, h, contract.ListAttributes, contract.Empty{})
		if !slices.Equal(codesOf(cat.Items[1].Definitions), []string{"waterproof", "color"}) || !slices.Equal(codesOf(cat.Items[2].Definitions), []string{"weight", "material"}) ||
			cat.Items[1].Definitions[1].Position != 1 || cat.Items[2].Definitions[0].Position != 0 || cat.Items[2].Definitions[1].Position != 1 {
			t.Fatalf("catalog after move %+v", cat)
		}
		callErr(t, h, contract.UpdateAttributeDefinition, defAt(t, h, contract.UpdateAttributeDefinitionRequest{ID: weight.ID, Code: ptr("color")}), bus.CodeUnavailable, "product")

		// Groups with attributes are not deleted; empty ones are.
		callErr(t, h, contract.DeleteAttributeGroup, contract.DeleteAttributeGroupRequest{ID: tech.ID}, bus.CodeConflict, "has 2 attributes")
		if del := call(t, h, contract.DeleteAttributeGroup, contract.DeleteAttributeGroupRequest{ID: again.ID}); del.Deleted != again.ID {
			t.Fatalf("deleted %+v", del)
		}
		callErr(t, h, contract.GetAttributeGroup, contract.AttributeGroupID{ID: again.ID}, bus.CodeNotFound, again.ID)
		groups = call(t, h, contract.ListAttributeGroups, contract.Empty{})
		if len(groups.Items) != 2 || groups.Items[0].ID != looks.ID || groups.Items[0].Position != 0 || groups.Items[1].Position != 1 {
			t.Fatalf("groups after delete %+v", groups.Items)
		}

		// Events: one per write, plus updates for siblings that moved.
		evs := h.settle(t)
		count := map[string]int{}
		for _, e := range evs {
			count[e.Topic]++
		}
		want := map[string]int{
			"attribute.group.created":      3,
			"attribute.group.updated":      2 + 3 + 2, // looks inserted first; Care moved first (and the two it passed); gap closed
			"attribute.group.deleted":      1,
			"attribute.definition.created": 4,
			"attribute.definition.updated": 2 + 1 + 4, // waterproof inserted first; color renamed; waterproof moved, color shifted, weight and material closed up
		}
		if !reflect.DeepEqual(count, want) {
			t.Fatalf("events %v, want %v", count, want)
		}
		for _, e := range evs {
			switch e.Topic {
			case "attribute.definition.created":
				var d contract.AttributeDefinitionEvent
				if err := bus.DecodeStrict(e.Event, &d); err != nil {
					t.Fatal(err)
				}
				if d.Code == "color" && !reflect.DeepEqual(d, definitionEvent(color)) {
					t.Fatalf("created event %+v, want %+v", d, color)
				}
			case "attribute.group.deleted":
				var g contract.AttributeGroupEvent
				if err := bus.DecodeStrict(e.Event, &g); err != nil || g.ID != again.ID || g.Name != "Care" || g.Version != upd.Version+1 {
					t.Fatalf("deleted event %s (%v)", e.Event, err)
				}
			}
		}

		// Position alone reorders within the group.
		first := call(t, h, contract.UpdateAttributeDefinition, defAt(t, h, contract.UpdateAttributeDefinitionRequest{ID: material.ID, Position: ptr(0)}))
		if first.Position != 0 || first.GroupID != tech.ID || first.UpdatedAt.Before(material.UpdatedAt) {
			t.Fatalf("reordered %+v", first)
		}
		ds := call(t, h, contract.ListAttributes, contract.Empty{}).Items[1].Definitions
		if !slices.Equal(codesOf(ds), []string{"material", "weight"}) || ds[1].Position != 1 {
			t.Fatalf("after reorder %+v", ds)
		}
	})
}

// TestProductUsage: changes that would orphan product data (code, type,
// a removed allowed value, delete) ask the product module first.
func TestProductUsage(t *testing.T) {
	moduletest.ForEach(t, module, func(t *testing.T, mt *moduletest.Harness[*Module]) {
		h := withProducts(t, mt)
		g := call(t, h, contract.CreateAttributeGroup, contract.CreateAttributeGroupRequest{Name: "Technical"})
		material := call(t, h, contract.CreateAttributeDefinition, contract.CreateAttributeDefinitionRequest{
			Code: "material", Name: "Material", GroupID: g.ID, Type: contract.AttributeSelect, Values: values("wood", "steel", "glass")})

		h.usage.set("material", "", 3)
		h.usage.set("material", "wood", 2)
		callErr(t, h, contract.UpdateAttributeDefinition, defAt(t, h, contract.UpdateAttributeDefinitionRequest{ID: material.ID, Type: ptr(contract.AttributeMultiselect)}),
			bus.CodeConflict, `attribute "material" is used by 3 products: cannot change its type from select to multiselect`)
		callErr(t, h, contract.UpdateAttributeDefinition, defAt(t, h, contract.UpdateAttributeDefinitionRequest{ID: material.ID, Code: ptr("materials")}),
			bus.CodeConflict, "used by 3 products")
		callErr(t, h, contract.UpdateAttributeDefinition, defAt(t, h, contract.UpdateAttributeDefinitionRequest{ID: material.ID, Values: ptr(values("steel", "glass"))}),
			bus.CodeConflict, `value "wood" of attribute "material" is used by 2 products`)
		callErr(t, h, contract.DeleteAttributeDefinition, contract.DeleteAttributeDefinitionRequest{ID: material.ID}, bus.CodeConflict, "cannot delete it")
		// Removing an unused value goes through (only that value is asked about).
		before := len(h.usage.questions())
		trimmed := call(t, h, contract.UpdateAttributeDefinition, defAt(t, h, contract.UpdateAttributeDefinitionRequest{ID: material.ID, Values: ptr(values("wood", "steel"))}))
		if !reflect.DeepEqual(trimmed.Values, values("wood", "steel")) {
			t.Fatalf("trimmed %+v", trimmed.Values)
		}
		if got := h.usage.questions()[before:]; !reflect.DeepEqual(got, []contract.AttributeUsageRequest{{Code: "material", Value: "glass"}}) {
			t.Fatalf("asked %+v", got)
		}

		// No products use it any more: every change goes through.
		h.usage.set("material", "", 0)
		h.usage.set("material", "wood", 0)
		text := call(t, h, contract.UpdateAttributeDefinition, defAt(t, h, contract.UpdateAttributeDefinitionRequest{ID: material.ID, Type: ptr(contract.AttributeText), Code: ptr("fabric")}))
		if text.Type != contract.AttributeText || text.Values != nil || text.Code != "fabric" {
			t.Fatalf("retyped %+v", text)
		}
		number := call(t, h, contract.CreateAttributeDefinition, contract.CreateAttributeDefinitionRequest{
			Code: "weight", Name: "Weight", GroupID: g.ID, Type: contract.AttributeNumber, Unit: "kg"})

		// The product module down: nothing that needs its answer is done.
		h.products.Stop()
		callErr(t, h, contract.UpdateAttributeDefinition, defAt(t, h, contract.UpdateAttributeDefinitionRequest{ID: number.ID, Type: ptr(contract.AttributeText)}),
			bus.CodeUnavailable, "cannot tell whether products use it")
		callErr(t, h, contract.DeleteAttributeDefinition, contract.DeleteAttributeDefinitionRequest{ID: number.ID}, bus.CodeUnavailable, "product")
		if got := call(t, h, contract.GetAttributeDefinition, contract.AttributeDefinitionID{ID: number.ID}); !reflect.DeepEqual(got, number) {
			t.Fatalf("changed while product was down: %+v", got)
		}
		// What needs no answer still works.
		if got := call(t, h, contract.UpdateAttributeDefinition, defAt(t, h, contract.UpdateAttributeDefinitionRequest{ID: number.ID, Unit: ptr("g")})); got.Unit != "g" {
			t.Fatalf("unit %+v", got)
		}
	})
}

// TestProductUsageTimeout: a product module that does not answer in time
// is a refusal with timeout, within the caller's deadline.
func TestProductUsageTimeout(t *testing.T) {
	h := start(t, storetest.SQLite(t))
	h.products.Stop()
	slow := moduletest.NewStub(t, h.Bus, contract.ProductQueue)
	moduletest.Handle(slow, contract.ProductsUsingAttribute, func(ctx context.Context, _ contract.AttributeUsageRequest) (contract.AttributeUsage, error) {
		<-ctx.Done()
		return contract.AttributeUsage{}, ctx.Err()
	})
	g := call(t, h, contract.CreateAttributeGroup, contract.CreateAttributeGroupRequest{Name: "G"})
	d := call(t, h, contract.CreateAttributeDefinition, contract.CreateAttributeDefinitionRequest{Code: "c", Name: "C", GroupID: g.ID, Type: contract.AttributeText})
	ctx, cancel := context.WithTimeout(moduletest.Admin(t.Context()), 400*time.Millisecond)
	defer cancel()
	_, err := bus.Call(ctx, h.Bus, contract.DeleteAttributeDefinition, contract.DeleteAttributeDefinitionRequest{ID: d.ID})
	if bus.CodeOf(err) != bus.CodeTimeout || !strings.Contains(err.Error(), "cannot tell") {
		t.Fatalf("got %v, want the module's timeout refusal (not the caller's own deadline)", err)
	}
	call(t, h, contract.GetAttributeDefinition, contract.AttributeDefinitionID{ID: d.ID})
}

func TestValidate(t *testing.T) {
	moduletest.ForEach(t, module, func(t *testing.T, mt *moduletest.Harness[*Module]) {
		h := withProducts(t, mt)
		g := call(t, h, contract.CreateAttributeGroup, contract.CreateAttributeGroupRequest{Name: "All"})
		for _, req := range []contract.CreateAttributeDefinitionRequest{
			{Code: "note", Type: contract.AttributeText},
			{Code: "weight", Type: contract.AttributeNumber, Required: true},
			{Code: "waterproof", Type: contract.AttributeBoolean},
			{Code: "material", Type: contract.AttributeSelect, Values: values("wood", "steel"), Required: true},
			{Code: "color", Type: contract.AttributeMultiselect, Values: values("red", "green", "blue")},
		} {
			req.Name, req.GroupID = req.Code, g.ID
			call(t, h, contract.CreateAttributeDefinition, req)
		}
		validate := func(values string) contract.ValidateAttributesReply {
			t.Helper()
			var req contract.ValidateAttributesRequest
			if err := json.Unmarshal([]byte(values), &req.Values); err != nil {
				t.Fatal(err)
			}
			r := call(t, h, contract.ValidateAttributes, req)
			// validate_many answers each item as validate_values does.
			many := call(t, h, contract.ValidateAttributesMany, contract.ValidateAttributesManyRequest{Items: []contract.AttributeValues{req.Values, {}, req.Values}})
			if len(many.Results) != 3 || !reflect.DeepEqual(many.Results[0], r) || !reflect.DeepEqual(many.Results[2], r) || many.Results[1].Valid {
				t.Fatalf("validate_many %s: %+v, validate_values: %+v", values, many.Results, r)
			}
			return r
		}

		// Valid, normalised: text trimmed, multiselect sorted, empty values left out.
		r := validate(`{"note":"  hello  ","weight":1.5,"waterproof":false,"material":"wood","color":["red","blue"]}`)
		want := contract.AttributeValues{"note": "hello", "weight": 1.5, "waterproof": false, "material": "wood", "color": []any{"blue", "red"}}
		if !r.Valid || len(r.Problems) != 0 || !reflect.DeepEqual(r.Values, want) {
			t.Fatalf("valid: %+v", r)
		}
		r = validate(`{"note":"   ","weight":0,"material":"steel","color":[],"waterproof":null}`)
		want = contract.AttributeValues{"weight": 0.0, "material": "steel"}
		if !r.Valid || !reflect.DeepEqual(r.Values, want) {
			t.Fatalf("empty values: %+v", r)
		}

		// Every kind of problem, sorted by code, each naming the attribute.
		r = validate(`{"note":42,"weight":"heavy","waterproof":"yes","material":"gold","color":["red","pink","red"],"size":"XL"}`)
		type p struct{ code, problem string }
		var got []p
		for _, x := range r.Problems {
			got = append(got, p{x.Code, x.Problem})
			if !strings.Contains(x.Message, x.Code) {
				t.Errorf("message %q does not name %s", x.Message, x.Code)
			}
		}
		wantProblems := []p{{"color", "wrong_type"}, {"material", "not_allowed"}, {"note", "wrong_type"}, {"size", "unknown"}, {"waterproof", "wrong_type"}, {"weight", "wrong_type"}}
		if r.Valid || !slices.Equal(got, wantProblems) {
			t.Fatalf("problems %+v", r.Problems)
		}
		r = validate(`{"color":["red","pink","black"],"material":["wood"]}`)
		got = nil
		for _, x := range r.Problems {
			got = append(got, p{x.Code, x.Problem})
		}
		wantProblems = []p{{"color", "not_allowed"}, {"material", "wrong_type"}, {"weight", "missing_required"}}
		if r.Valid || !slices.Equal(got, wantProblems) || !strings.Contains(r.Problems[0].Message, `"pink", "black" not allowed`) {
			t.Fatalf("problems %+v", r.Problems)
		}

		// Required: missing, null and empty all count as missing.
		r = validate(`{"material":null,"weight":null}`)
		if r.Valid || len(r.Problems) != 2 || r.Problems[0].Problem != contract.ProblemMissingRequired || r.Problems[1].Code != "weight" {
			t.Fatalf("required: %+v", r.Problems)
		}
		if r := validate(`{}`); r.Valid || len(r.Problems) != 2 {
			t.Fatalf("nothing given: %+v", r)
		}
		r = call(t, h, contract.ValidateAttributes, contract.ValidateAttributesRequest{})
		if r.Valid || len(r.Problems) != 2 {
			t.Fatalf("no values at all: %+v", r)
		}

		// Text length, counted in characters.
		if r := validate(`{"weight":1,"material":"wood","note":"` + strings.Repeat("é", contract.MaxAttributeTextLen) + `"}`); !r.Valid {
			t.Fatalf("text at the limit: %+v", r.Problems)
		}
		if r := validate(`{"weight":1,"material":"wood","note":"` + strings.Repeat("x", contract.MaxAttributeTextLen+1) + `"}`); r.Valid || r.Problems[0].Problem != contract.ProblemWrongType {
			t.Fatalf("text over the limit: %+v", r)
		}
		// Numbers arrive as float64 and must be finite (checked before JSON can't say it).
		d := contract.AttributeDefinition{Code: "weight", Type: contract.AttributeNumber}
		if _, kind, _ := checkValue(d, math.Inf(1)); kind != contract.ProblemWrongType {
			t.Fatalf("infinity: %q", kind)
		}
		// Operator injection is just a wrong type.
		if r := validate(`{"weight":1,"material":{"$gt":""}}`); r.Valid || r.Problems[0].Problem != contract.ProblemWrongType {
			t.Fatalf("injection: %+v", r)
		}
		// A body that is not a map of values is invalid.
		_, err := h.Bus.Request(moduletest.Admin(t.Context()), contract.AttributeQueue, "validate_values", []byte(`{"values":[1,2]}`))
		if bus.CodeOf(err) != bus.CodeInvalid || !strings.Contains(err.Error(), "values") {
			t.Fatalf("values not an object: %v", err)
		}
		// validate_many takes 1 to MaxBatch items.
		for _, n := range []int{0, contract.MaxBatch + 1} {
			_, err := bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.ValidateAttributesMany, contract.ValidateAttributesManyRequest{Items: make([]contract.AttributeValues, n)})
			if bus.CodeOf(err) != bus.CodeInvalid || !strings.Contains(err.Error(), "items") {
				t.Fatalf("validate_many of %d items: %v", n, err)
			}
		}
		// Each call reads the definitions it checks against: a new one counts at once.
		size := contract.AttributeValues{"weight": 1.0, "material": "wood", "size": "XL"}
		if r := call(t, h, contract.ValidateAttributesMany, contract.ValidateAttributesManyRequest{Items: []contract.AttributeValues{size}}); r.Results[0].Valid {
			t.Fatalf("size before its definition: %+v", r)
		}
		call(t, h, contract.CreateAttributeDefinition, contract.CreateAttributeDefinitionRequest{Code: "size", Name: "size", GroupID: g.ID, Type: contract.AttributeText})
		if r := call(t, h, contract.ValidateAttributesMany, contract.ValidateAttributesManyRequest{Items: []contract.AttributeValues{size}}); !r.Results[0].Valid {
			t.Fatalf("size after its definition: %+v", r)
		}
	})
}

func TestAttributeBadInput(t *testing.T) {
	moduletest.ForEach(t, module, func(t *testing.T, mt *moduletest.Harness[*Module]) {
		h := withProducts(t, mt)
		g := call(t, h, contract.CreateAttributeGroup, contract.CreateAttributeGroupRequest{Name: "Root"})
		sel := call(t, h, contract.CreateAttributeDefinition, contract.CreateAttributeDefinitionRequest{Code: "sel", Name: "Sel", GroupID: g.ID, Type: contract.AttributeSelect, Values: values("a", "b")})
		missing := uuid.Must(uuid.NewV7()).String()
		def := func(mod func(*contract.CreateAttributeDefinitionRequest)) func() error {
			req := contract.CreateAttributeDefinitionRequest{Code: "ok", Name: "OK", GroupID: g.ID, Type: contract.AttributeText}
			mod(&req)
			return func() error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.CreateAttributeDefinition, req))
			}
		}
		upd := func(req contract.UpdateAttributeDefinitionRequest) func() error {
			return func() error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.UpdateAttributeDefinition, req))
			}
		}
		tests := []struct {
			name    string
			call    func() error
			code    bus.Code
			mention string
		}{
			{"group empty name", func() error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.CreateAttributeGroup, contract.CreateAttributeGroupRequest{Name: " "}))
			}, bus.CodeInvalid, "name"},
			{"group bad slug", func() error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.CreateAttributeGroup, contract.CreateAttributeGroupRequest{Name: "A", Slug: "Not A Slug"}))
			}, bus.CodeInvalid, "slug"},
			{"group negative position", func() error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.CreateAttributeGroup, contract.CreateAttributeGroupRequest{Name: "A", Position: ptr(-1)}))
			}, bus.CodeInvalid, "position"},
			{"group empty update", func() error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.UpdateAttributeGroup, contract.UpdateAttributeGroupRequest{ID: g.ID, Version: 1}))
			}, bus.CodeInvalid, "nothing to update"},
			{"group update control chars", func() error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.UpdateAttributeGroup, contract.UpdateAttributeGroupRequest{ID: g.ID, Version: 1, Name: ptr("a\x00b")}))
			}, bus.CodeInvalid, "control"},
			{"group get bad id", func() error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.GetAttributeGroup, contract.AttributeGroupID{ID: "x"}))
			}, bus.CodeInvalid, "UUID"},
			{"group delete missing", func() error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.DeleteAttributeGroup, contract.DeleteAttributeGroupRequest{ID: missing}))
			}, bus.CodeNotFound, missing},
			{"code empty", def(func(r *contract.CreateAttributeDefinitionRequest) { r.Code = "" }), bus.CodeInvalid, "code: required"},
			{"code bad", def(func(r *contract.CreateAttributeDefinitionRequest) { r.Code = "Weight-KG" }), bus.CodeInvalid, "code"},
			{"code injection", def(func(r *contract.CreateAttributeDefinitionRequest) { r.Code = `{"$gt":""}` }), bus.CodeInvalid, "code"},
			{"name long", def(func(r *contract.CreateAttributeDefinitionRequest) { r.Name = strings.Repeat("x", maxNameLen+1) }), bus.CodeInvalid, "name"},
			{"type empty", def(func(r *contract.CreateAttributeDefinitionRequest) { r.Type = "" }), bus.CodeInvalid, "type: required"},
			{"type unknown", def(func(r *contract.CreateAttributeDefinitionRequest) { r.Type = "date" }), bus.CodeInvalid, "type"},
			{"group missing", def(func(r *contract.CreateAttributeDefinitionRequest) { r.GroupID = missing }), bus.CodeInvalid, "group_id"},
			{"group not a uuid", def(func(r *contract.CreateAttributeDefinitionRequest) { r.GroupID = "42" }), bus.CodeInvalid, "group_id"},
			{"group empty", def(func(r *contract.CreateAttributeDefinitionRequest) { r.GroupID = "" }), bus.CodeInvalid, "group_id"},
			{"select without values", def(func(r *contract.CreateAttributeDefinitionRequest) { r.Type = contract.AttributeSelect }), bus.CodeInvalid, "values"},
			{"values on text", def(func(r *contract.CreateAttributeDefinitionRequest) { r.Values = values("a") }), bus.CodeInvalid, "values"},
			{"value code bad", def(func(r *contract.CreateAttributeDefinitionRequest) {
				r.Type, r.Values = contract.AttributeSelect, []contract.AllowedValue{{Code: "A B", Label: "x"}}
			}), bus.CodeInvalid, "values[0].code"},
			{"value code repeated", def(func(r *contract.CreateAttributeDefinitionRequest) {
				r.Type, r.Values = contract.AttributeMultiselect, values("a", "b", "a")
			}), bus.CodeInvalid, "values[2].code"},
			{"value label empty", def(func(r *contract.CreateAttributeDefinitionRequest) {
				r.Type, r.Values = contract.AttributeSelect, []contract.AllowedValue{{Code: "a", Label: " "}}
			}), bus.CodeInvalid, "values[0].label"},
			{"unit on text", def(func(r *contract.CreateAttributeDefinitionRequest) { r.Unit = "kg" }), bus.CodeInvalid, "unit"},
			{"unit long", def(func(r *contract.CreateAttributeDefinitionRequest) {
				r.Type, r.Unit = contract.AttributeNumber, strings.Repeat("k", maxUnitLen+1)
			}), bus.CodeInvalid, "unit"},
			{"negative position", def(func(r *contract.CreateAttributeDefinitionRequest) { r.Position = ptr(-2) }), bus.CodeInvalid, "position"},
			{"empty update", upd(contract.UpdateAttributeDefinitionRequest{ID: sel.ID, Version: 1}), bus.CodeInvalid, "nothing to update"},
			{"update bad code", upd(contract.UpdateAttributeDefinitionRequest{ID: sel.ID, Version: 1, Code: ptr("")}), bus.CodeInvalid, "code"},
			{"update removes all values", upd(contract.UpdateAttributeDefinitionRequest{ID: sel.ID, Version: 1, Values: ptr([]contract.AllowedValue{})}), bus.CodeInvalid, "values"},
			{"update unit on select", upd(contract.UpdateAttributeDefinitionRequest{ID: sel.ID, Version: 1, Unit: ptr("kg")}), bus.CodeInvalid, "unit"},
			{"update type unknown", upd(contract.UpdateAttributeDefinitionRequest{ID: sel.ID, Version: 1, Type: ptr(contract.AttributeType("json"))}), bus.CodeInvalid, "type"},
			{"update to missing group", upd(contract.UpdateAttributeDefinitionRequest{ID: sel.ID, Version: 1, GroupID: ptr(missing)}), bus.CodeInvalid, "group_id"},
			{"update missing", upd(contract.UpdateAttributeDefinitionRequest{ID: missing, Version: 1, Name: ptr("x")}), bus.CodeNotFound, missing},
			{"get bad id", func() error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.GetAttributeDefinition, contract.AttributeDefinitionID{ID: "nope"}))
			}, bus.CodeInvalid, "id"},
			{"by code injection", func() error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.GetAttributeByCode, contract.AttributeCode{Code: `{"$ne":null}`}))
			}, bus.CodeInvalid, "code"},
			{"by code missing", func() error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.GetAttributeByCode, contract.AttributeCode{Code: "nope"}))
			}, bus.CodeNotFound, "nope"},
			{"delete missing", func() error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.DeleteAttributeDefinition, contract.DeleteAttributeDefinitionRequest{ID: missing}))
			}, bus.CodeNotFound, missing},
			{"unknown field", func() error {
				return errOf(h.Bus.Request(moduletest.Admin(t.Context()), contract.AttributeQueue, "create", []byte(`{"code":"x","name":"X","group_id":"`+g.ID+`","type":"text","admin":true}`)))
			}, bus.CodeInvalid, "admin"},
			{"wrong JSON type", func() error {
				return errOf(h.Bus.Request(moduletest.Admin(t.Context()), contract.AttributeQueue, "create", []byte(`{"code":"x","name":"X","group_id":"`+g.ID+`","type":"text","required":"yes"}`)))
			}, bus.CodeInvalid, "required"},
			{"unknown op", func() error {
				return errOf(h.Bus.Request(moduletest.Admin(t.Context()), contract.AttributeQueue, "drop_everything", nil))
			}, bus.CodeNotFound, "drop_everything"},
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
		cat := call(t, h, contract.ListAttributes, contract.Empty{})
		if len(cat.Items) != 1 || cat.Items[0].Name != "Root" || len(cat.Items[0].Definitions) != 1 ||
			!reflect.DeepEqual(cat.Items[0].Definitions[0], sel) {
			t.Fatalf("bad input changed data: %+v", cat)
		}
		if evs := h.settle(t); len(evs) != 2 {
			t.Fatalf("bad input published events: %v", topics(evs))
		}
	})
}

// TestAttributeVersions: every write of a group or definition checks the
// expected version; a stale one is a conflict that changes nothing and
// publishes nothing, the right one bumps the version, which the event
// carries; siblings renumbered by a move are bumped without a check.
func TestAttributeVersions(t *testing.T) {
	moduletest.ForEach(t, module, func(t *testing.T, mt *moduletest.Harness[*Module]) {
		h := withProducts(t, mt)
		type state struct{ group, def, sibling int64 } // versions
		tests := []struct {
			name string
			// write gets the group and definition (both at version 2) and
			// the expected version to send.
			write   func(g contract.AttributeGroup, d contract.AttributeDefinition, v int64) error
			stale   bool
			topic   string
			version func(g contract.AttributeGroup, d contract.AttributeDefinition) int64 // the event's
			after   state                                                                 // versions after a successful write; 0: deleted
		}{
			{"group update stale", func(g contract.AttributeGroup, _ contract.AttributeDefinition, v int64) error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.UpdateAttributeGroup, contract.UpdateAttributeGroupRequest{ID: g.ID, Version: v - 1, Name: ptr("New")}))
			}, true, "", nil, state{}},
			{"group update", func(g contract.AttributeGroup, _ contract.AttributeDefinition, v int64) error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.UpdateAttributeGroup, contract.UpdateAttributeGroupRequest{ID: g.ID, Version: v, Name: ptr("New")}))
			}, false, "attribute.group.updated", func(g contract.AttributeGroup, _ contract.AttributeDefinition) int64 { return g.Version + 1 }, state{3, 2, 1}},
			{"group delete stale", func(g contract.AttributeGroup, _ contract.AttributeDefinition, v int64) error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.DeleteAttributeGroup, contract.DeleteAttributeGroupRequest{ID: g.ID, Version: v - 1}))
			}, true, "", nil, state{}},
			{"definition update stale", func(_ contract.AttributeGroup, d contract.AttributeDefinition, v int64) error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.UpdateAttributeDefinition, contract.UpdateAttributeDefinitionRequest{ID: d.ID, Version: v - 1, Name: ptr("New")}))
			}, true, "", nil, state{}},
			{"definition update", func(_ contract.AttributeGroup, d contract.AttributeDefinition, v int64) error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.UpdateAttributeDefinition, contract.UpdateAttributeDefinitionRequest{ID: d.ID, Version: v, Name: ptr("New")}))
			}, false, "attribute.definition.updated", func(_ contract.AttributeGroup, d contract.AttributeDefinition) int64 { return d.Version + 1 }, state{2, 3, 1}},
			{"definition move", func(_ contract.AttributeGroup, d contract.AttributeDefinition, v int64) error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.UpdateAttributeDefinition, contract.UpdateAttributeDefinitionRequest{ID: d.ID, Version: v, Position: ptr(0)}))
			}, false, "attribute.definition.updated", func(_ contract.AttributeGroup, d contract.AttributeDefinition) int64 { return d.Version + 1 }, state{2, 3, 2}},
			{"definition delete stale", func(_ contract.AttributeGroup, d contract.AttributeDefinition, v int64) error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.DeleteAttributeDefinition, contract.DeleteAttributeDefinitionRequest{ID: d.ID, Version: v - 1}))
			}, true, "", nil, state{}},
			{"definition delete", func(_ contract.AttributeGroup, d contract.AttributeDefinition, v int64) error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.DeleteAttributeDefinition, contract.DeleteAttributeDefinitionRequest{ID: d.ID, Version: v}))
			}, false, "attribute.definition.deleted", func(_ contract.AttributeGroup, d contract.AttributeDefinition) int64 { return d.Version + 1 }, state{2, 0, 1}},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				g := call(t, h, contract.CreateAttributeGroup, contract.CreateAttributeGroupRequest{Name: tt.name})
				g = call(t, h, contract.UpdateAttributeGroup, contract.UpdateAttributeGroupRequest{ID: g.ID, Version: 1, Slug: ptr(fmt.Sprint("g", i))})
				sib := call(t, h, contract.CreateAttributeDefinition, contract.CreateAttributeDefinitionRequest{Code: fmt.Sprint("sib", i), Name: "S", GroupID: g.ID, Type: contract.AttributeText})
				d := call(t, h, contract.CreateAttributeDefinition, contract.CreateAttributeDefinitionRequest{Code: fmt.Sprint("def", i), Name: "D", GroupID: g.ID, Type: contract.AttributeText})
				d = call(t, h, contract.UpdateAttributeDefinition, contract.UpdateAttributeDefinitionRequest{ID: d.ID, Version: 1, Required: ptr(true)})
				if g.Version != 2 || d.Version != 2 {
					t.Fatalf("set-up: group at %d, definition at %d", g.Version, d.Version)
				}
				seen := len(h.settle(t))
				v := d.Version
				if strings.HasPrefix(tt.name, "group") {
					v = g.Version
				}
				err := tt.write(g, d, v)
				evs := h.settle(t)
				gotG := call(t, h, contract.GetAttributeGroup, contract.AttributeGroupID{ID: g.ID})
				gotS := call(t, h, contract.GetAttributeDefinition, contract.AttributeDefinitionID{ID: sib.ID})
				gotD, derr := bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.GetAttributeDefinition, contract.AttributeDefinitionID{ID: d.ID})
				if tt.stale {
					if !contract.IsVersionConflict(err) || !strings.Contains(err.Error(), fmt.Sprintf("is at version 2, not %d", v-1)) {
						t.Fatalf("stale write: %v, want a version conflict", err)
					}
					if gotG != g || !reflect.DeepEqual(gotD, d) || derr != nil || gotS.Version != 1 || len(evs) != seen {
						t.Fatalf("a stale write changed something: %+v %+v (%v), events %v", gotG, gotD, derr, topics(evs[seen:]))
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				got := state{gotG.Version, gotD.Version, gotS.Version}
				if tt.after.def == 0 && bus.CodeOf(derr) == bus.CodeNotFound {
					got.def = 0
				}
				if got != tt.after {
					t.Fatalf("versions after: %+v, want %+v", got, tt.after)
				}
				var ev struct {
					ID      string `json:"id"`
					Version int64  `json:"version"`
				}
				found := false
				for _, e := range evs[seen:] {
					if e.Topic == tt.topic {
						if err := json.Unmarshal(e.Event, &ev); err != nil {
							t.Fatal(err)
						}
						if ev.ID == g.ID || ev.ID == d.ID {
							found = ev.Version == tt.version(g, d)
						}
					}
				}
				if !found {
					t.Fatalf("no %s event at version %d in %s", tt.topic, tt.version(g, d), evs[seen:])
				}
			})
		}
		// The version is required on updates, optional on deletes.
		g := call(t, h, contract.CreateAttributeGroup, contract.CreateAttributeGroupRequest{Name: "Required"})
		callErr(t, h, contract.UpdateAttributeGroup, contract.UpdateAttributeGroupRequest{ID: g.ID, Name: ptr("x")}, bus.CodeInvalid, "version is required")
		d := call(t, h, contract.CreateAttributeDefinition, contract.CreateAttributeDefinitionRequest{Code: "required", Name: "R", GroupID: g.ID, Type: contract.AttributeText})
		callErr(t, h, contract.UpdateAttributeDefinition, contract.UpdateAttributeDefinitionRequest{ID: d.ID, Name: ptr("x")}, bus.CodeInvalid, "version is required")
		callErr(t, h, contract.DeleteAttributeDefinition, contract.DeleteAttributeDefinitionRequest{ID: d.ID, Version: -1}, bus.CodeInvalid, "version -1")
		call(t, h, contract.DeleteAttributeDefinition, contract.DeleteAttributeDefinitionRequest{ID: d.ID})
		call(t, h, contract.DeleteAttributeGroup, contract.DeleteAttributeGroupRequest{ID: g.ID})
	})
}
