package modules

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
)

func TestAttributeAPI(t *testing.T) {
	s := startShop(t, Config{DatabaseURL: store.SQLiteURL(t.TempDir()), AdminToken: adminToken})

	var tech, looks contract.AttributeGroup
	r := s.admin(t, "POST", "/api/v1/admin/attribute-groups", `{"name":"Technical data"}`)
	if r.status != 201 {
		t.Fatalf("create group: %d %s", r.status, r.body)
	}
	r.decode(t, &tech)
	if tech.Slug != "technical-data" || !strings.Contains(string(r.body), `"created_at"`) {
		t.Fatalf("created group %s", r.body)
	}
	s.admin(t, "POST", "/api/v1/admin/attribute-groups", `{"name":"Looks","position":0}`).decode(t, &looks)
	if r := s.admin(t, "POST", "/api/v1/admin/attribute-groups", `{"name":"X","slug":"looks"}`); r.status != 409 || r.errorCode(t) != "conflict" {
		t.Fatalf("taken slug: %d %s", r.status, r.body)
	}

	var weight, color, got contract.AttributeDefinition
	r = s.admin(t, "POST", "/api/v1/admin/attributes",
		fmt.Sprintf(`{"code":"weight","name":"Weight","group_id":%q,"type":"number","unit":"kg","filterable":true}`, tech.ID))
	if r.status != 201 {
		t.Fatalf("create attribute: %d %s", r.status, r.body)
	}
	r.decode(t, &weight)
	if weight.Unit != "kg" || !weight.Filterable || !strings.Contains(string(r.body), `"group_id"`) {
		t.Fatalf("created %s", r.body)
	}
	r = s.admin(t, "POST", "/api/v1/admin/attributes",
		fmt.Sprintf(`{"code":"color","name":"Colour","group_id":%q,"type":"multiselect","values":[{"code":"red","label":"Red"},{"code":"blue","label":"Blue"}]}`, looks.ID))
	r.decode(t, &color)
	if r.status != 201 || len(color.Values) != 2 {
		t.Fatalf("create select: %d %s", r.status, r.body)
	}
	r = s.admin(t, "POST", "/api/v1/admin/attributes", fmt.Sprintf(`{"code":"color","name":"Again","group_id":%q,"type":"text"}`, looks.ID))
	if r.status != 409 || r.errorCode(t) != "conflict" {
		t.Fatalf("taken code: %d %s", r.status, r.body)
	}

	// Public reads: the grouped catalog and one attribute by code.
	var cat contract.Page[contract.AttributeGroupWithDefinitions]
	r = s.get(t, "/api/v1/attributes")
	r.decode(t, &cat)
	if r.status != 200 || len(cat.Items) != 2 || cat.Total != 2 || cat.Items[0].ID != looks.ID || cat.Items[0].Definitions[0].Code != "color" ||
		cat.Items[1].Slug != "technical-data" || cat.Items[1].Definitions[0].Code != "weight" {
		t.Fatalf("catalog: %d %s", r.status, r.body)
	}
	r = s.get(t, "/api/v1/attributes/weight")
	r.decode(t, &got)
	if got.ID != weight.ID || r.header.Get("ETag") != `"1"` {
		t.Fatalf("by code: %+v %v", got, r.header)
	}
	var groups contract.Page[contract.AttributeGroup]
	r = s.get(t, "/api/v1/attribute-groups")
	r.decode(t, &groups)
	if r.status != 200 || groups.Total != 2 || groups.Items[0].ID != looks.ID || groups.Items[1].Version != 2 {
		t.Fatalf("groups: %d %s", r.status, r.body)
	}

	// Updates: label change and a move need no product answer.
	r = s.admin(t, "PATCH", "/api/v1/admin/attributes/"+color.ID, `{"version":1,"name":"Color","values":[{"code":"red","label":"Rot"},{"code":"blue","label":"Blue"},{"code":"green","label":"Green"}],"required":true}`)
	got = contract.AttributeDefinition{}
	r.decode(t, &got)
	if r.status != 200 || got.Name != "Color" || len(got.Values) != 3 || got.Values[0].Label != "Rot" || !got.Required {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	r = s.adminIfMatch(t, "PATCH", "/api/v1/admin/attributes/"+weight.ID, `"1"`, fmt.Sprintf(`{"group_id":%q}`, looks.ID))
	got = contract.AttributeDefinition{}
	r.decode(t, &got)
	if r.status != 200 || got.GroupID != looks.ID || got.Position != 1 {
		t.Fatalf("move: %d %s", r.status, r.body)
	}
	r = s.admin(t, "PATCH", "/api/v1/admin/attribute-groups/"+tech.ID, `{"version":2,"name":"Tech","position":0}`)
	var g contract.AttributeGroup
	r.decode(t, &g)
	if r.status != 200 || g.Name != "Tech" || g.Slug != "technical-data" || g.Position != 0 {
		t.Fatalf("patch group: %d %s", r.status, r.body)
	}

	// A group with attributes stays; an empty one goes.
	r = s.admin(t, "DELETE", "/api/v1/admin/attribute-groups/"+looks.ID, "")
	if r.status != 409 || r.errorCode(t) != "conflict" {
		t.Fatalf("delete group in use: %d %s", r.status, r.body)
	}
	r = s.admin(t, "DELETE", "/api/v1/admin/attribute-groups/"+tech.ID, "")
	if r.status != 200 || !strings.Contains(string(r.body), tech.ID) {
		t.Fatalf("delete group: %d %s", r.status, r.body)
	}

	// Deleting an attribute asks the product module whether products use
	// it. Without a product module in the shop the answer is 503 and the
	// attribute stays; with one (no products here) it goes.
	r = s.admin(t, "DELETE", "/api/v1/admin/attributes/"+weight.ID, "")
	if _, withProduct := table[contract.ProductQueue]; withProduct {
		if r.status != 200 || !strings.Contains(string(r.body), weight.ID) {
			t.Fatalf("delete attribute: %d %s", r.status, r.body)
		}
		if r := s.get(t, "/api/v1/attributes/weight"); r.status != 404 || r.errorCode(t) != "not_found" {
			t.Fatalf("after delete: %d %s", r.status, r.body)
		}
	} else {
		if r.status != 503 || r.errorCode(t) != "unavailable" {
			t.Fatalf("delete attribute without product module: %d %s", r.status, r.body)
		}
		if r := s.get(t, "/api/v1/attributes/weight"); r.status != 200 {
			t.Fatalf("deleted blindly: %d %s", r.status, r.body)
		}
	}
}

func TestAttributeAPIRefusesBadInput(t *testing.T) {
	s := startShop(t, Config{DatabaseURL: store.SQLiteURL(t.TempDir()), AdminToken: adminToken})
	var g contract.AttributeGroup
	s.admin(t, "POST", "/api/v1/admin/attribute-groups", `{"name":"Root"}`).decode(t, &g)
	var d contract.AttributeDefinition
	s.admin(t, "POST", "/api/v1/admin/attributes", fmt.Sprintf(`{"code":"size","name":"Size","group_id":%q,"type":"text"}`, g.ID)).decode(t, &d)
	create := func(extra string) string {
		return fmt.Sprintf(`{"code":"x","name":"X","group_id":%q,"type":"text"%s}`, g.ID, extra)
	}

	tests := []struct {
		name, method, path, token, body string
		status                          int
		code, mention                   string
	}{
		{"no token", "POST", "/api/v1/admin/attributes", "", create(""), 401, "unauthorized", ""},
		{"group no token", "DELETE", "/api/v1/admin/attribute-groups/" + g.ID, "", ``, 401, "unauthorized", ""},
		{"malformed JSON", "POST", "/api/v1/admin/attributes", adminToken, `{"code":`, 400, "invalid", "JSON"},
		{"empty body", "POST", "/api/v1/admin/attribute-groups", adminToken, ``, 400, "invalid", "body"},
		{"unknown field", "POST", "/api/v1/admin/attributes", adminToken, create(`,"admin":true`), 400, "invalid", "admin"},
		{"wrong type", "POST", "/api/v1/admin/attributes", adminToken, create(`,"filterable":"yes"`), 400, "invalid", "filterable"},
		{"operator injection", "POST", "/api/v1/admin/attributes", adminToken, `{"code":{"$gt":""},"name":"X","group_id":"` + g.ID + `","type":"text"}`, 400, "invalid", "code"},
		{"values wrong shape", "POST", "/api/v1/admin/attributes", adminToken, create(`,"values":{"a":"b"}`), 400, "invalid", "values"},
		{"oversize body", "POST", "/api/v1/admin/attributes", adminToken, create(`,"unit":"` + strings.Repeat("x", 1<<20) + `"`), 400, "invalid", "larger"},
		{"bad code", "POST", "/api/v1/admin/attributes", adminToken, `{"code":"Bad Code","name":"X","group_id":"` + g.ID + `","type":"text"}`, 400, "invalid", "code"},
		{"bad type", "POST", "/api/v1/admin/attributes", adminToken, `{"code":"x","name":"X","group_id":"` + g.ID + `","type":"date"}`, 400, "invalid", "type"},
		{"missing group", "POST", "/api/v1/admin/attributes", adminToken, `{"code":"x","name":"X","group_id":"01a21042-816e-7207-a40f-0cf2f438397d","type":"text"}`, 400, "invalid", "group_id"},
		{"id in patch body", "PATCH", "/api/v1/admin/attributes/" + d.ID, adminToken, `{"id":"x","name":"y","version":1}`, 400, "invalid", "id"},
		{"group id in patch body", "PATCH", "/api/v1/admin/attribute-groups/" + g.ID, adminToken, `{"id":"x","name":"y","version":1}`, 400, "invalid", "id"},
		{"empty patch", "PATCH", "/api/v1/admin/attributes/" + d.ID, adminToken, `{"version":1}`, 400, "invalid", "nothing to update"},
		{"patch without version", "PATCH", "/api/v1/admin/attributes/" + d.ID, adminToken, `{"name":"y"}`, 400, "invalid", "version is required"},
		{"stale patch", "PATCH", "/api/v1/admin/attributes/" + d.ID, adminToken, `{"name":"y","version":2}`, 409, "conflict", "is at version 1, not 2"},
		{"stale group delete", "DELETE", "/api/v1/admin/attribute-groups/" + g.ID, adminToken, `{"version":7}`, 409, "conflict", "is at version 1, not 7"},
		{"delete body unknown field", "DELETE", "/api/v1/admin/attribute-groups/" + g.ID, adminToken, `{"cascade":true}`, 400, "invalid", "cascade"},
		{"bad id", "PATCH", "/api/v1/admin/attributes/not-a-uuid", adminToken, `{"name":"y","version":1}`, 400, "invalid", "UUID"},
		{"missing id", "DELETE", "/api/v1/admin/attributes/01a21042-816e-7207-a40f-0cf2f438397d", adminToken, ``, 404, "not_found", ""},
		{"missing group id", "PATCH", "/api/v1/admin/attribute-groups/01a21042-816e-7207-a40f-0cf2f438397d", adminToken, `{"name":"y","version":1}`, 404, "not_found", ""},
		{"bad code in path", "GET", "/api/v1/attributes/NOT%20A%20CODE", "", ``, 400, "invalid", "code"},
		{"unknown code", "GET", "/api/v1/attributes/nope", "", ``, 404, "not_found", "nope"},
		{"wrong method", "PUT", "/api/v1/attributes", "", ``, 405, "invalid", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.do(t, tt.method, tt.path, tt.token, strings.NewReader(tt.body))
			if r.status != tt.status || r.errorCode(t) != tt.code || !strings.Contains(string(r.body), tt.mention) {
				t.Fatalf("%d %s, want %d %s mentioning %q", r.status, r.body, tt.status, tt.code, tt.mention)
			}
		})
	}
	// Nothing was written.
	var cat contract.Page[contract.AttributeGroupWithDefinitions]
	s.get(t, "/api/v1/attributes").decode(t, &cat)
	if len(cat.Items) != 1 || cat.Items[0].Name != "Root" || len(cat.Items[0].Definitions) != 1 || cat.Items[0].Definitions[0].Name != "Size" {
		t.Fatalf("bad input changed data: %+v", cat)
	}
}
