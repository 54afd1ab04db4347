package modules

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
)

func TestOptionAPI(t *testing.T) {
	s := startShop(t, Config{DatabaseURL: store.SQLiteURL(t.TempDir()), AdminToken: adminToken})

	var size, colour, got contract.OptionGroup
	r := s.admin(t, "POST", "/api/v1/admin/options", `{"code":"size","name":"Size","values":[{"code":"s","label":"Small"},{"code":"m","label":"Medium"}]}`)
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	r.decode(t, &size)
	if len(size.Values) != 2 || size.Values[1].Code != "m" || !strings.Contains(string(r.body), `"created_at"`) {
		t.Fatalf("created %s", r.body)
	}
	s.admin(t, "POST", "/api/v1/admin/options", `{"code":"colour","name":"Colour"}`).decode(t, &colour)
	r = s.admin(t, "POST", "/api/v1/admin/options", `{"code":"size","name":"Again"}`)
	if r.status != 409 || r.errorCode(t) != "conflict" {
		t.Fatalf("duplicate code: %d %s", r.status, r.body)
	}

	// Values: add (201, the group back), update, remove.
	r = s.admin(t, "POST", "/api/v1/admin/options/"+colour.ID+"/values", `{"code":"red","label":"Red"}`)
	if r.status != 201 {
		t.Fatalf("add value: %d %s", r.status, r.body)
	}
	s.admin(t, "POST", "/api/v1/admin/options/"+colour.ID+"/values", `{"code":"blue","label":"Blue","position":0}`).decode(t, &colour)
	if len(colour.Values) != 2 || colour.Values[0].Code != "blue" {
		t.Fatalf("values %+v", colour.Values)
	}
	r = s.admin(t, "POST", "/api/v1/admin/options/"+colour.ID+"/values", `{"code":"red","label":"Rouge"}`)
	if r.status != 409 || r.errorCode(t) != "conflict" {
		t.Fatalf("taken value code: %d %s", r.status, r.body)
	}
	blue := colour.Values[0].ID
	// The value routes answer the group at its new version, with its ETag.
	if colour.Version != 3 || r.header.Get("ETag") != "" {
		// r is the refused add; the last good reply was decoded into colour.
		t.Fatalf("colour after two adds: %+v, refused add's ETag %q", colour, r.header.Get("ETag"))
	}
	r = s.adminIfMatch(t, "PATCH", "/api/v1/admin/options/"+colour.ID+"/values/"+blue, `"3"`, `{"label":"Navy","position":1}`)
	r.decode(t, &colour)
	if r.status != 200 || colour.Values[1].ID != blue || colour.Values[1].Label != "Navy" || r.header.Get("ETag") != `"4"` {
		t.Fatalf("update value: %d %s %v", r.status, r.body, r.header)
	}
	r = s.adminIfMatch(t, "PATCH", "/api/v1/admin/options/"+colour.ID+"/values/"+blue, `"3"`, `{"label":"Stale"}`)
	if r.status != 412 || r.errorCode(t) != "conflict" {
		t.Fatalf("stale value update: %d %s", r.status, r.body)
	}
	r = s.admin(t, "PATCH", "/api/v1/admin/options/"+colour.ID, `{"name":"Color","version":4}`)
	r.decode(t, &got)
	if r.status != 200 || got.Name != "Color" || got.Code != "colour" || got.Version != 5 {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}

	// Public reads: the list is keyset-paged.
	var list contract.Page[contract.OptionGroup]
	r = s.get(t, "/api/v1/options")
	r.decode(t, &list)
	if r.status != 200 || len(list.Items) != 2 || list.Total != 2 || list.NextCursor != "" || list.Items[0].Code != "colour" || list.Items[1].Code != "size" {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	list = contract.Page[contract.OptionGroup]{}
	s.get(t, "/api/v1/options?limit=1").decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].Code != "colour" || list.Total != 2 || list.NextCursor == "" {
		t.Fatalf("first page: %+v", list)
	}
	next := list.NextCursor
	list = contract.Page[contract.OptionGroup]{}
	s.get(t, "/api/v1/options?limit=1&cursor="+next).decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].Code != "size" || list.NextCursor != "" {
		t.Fatalf("second page: %+v", list)
	}
	got = contract.OptionGroup{}
	s.get(t, "/api/v1/options/"+size.ID).decode(t, &got)
	if got.ID != size.ID || len(got.Values) != 2 {
		t.Fatalf("get: %+v", got)
	}
	got = contract.OptionGroup{}
	s.get(t, "/api/v1/options/by-code/colour").decode(t, &got)
	if got.ID != colour.ID {
		t.Fatalf("by code: %+v", got)
	}

	// Variants: size × colour, deterministic suffixes.
	var gen contract.GenerateVariantsReply
	r = s.admin(t, "POST", "/api/v1/admin/options/generate-variants",
		fmt.Sprintf(`{"groups":[{"group_id":%q},{"group_id":%q}]}`, size.ID, colour.ID))
	r.decode(t, &gen)
	var suffixes []string
	for _, v := range gen.Variants {
		suffixes = append(suffixes, v.SKUSuffix)
	}
	if r.status != 200 || strings.Join(suffixes, ",") != "S-RED,S-BLUE,M-RED,M-BLUE" {
		t.Fatalf("generate: %d %s", r.status, r.body)
	}
	r = s.admin(t, "POST", "/api/v1/admin/options/generate-variants", `{"groups":[]}`)
	if r.status != 400 || r.errorCode(t) != "invalid" {
		t.Fatalf("generate nothing: %d %s", r.status, r.body)
	}

	// Removal and deletion.
	r = s.adminIfMatch(t, "DELETE", "/api/v1/admin/options/"+colour.ID+"/values/"+blue, `"5"`, "")
	r.decode(t, &colour)
	if r.status != 200 || len(colour.Values) != 1 || colour.Values[0].Code != "red" {
		t.Fatalf("remove value: %d %s", r.status, r.body)
	}
	r = s.admin(t, "DELETE", "/api/v1/admin/options/"+size.ID, "")
	if r.status != 200 || !strings.Contains(string(r.body), size.ID) {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	r = s.get(t, "/api/v1/options/"+size.ID)
	if r.status != 404 || r.errorCode(t) != "not_found" {
		t.Fatalf("after delete: %d %s", r.status, r.body)
	}
}

