package modules

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/bus/memory"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/seeder"
	"github.com/shopengine/shop/internal/modules/web"
	"github.com/shopengine/shop/internal/store"
)

// badBodies is what every route with a body is sent: each must be refused
// with a 4xx and the API's error object, and change nothing.
var badBodies = map[string][]byte{
	"malformed JSON":     []byte(`{"name": "x",`),
	"unknown fields":     []byte(`{"zz_not_a_field": 1}`),
	"wrong type (array)": []byte(`[1, 2, 3]`),
	"wrong type (value)": []byte(`"a string where an object belongs"`),
	"operator $gt":       []byte(`{"name": {"$gt": ""}, "slug": {"$gt": ""}, "email": {"$gt": ""}}`),
	"operator $where":    []byte(`{"$where": "function() { return true }"}`),
	"2 MiB body":         []byte(`{"name": "` + strings.Repeat("a", 2<<20) + `"}`),
	"raw control char":   []byte("{\"name\": \"a\x01b\"}"),
	"invalid UTF-8":      []byte("{\"name\": \"a\xff\xfeb\"}"),
	"trailing data":      []byte(`{} {}`),
}

// badValues go into path parameters and an unknown query parameter of
// every route.
var badValues = map[string]string{
	"operator":      `{"$gt":""}`,
	"control char":  "a\x00b",
	"invalid UTF-8": "a\xffb",
	"regex":         ".*",
}

// TestBadInputEverywhere walks every route of the router, public and
// admin, and sends each the bad bodies and values above, as an admin on
// admin routes and as a signed-in user elsewhere. Every answer must be a
// 4xx with the error object — never a 5xx, never a success — and a
// checksum of every module's data is the same before and after.
func TestBadInputEverywhere(t *testing.T) {
	dir := t.TempDir()
	s := startShop(t, Config{DatabaseURL: store.SQLiteURL(dir), AdminToken: adminToken, Auth: authConfig(t).Auth})
	ctx := contract.WithPrincipal(t.Context(), contract.Principal{Machine: "test"})
	if _, err := seeder.New(s.app.Bus(), slog.New(slog.NewTextHandler(io.Discard, nil))).Seed(ctx, seeder.Options{Products: 20, Seed: 3, CatalogueOnly: true}, &quietProgress{}); err != nil {
		t.Fatalf("seed: %v", err)
	}
	s.status(t, 201, "POST", "/api/v1/auth/register", `{"email":"bad-input@example.com","password":"`+goodPW+`","display_name":"B"}`)
	user := s.login(t, "bad-input@example.com", goodPW)
	params := routeParams(ctx, t, s.app.Bus())

	before := settledChecksum(t, dir)
	var sent int
	for _, rt := range apiRoutes(t) {
		token := user
		if strings.HasPrefix(rt.pattern, "/api/v1/admin/") {
			token = adminToken
		}
		path := fillPattern(rt.pattern, params)
		if rt.method != http.MethodGet {
			for name, body := range badBodies {
				sent++
				expectRefusal(t, s, rt, name, rt.method, path, token, body)
			}
		}
		for name, v := range badValues {
			sent++
			expectRefusal(t, s, rt, "query "+name, rt.method, path+"?zz_unknown="+url.QueryEscape(v), token, nil)
			if strings.Contains(rt.pattern, "{") {
				sent++
				bad := fillPattern(rt.pattern, func(string) string { return url.PathEscape(v) })
				expectRefusal(t, s, rt, "path "+name, rt.method, bad, token, nil)
			}
		}
	}
	after := settledChecksum(t, dir)
	if d := diffChecksums(before, after); d != "" {
		t.Errorf("module data changed under %d bad requests:\n%s", sent, d)
	}
	t.Logf("%d bad requests to %d routes", sent, len(apiRoutes(t)))
}

type route struct{ method, pattern string }

