package modules

import (
	"fmt"
	"html"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/shopengine/shop/internal/contract"
)

// The storefront's category and search pages on the filter module (issue
// 14): the seeded search catalogue (seedSearchCatalogue: Home with 3
// products, its Lighting leaf) plus 25 pots in Garden for paging.

// potsForPaging is one more than a category page holds.
const potsForPaging = 25

// seedPots adds potsForPaging published pots in stock to category id,
// priced 10.00, 10.01, … so that price_asc orders them by number.
func seedPots(t *testing.T, s *shop, categoryID string) {
	t.Helper()
	for i := range potsForPaging {
		created[contract.Product](t, s.admin(t, "POST", "/api/v1/admin/products", fmt.Sprintf(
			`{"name":"Pot %02d","status":"published","category_ids":[%q],"currency":"EUR","price":%d,"variants":[{"stock":3}]}`, i, categoryID, 1000+i)))
	}
}

// awaitFilterCaughtUp waits until filter's search lists every published
// product (its read model follows the catalogue's change feeds).
func awaitFilterCaughtUp(t *testing.T, s *shop) {
	t.Helper()
	list := ok[contract.Page[contract.ProductSummary]](t, s.get(t, "/api/v1/products?page_size=1"))
	awaitSearch(t, func(t *testing.T, path string) response { return s.get(t, path) }, "page_size=1",
		"the catalogue in search", func(r contract.SearchReply) bool { return r.Total == list.Total })
}