func TestOptionAPIRefusesBadInput(t *testing.T) {
	s := startShop(t, Config{DatabaseURL: store.SQLiteURL(t.TempDir()), AdminToken: adminToken})
	var size contract.OptionGroup
	s.admin(t, "POST", "/api/v1/admin/options", `{"code":"size","name":"Size","values":[{"code":"s","label":"S"}]}`).decode(t, &size)
	value := size.Values[0].ID
	const missing = "01a21042-816e-7207-a40f-0cf2f438397d"

	tests := []struct {
		name, method, path, token, body string
		status                          int
		code, mention                   string
	}{
		{"no token", "POST", "/api/v1/admin/options", "", `{"code":"x","name":"X"}`, 401, "unauthorized", ""},
		{"no token for variants", "POST", "/api/v1/admin/options/generate-variants", "", `{"groups":[]}`, 401, "unauthorized", ""},
		{"malformed JSON", "POST", "/api/v1/admin/options", adminToken, `{"code":`, 400, "invalid", "malformed"},
		{"empty body", "POST", "/api/v1/admin/options", adminToken, ``, 400, "invalid", "body"},
		{"unknown field", "POST", "/api/v1/admin/options", adminToken, `{"code":"x","name":"X","admin":true}`, 400, "invalid", "admin"},
		{"wrong type", "POST", "/api/v1/admin/options", adminToken, `{"code":42,"name":"X"}`, 400, "invalid", "code"},
		{"operator injection", "POST", "/api/v1/admin/options", adminToken, `{"code":{"$gt":""},"name":"X"}`, 400, "invalid", "code"},
		{"oversize body", "POST", "/api/v1/admin/options", adminToken, `{"code":"x","name":"` + strings.Repeat("x", 1<<20) + `"}`, 400, "invalid", "larger"},
		{"bad code", "POST", "/api/v1/admin/options", adminToken, `{"code":"Big Size","name":"X"}`, 400, "invalid", "code"},
		{"bad value label", "POST", "/api/v1/admin/options", adminToken, `{"code":"x","name":"X","values":[{"code":"a","label":""}]}`, 400, "invalid", "values[0].label"},
		{"id in patch body", "PATCH", "/api/v1/admin/options/" + size.ID, adminToken, `{"id":"x","name":"y","version":1}`, 400, "invalid", "id"},
		{"empty patch", "PATCH", "/api/v1/admin/options/" + size.ID, adminToken, `{"version":1}`, 400, "invalid", "nothing to update"},
		{"patch without version", "PATCH", "/api/v1/admin/options/" + size.ID, adminToken, `{"name":"y"}`, 400, "invalid", "version is required"},
		{"value id in value body", "PATCH", "/api/v1/admin/options/" + size.ID + "/values/" + value, adminToken, `{"value_id":"` + missing + `","label":"M","version":1}`, 400, "invalid", "value_id"},
		{"bad limit", "GET", "/api/v1/options?limit=many", "", ``, 400, "invalid", "limit"},
		{"limit too big", "GET", "/api/v1/options?limit=100000", "", ``, 400, "invalid", "limit"},
		{"bad cursor", "GET", "/api/v1/options?cursor=%21%21", "", ``, 400, "invalid", "cursor"},
		{"repeated limit", "GET", "/api/v1/options?limit=1&limit=2", "", ``, 400, "invalid", "limit"},
		{"unknown query parameter", "GET", "/api/v1/options?page=2", "", ``, 400, "invalid", "page"},
		{"version as a query parameter", "DELETE", "/api/v1/admin/options/" + size.ID + "?version=1", adminToken, ``, 400, "invalid", "version"},
		{"group id in value body", "POST", "/api/v1/admin/options/" + size.ID + "/values", adminToken, `{"group_id":"x","code":"m","label":"M"}`, 400, "invalid", "group_id"},
		{"negative position", "POST", "/api/v1/admin/options/" + size.ID + "/values", adminToken, `{"code":"m","label":"M","position":-1}`, 400, "invalid", "position"},
		{"value to missing group", "POST", "/api/v1/admin/options/" + missing + "/values", adminToken, `{"code":"m","label":"M"}`, 404, "not_found", missing},
		{"bad value id", "PATCH", "/api/v1/admin/options/" + size.ID + "/values/nope", adminToken, `{"label":"M","version":1}`, 400, "invalid", "value_id"},
		{"missing value", "DELETE", "/api/v1/admin/options/" + size.ID + "/values/" + missing, adminToken, ``, 404, "not_found", missing},
		{"bad id", "GET", "/api/v1/options/not-a-uuid", "", ``, 400, "invalid", "id"},
		{"missing id", "GET", "/api/v1/options/" + missing, "", ``, 404, "not_found", missing},
		{"bad code path", "GET", "/api/v1/options/by-code/NOT%20A%20CODE", "", ``, 400, "invalid", "code"},
		{"variants unknown group", "POST", "/api/v1/admin/options/generate-variants", adminToken, `{"groups":[{"group_id":"` + missing + `"}]}`, 400, "invalid", missing},
		{"variants foreign value", "POST", "/api/v1/admin/options/generate-variants", adminToken, `{"groups":[{"group_id":"` + size.ID + `","value_ids":["` + missing + `"]}]}`, 400, "invalid", "value_ids[0]"},
		{"variants wrong type", "POST", "/api/v1/admin/options/generate-variants", adminToken, `{"groups":{"group_id":"x"}}`, 400, "invalid", "groups"},
		{"wrong method", "PUT", "/api/v1/options", "", ``, 405, "invalid", "PUT"},
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
	var list contract.Page[contract.OptionGroup]
	s.get(t, "/api/v1/options").decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].Name != "Size" || len(list.Items[0].Values) != 1 || list.Items[0].Values[0].ID != value {
		t.Fatalf("bad input changed data: %+v", list.Items)
	}
}
