package modules

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/seeder"
	"github.com/shopengine/shop/internal/modules/web"
	"github.com/shopengine/shop/internal/storefronttest"
)

// storefront is a running shop with a small seeded catalogue.
type storefront struct {
	*shop
	// withVariants is a published product with several variants; plain
	// one without options.
	withVariants, plain contract.Product
	// category is withVariants' leaf category's path from its root.
	categoryPath string
}

// startStorefront runs every module with a seeded catalogue of n products.
func startStorefront(t testing.TB, n int) *storefront {
	t.Helper()
	return seedStorefront(t, startShop(t, authConfig(t)), n)
}

// seedStorefront seeds a catalogue of n products into the running shop s.
func seedStorefront(t testing.TB, s *shop, n int) *storefront {
	t.Helper()
	ctx := contract.WithPrincipal(t.Context(), contract.Principal{Machine: "test"})
	if _, err := seeder.New(s.app.Bus(), slog.New(slog.NewTextHandler(io.Discard, nil))).Seed(ctx, seeder.Options{Products: n, Seed: 11, CatalogueOnly: true}, &quietProgress{}); err != nil {
		t.Fatal(err)
	}
	sf := &storefront{shop: s}
	page, err := bus.Call(ctx, s.app.Bus(), contract.ListProducts, contract.ListProductsRequest{Status: contract.ProductPublished, PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range page.Items {
		p, err := bus.Call(ctx, s.app.Bus(), contract.GetProduct, contract.ProductID{ID: it.ID})
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case len(p.Variants) > 2 && sf.withVariants.ID == "" && p.Variants[1].Stock > 0:
			sf.withVariants = p
		case len(p.Variants) == 1 && sf.plain.ID == "":
			sf.plain = p
		}
	}
	if sf.withVariants.ID == "" || sf.plain.ID == "" {
		t.Fatalf("the seeded catalogue has no product with variants in stock, or none without: %d products", page.Total)
	}
	crumbs, err := bus.Call(ctx, s.app.Bus(), contract.GetBreadcrumbs, contract.CategoryID{ID: sf.withVariants.CategoryIDs[0]})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range crumbs.Items {
		sf.categoryPath += "/" + c.Slug
	}
	return sf
}

// browser is storefronttest's page client, with the lower-case names
// these tests were written with.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
	sc   *storefronttest.Client
}

func (s *shop) browser(t *testing.T) *browser {
	sc := storefronttest.NewClient(t, s.url)
	return &browser{t: t, base: sc.Base, c: sc.HTTP, sc: sc}
}

// page is one answer of the storefront.
type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, form url.Values, headers ...string) page {
	b.t.Helper()
	p := b.sc.Do(method, path, form, headers...)
	return page{p.Status, p.Header, p.Body}
}

func (b *browser) get(path string) page { b.t.Helper(); return b.do("GET", path, nil) }

// post sends a form as a browser on this site does (Sec-Fetch-Site:
// same-origin).
func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	p := b.sc.Post(path, form)
	return page{p.Status, p.Header, p.Body}
}

func (p page) export() storefronttest.Page {
	return storefronttest.Page{Status: p.status, Header: p.header, Body: p.body}
}

// want fails unless the page has status and every text.
func (p page) want(t *testing.T, what string, status int, texts ...string) {
	t.Helper()
	p.export().Want(t, what, status, texts...)
}

// main is the page's content (the header is long), or the whole body.
func (p page) main() string { return p.export().Main() }

// inLayout checks that a page is rendered in the storefront layout.
func (p page) inLayout(t *testing.T, what string) {
	t.Helper()
	p.export().InLayout(t, what)
}

