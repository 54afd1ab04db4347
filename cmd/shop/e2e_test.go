package main

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/storefronttest"
)

// e2ePassword is the walkers' password: long enough for auth's policy.
const e2ePassword = "correct horse battery staple"

// TestTenServicesEndToEnd runs the production shape on one machine: each
// module its own `shop serve --only=<module> --workers=2` over the real
// RabbitMQ with its own data directory; seeds it with `shop seed` through
// the bus; walks the storefront in Chromium against web, with JavaScript
// and without (storefronttest.Walk, the in-process browser test's walk);
// and checks that `shop ping` lists every module with two instances.
func TestTenServicesEndToEnd(t *testing.T) {
	storefronttest.Chromium(t)
	began := time.Now()
	d := startDeployment(t, 2)
	up := time.Now()

	summary := d.seed("--products=120", "--seed=5")
	wantSeeded(t, summary, `products\s+120 created`, `users\s+4 created`, `articles\s+8 created`, `seo overrides\s+1 created`, `carts\s+3 created`)
	seeded := time.Now()

	shop := storefronttest.Discover(t, d.web())
	for _, js := range []bool{true, false} {
		name, email := "js-off", "e2e-nojs@example.com"
		if js {
			name, email = "js-on", "e2e-js@example.com"
		}
		t.Run(name, func(t *testing.T) { storefronttest.Walk(t, shop, js, email, e2ePassword) })
	}
	walked := time.Now()

	got, out := d.ping()
	for _, m := range deploymentModules() {
		if got[m] < 2 {
			t.Errorf("shop ping lists %d instances of %s, want ≥ 2 (--workers=2)", got[m], m)
		}
	}
	if t.Failed() {
		t.Logf("ping:\n%.4000s", out)
	}
	t.Logf("start %v, seed %v, discover and walks %v, total %v", up.Sub(began).Round(time.Millisecond), seeded.Sub(up).Round(time.Millisecond),
		walked.Sub(seeded).Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
}

// degradedRE matches a page whose main element names part as degraded.
func degradedRE(part string) *regexp.Regexp {
	return regexp.MustCompile(`<main id="main" data-degraded="[^"]*\b` + part + `\b`)
}

// TestModuleDownInSplitDeployment stops one module at a time in a split
// deployment over RabbitMQ and reads the storefront as a shopper: with
// seo down the product and category pages render with their own meta;
// with filter down the category page lists the products without facets
// and says so; with cart down the shop is browsable while the cart pages
// are 503s in the layout that say the cart is unavailable. Each page
// recovers once its module is started again.
func TestModuleDownInSplitDeployment(t *testing.T) {
	d := startDeployment(t, 1)
	d.seed("--products=40", "--seed=9")
	s := storefronttest.Discover(t, d.web())
	c := storefronttest.NewClient(t, d.web())
	base, p, dept := d.web(), s.Product, "/"+s.Department
	productPath := "/p/" + p.Slug
	const noFacets = "Filters are unavailable right now: showing every product in this category."
	const cartDown = "The cart is unavailable right now. Please try again in a moment."

	// Everything up: seo's meta (absolute canonical, JSON-LD), facets,
	// and a cart with one line.
	withSEO := func(pg storefronttest.Page) bool {
		return strings.Contains(pg.Body, `<link rel="canonical" href="`+base) && strings.Contains(pg.Body, `<script type="application/ld+json">`) &&
			!degradedRE("seo").MatchString(pg.Body)
	}
	recovered := func(what, path string, ok func(storefronttest.Page) bool) {
		t.Helper()
		var last storefronttest.Page
		if !poll(2*time.Minute, func() bool { last = c.Get(path); return ok(last) }) {
			d.fatalf("%s: %s did not recover within 2m: %d\n%.4000s", what, path, last.Status, last.Body)
		}
	}
	recovered("all up", productPath, func(pg storefronttest.Page) bool { return pg.Status == 200 && withSEO(pg) })
	c.Get(productPath).Want(t, "product", 200, p.Name, `"@type":"Product"`, `<link rel="canonical" href="`+base+productPath+`">`)
	c.Get(dept).Want(t, "category", 200, `aria-label="Filters"`, `"@type":"BreadcrumbList"`, `<link rel="canonical" href="`+base+dept+`">`)
	if add := c.Post("/cart/lines", url.Values{"variant_id": {s.Variant.ID}, "quantity": {"1"}}); add.Status != 303 {
		t.Fatalf("add to cart: %d\n%.2000s", add.Status, add.Main())
	}
	c.Get("/cart").Want(t, "cart", 200, "Your cart", p.Name, `data-cart-count>1<`)

	t.Run("seo down", func(t *testing.T) {
		d.down(t, contract.SEOQueue)
		prod := c.Get(productPath)
		prod.Want(t, "product without seo", 200, p.Name, "Add to cart", `<link rel="canonical" href="`+productPath+`">`)
		prod.InLayout(t, "product without seo")
		if !degradedRE("seo").MatchString(prod.Body) {
			t.Fatalf("the product page is not marked degraded without seo:\n%.1500s", prod.Body)
		}
		cat := c.Get(dept)
		cat.Want(t, "category without seo", 200, `aria-label="Breadcrumbs"`, `<link rel="canonical" href="`+dept+`">`, `class="card"`)
		cat.Lacks(t, "category without seo", "application/ld+json")
		d.start(contract.SEOQueue)
		recovered("seo back: product", productPath, func(pg storefronttest.Page) bool { return pg.Has(200, p.Name, `"@type":"Product"`) && withSEO(pg) })
		recovered("seo back: category", dept, func(pg storefronttest.Page) bool { return pg.Has(200, `"@type":"BreadcrumbList"`) && withSEO(pg) })
	})

	t.Run("filter down", func(t *testing.T) {
		d.down(t, contract.FilterQueue)
		cat := c.Get(dept)
		cat.Want(t, "category without filter", 200, noFacets, `class="card"`, `aria-label="Breadcrumbs"`, "products</p>")
		cat.Lacks(t, "category without filter", `aria-label="Filters"`)
		cat.InLayout(t, "category without filter")
		c.Get(productPath).Want(t, "product without filter", 200, p.Name, "Add to cart")
		d.start(contract.FilterQueue)
		recovered("filter back", dept, func(pg storefronttest.Page) bool {
			return pg.Has(200, `aria-label="Filters"`, `class="card"`) && !strings.Contains(pg.Body, noFacets)
		})
	})

	t.Run("cart down", func(t *testing.T) {
		d.down(t, contract.CartQueue)
		home := c.Get("/")
		home.Want(t, "home without cart", 200, "New arrivals")
		home.Lacks(t, "home without cart", "data-cart-count")
		if !degradedRE("cart").MatchString(home.Body) {
			t.Fatalf("home is not marked degraded without the cart:\n%.1500s", home.Main())
		}
		c.Get(productPath).Want(t, "product without cart", 200, p.Name, "Add to cart")
		c.Get(dept).Want(t, "category without cart", 200, `aria-label="Filters"`, `class="card"`)
		for _, pg := range []storefronttest.Page{c.Get("/cart"), c.Post("/cart/lines", url.Values{"variant_id": {s.Variant.ID}, "quantity": {"1"}})} {
			pg.Want(t, "cart page without cart", 503, "Temporarily unavailable", cartDown)
			pg.InLayout(t, "cart page without cart")
			if pg.Header.Get("Retry-After") == "" {
				t.Fatal("the cart's 503 has no Retry-After")
			}
		}
		d.start(contract.CartQueue)
		// The line added before the outage is still there.
		recovered("cart back", "/cart", func(pg storefronttest.Page) bool { return pg.Has(200, "Your cart", p.Name, `data-cart-count>1<`) })
		if add := c.Post("/cart/lines", url.Values{"variant_id": {s.Variant.ID}, "quantity": {"1"}}); add.Status != 303 {
			t.Fatalf("add after the cart came back: %d\n%.2000s", add.Status, add.Main())
		}
		c.Get("/cart").Want(t, "cart after recovery", 200, `data-cart-count>2<`)
	})
}