// apiRoutes is every route of the JSON API as the web module mounts it.
func apiRoutes(t *testing.T) []route {
	t.Helper()
	r := chi.NewRouter()
	m, err := web.New(web.Config{Bus: memory.New(nil), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	m.Routes(r)
	var out []route
	_ = chi.Walk(r, func(method, pattern string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if strings.HasPrefix(pattern, "/api/") {
			out = append(out, route{method, strings.TrimSuffix(pattern, "/")})
		}
		return nil
	})
	if len(out) < 40 {
		t.Fatalf("only %d API routes found: the walk is broken", len(out))
	}
	return out
}

// fillPattern replaces every {param} of a chi pattern with value(param).
func fillPattern(pattern string, value func(string) string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(pattern, '{')
		if i < 0 {
			return b.String() + pattern
		}
		j := strings.IndexByte(pattern[i:], '}')
		b.WriteString(pattern[:i])
		b.WriteString(value(pattern[i+1 : i+j]))
		pattern = pattern[i+j+1:]
	}
}

// routeParams gives path parameters real values from the seeded shop, so
// that a bad request that slipped through would find something to change;
// parameters it does not know get a fresh UUID.
func routeParams(ctx context.Context, t *testing.T, b bus.Bus) func(string) string {
	t.Helper()
	products, err := bus.Call(ctx, b, contract.ListProducts, contract.ListProductsRequest{PageSize: 1})
	if err != nil || len(products.Items) == 0 {
		t.Fatalf("seeded products: %v", err)
	}
	p, err := bus.Call(ctx, b, contract.GetProduct, contract.ProductID{ID: products.Items[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]string{"id": p.ID, "slug": p.Slug, "code": "colour"}
	if len(p.Variants) > 0 {
		values["variant"] = p.Variants[0].ID
	}
	return func(name string) string {
		if v, ok := values[name]; ok {
			return url.PathEscape(v)
		}
		return uuid.NewString()
	}
}

func expectRefusal(t *testing.T, s *shop, rt route, what, method, path, token string, body []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(string(body)))
	if err != nil {
		// A value the client library itself refuses never reaches us.
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("%s %s (%s): %v", rt.method, rt.pattern, what, err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode < 400 || resp.StatusCode >= 500 {
		t.Errorf("%s %s (%s): %d %s; want a 4xx", rt.method, rt.pattern, what, resp.StatusCode, b)
		return
	}
	if !strings.Contains(string(b), `"error"`) || !strings.Contains(string(b), `"message"`) {
		t.Errorf("%s %s (%s): %d without the error object: %s", rt.method, rt.pattern, what, resp.StatusCode, b)
	}
}

// settledChecksum is the checksum of every module's data once the
// asynchronous work of the set-up (outbox relays, read models) has
// finished: two readings in a row agree.
func settledChecksum(t *testing.T, dir string) map[string]string {
	t.Helper()
	prev := dataChecksum(t, dir)
	for range 50 {
		time.Sleep(300 * time.Millisecond)
		cur := dataChecksum(t, dir)
		if diffChecksums(prev, cur) == "" {
			return cur
		}
		prev = cur
	}
	t.Fatal("module data never settled")
	return nil
}

// dataChecksum hashes every table of every module's SQLite file, rows
// sorted, into one digest per table.
func dataChecksum(t *testing.T, dir string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.db"))
	if err != nil || len(files) == 0 {
		t.Fatalf("module files in %s: %v", dir, err)
	}
	sums := map[string]string{}
	for _, f := range files {
		db, err := sql.Open("sqlite", "file:"+f+"?mode=ro&_pragma=busy_timeout(5000)")
		if err != nil {
			t.Fatal(err)
		}
		var tables []string
		rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for rows.Next() {
			var n string
			_ = rows.Scan(&n)
			tables = append(tables, n)
		}
		rows.Close()
		for _, table := range tables {
			sums[filepath.Base(f)+"/"+table] = tableDigest(t, db, table)
		}
		db.Close()
	}
	return sums
}

func tableDigest(t *testing.T, db *sql.DB, table string) string {
	t.Helper()
	rows, err := db.Query(`SELECT * FROM "` + table + `"`)
	if err != nil {
		t.Fatalf("read %s: %v", table, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var lines []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, fmt.Sprintf("%q", vals))
	}
	slices.Sort(lines)
	h := sha256.New()
	for _, l := range lines {
		io.WriteString(h, l+"\n")
	}
	return fmt.Sprintf("%d rows %s", len(lines), hex.EncodeToString(h.Sum(nil))[:16])
}

func diffChecksums(a, b map[string]string) string {
	var out []string
	for k, v := range a {
		if b[k] != v {
			out = append(out, fmt.Sprintf("  %s: %s -> %s", k, v, b[k]))
		}
	}
	for k, v := range b {
		if _, ok := a[k]; !ok {
			out = append(out, fmt.Sprintf("  %s: (none) -> %s", k, v))
		}
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}