func TestStorefrontCataloguePages(t *testing.T) {
	sf := startStorefront(t, 60)
	b := sf.browser(t)

	home := b.get("/")
	// The home page's meta is seo's: the shop's name as title, an
	// absolute canonical and the WebSite JSON-LD.
	home.want(t, "home", 200, "New arrivals", `<title>shop</title>`, `<meta name="description"`, `<link rel="canonical" href="`+sf.url+`/">`,
		`<meta name="robots" content="index, follow">`, `<meta property="og:title" content="shop">`, `href="/clothing"`,
		`<script type="application/ld+json">{"@context":"https://schema.org"`)
	home.inLayout(t, "home")
	if n := strings.Count(home.body, `class="card"`); n != 8 {
		t.Fatalf("home shows %d newest products, want 8", n)
	}
	if strings.Contains(home.body, "example.com") || !strings.Contains(home.body, `src="/media/product/`) {
		t.Fatal("home: sample products are not drawn by the shop")
	}

	p := sf.withVariants
	awaitFilterCaughtUp(t, sf.shop)
	cat := b.get(sf.categoryPath)
	cat.want(t, "category", 200, `aria-label="Filters"`, `aria-label="Breadcrumbs"`, `name="sort"`, "products</p>")
	if !regexp.MustCompile(`data-degraded=|class="card"`).MatchString(cat.body) {
		t.Fatal("category page lists no products")
	}
	// A sorted (or filtered) category is noindex, canonical the plain
	// category: seo decides it from the query web passes.
	b.get(sf.categoryPath+"?sort=price_desc&page=1").want(t, "category sorted", 200, `<option value="price_desc" selected>`,
		`content="noindex, follow"`, `<link rel="canonical" href="`+sf.url+sf.categoryPath+`">`)
	b.get(sf.categoryPath+"?sort=cheapest").want(t, "bad sort", 400, "Unknown sort")
	b.get(sf.categoryPath+"?page=0").want(t, "page 0", 400, "want a page number")
	b.get(sf.categoryPath+"?page=x").want(t, "page x", 400, "want a page number")
	b.get("/no-such-department/at-all").want(t, "unknown category", 404, "Page not found")

	prod := b.get("/p/" + p.Slug)
	prod.want(t, "product", 200, p.Name, `action="/cart/lines"`, `name="quantity"`, `<link rel="canonical" href="`+sf.url+`/p/`+p.Slug+`">`,
		`<script type="application/ld+json">`, `"@type":"Product"`,
		`content="product"`, "SKU", `aria-label="Breadcrumbs"`, "More from this category")
	prod.inLayout(t, "product")
	// The variant picker is a GET form: choosing reloads with the
	// variant's price, stock and SKU.
	v := p.Variants[1]
	q := url.Values{}
	for _, o := range v.Options {
		q.Set(o.GroupCode, o.ValueCode)
	}
	chosen := b.get("/p/" + p.Slug + "?" + q.Encode())
	chosen.want(t, "chosen variant", 200, `<span id="sku">`+v.SKU+`</span>`, `value="`+v.ID+`"`, web.FormatMoney(v.Price, p.Currency))
	q.Set(v.Options[0].GroupCode, "no-such-value")
	b.get("/p/"+p.Slug+"?"+q.Encode()).want(t, "impossible variant", 200, "That combination is not available")
	b.get("/p/no-such-product").want(t, "unknown product", 404, "Page not found", `content="noindex"`)
	b.get("/p/"+sf.plain.Slug).want(t, "plain product", 200, sf.plain.Variants[0].SKU)

	// Reserved prefixes are never resolved as slugs; the API keeps its
	// JSON errors.
	b.get("/account/nothing-here").want(t, "reserved", 404, "Page not found")
	api := b.get("/api/v1/no-such-thing")
	if api.status != 404 || api.header.Get("Content-Type") != "application/json" {
		t.Fatalf("the API's 404 is shadowed: %d %s", api.status, api.header.Get("Content-Type"))
	}
	b.get("/healthz").want(t, "healthz", 200, `"status":"ok"`)

	b.get("/search?q=mug").want(t, "search", 200, "Results for “mug”", `value="mug"`)
}