// totalOf is the result count the page shows.
func totalOf(t *testing.T, p page) int {
	t.Helper()
	m := regexp.MustCompile(`id="result-count" data-total="(\d+)"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no result count on the page:\n%.3000s", p.main())
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// facetCount is the count the panel shows for facet's value, -1 if the
// value is not in the panel.
func facetCount(p page, facet, value string) int {
	m := regexp.MustCompile(`(?s)id="fv-` + regexp.QuoteMeta(facet+"-"+value) + `".*?data-count="(\d+)"`).FindStringSubmatch(p.body)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// cardNames are the product names of the grid, in order.
func cardNames(p page) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<span class="card-name">([^<]*)</span>`).FindAllStringSubmatch(p.body, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// linkHref is the href of the first <a rel=rel>, unescaped.
func linkHref(t *testing.T, p page, rel string) string {
	t.Helper()
	m := regexp.MustCompile(`<a rel="` + rel + `" href="([^"]*)"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no %s link:\n%.3000s", rel, p.main())
	}
	return html.UnescapeString(m[1])
}

func TestStorefrontSearchPages(t *testing.T) {
	s := startShop(t, authConfig(t))
	cat := seedSearchCatalogue(t, s)
	seedPots(t, s, cat.other.ID)
	awaitSearch(t, func(t *testing.T, path string) response { return s.get(t, path) }, "page_size=1",
		"the catalogue in search", func(r contract.SearchReply) bool { return r.Total == 3+potsForPaging })
	b := s.browser(t)
	home := "/" + cat.root.Slug

	all := b.get(home)
	all.want(t, "category with facets", 200, `aria-label="Filters"`, `<legend>Brand</legend>`, `name="f.brand" value="acme"`, "Apply filters")
	all.inLayout(t, "category with facets")
	if strings.Contains(all.body, "Filters are unavailable") {
		t.Fatal("the notice of filter down, with filter up")
	}
	if totalOf(t, all) != 3 || facetCount(all, "brand", "acme") != 2 || facetCount(all, "brand", "zen") != 1 || facetCount(all, "waterproof", "yes") != 2 {
		t.Fatalf("Home: total %d, acme %d, zen %d, waterproof %d", totalOf(t, all), facetCount(all, "brand", "acme"),
			facetCount(all, "brand", "zen"), facetCount(all, "waterproof", "yes"))
	}
	if !strings.Contains(all.body, `href="`+home+`/`+cat.leaf.Slug+`" class="chip">Lighting (2)</a>`) {
		t.Fatalf("no Lighting subcategory with its count:\n%.3000s", all.main())
	}

	// A facet value: the toggle link is the URL grammar; its selection
	// drops the other facets' counts (disjunctive) and the grid matches.
	acme := b.get(home + "?f.brand=acme")
	acme.want(t, "brand=acme", 200, `name="f.brand" value="acme" checked`, "Brand: Acme ×")
	if totalOf(t, acme) != 2 || facetCount(acme, "waterproof", "yes") != 1 || facetCount(acme, "brand", "zen") != 1 {
		t.Fatalf("brand=acme: total %d, waterproof %d, zen %d", totalOf(t, acme), facetCount(acme, "waterproof", "yes"), facetCount(acme, "brand", "zen"))
	}
	if names := strings.Join(cardNames(acme), ","); strings.Contains(names, "Vase") || !strings.Contains(names, "Café Lamp") || !strings.Contains(names, "Stool") {
		t.Fatalf("brand=acme grid: %s", names)
	}
	if !strings.Contains(all.body, `href="`+home+`?f.brand=acme"`) || !strings.Contains(acme.body, `href="`+home+`" rel="nofollow" aria-label="Remove Brand: Acme"`) {
		t.Fatalf("toggle or removal links do not re-encode the state:\n%.4000s", acme.main())
	}
	both := b.get(home + "?f.brand=acme,zen&f.waterproof=yes")
	if totalOf(t, both) != 2 || strings.Join(cardNames(both), ",") == "" || strings.Contains(strings.Join(cardNames(both), ","), "Lamp") {
		t.Fatalf("acme or zen, waterproof: %d %v", totalOf(t, both), cardNames(both))
	}

	// The price form's major units become price=lo-hi in minor units.
	form := b.get(home + "?f.brand=acme&min=10&max=50")
	if form.status != 303 || form.header.Get("Location") != home+"?f.brand=acme&price=1000-5000" {
		t.Fatalf("price form: %d → %q", form.status, form.header.Get("Location"))
	}
	priced := b.get(form.header.Get("Location"))
	priced.want(t, "price 10-50", 200, `id="price-min" name="min" type="number" min="0" step="0.01" inputmode="decimal" value="10"`, "Price: 10 to 50 ×")
	if names := cardNames(priced); totalOf(t, priced) != 1 || len(names) != 1 || names[0] != "Stool" {
		t.Fatalf("acme, 10-50: %d %v", totalOf(t, priced), names)
	}
	b.get(home+"?min=ten").want(t, "price form not a number", 400, "Price min")

	// In stock only: the stool (stock 0) leaves.
	stock := b.get(home + "?in_stock=1")
	stock.want(t, "in stock", 200, `name="in_stock" value="1" checked`, "In stock only ×")
	if names := strings.Join(cardNames(stock), ","); totalOf(t, stock) != 2 || strings.Contains(names, "Stool") {
		t.Fatalf("in stock: %d %s", totalOf(t, stock), names)
	}

	// Sort: the filter's codes, in the select and the order.
	asc := b.get(home + "?sort=price_asc")
	asc.want(t, "sort price_asc", 200, `<option value="price_asc" selected>`)
	if got := strings.Join(cardNames(asc), ","); got != "Vase,Stool,Café Lamp" {
		t.Fatalf("price_asc: %s", got)
	}
	if got := strings.Join(cardNames(b.get(home+"?sort=price_desc")), ","); got != "Café Lamp,Stool,Vase" {
		t.Fatalf("price_desc: %s", got)
	}

	// Paging: 24 a page; the next link keeps the state.
	garden := "/" + cat.other.Slug
	p1 := b.get(garden + "?sort=price_asc&in_stock=1")
	p1.want(t, "garden page 1", 200, "Page 1 of 2")
	if names := cardNames(p1); totalOf(t, p1) != potsForPaging || len(names) != 24 || names[0] != "Pot 00" {
		t.Fatalf("garden page 1: %d, %d cards, %v", totalOf(t, p1), len(names), names)
	}
	next := linkHref(t, p1, "next")
	if next != garden+"?in_stock=1&page=2&sort=price_asc" {
		t.Fatalf("next link %q", next)
	}
	p2 := b.get(next)
	p2.want(t, "garden page 2", 200, "Page 2 of 2")
	if names := cardNames(p2); len(names) != 1 || names[0] != "Pot 24" || linkHref(t, p2, "prev") != garden+"?in_stock=1&sort=price_asc" {
		t.Fatalf("garden page 2: %v, prev %q", names, linkHref(t, p2, "prev"))
	}

	// Bad codes: the filter's invalid, as a 400 page in the layout.
	bad := b.get(home + "?f.colour=red")
	bad.want(t, "unknown facet", 400, "Bad request", "colour")
	bad.inLayout(t, "unknown facet")
	b.get(home+"?f.brand=nope").want(t, "unknown value", 400, "nope")

	// Search: q with the same panel; no q is the prompt.
	prompt := b.get("/search")
	prompt.want(t, "search prompt", 200, "What are you looking for?")
	prompt.inLayout(t, "search prompt")
	lamp := b.get("/search?q=lamp")
	lamp.want(t, "search lamp", 200, "Results for “lamp”", `<option value="relevance" selected>`, `value="lamp"`, `<input type="hidden" name="q" value="lamp">`)
	if names := cardNames(lamp); totalOf(t, lamp) != 1 || len(names) != 1 || names[0] != "Café Lamp" {
		t.Fatalf("q=lamp: %d %v", totalOf(t, lamp), names)
	}
	pots := b.get("/search?q=pot&f.brand=acme")
	if totalOf(t, pots) != 0 {
		t.Fatalf("pots by acme: %d", totalOf(t, pots))
	}
	if got := b.get("/search?q=pot&sort=price_desc"); totalOf(t, got) != potsForPaging || cardNames(got)[0] != "Pot 24" {
		t.Fatalf("pots by price desc: %d %v", totalOf(t, got), cardNames(got))
	}
	b.get("/search?q=lamp&f.colour=red").want(t, "search unknown facet", 400, "colour")
}

// TestStorefrontSearchWithoutFilter runs the shop without the filter
// module: the category page falls back to the product list with its
// notice, /search is a 503 in the layout with Retry-After.
func TestStorefrontSearchWithoutFilter(t *testing.T) {
	cfg := authConfig(t)
	cfg.Targets = []string{contract.AuthQueue, contract.CategoryQueue, contract.ProductQueue, contract.AttributeQueue, contract.OptionQueue, Web}
	s := startShop(t, cfg)
	c := created[contract.Category](t, s.admin(t, "POST", "/api/v1/admin/categories", `{"name":"Garden"}`))
	created[contract.Product](t, s.admin(t, "POST", "/api/v1/admin/products", fmt.Sprintf(
		`{"name":"Spade","status":"published","category_ids":[%q],"currency":"EUR","price":1200,"variants":[{"stock":1}]}`, c.ID)))
	b := s.browser(t)
	cat := b.get("/" + c.Slug + "?f.brand=acme")
	cat.want(t, "category without filter", 200, "Filters are unavailable", "Spade")
	if strings.Contains(cat.body, `aria-label="Filters"`) {
		t.Fatal("a facet panel without filter")
	}
	srch := b.get("/search?q=spade")
	srch.want(t, "search without filter", 503, "Temporarily unavailable")
	srch.inLayout(t, "search 503")
	if srch.header.Get("Retry-After") == "" {
		t.Fatal("search 503 without Retry-After")
	}
	b.get("/search").want(t, "search prompt without filter", 200, "What are you looking for?")
}
