package modules

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shopengine/shop/internal/store"
)

// TestOptimisticConcurrencyAPI checks the HTTP side of versions on every
// versioned resource of category, attribute and option: replies carry
// ETag: "<version>"; If-Match sets the expected version of a write; a
// mismatch is 412 and changes nothing, a match applies the write; a
// malformed If-Match, or one that contradicts the body, is 400; a stale
// version in the body without If-Match is 409.
func TestOptimisticConcurrencyAPI(t *testing.T) {
	s := startShop(t, Config{DatabaseURL: store.SQLiteURL(t.TempDir()), AdminToken: adminToken})
	type resource struct {
		get, patch, del string // paths; del empty: not deletable alone
		getAdmin        bool
		body, field     string // a PATCH body, and the text it puts into the entity
	}
	id := func(r response) string {
		var v struct {
			ID     string `json:"id"`
			Values []struct {
				ID string `json:"id"`
			} `json:"values"`
		}
		r.decode(t, &v)
		if len(v.Values) > 0 {
			return v.ID + "/" + v.Values[0].ID
		}
		return v.ID
	}
	create := func(path, body string) response {
		t.Helper()
		r := s.admin(t, "POST", path, body)
		if r.status != 201 || r.header.Get("ETag") != `"1"` {
			t.Fatalf("create %s: %d %s, ETag %q", path, r.status, r.body, r.header.Get("ETag"))
		}
		return r
	}
	cat := id(create("/api/v1/admin/categories", `{"name":"Shoes"}`))
	grp := id(create("/api/v1/admin/attribute-groups", `{"name":"Tech"}`))
	holder := id(create("/api/v1/admin/attribute-groups", `{"name":"Holder"}`))
	def := id(create("/api/v1/admin/attributes", fmt.Sprintf(`{"code":"weight","name":"Weight","group_id":%q,"type":"number"}`, holder)))
	opt := id(create("/api/v1/admin/options", `{"code":"size","name":"Size"}`))
	withValue := strings.Split(id(create("/api/v1/admin/options", `{"code":"colour","name":"Colour","values":[{"code":"red","label":"Red"}]}`)), "/")

	tests := []struct {
		name string
		res  resource
	}{
		{"category", resource{get: "/api/v1/categories/" + cat, patch: "/api/v1/admin/categories/" + cat, del: "/api/v1/admin/categories/" + cat,
			body: `{"name":"%s"}`, field: "name"}},
		{"attribute group", resource{get: "/api/v1/attribute-groups/" + grp, patch: "/api/v1/admin/attribute-groups/" + grp, del: "/api/v1/admin/attribute-groups/" + grp,
			body: `{"name":"%s"}`, field: "name"}},
		{"attribute", resource{get: "/api/v1/admin/attributes/" + def, getAdmin: true, patch: "/api/v1/admin/attributes/" + def, del: "/api/v1/admin/attributes/" + def,
			body: `{"name":"%s"}`, field: "name"}},
		{"option group", resource{get: "/api/v1/options/" + opt, patch: "/api/v1/admin/options/" + opt, del: "/api/v1/admin/options/" + opt,
			body: `{"name":"%s"}`, field: "name"}},
		{"option value", resource{get: "/api/v1/options/" + withValue[0], patch: "/api/v1/admin/options/" + withValue[0] + "/values/" + withValue[1],
			del: "/api/v1/admin/options/" + withValue[0] + "/values/" + withValue[1], body: `{"label":"%s"}`, field: "label"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			get := func() response {
				t.Helper()
				var r response
				if tt.res.getAdmin {
					r = s.admin(t, "GET", tt.res.get, "")
				} else {
					r = s.get(t, tt.res.get)
				}
				if r.status != 200 {
					t.Fatalf("get: %d %s", r.status, r.body)
				}
				return r
			}
			unchanged := func(etag, text string) {
				t.Helper()
				r := get()
				if r.header.Get("ETag") != etag || !strings.Contains(string(r.body), text) {
					t.Fatalf("changed: ETag %q, body %s; want ETag %s with %q", r.header.Get("ETag"), r.body, etag, text)
				}
			}
			if r := get(); r.header.Get("ETag") != `"1"` {
				t.Fatalf("GET without ETag \"1\": %q", r.header.Get("ETag"))
			}
			before := string(get().body)

			// Malformed or contradictory preconditions: 400, nothing written.
			for _, h := range []string{`1`, `W/"1"`, `"abc"`, `*`, `"1", "2"`, `"0"`, `"-1"`, `""`} {
				r := s.adminIfMatch(t, "PATCH", tt.res.patch, h, fmt.Sprintf(tt.res.body, "Bad"))
				if r.status != 400 || r.errorCode(t) != "invalid" || !strings.Contains(string(r.body), "If-Match") {
					t.Fatalf("If-Match %s: %d %s", h, r.status, r.body)
				}
			}
			r := s.adminIfMatch(t, "PATCH", tt.res.patch, `"1"`, strings.TrimSuffix(fmt.Sprintf(tt.res.body, "Bad"), "}")+`,"version":2}`)
			if r.status != 400 || !strings.Contains(string(r.body), "disagree") {
				t.Fatalf("If-Match against the body: %d %s", r.status, r.body)
			}
			if after := string(get().body); after != before {
				t.Fatalf("bad preconditions changed %s → %s", before, after)
			}

			// A stale If-Match: 412 with the usual error, nothing written.
			r = s.adminIfMatch(t, "PATCH", tt.res.patch, `"7"`, fmt.Sprintf(tt.res.body, "Stale"))
			if r.status != 412 || r.errorCode(t) != "conflict" || !strings.Contains(string(r.body), "is at version 1, not 7") {
				t.Fatalf("stale If-Match: %d %s", r.status, r.body)
			}
			unchanged(`"1"`, "")
			if strings.Contains(string(get().body), "Stale") {
				t.Fatal("a stale If-Match wrote")
			}

			// The right one: 200 and the next ETag.
			r = s.adminIfMatch(t, "PATCH", tt.res.patch, `"1"`, fmt.Sprintf(tt.res.body, "Fresh"))
			if r.status != 200 || r.header.Get("ETag") != `"2"` || !strings.Contains(string(r.body), `"`+tt.res.field+`":"Fresh"`) {
				t.Fatalf("matching If-Match: %d %s, ETag %q", r.status, r.body, r.header.Get("ETag"))
			}
			unchanged(`"2"`, "Fresh")

			// A stale version in the body, no If-Match: 409.
			r = s.admin(t, "PATCH", tt.res.patch, strings.TrimSuffix(fmt.Sprintf(tt.res.body, "Stale"), "}")+`,"version":1}`)
			if r.status != 409 || r.errorCode(t) != "conflict" {
				t.Fatalf("stale body version: %d %s", r.status, r.body)
			}
			unchanged(`"2"`, "Fresh")

			// Deletes: a stale If-Match is 412 and deletes nothing.
			r = s.adminIfMatch(t, "DELETE", tt.res.del, `"1"`, "")
			if r.status != 412 || r.errorCode(t) != "conflict" {
				t.Fatalf("stale delete: %d %s", r.status, r.body)
			}
			unchanged(`"2"`, "Fresh")
			if r = s.adminIfMatch(t, "DELETE", tt.res.del, `"2"`, ""); r.status != 200 {
				t.Fatalf("delete: %d %s", r.status, r.body)
			}
		})
	}

	// A conflict that is not about versions stays 409 under If-Match.
	other := id(create("/api/v1/admin/categories", `{"name":"Boots"}`))
	create("/api/v1/admin/categories", `{"name":"Hats"}`)
	r := s.adminIfMatch(t, "PATCH", "/api/v1/admin/categories/"+other, `"1"`, `{"slug":"hats"}`)
	if r.status != 409 || r.errorCode(t) != "conflict" || !strings.Contains(string(r.body), "taken") {
		t.Fatalf("taken slug under If-Match: %d %s", r.status, r.body)
	}
}
