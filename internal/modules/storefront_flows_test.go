package modules

import (
	"context"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/web"
)

// settle polls GET path until it answers status (seo's registry follows
// the modules' change feeds, so a write shows there a moment later), and
// returns that answer; it fails after a few seconds.
func (b *browser) settle(path string, status int) page {
	b.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		p := b.get(path)
		if p.status == status || time.Now().After(deadline) {
			return p
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// eventually polls GET path until its body has text (seo's meta follows
// the modules' change feeds), and returns the last answer.
func (b *browser) eventually(path, text string) page {
	b.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		p := b.get(path)
		if strings.Contains(p.body, text) || time.Now().After(deadline) {
			return p
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func adminCtx(t testing.TB) context.Context {
	return contract.WithPrincipal(t.Context(), contract.Principal{Machine: "test"})
}

// TestStorefrontResolver: every entity path goes through seo's registry:
// an old product slug and a renamed category's old path are 301s to the
// new ones (query kept), a deleted product is a 410 in the layout, and a
// category whose slug is a reserved prefix never shadows the shop's page.
func TestStorefrontResolver(t *testing.T) {
	sf := startStorefront(t, 20)
	ctx, bb := adminCtx(t), sf.app.Bus()
	b := sf.browser(t)

	p := sf.plain
	b.settle("/p/"+p.Slug, 200).want(t, "product before", 200, p.Name)
	newSlug := p.Slug + "-v2"
	if _, err := bus.Call(ctx, bb, contract.UpdateProduct, contract.UpdateProductRequest{ID: p.ID, Version: p.Version, Slug: &newSlug}); err != nil {
		t.Fatal(err)
	}
	old := b.settle("/p/"+p.Slug+"?quantity=2", 301)
	if old.status != 301 || old.header.Get("Location") != "/p/"+newSlug+"?quantity=2" {
		t.Fatalf("old product slug: %d %q", old.status, old.header.Get("Location"))
	}
	b.get("/p/"+newSlug).want(t, "product renamed", 200, p.Name)

	cat, err := bus.Call(ctx, bb, contract.GetCategory, contract.CategoryID{ID: sf.withVariants.CategoryIDs[0]})
	if err != nil {
		t.Fatal(err)
	}
	renamed := cat.Slug + "-new"
	if _, err := bus.Call(ctx, bb, contract.UpdateCategory, contract.UpdateCategoryRequest{ID: cat.ID, Version: cat.Version, Slug: &renamed}); err != nil {
		t.Fatal(err)
	}
	newPath := strings.TrimSuffix(sf.categoryPath, cat.Slug) + renamed
	moved := b.settle(sf.categoryPath, 301)
	if moved.status != 301 || moved.header.Get("Location") != newPath {
		t.Fatalf("renamed category's old path: %d %q, want %s", moved.status, moved.header.Get("Location"), newPath)
	}
	b.settle(newPath, 200).want(t, "renamed category", 200, cat.Name)

	if _, err := bus.Call(ctx, bb, contract.DeleteProduct, contract.DeleteProductRequest{ID: p.ID}); err != nil {
		t.Fatal(err)
	}
	gone := b.settle("/p/"+newSlug, 410)
	gone.want(t, "deleted product", 410, "No longer here", `content="noindex"`)
	gone.inLayout(t, "410")
	b.get("/p/never-was-a-product").want(t, "unknown product", 404, "Page not found")
	b.get("/no/such/category/path").want(t, "unknown path", 404, "Page not found")

	// A root category may not take a reserved prefix's place.
	if _, err := bus.Call(ctx, bb, contract.CreateCategory, contract.CreateCategoryRequest{Name: "Cart", Slug: "cart"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	b.get("/cart").want(t, "reserved /cart", 200, "Your cart is empty")
	b.get("/account/cart").want(t, "reserved /account", 404, "Page not found")
	for _, path := range []string{"/admin", "/media", "/cart", "/blog", "/p"} {
		if !contract.IsReserved(path) {
			t.Errorf("%s is not a reserved prefix", path)
		}
	}
}

// TestStorefrontMeta: pages carry seo's meta, and its JSON-LD is embedded
// so that no text in it can end the <script>.
func TestStorefrontMeta(t *testing.T) {
	sf := startStorefront(t, 10)
	ctx, bb := adminCtx(t), sf.app.Bus()
	b := sf.browser(t)
	p := sf.withVariants
	evil := `Boot </script><script>alert(1)</script> & co`
	if _, err := bus.Call(ctx, bb, contract.UpdateProduct, contract.UpdateProductRequest{ID: p.ID, Version: p.Version, Name: &evil}); err != nil {
		t.Fatal(err)
	}
	prod := b.eventually("/p/"+p.Slug, `\u003c/script\u003e`)
	prod.want(t, "product meta", 200, `<script type="application/ld+json">`, `"@type":"Product"`, `Boot \u003c/script\u003e\u003cscript\u003ealert(1)\u003c/script\u003e \u0026 co`,
		`<link rel="canonical" href="`+sf.url+`/p/`+p.Slug+`">`, `<meta name="robots" content="index, follow">`, `<meta property="og:title" content="Boot &lt;/script&gt;`)
	if strings.Contains(prod.body, "<script>alert(1)") {
		t.Fatal("the product name ended the JSON-LD script")
	}
	cat := b.eventually(sf.categoryPath, `"@type":"BreadcrumbList"`)
	cat.want(t, "category meta", 200, `"@type":"BreadcrumbList"`, `content="index, follow"`, `<link rel="canonical" href="`+sf.url+sf.categoryPath+`">`)
	b.get(sf.categoryPath+"?page=2").want(t, "category paged", 200, `content="noindex, follow"`, `<link rel="canonical" href="`+sf.url+sf.categoryPath+`">`)
}

// TestStorefrontCart runs the cart pages: add from the product page's
// form, the page with its line and totals, quantity changes and removal,
// every bad quantity shown beside its line, the cross-site refusal, the
// JSON answer shop.js asks for, the price-changed notice (not used up by
// the header's badge) and the login that merges the guest cart, capping a
// quantity with a notice.
func TestStorefrontCart(t *testing.T) {
	sf := startStorefront(t, 20)
	ctx, bb := adminCtx(t), sf.app.Bus()
	b := sf.browser(t)
	p, v := sf.plain, sf.plain.Variants[0]

	b.get("/cart").want(t, "empty cart", 200, "Your cart is empty", `data-cart-count>0<`)
	add := b.post("/cart/lines", url.Values{"variant_id": {v.ID}, "quantity": {"2"}})
	if add.status != 303 || add.header.Get("Location") != "/cart?done=added" {
		t.Fatalf("add: %d %q\n%.2000s", add.status, add.header.Get("Location"), add.main())
	}
	if !strings.Contains(add.header.Get("Set-Cookie"), contract.CartTokenCookie+"=") {
		t.Fatal("the guest cart's cookie was not set")
	}
	cart := b.get("/cart?done=added")
	cart.want(t, "cart", 200, "Added to your cart.", p.Name, `value="2"`, web.FormatMoney(2*v.Price, p.Currency), `data-cart-count>2<`, `action="/cart/lines/`)
	if !strings.Contains(cart.body, `src="/media/product/`) && !strings.Contains(cart.body, `<img src="http`) {
		t.Fatal("the cart line has no picture")
	}
	b.get("/").want(t, "badge on home", 200, `data-cart-count>2<`)
	// Five left: a quantity beyond them is refused beside the line.
	if _, err := bus.Call(ctx, bb, contract.AdjustStock, contract.AdjustStockRequest{VariantID: v.ID, Delta: 5 - v.Stock}); err != nil {
		t.Fatal(err)
	}
	lineID := regexp.MustCompile(`action="/cart/lines/([^"/]+)"`).FindStringSubmatch(cart.body)[1]

	for _, c := range []struct {
		name, q string
		status  int
		text    string
	}{
		{"not a number", "two", 400, "Want a whole number"},
		{"empty", "", 400, "Required"},
		{"negative", "-1", 400, ""},
		{"too many", "100000", 400, ""},
		{"beyond stock", "6", 409, "Only 5 available"},
		{"beyond the line limit", "100", 0, ""},
	} {
		got := b.post("/cart/lines/"+lineID, url.Values{"quantity": {c.q}})
		if got.status < 400 || (c.status != 0 && got.status != c.status) || !strings.Contains(got.body, `class="field-error" id="e-qty"`) ||
			!strings.Contains(got.body, c.text) {
			t.Fatalf("quantity %s (%q): %d\n%.3000s", c.name, c.q, got.status, got.main())
		}
	}
	b.post("/cart/lines", url.Values{"variant_id": {v.ID}, "quantity": {"0"}}).want(t, "add 0", 400, `id="cart-error"`)
	b.post("/cart/lines", url.Values{"variant_id": {"nope"}, "quantity": {"1"}}).want(t, "add unknown variant", 400, `id="cart-error"`)
	b.get("/cart").want(t, "cart unchanged by bad input", 200, `value="2"`, `data-cart-count>2<`)

	// Cross-site posts are refused and change nothing.
	for _, path := range []string{"/cart/lines", "/cart/lines/" + lineID, "/cart/lines/" + lineID + "/remove"} {
		b.do("POST", path, url.Values{"variant_id": {v.ID}, "quantity": {"5"}}, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example").
			want(t, "cross-site "+path, 403, "Request refused")
	}
	b.get("/cart").want(t, "cart unchanged by cross-site posts", 200, `value="2"`)

	if up := b.post("/cart/lines/"+lineID, url.Values{"quantity": {"3"}}); up.status != 303 {
		t.Fatalf("set quantity: %d\n%.2000s", up.status, up.main())
	}
	b.get("/cart?done=updated").want(t, "updated", 200, "Your cart was updated.", `value="3"`, web.FormatMoney(3*v.Price, p.Currency))

	// shop.js's add: the count as JSON, no redirect.
	js := b.do("POST", "/cart/lines", url.Values{"variant_id": {v.ID}, "quantity": {"1"}}, "Sec-Fetch-Site", "same-origin", "Origin", b.base, "Accept", "application/json")
	if js.status != 200 || !strings.Contains(js.body, `"item_count":4`) {
		t.Fatalf("add as JSON: %d %s", js.status, js.body)
	}

	// A price change shows once on the cart page, even after other pages
	// (whose badges read the cart) were seen first.
	cur, err := bus.Call(ctx, bb, contract.GetProduct, contract.ProductID{ID: p.ID})
	if err != nil {
		t.Fatal(err)
	}
	price := v.Price + 500
	if _, err := bus.Call(ctx, bb, contract.UpdateProduct, contract.UpdateProductRequest{ID: p.ID, Version: cur.Version,
		Variants: []contract.VariantPatch{{ID: v.ID, Price: &price}}}); err != nil {
		t.Fatal(err)
	}
	b.get("/")
	b.get("/p/" + p.Slug)
	b.get("/cart").want(t, "price changed", 200, "The price changed from", web.FormatMoney(price, p.Currency))
	if again := b.get("/cart"); strings.Contains(again.body, "The price changed from") {
		t.Fatal("the price-changed notice shows twice")
	}

	if rm := b.post("/cart/lines/"+lineID+"/remove", url.Values{}); rm.status != 303 {
		t.Fatalf("remove: %d", rm.status)
	}
	b.get("/cart?done=removed").want(t, "removed", 200, "The item was removed", "Your cart is empty")

	// Login merges the guest cart; a quantity capped at the stock says so.
	const email = "cara@example.com"
	if reg := b.post("/account/register", url.Values{"email": {email}, "password": {goodPW}, "display_name": {"Cara"}}); reg.status != 303 {
		t.Fatalf("register: %d", reg.status)
	}
	w := sf.withVariants.Variants[1]
	most := min(w.Stock, contract.DefaultLineLimit) // what one line can hold
	itoa := func(n int64) string { return strconv.FormatInt(n, 10) }
	if a := b.post("/cart/lines", url.Values{"variant_id": {w.ID}, "quantity": {itoa(most)}}); a.status != 303 {
		t.Fatalf("user add: %d\n%.2000s", a.status, a.main())
	}
	b.post("/account/logout", url.Values{})
	b.get("/cart").want(t, "guest again", 200, "Your cart is empty")
	if a := b.post("/cart/lines", url.Values{"variant_id": {w.ID}, "quantity": {"1"}}); a.status != 303 {
		t.Fatalf("guest add: %d", a.status)
	}
	login := b.post("/account/login", url.Values{"email": {email}, "password": {goodPW}})
	if login.status != 303 || login.header.Get("Location") != "/cart?done=cart-capped" {
		t.Fatalf("login with a guest cart over the stock: %d %q", login.status, login.header.Get("Location"))
	}
	merged := b.get("/cart?done=cart-capped")
	merged.want(t, "merged cart", 200, "some quantities were lowered", `value="`+itoa(most)+`"`, `class="line-notice notice-info"`, `data-cart-count>`+itoa(most)+`<`)
}

// TestStorefrontBlog: the blog's list (tags with counts, paging, tag
// pages), the article page with its sanitised body, old slugs' 301, the
// latest articles on home, and the feeds still served beside the pages.
func TestStorefrontBlog(t *testing.T) {
	sf := startStorefront(t, 5)
	ctx, bb := adminCtx(t), sf.app.Bus()
	b := sf.browser(t)
	var first contract.Article
	for i := range blogPageSizeForTest + 2 {
		tags := []string{"guides"}
		if i%2 == 0 {
			tags = append(tags, "care")
		}
		a, err := bus.Call(ctx, bb, contract.CreateArticle, contract.CreateArticleRequest{Title: "Caring for boots, part " + strconv.Itoa(i+1),
			BodyMarkdown: "Keep them **dry**.\n\n<script>alert(1)</script>\n\nThen polish.", Tags: tags, Status: contract.ArticlePublished,
			AuthorName: "Ines", Cover: &contract.Image{URL: "https://cdn.example/boots.jpg", Alt: "Boots"}})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = a
		}
	}
	blog := b.get("/blog")
	blog.want(t, "blog", 200, "Journal", `href="/blog/tag/guides"`, "(12)", `href="/blog/tag/care"`, "(6)", "min read", `rel="next"`)
	blog.inLayout(t, "blog")
	if n := strings.Count(blog.body, `class="article-card"`); n != 10 {
		t.Fatalf("the blog's first page lists %d articles, want 10", n)
	}
	next := regexp.MustCompile(`href="(/blog\?cursor=[^"]+)" rel="next"`).FindStringSubmatch(blog.body)
	if next == nil {
		t.Fatal("no link to the older articles")
	}
	older := b.get(strings.ReplaceAll(next[1], "&amp;", "&"))
	older.want(t, "older articles", 200, "Newest articles", "part 1<")
	if n := strings.Count(older.body, `class="article-card"`); n != 2 {
		t.Fatalf("the second page lists %d, want 2", n)
	}
	tag := b.get("/blog/tag/care")
	tag.want(t, "tag page", 200, "Journal: care", `aria-current="page"`)
	if n := strings.Count(tag.body, `class="article-card"`); n != 6 {
		t.Fatalf("the care tag lists %d, want 6", n)
	}
	b.get("/blog?cursor=garbage").want(t, "bad cursor", 400, "cursor")
	b.get("/blog?page=2").want(t, "unknown parameter", 400, "page")

	// seo's meta (the JSON-LD) follows the article's feed: the page may
	// answer from the direct lookup first.
	art := b.eventually("/blog/"+first.Slug, `"@type":"Article"`)
	art.want(t, "article", 200, first.Title, "<strong>dry</strong>", "By Ines", `src="https://cdn.example/boots.jpg"`, `href="/blog/tag/guides"`, "min read",
		`"@type":"Article"`, `<link rel="canonical" href="`+sf.url+`/blog/`+first.Slug+`">`)
	if strings.Contains(art.main(), "<script>alert(1)") {
		t.Fatal("the article body is not sanitised")
	}
	slug := first.Slug + "-renamed"
	if _, err := bus.Call(ctx, bb, contract.UpdateArticle, contract.UpdateArticleRequest{ID: first.ID, Version: first.Version, Slug: &slug}); err != nil {
		t.Fatal(err)
	}
	if old := b.settle("/blog/"+first.Slug, 301); old.header.Get("Location") != "/blog/"+slug {
		t.Fatalf("old article slug: %d %q", old.status, old.header.Get("Location"))
	}
	b.get("/blog/no-such-article").want(t, "unknown article", 404, "Page not found")
	b.get("/").want(t, "home with articles", 200, "From the journal", `href="/blog/`)
	if rss := b.get("/blog/rss.xml"); rss.status != 200 || !strings.Contains(rss.body, "<rss") {
		t.Fatalf("the feed beside the pages: %d %.200s", rss.status, rss.body)
	}
	if atom := b.get("/blog/tag/care/atom.xml"); atom.status != 200 || !strings.Contains(atom.body, "<feed") {
		t.Fatalf("the tag feed: %d", atom.status)
	}
}

// blogPageSizeForTest is the blog's page size (web.blogPageSize).
const blogPageSizeForTest = 10

// TestStorefrontDegradesWithoutSEOCartArticle runs the shop without the
// seo, cart and article modules: entity pages are found by the direct
// lookups with the pages' own meta, the header has no badge, the cart
// pages are 503s that say the cart is unavailable, home renders without
// articles, and the blog, which needs the article module, is a 503.
func TestStorefrontDegradesWithoutSEOCartArticle(t *testing.T) {
	cfg := authConfig(t)
	cfg.Targets = []string{contract.AuthQueue, contract.CategoryQueue, contract.ProductQueue, contract.AttributeQueue, contract.OptionQueue, Web}
	s := startShop(t, cfg)
	sf := seedStorefront(t, s, 10)
	b := s.browser(t)

	home := b.get("/")
	home.want(t, "home degraded", 200, "New arrivals", `<link rel="canonical" href="/">`)
	if strings.Contains(home.body, "data-cart-count") || strings.Contains(home.body, "From the journal") {
		t.Fatal("home shows a badge or articles without their modules")
	}
	if !regexp.MustCompile(`data-degraded="[^"]*\bcart\b`).MatchString(home.body) {
		t.Fatal("home is not marked degraded without the cart")
	}
	p := sf.withVariants
	b.get("/p/"+p.Slug).want(t, "product without seo", 200, p.Name, `<link rel="canonical" href="/p/`+p.Slug+`">`)
	cat := b.get(sf.categoryPath)
	cat.want(t, "category without seo", 200, `aria-label="Breadcrumbs"`, `<link rel="canonical" href="`+sf.categoryPath+`">`)
	if strings.Contains(cat.body, "application/ld+json") {
		t.Fatal("JSON-LD without seo")
	}
	b.get("/p/no-such-product").want(t, "unknown product without seo", 404, "Page not found")
	b.get("/no/such/category").want(t, "unknown category without seo", 404, "Page not found")

	for _, c := range []struct {
		method, path string
	}{{"GET", "/cart"}, {"POST", "/cart/lines"}, {"POST", "/cart/lines/x"}, {"POST", "/cart/lines/x/remove"}} {
		var got page
		if c.method == "GET" {
			got = b.get(c.path)
		} else {
			got = b.post(c.path, url.Values{"variant_id": {p.Variants[0].ID}, "quantity": {"1"}})
		}
		got.want(t, c.method+" "+c.path+" without cart", 503, "The cart is unavailable right now")
		got.inLayout(t, c.path)
		if got.header.Get("Retry-After") == "" {
			t.Fatalf("%s: 503 without Retry-After", c.path)
		}
	}
	blog := b.get("/blog")
	blog.want(t, "blog without article", 503, "Temporarily unavailable")
	if blog.header.Get("Retry-After") == "" {
		t.Fatal("blog 503 without Retry-After")
	}
	b.get("/blog/some-article").want(t, "article without article or seo", 503, "Temporarily unavailable")
}