func TestStorefrontAssetsAreCached(t *testing.T) {
	sf := startStorefront(t, 10)
	b := sf.browser(t)
	home := b.get("/")
	css := regexp.MustCompile(`href="(/static/shop\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(home.body)
	if css == nil {
		t.Fatal("no hashed stylesheet link")
	}
	for _, path := range []string{css[1], "/static/vendor/water.css/light.min.css", "/media/product/" + sf.plain.Slug + ".svg"} {
		first := b.get(path)
		etag := first.header.Get("ETag")
		if first.status != 200 || etag == "" || !strings.Contains(first.header.Get("Cache-Control"), "max-age=") {
			t.Fatalf("%s: %d, ETag %q, Cache-Control %q", path, first.status, etag, first.header.Get("Cache-Control"))
		}
		if again := b.do("GET", path, nil, "If-None-Match", etag); again.status != http.StatusNotModified {
			t.Fatalf("%s with If-None-Match: %d, want 304", path, again.status)
		}
	}
	if cc := b.get(css[1]).header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Fatalf("hashed asset Cache-Control %q, want immutable", cc)
	}
	svg := b.get("/media/product/" + sf.plain.Slug + ".svg")
	if svg.header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(svg.body, "<svg") {
		t.Fatalf("placeholder picture: %s %.100s", svg.header.Get("Content-Type"), svg.body)
	}
	if again := b.get("/media/product/" + sf.plain.Slug + ".svg"); again.body != svg.body {
		t.Fatal("the drawing of a product is not deterministic")
	}
	b.get("/media/product/x.png").want(t, "not an svg", 404, "No such picture")
	b.get("/static/no-such.css").want(t, "missing static", 404, "Not found")
	b.get("/static/../templates/layout.html").want(t, "escape static", 404, "")
}

// TestStorefrontAccountForms runs every account form with bad input
// (errors beside the field, values kept, nothing changed) and good input
// (POST-redirect-GET), and the cross-site refusal.
func TestStorefrontAccountForms(t *testing.T) {
	sf := startStorefront(t, 5)
	b := sf.browser(t)
	const email = "ann@example.com"

	b.get("/account").want(t, "account anonymous", 303, "")
	b.get("/account/register").want(t, "register page", 200, `<label for="f-email">Email</label>`, `<label for="f-password">Password</label>`)

	for _, c := range []struct {
		name        string
		form        url.Values
		status      int
		field, text string
	}{
		{"no email", url.Values{"email": {""}, "password": {goodPW}}, 400, "email", "Required."},
		{"bad email", url.Values{"email": {"ann-at-example"}, "password": {goodPW}, "display_name": {"Ann"}}, 400, "email", "exactly one @"},
		{"short password", url.Values{"email": {email}, "password": {"abc"}, "display_name": {"Ann"}}, 400, "password", "At least 8 characters"},
		{"common password", url.Values{"email": {email}, "password": {"password123"}, "display_name": {"Ann"}}, 400, "password", "Too common"},
	} {
		p := b.post("/account/register", c.form)
		p.want(t, c.name, c.status, `id="e-`+c.field+`"`, c.text)
		if v := c.form.Get("email"); v != "" && !strings.Contains(p.body, `value="`+v+`"`) {
			t.Fatalf("%s: the email typed is not kept", c.name)
		}
		if strings.Contains(p.body, c.form.Get("password")) && c.form.Get("password") != "" {
			t.Fatalf("%s: the password is echoed in the page", c.name)
		}
	}
	b.get("/account").want(t, "still anonymous", 303, "")

	// Cross-site posts are refused with a page, and change nothing.
	evil := b.do("POST", "/account/register", url.Values{"email": {email}, "password": {goodPW}}, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	evil.want(t, "cross-site register", 403, "Request refused")
	evil.inLayout(t, "cross-site register")

	reg := b.post("/account/register", url.Values{"email": {email}, "password": {goodPW}, "display_name": {"Ann"}})
	if reg.status != 303 || reg.header.Get("Location") != "/account?done=registered" {
		t.Fatalf("register: %d %s", reg.status, reg.header.Get("Location"))
	}
	first := sessionCookieOf(t, b)
	acc := b.get("/account?done=registered")
	acc.want(t, "account", 200, "Welcome! Your account is ready.", email, "Active sessions", "this device", `action="/account/logout"`)
	b.post("/account/register", url.Values{"email": {email}, "password": {goodPW}}).want(t, "register twice", 409, `id="e-email"`)

	// Account forms: errors beside the field, the page still whole.
	b.post("/account/password", url.Values{"current_password": {"wrong password here"}, "new_password": {otherPW}}).
		want(t, "wrong current password", 400, `id="e-current_password"`, "Wrong password", email)
	b.post("/account/password", url.Values{"current_password": {goodPW}, "new_password": {"short"}}).
		want(t, "short new password", 400, `id="e-new_password"`, "At least 8")
	b.post("/account/profile", url.Values{"display_name": {strings.Repeat("n", 101)}}).
		want(t, "long name", 400, `id="e-display_name"`, strings.Repeat("n", 101))
	if p := b.post("/account/profile", url.Values{"display_name": {"Ann B"}}); p.status != 303 {
		t.Fatalf("profile: %d", p.status)
	}
	b.get("/account?done=profile").want(t, "profile saved", 200, "Your name was saved.", `value="Ann B"`)
	b.post("/account/sessions/not-a-session/revoke", url.Values{}).want(t, "revoke bad id", 400, "")

	// Logout, then login: errors keep the email, a good login rotates
	// the session.
	if p := b.post("/account/logout", url.Values{}); p.status != 303 {
		t.Fatalf("logout: %d", p.status)
	}
	b.get("/account").want(t, "after logout", 303, "")
	bad := b.post("/account/login", url.Values{"email": {email}, "password": {"not the password"}})
	bad.want(t, "wrong password", 401, "Wrong email or password", `value="`+email+`"`)
	b.post("/account/login", url.Values{"email": {""}, "password": {""}}).want(t, "empty login", 400, `id="e-email"`)
	login := b.post("/account/login", url.Values{"email": {email}, "password": {goodPW}, "next": {"https://evil.example/"}})
	if login.status != 303 || login.header.Get("Location") != "/account?done=signed-in" {
		t.Fatalf("login (with a foreign next): %d %q", login.status, login.header.Get("Location"))
	}
	second := sessionCookieOf(t, b)
	if second == first || second == "" {
		t.Fatal("login did not give a new session")
	}
	// Signing in again while signed in rotates the session: the token
	// held before is revoked.
	if p := b.post("/account/login", url.Values{"email": {email}, "password": {goodPW}}); p.status != 303 {
		t.Fatalf("second login: %d", p.status)
	}
	if third := sessionCookieOf(t, b); third == second {
		t.Fatal("a second login kept the session")
	}
	if me := b.do("GET", "/api/v1/auth/me", nil, "Authorization", "Bearer "+second); me.status != http.StatusUnauthorized {
		t.Fatalf("the session before the login still works: %d", me.status)
	}
	b.get("/account?done=signed-in").want(t, "account after login", 200, "You are signed in.", email)

	// Password reset: bad input beside the field; a good request and a
	// bad token.
	b.get("/account/password-reset").want(t, "reset page", 200, `<label for="f-email">Email</label>`)
	b.post("/account/password-reset", url.Values{"email": {"nope"}}).want(t, "reset bad email", 400, `id="e-email"`, `value="nope"`)
	if p := b.post("/account/password-reset", url.Values{"email": {email}}); p.status != 303 {
		t.Fatalf("reset request: %d", p.status)
	}
	b.get("/account/password-reset?done=reset-sent").want(t, "reset sent", 200, "a mail with a reset link is on its way")
	b.get("/account/password-reset?token=abc").want(t, "reset confirm page", 200, `name="token" value="abc"`, `for="f-new_password"`)
	b.post("/account/password-reset/confirm", url.Values{"token": {"abc"}, "new_password": {otherPW}}).
		want(t, "reset bad token", 400, "Ask for a new link")
	b.post("/account/login", url.Values{"email": {email}, "password": {strings.Repeat("x", 20000)}}).want(t, "oversize form", 400, "larger than")
}

func sessionCookieOf(t *testing.T, b *browser) string {
	t.Helper()
	u, _ := url.Parse(b.base)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == web.SessionCookie {
			return c.Value
		}
	}
	return ""
}

// TestStorefrontDegrades runs web without the product module: pages that
// need it are a 503 in the layout with Retry-After; the home page renders
// without its products, with a notice.
func TestStorefrontDegrades(t *testing.T) {
	cfg := authConfig(t)
	cfg.Targets = []string{contract.AuthQueue, contract.CategoryQueue, Web}
	s := startShop(t, cfg)
	ctx := contract.WithPrincipal(context.Background(), contract.Principal{Machine: "test"})
	if _, err := bus.Call(ctx, s.app.Bus(), contract.CreateCategory, contract.CreateCategoryRequest{Name: "Garden"}); err != nil {
		t.Fatal(err)
	}
	b := s.browser(t)
	home := b.get("/")
	home.want(t, "home without products", 200, "New arrivals cannot be shown right now", `href="/garden"`)
	if !regexp.MustCompile(`data-degraded="[^"]*\bnewest\b`).MatchString(home.body) {
		t.Fatal("home without products is not marked degraded")
	}
	prod := b.get("/p/anything")
	prod.want(t, "product without products", 503, "Temporarily unavailable")
	prod.inLayout(t, "product 503")
	if prod.header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	b.get("/garden").want(t, "category without products", 503, "Temporarily unavailable")
}
