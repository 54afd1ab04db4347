package modules

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/seeder"
	"github.com/shopengine/shop/internal/store"
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
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
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
		first.OptionGroups.Created != 2 || first.Products.Created != 150 {
		t.Fatalf("first run: %+v", first)
	}
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
	crumbs, err := bus.Call(ctx, b, contract.GetBreadcrumbs, contract.CategoryID{ID: one.CategoryIDs[0]})
	if err != nil || len(crumbs.Items) != 3 {
		t.Fatalf("a product sits in a leaf three levels down: %+v, %v", crumbs, err)
	}

	second, err := s.Seed(ctx, opts, &quietProgress{})
	if err != nil {
		t.Fatal(err)
	}
	if second.Categories.Created+second.Attributes.Created+second.OptionGroups.Created+second.Products.Created != 0 ||
		second.Products.Existing != 150 {
		t.Fatalf("second run created something: %+v", second)
	}

	// The same seed elsewhere gives the same catalogue (by slug).
	other := startModules(t, store.SQLiteURL(t.TempDir()))
	if _, err := seeder.New(other, slog.Default()).Seed(ctx, opts, &quietProgress{}); err != nil {
		t.Fatal(err)
	}
	if got, err := bus.Call(ctx, other, contract.GetProductBySlug, contract.ProductSlug{Slug: one.Slug}); err != nil || got.Name != one.Name || got.Price != one.Price {
		t.Fatalf("same seed, other database: %+v, %v; want %s %d", got, err, one.Name, one.Price)
	}

	reset, err := s.Seed(ctx, seeder.Options{Products: 150, Seed: 7, Reset: true}, &quietProgress{})
	if err != nil {
		t.Fatal(err)
	}
	if reset.Products.Deleted != 150 || reset.Products.Created != 150 || reset.Categories.Deleted != 126 {
		t.Fatalf("reset run: %+v", reset)
	}
	page, err = bus.Call(ctx, b, contract.ListProducts, contract.ListProductsRequest{})
	if err != nil || page.Total != 150 {
		t.Fatalf("after reset and reseed: %d, %v", page.Total, err)
	}
	if _, err := s.Seed(ctx, seeder.Options{Products: -1}, &quietProgress{}); bus.CodeOf(err) != bus.CodeInvalid {
		t.Fatalf("negative products: %v", err)
	}
}
