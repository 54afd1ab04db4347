package modules

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
)

const adminToken = "s3cret-admin-token"

// shop is a running App (all modules, one process) serving HTTP.
type shop struct {
	url  string
	app  *App
	stop func() error
}

// startShop runs an App with cfg's modules on a fresh listener until the
// test ends or stop is called.
func startShop(t testing.TB, cfg Config) *shop {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listener, cfg.Worker = ln, -1
	if cfg.BusURL == "" {
		cfg.BusURL = "memory://"
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	app, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, 10*time.Second) }()
	s := &shop{url: "http://" + ln.Addr().String(), app: app}
	var stopped bool
	s.stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { _ = s.stop() })
	// Eleven modules under -race on a loaded 2-core machine have taken
	// more than 20 s to start; a minute bounds a start that hangs.
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.url + "/readyz")
		var body []byte
		if err == nil {
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("shop not ready within 60s: %v %s", err, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type response struct {
	status int
	body   []byte
	header http.Header
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// errorCode returns the code of an API error body.
func (r response) errorCode(t *testing.T) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	r.decode(t, &e)
	if e.Error.Message == "" {
		t.Fatalf("error without message: %s", r.body)
	}
	return e.Error.Code
}

func (s *shop) do(t *testing.T, method, path, token string, body io.Reader) response {
	t.Helper()
	return s.doWith(t, method, path, token, body, nil)
}

// doWith is do with extra request headers.
func (s *shop) doWith(t *testing.T, method, path, token string, body io.Reader, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(path, "/api/") && ct != "application/json" {
		t.Fatalf("%s %s: content type %q, body %s", method, path, ct, b)
	}
	return response{resp.StatusCode, b, resp.Header}
}

func (s *shop) admin(t *testing.T, method, path, body string) response {
	t.Helper()
	return s.do(t, method, path, adminToken, strings.NewReader(body))
}

func (s *shop) get(t *testing.T, path string) response {
	t.Helper()
	return s.do(t, http.MethodGet, path, "", nil)
}

// adminIfMatch is admin with an If-Match header.
func (s *shop) adminIfMatch(t *testing.T, method, path, ifMatch, body string) response {
	t.Helper()
	return s.doWith(t, method, path, adminToken, strings.NewReader(body), map[string]string{"If-Match": ifMatch})
}

func TestCategoryAPI(t *testing.T) {
	s := startShop(t, Config{DatabaseURL: store.SQLiteURL(t.TempDir()), AdminToken: adminToken})

	var shoes, boots contract.Category
	r := s.admin(t, "POST", "/api/v1/admin/categories", `{"name":"Shoes","description":"Feet first"}`)
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	r.decode(t, &shoes)
	r = s.admin(t, "POST", "/api/v1/admin/categories", fmt.Sprintf(`{"name":"Boots","parent_id":%q}`, shoes.ID))
	r.decode(t, &boots)
	if r.status != 201 || boots.ParentID != shoes.ID || boots.Slug != "boots" {
		t.Fatalf("create child: %d %s", r.status, r.body)
	}
	// Field names on the wire are snake_case.
	if !bytes.Contains(r.body, []byte(`"parent_id"`)) || !bytes.Contains(r.body, []byte(`"created_at"`)) {
		t.Fatalf("not snake_case: %s", r.body)
	}

	var tree contract.CategoryTree
	r = s.get(t, "/api/v1/categories/tree")
	r.decode(t, &tree)
	if r.status != 200 || tree.Count != 2 || tree.Roots[0].Children[0].ID != boots.ID {
		t.Fatalf("tree: %d %s", r.status, r.body)
	}
	var got contract.Category
	s.get(t, "/api/v1/categories/"+boots.ID).decode(t, &got)
	if got.ID != boots.ID {
		t.Fatalf("get: %+v", got)
	}
	s.get(t, "/api/v1/categories/by-slug/shoes").decode(t, &got)
	if got.ID != shoes.ID {
		t.Fatalf("by slug: %+v", got)
	}
	// Short lists are a Page with every item and no cursor.
	var crumbs contract.Page[contract.Category]
	r = s.get(t, "/api/v1/categories/"+boots.ID+"/breadcrumbs")
	r.decode(t, &crumbs)
	if len(crumbs.Items) != 2 || crumbs.Items[0].ID != shoes.ID || crumbs.Total != 2 || bytes.Contains(r.body, []byte("next_cursor")) {
		t.Fatalf("breadcrumbs: %s", r.body)
	}
	var kids contract.Page[contract.Category]
	r = s.get(t, "/api/v1/categories/"+shoes.ID+"/children")
	r.decode(t, &kids)
	if r.status != 200 || kids.Total != 1 || kids.Items[0].ID != boots.ID || r.header.Get("ETag") != "" {
		t.Fatalf("children: %d %s", r.status, r.body)
	}

	// Writes carry the version: in the body, or as If-Match.
	r = s.admin(t, "PATCH", "/api/v1/admin/categories/"+boots.ID, `{"name":"Winter boots"}`)
	if r.status != 400 || !strings.Contains(string(r.body), "version is required") {
		t.Fatalf("patch without a version: %d %s", r.status, r.body)
	}
	r = s.admin(t, "PATCH", "/api/v1/admin/categories/"+boots.ID, fmt.Sprintf(`{"name":"Winter boots","version":%d}`, boots.Version))
	r.decode(t, &got)
	if r.status != 200 || got.Name != "Winter boots" || got.Slug != "boots" || got.Version != 2 || r.header.Get("ETag") != `"2"` {
		t.Fatalf("patch: %d %s %v", r.status, r.body, r.header)
	}
	r = s.admin(t, "PATCH", "/api/v1/admin/categories/"+boots.ID, `{"name":"Stale","version":1}`)
	if r.status != 409 || r.errorCode(t) != "conflict" || !strings.Contains(string(r.body), "is at version 2, not 1") {
		t.Fatalf("stale patch: %d %s", r.status, r.body)
	}
	r = s.admin(t, "POST", "/api/v1/admin/categories/"+boots.ID+"/move", `{"parent_id":""}`)
	got = contract.Category{}
	r.decode(t, &got)
	if r.status != 200 || got.ParentID != "" || got.Position != 1 {
		t.Fatalf("move: %d %s", r.status, r.body)
	}
	r = s.admin(t, "POST", "/api/v1/admin/categories/"+shoes.ID+"/move", fmt.Sprintf(`{"parent_id":%q}`, shoes.ID))
	if r.status != 400 || r.errorCode(t) != "invalid" {
		t.Fatalf("move under itself: %d %s", r.status, r.body)
	}
	s.admin(t, "POST", "/api/v1/admin/categories/"+boots.ID+"/move", fmt.Sprintf(`{"parent_id":%q}`, shoes.ID))
	r = s.admin(t, "DELETE", "/api/v1/admin/categories/"+shoes.ID, "")
	if r.status != 409 || r.errorCode(t) != "conflict" {
		t.Fatalf("delete with children: %d %s", r.status, r.body)
	}
	r = s.admin(t, "DELETE", "/api/v1/admin/categories/"+shoes.ID+"?cascade=true", "")
	if r.status != 200 || !strings.Contains(string(r.body), boots.ID) {
		t.Fatalf("cascade delete: %d %s", r.status, r.body)
	}
	r = s.get(t, "/api/v1/categories/"+boots.ID)
	if r.status != 404 || r.errorCode(t) != "not_found" {
		t.Fatalf("after delete: %d %s", r.status, r.body)
	}
}

func TestCategoryAPIRefusesBadInput(t *testing.T) {
	s := startShop(t, Config{DatabaseURL: store.SQLiteURL(t.TempDir()), AdminToken: adminToken})
	var root contract.Category
	s.admin(t, "POST", "/api/v1/admin/categories", `{"name":"Root"}`).decode(t, &root)

	tests := []struct {
		name, method, path, token, body string
		status                          int
		code                            string
	}{
		{"no token", "POST", "/api/v1/admin/categories", "", `{"name":"x"}`, 401, "unauthorized"},
		{"wrong token", "POST", "/api/v1/admin/categories", "nope", `{"name":"x"}`, 401, "unauthorized"},
		{"malformed JSON", "POST", "/api/v1/admin/categories", adminToken, `{"name":`, 400, "invalid"},
		{"empty body", "POST", "/api/v1/admin/categories", adminToken, ``, 400, "invalid"},
		{"unknown field", "POST", "/api/v1/admin/categories", adminToken, `{"name":"x","admin":true}`, 400, "invalid"},
		{"wrong type", "POST", "/api/v1/admin/categories", adminToken, `{"name":42}`, 400, "invalid"},
		{"operator injection", "POST", "/api/v1/admin/categories", adminToken, `{"name":{"$gt":""}}`, 400, "invalid"},
		{"oversize body", "POST", "/api/v1/admin/categories", adminToken, `{"name":"` + strings.Repeat("x", 1<<20) + `"}`, 400, "invalid"},
		{"id in patch body", "PATCH", "/api/v1/admin/categories/" + root.ID, adminToken, `{"id":"x","name":"y"}`, 400, "invalid"},
		{"bad id", "GET", "/api/v1/categories/not-a-uuid", "", ``, 400, "invalid"},
		{"missing id", "GET", "/api/v1/categories/01a21042-816e-7207-a40f-0cf2f438397d", "", ``, 404, "not_found"},
		{"bad slug", "GET", "/api/v1/categories/by-slug/NOT%20A%20SLUG", "", ``, 400, "invalid"},
		{"bad cascade", "DELETE", "/api/v1/admin/categories/" + root.ID + "?cascade=maybe", adminToken, ``, 400, "invalid"},
		{"unread query parameter", "DELETE", "/api/v1/admin/categories/" + root.ID + "?version=3", adminToken, ``, 400, "invalid"},
		{"repeated query parameter", "DELETE", "/api/v1/admin/categories/" + root.ID + "?cascade=true&cascade=false", adminToken, ``, 400, "invalid"},
		{"query on a read", "GET", "/api/v1/categories/tree?depth=2", "", ``, 400, "invalid"},
		{"bad If-Match", "DELETE", "/api/v1/admin/categories/" + root.ID, adminToken, ``, 400, "invalid"},
		{"unknown route", "GET", "/api/v1/nothing-here", "", ``, 404, "not_found"},
		{"wrong method", "PUT", "/api/v1/categories/tree", "", ``, 405, "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var header map[string]string
			if strings.HasPrefix(tt.name, "bad If-Match") {
				header = map[string]string{"If-Match": "W/\"1\""}
			}
			r := s.doWith(t, tt.method, tt.path, tt.token, strings.NewReader(tt.body), header)
			if r.status != tt.status || r.errorCode(t) != tt.code {
				t.Fatalf("%d %s, want %d %s", r.status, r.body, tt.status, tt.code)
			}
		})
	}
	// Nothing was written.
	var tree contract.CategoryTree
	s.get(t, "/api/v1/categories/tree").decode(t, &tree)
	if tree.Count != 1 || tree.Roots[0].Name != "Root" {
		t.Fatalf("bad input changed data: %+v", tree)
	}
}

// TestAdminAPIWithoutToken: with no machine token configured, the admin
// API is for admin users only; no bearer value opens it.
func TestAdminAPIWithoutToken(t *testing.T) {
	s := startShop(t, Config{DatabaseURL: store.SQLiteURL(t.TempDir())})
	for _, token := range []string{"", "anything"} {
		r := s.do(t, "POST", "/api/v1/admin/categories", token, strings.NewReader(`{"name":"x"}`))
		if r.status != 401 || r.errorCode(t) != "unauthorized" {
			t.Fatalf("token %q: %d %s", token, r.status, r.body)
		}
	}
}

func TestDataSurvivesRestart(t *testing.T) {
	dir := store.SQLiteURL(t.TempDir())
	s := startShop(t, Config{DatabaseURL: dir, AdminToken: adminToken})
	if r := s.admin(t, "POST", "/api/v1/admin/categories", `{"name":"Kept"}`); r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	s = startShop(t, Config{DatabaseURL: dir})
	if r := s.get(t, "/api/v1/categories/by-slug/kept"); r.status != 200 {
		t.Fatalf("after restart: %d %s", r.status, r.body)
	}
}
