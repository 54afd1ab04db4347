package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/shopengine/shop/internal/modules/seeder"
	"github.com/shopengine/shop/internal/store"
)

// TestServeDemoSeedsAnEmptyShopOnly: plain serve never seeds; --demo on
// an empty data directory seeds the catalogue and the demo customer
// (whose login works), and on a shop with products seeds nothing.
func TestServeDemoSeedsAnEmptyShopOnly(t *testing.T) {
	env := []string{"SHOP_ADMIN_TOKEN=demo-test-token"}
	count := func(s *server) int {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+s.addr+"/api/v1/admin/products?page_size=1", nil)
		req.Header.Set("Authorization", "Bearer demo-test-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var page struct{ Total int }
		if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || resp.StatusCode != 200 {
			t.Fatalf("list products: %d %v", resp.StatusCode, err)
		}
		return page.Total
	}

	plain := startServe(t, env, "--workers=0", "--database-url="+store.SQLiteURL(t.TempDir()))
	if n := count(plain); n != 0 {
		t.Fatalf("plain serve seeded %d products", n)
	}
	if err := plain.stop(t); err != nil {
		t.Fatal(err)
	}

	dir := store.SQLiteURL(t.TempDir())
	demo := startServe(t, env, "--workers=0", "--demo", "--demo-products=5", "--bcrypt-cost=10", "--database-url="+dir)
	if n := count(demo); n != 5 {
		t.Fatalf("demo seeded %d products, want 5", n)
	}
	if !strings.Contains(demo.logs.String(), "demo shop ready") || !strings.Contains(demo.logs.String(), seeder.DemoEmail) {
		t.Fatalf("the demo login is not printed:\n%s", demo.logs)
	}
	resp := login(t, "http://"+demo.addr, seeder.DemoEmail, seeder.DemoPassword)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("the printed demo login does not work: %d", resp.StatusCode)
	}
	if code, page := demo.get(t, "/"); code != 200 || !strings.Contains(page, "New arrivals") {
		t.Fatalf("demo home: %d", code)
	}
	if err := demo.stop(t); err != nil {
		t.Fatal(err)
	}

	again := startServe(t, env, "--workers=0", "--demo", "--demo-products=5", "--bcrypt-cost=10", "--database-url="+dir)
	if n := count(again); n != 5 {
		t.Fatalf("a second --demo changed the catalogue: %d products", n)
	}
}
