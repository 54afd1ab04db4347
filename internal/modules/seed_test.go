package modules

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/auth"
	"github.com/shopengine/shop/internal/modules/seeder"
	"github.com/shopengine/shop/internal/store"
	"golang.org/x/crypto/bcrypt"
)

// quietProgress counts what a seeding run reports.
type quietProgress struct{ stages, added int }

func (q *quietProgress) Start(string, int) { q.stages++ }
func (q *quietProgress) Add(n int)         { q.added += n }
func (q *quietProgress) End()              {}

// startModules runs the seeded modules (and more) in-process and returns
// their bus.
func startModules(t *testing.T, dbURL string, more ...string) bus.Bus {
	t.Helper()
	app, err := New(Config{
		Targets: append([]string{Seeder}, more...), BusURL: "memory://", DatabaseURL: dbURL, Worker: -1, NoServer: true,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Auth: auth.Config{BcryptCost: bcrypt.MinCost, AllowWeakCost: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Stop(10 * time.Second) })
	return app.Bus()
}

func TestSeedIsDeterministicIdempotentAndResettable(t *testing.T) {
	// The checks read as an admin: the seed makes drafts too.
	ctx := contract.WithPrincipal(t.Context(), contract.Principal{Machine: "test"})
	b := startModules(t, store.SQLiteURL(t.TempDir()))
	s := seeder.New(b, slog.Default())
	opts := seeder.Options{Products: 150, Seed: 7}

	first, err := s.Seed(ctx, opts, &quietProgress{})
	if err != nil {
		t.Fatal(err)
	}
	if first.Categories.Created != 6+24+96 || first.AttributeGroups.Created != 2 || first.Attributes.Created != 6 ||
		first.OptionGroups.Created != 2 || first.Products.Created != 150 || first.Users.Created != 4 ||
		first.Articles.Created != 8 || first.SEOOverrides.Created != 1 || first.Carts.Created != 3 {
		t.Fatalf("first run: %+v", first)
	}
	checkSampleContent(t, b, first)
	demoCart := cartSKUs(seededCart(t, b, seeder.DemoEmail))
	page, err := bus.Call(ctx, b, contract.ListProducts, contract.ListProductsRequest{PageSize: 100})
	if err != nil || page.Total != 150 {
		t.Fatalf("products after seeding: %d, %v", page.Total, err)
	}
	// Sample products are complete: categories, attributes, variants, prices.
	one, err := bus.Call(ctx, b, contract.GetProduct, contract.ProductID{ID: page.Items[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(one.CategoryIDs) != 1 || one.Attributes["brand"] == nil || len(one.Variants) == 0 || one.PriceMin <= 0 || one.Currency != "EUR" {
		t.Fatalf("sample product %+v", one)
	}
	// seo and filter are hosted while seeding, so their read models take
	// the product events, and the seed waits for them: once it is done,
	// the storefront resolves every published sample product's page and
	// searches them all, with the brand facet counted.
	var all []contract.ProductSummary
	published := 0
	for cursor := ""; ; {
		page, err := bus.Call(ctx, b, contract.ListProducts, contract.ListProductsRequest{Status: contract.ProductPublished, PageSize: 100, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		all, published, cursor = append(all, page.Items...), page.Total, page.NextCursor
		if cursor == "" {
			break
		}
	}
	if published == 0 || published == 150 || len(all) != published {
		t.Fatalf("%d published sample products (%d listed): want some drafts among 150", published, len(all))
	}
	for _, it := range all {
		path := contract.ProductPathPrefix + it.Slug
		res, err := bus.Call(ctx, b, contract.Resolve, contract.ResolveRequest{Path: path})
		if err != nil || res.Kind != contract.ResolveEntity || res.ID != it.ID {
			t.Fatalf("resolve %s right after seeding: %+v, %v", path, res, err)
		}
	}
	found, err := bus.Call(ctx, b, contract.Search, contract.SearchRequest{PageSize: 1})
	brand := false
	for _, f := range found.Facets {
		brand = brand || f.Code == "brand" && len(f.Values) > 0
	}
	if err != nil || found.Total != published || !brand {
		t.Fatalf("search right after seeding: %d of %d published, brand facet %v, %v", found.Total, published, brand, err)
	}
	crumbs, err := bus.Call(ctx, b, contract.GetBreadcrumbs, contract.CategoryID{ID: one.CategoryIDs[0]})
	if err != nil || len(crumbs.Items) != 3 {
		t.Fatalf("a product sits in a leaf three levels down: %+v, %v", crumbs, err)
	}

	second, err := s.Seed(ctx, opts, &quietProgress{})
	if err != nil {
		t.Fatal(err)
	}
	if second.Categories.Created+second.Attributes.Created+second.OptionGroups.Created+second.Products.Created != 0 ||
		second.Products.Existing != 150 || second.Users != (seeder.Counts{Existing: 4}) || second.Articles != (seeder.Counts{Existing: 8}) ||
		second.SEOOverrides != (seeder.Counts{Existing: 1}) || second.Carts != (seeder.Counts{Existing: 3}) {
		t.Fatalf("second run created something: %+v", second)
	}
	if got := cartSKUs(seededCart(t, b, seeder.DemoEmail)); !slices.Equal(got, demoCart) {
		t.Fatalf("the second run changed the demo cart: %v, was %v", got, demoCart)
	}
	// An override someone changed is set back, at its version.
	o, err := bus.Call(ctx, b, contract.GetOverride, contract.SEOOverrideKey{Path: "/"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bus.Call(ctx, b, contract.PutOverride, contract.PutOverrideRequest{SEOOverrideKey: o.SEOOverrideKey, Title: "Changed", Version: o.Version}); err != nil {
		t.Fatal(err)
	}
	if again, err := s.Seed(ctx, opts, &quietProgress{}); err != nil || again.SEOOverrides != (seeder.Counts{Updated: 1}) {
		t.Fatalf("changed override: %+v, %v", again.SEOOverrides, err)
	}
	if back, err := bus.Call(ctx, b, contract.GetOverride, contract.SEOOverrideKey{Path: "/"}); err != nil || back.Title != o.Title {
		t.Fatalf("override after reseed: %+v, %v; want title %q", back, err, o.Title)
	}

	// The same seed elsewhere gives the same catalogue (by slug).
	other := startModules(t, store.SQLiteURL(t.TempDir()))
	if _, err := seeder.New(other, slog.Default()).Seed(ctx, opts, &quietProgress{}); err != nil {
		t.Fatal(err)
	}
	if got, err := bus.Call(ctx, other, contract.GetProductBySlug, contract.ProductSlug{Slug: one.Slug}); err != nil || got.Name != one.Name || got.Price != one.Price {
		t.Fatalf("same seed, other database: %+v, %v; want %s %d", got, err, one.Name, one.Price)
	}
	if got := cartSKUs(seededCart(t, other, seeder.DemoEmail)); !slices.Equal(got, demoCart) {
		t.Fatalf("same seed, other database: demo cart %v, want %v", got, demoCart)
	}
	article := func(b bus.Bus) string {
		a, err := bus.Call(ctx, b, contract.GetArticleBySlug, contract.ArticleSlug{Slug: "how-to-choose-a-tent"})
		if err != nil {
			t.Fatal(err)
		}
		return a.BodyMarkdown
	}
	if article(other) != article(b) {
		t.Fatal("same seed, other database: the article bodies differ")
	}

	reset, err := s.Seed(ctx, seeder.Options{Products: 150, Seed: 7, Reset: true}, &quietProgress{})
	if err != nil {
		t.Fatal(err)
	}
	if reset.Products.Deleted != 150 || reset.Products.Created != 150 || reset.Categories.Deleted != 126 ||
		reset.Articles.Deleted != 8 || reset.Articles.Created != 8 || reset.SEOOverrides.Deleted != 1 || reset.SEOOverrides.Created != 1 ||
		reset.Carts.Deleted != 3 || reset.Carts.Created != 3 || reset.Users != (seeder.Counts{Existing: 4}) {
		t.Fatalf("reset run: %+v", reset)
	}
	// The carts were emptied and filled again, with the new products.
	if got := cartSKUs(seededCart(t, b, seeder.DemoEmail)); !slices.Equal(got, demoCart) {
		t.Fatalf("demo cart after reset %v, want %v", got, demoCart)
	}
	page, err = bus.Call(ctx, b, contract.ListProducts, contract.ListProductsRequest{})
	if err != nil || page.Total != 150 {
		t.Fatalf("after reset and reseed: %d, %v", page.Total, err)
	}
	if _, err := s.Seed(ctx, seeder.Options{Products: -1}, &quietProgress{}); bus.CodeOf(err) != bus.CodeInvalid {
		t.Fatalf("negative products: %v", err)
	}
}

// checkSampleContent checks what a first run made beyond the catalogue:
// the logins work, the scheduled and draft articles are not public, one
// article is featured, the home page has its override, and every sample
// customer has a cart of available lines.
func checkSampleContent(t *testing.T, b bus.Bus, sum seeder.Summary) {
	t.Helper()
	ctx := t.Context()
	roles := map[contract.Role]int{}
	for _, l := range sum.Logins {
		grant, err := bus.Call(ctx, b, contract.Login, contract.LoginRequest{Email: l.Email, Password: l.Password, Client: contract.Client{IP: "127.0.0.1"}})
		if err != nil || grant.User.Role != l.Role || !l.Created {
			t.Fatalf("login %s: %+v, %v", l.Email, grant.User, err)
		}
		roles[l.Role]++
	}
	if roles[contract.RoleAdmin] != 1 || roles[contract.RoleCustomer] != 3 || sum.Logins[1].Email != seeder.DemoEmail {
		t.Fatalf("logins %+v", sum.Logins)
	}

	admin := contract.WithPrincipal(ctx, contract.Principal{Machine: "test"})
	public, err := bus.Call(ctx, b, contract.ListArticles, contract.ListArticlesRequest{Limit: contract.MaxArticlesPage})
	if err != nil {
		t.Fatal(err)
	}
	all, err := bus.Call(admin, b, contract.ListArticles, contract.ListArticlesRequest{Limit: contract.MaxArticlesPage})
	if err != nil {
		t.Fatal(err)
	}
	featured, scheduled := 0, 0
	for _, a := range all.Items {
		if a.Featured {
			featured++
		}
		if a.Status == contract.ArticleScheduled {
			scheduled++
			if a.Public || a.PublishAt == nil || !a.PublishAt.After(time.Now()) {
				t.Fatalf("scheduled article %+v", a)
			}
			if _, err := bus.Call(ctx, b, contract.GetArticleBySlug, contract.ArticleSlug{Slug: a.Slug}); bus.CodeOf(err) != bus.CodeNotFound {
				t.Fatalf("scheduled article %s read by the public: %v", a.Slug, err)
			}
		}
	}
	if len(all.Items) != 8 || len(public.Items) != 5 || featured != 1 || scheduled != 2 {
		t.Fatalf("articles: %d, %d public, %d featured, %d scheduled", len(all.Items), len(public.Items), featured, scheduled)
	}
	tent, err := bus.Call(ctx, b, contract.GetArticleBySlug, contract.ArticleSlug{Slug: "how-to-choose-a-tent"})
	if err != nil || !strings.Contains(tent.BodyHTML, "<table>") || !slices.Equal(tent.Tags, []string{"guides", "outdoor"}) {
		t.Fatalf("a published article with Markdown and tags: %+v, %v", tent, err)
	}

	meta, err := bus.Call(admin, b, contract.GetOverride, contract.SEOOverrideKey{Path: "/"})
	if err != nil || !strings.HasPrefix(meta.Title, "Demo shop") {
		t.Fatalf("home page override %+v, %v", meta, err)
	}

	for _, l := range sum.Logins {
		c := seededCart(t, b, l.Email)
		if l.Role == contract.RoleAdmin {
			if len(c.Lines) != 0 {
				t.Fatalf("the admin has a cart: %+v", c)
			}
			continue
		}
		if len(c.Lines) == 0 || len(c.Lines) > 3 || c.ItemCount == 0 || c.Subtotal <= 0 {
			t.Fatalf("cart of %s: %+v", l.Email, c)
		}
		for _, line := range c.Lines {
			if !line.Available {
				t.Fatalf("cart of %s holds an unavailable line %+v", l.Email, line)
			}
		}
	}
}

// seededCart returns the cart of the user with this email, read as that user
// through a session of their own.
func seededCart(t *testing.T, b bus.Bus, email string) contract.Cart {
	t.Helper()
	ctx := contract.WithPrincipal(t.Context(), contract.Principal{Machine: "test"})
	var user contract.User
	for cursor := ""; user.ID == ""; {
		page, err := bus.Call(ctx, b, contract.ListUsers, contract.ListUsersRequest{Cursor: cursor, Limit: contract.MaxUserPage})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page.Items {
			if u.Email == email {
				user = u
			}
		}
		if cursor = page.NextCursor; cursor == "" && user.ID == "" {
			t.Fatalf("no user %s", email)
		}
	}
	as := contract.WithPrincipal(t.Context(), contract.Principal{UserID: user.ID, Role: user.Role, SessionID: uuid.NewString()})
	c, err := bus.Call(as, b, contract.GetCart, contract.CartRef{})
	if err != nil {
		t.Fatalf("cart of %s: %v", email, err)
	}
	return c
}

// cartSKUs is what a cart holds, in order: sku × quantity.
func cartSKUs(c contract.Cart) []string {
	out := make([]string, len(c.Lines))
	for i, l := range c.Lines {
		out[i] = fmt.Sprintf("%s×%d", l.SKU, l.Quantity)
	}
	return out
}
