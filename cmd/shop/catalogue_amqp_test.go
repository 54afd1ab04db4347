package main

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestCatalogueServicesOverAMQP runs every module and web as separate
// processes on the real RabbitMQ, seeds through the bus with `shop seed`,
// and reads the products and articles back through the web module.
func TestCatalogueServicesOverAMQP(t *testing.T) {
	url, prefix := brokerPrefix(t)
	busArgs := []string{"--workers=0", "--bus-url=" + url, "--bus-prefix=" + prefix}
	for _, m := range []string{"category", "attribute", "option", "product", "auth", "article", "seo", "cart", "filter"} {
		args := append(slices.Clone(busArgs), "--only="+m)
		if m == "auth" {
			// The seed makes four users: at the default cost 12 the -race
			// binary spends most of a minute in bcrypt.
			args = append(args, "--bcrypt-cost=10")
		}
		startServe(t, nil, args...)
	}
	web := startServe(t, nil, append(busArgs, "--only=web")...)

	code, out, stderr := run(t, nil, "seed", "--bus-url="+url, "--bus-prefix="+prefix, "--products=120", "--seed=3")
	if code != 0 {
		t.Fatalf("seed: exit %d\n%s\n%s", code, out, stderr)
	}
	if !strings.Contains(out, "products") || !strings.Contains(out, "120 created") || !strings.Contains(out, "demo@example.com") {
		t.Fatalf("seed summary:\n%s", out)
	}
	for _, row := range []string{`users\s+4 created`, `articles\s+8 created`, `seo overrides\s+1 created`, `carts\s+3 created`} {
		if !regexp.MustCompile(row).MatchString(out) {
			t.Fatalf("seed summary lacks %q:\n%s", row, out)
		}
	}
	// Seeding again creates nothing.
	code, out, stderr = run(t, nil, "seed", "--bus-url="+url, "--bus-prefix="+prefix, "--products=120", "--seed=3")
	if code != 0 || !strings.Contains(out, "120 existing") || !regexp.MustCompile(`carts\s+0 created\s+3 existing`).MatchString(out) {
		t.Fatalf("second seed: exit %d\n%s\n%s", code, out, stderr)
	}
	if status, body := web.get(t, "/api/v1/articles"); status != 200 || strings.Count(body, `"slug"`) != 5 || strings.Contains(body, "the-winter-collection") {
		t.Fatalf("public articles (5 published, the scheduled hidden): %d %.300s", status, body)
	}

	status, body := web.get(t, "/api/v1/products?page_size=100")
	if status != 200 {
		t.Fatalf("products: %d %s", status, body)
	}
	var page struct {
		Items []struct {
			ID, Slug string
			Status   string
		}
		Total int
	}
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatal(err)
	}
	if page.Total == 0 || page.Total >= 120 || len(page.Items) == 0 {
		t.Fatalf("public list shows %d products (the published part of 120): %s", page.Total, body)
	}
	for _, p := range page.Items {
		if p.Status != "published" {
			t.Fatalf("public list shows a %s product", p.Status)
		}
	}
	if status, body := web.get(t, "/api/v1/products/by-slug/"+page.Items[0].Slug); status != 200 || !strings.Contains(body, page.Items[0].ID) {
		t.Fatalf("product by slug: %d %s", status, body)
	}
	if status, body := web.get(t, "/api/v1/categories/tree"); status != 200 || !strings.Contains(body, `"count":126`) {
		t.Fatalf("tree: %d %.200s", status, body)
	}
	if status, body := web.get(t, "/api/v1/attributes"); status != 200 || !strings.Contains(body, "brand") {
		t.Fatalf("attributes: %d %.200s", status, body)
	}
}
