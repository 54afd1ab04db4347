package product

import (
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// newProduct is a product for store tests: one variant per price, SKUs
// <sku>-1, <sku>-2…, stock 10 each.
func newProduct(name, slug, sku string, status contract.ProductStatus, cats []string, prices ...int64) contract.Product {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	p := contract.Product{
		ID: newID(), Name: name, Slug: slug, Description: "about " + name, Status: status, CategoryIDs: cats,
		Attributes: contract.AttributeValues{"color": "red", "tags": []any{"a", "b"}, "weight": 1.5},
		Options:    []contract.VariantSelection{{GroupID: newID(), ValueIDs: []string{newID()}}},
		SKU:        sku, Currency: "EUR", Price: prices[0],
		Images:  []contract.Image{{URL: "https://img.example/" + slug + ".jpg", Alt: name}},
		Version: 1, CreatedAt: at, UpdatedAt: at,
	}
	for i, pr := range prices {
		suffix := fmt.Sprint(i + 1)
		p.Variants = append(p.Variants, contract.Variant{
			ID: newID(), SKU: sku + "-" + suffix, SKUSuffix: suffix, Price: pr, Stock: 10,
			Options: []contract.VariantOption{{GroupID: p.Options[0].GroupID, GroupCode: "size", ValueID: newID(), ValueCode: suffix, Label: suffix}},
		})
	}
	priceRange(&p)
	return p
}

func insertOne(t *testing.T, s Store, p contract.Product, closure []string) Inserted {
	t.Helper()
	res, err := s.Insert(t.Context(), []NewProduct{{Product: p, Closure: closure}})
	if err != nil {
		t.Fatal(err)
	}
	return res[0]
}

func sameProduct(t *testing.T, got, want contract.Product) {
	t.Helper()
	if !reflect.DeepEqual(normal(got), normal(want)) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

func summaryIDs(items []contract.ProductSummary) []string {
	out := make([]string, len(items))
	for i, p := range items {
		out[i] = p.ID
	}
	return out
}

// TestStore is the store suite, run on every backend this machine reaches,
// and on SQLite once more with every category big (sorted index rows from
// the first product on).
func TestStore(t *testing.T) {
	storetest.ForEach(t, storeSuite)
	t.Run("sqlite_big_categories", func(t *testing.T) {
		defer func(b, e int) { bigCategory, promoteEvery = b, e }(bigCategory, promoteEvery)
		bigCategory, promoteEvery = 1, 1
		storeSuite(t, storetest.Backends(t)[0].Open(t))
	})
}

func storeSuite(t *testing.T, db *store.DB) {
	{
		ctx := t.Context()
		s, err := OpenStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		root, leaf, other := newID(), newID(), newID()
		shoe := newProduct("Shoe", "shoe", "SHOE", contract.ProductPublished, []string{leaf}, 500, 700)
		if r := insertOne(t, s, shoe, []string{leaf, root}); r.Err != nil || r.ID != shoe.ID {
			t.Fatalf("insert: %+v", r)
		}
		got, err := s.Get(ctx, shoe.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameProduct(t, got, shoe)
		if got.TotalStock != 20 || got.PriceMin != 500 || got.PriceMax != 700 {
			t.Fatalf("derived fields: %+v", got)
		}
		if got, err := s.BySlug(ctx, "shoe"); err != nil || got.ID != shoe.ID {
			t.Fatalf("BySlug: %v %v", got.ID, err)
		}
		if _, err := s.Get(ctx, newID()); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get missing: %v", err)
		}
		if _, err := s.BySlug(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("BySlug missing: %v", err)
		}

		// A taken slug: an error without Next, the next candidate with it;
		// SkipExisting reports the existing product.
		dup := newProduct("Shoe", "shoe", "OTHER", contract.ProductDraft, []string{other}, 100)
		if r := insertOne(t, s, dup, nil); !errors.Is(r.Err, errSlugTaken) {
			t.Fatalf("duplicate slug: %+v", r)
		}
		res, err := s.Insert(ctx, []NewProduct{
			{Product: dup, Next: func(n int) (contract.Product, bool) { p := dup; p.Slug = fmt.Sprint("shoe-", n); return p, true }},
			{Product: newProduct("Shoe", "shoe", "X", contract.ProductDraft, []string{other}, 1), SkipExisting: true},
		})
		if err != nil || res[0].Err != nil || res[0].Slug != "shoe-2" || res[0].Product.Slug != "shoe-2" || !res[1].Skipped || res[1].ID != shoe.ID {
			t.Fatalf("retry and skip: %+v, %v", res, err)
		}
		// A taken SKU fails the item and leaves nothing behind.
		clash := newProduct("Clash", "clash", "CLASH", contract.ProductDraft, []string{other}, 1, 2)
		clash.Variants[1].SKU = "SHOE-1"
		if r := insertOne(t, s, clash, nil); !errors.Is(r.Err, errSKUTaken) {
			t.Fatalf("duplicate SKU: %+v", r)
		}
		if _, err := s.Get(ctx, clash.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("failed insert left the product: %v", err)
		}
		if taken, err := s.SKUsTaken(ctx, []string{"CLASH-1", "SHOE-1"}, clash.ID); err != nil || !slices.Equal(taken, []string{"SHOE-1"}) {
			t.Fatalf("SKUsTaken = %v, %v", taken, err)
		}
		clash.Variants[1].SKU = "CLASH-2"
		if r := insertOne(t, s, clash, []string{other}); r.Err != nil {
			t.Fatalf("CLASH-1 was left reserved: %+v", r)
		}

		many, err := s.GetMany(ctx, []string{shoe.ID, newID(), clash.ID})
		if err != nil || len(many) != 2 {
			t.Fatalf("GetMany: %d, %v", len(many), err)
		}
		if bs, err := s.BySlugs(ctx, []string{"shoe-2", "clash", "none"}); err != nil || len(bs) != 2 {
			t.Fatalf("BySlugs: %d, %v", len(bs), err)
		}

		// Stock: atomic, bounded.
		v0 := shoe.Variants[0]
		if l, err := s.AdjustStock(ctx, v0.ID, -4, nil); err != nil || l.Stock != 6 || l.ProductID != shoe.ID || l.StockVersion != 1 {
			t.Fatalf("AdjustStock: %+v, %v", l, err)
		}
		if _, err := s.AdjustStock(ctx, v0.ID, -7, nil); !errors.Is(err, errStock) {
			t.Fatalf("below zero: %v", err)
		}
		if _, err := s.AdjustStock(ctx, v0.ID, contract.MaxStock, nil); !errors.Is(err, errStock) {
			t.Fatalf("above max: %v", err)
		}
		if _, err := s.AdjustStock(ctx, newID(), 1, nil); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing variant: %v", err)
		}
		// Refused changes did not count; the next one is version 2.
		if l, err := s.AdjustStock(ctx, v0.ID, 1, nil); err != nil || l.Stock != 7 || l.StockVersion != 2 {
			t.Fatalf("AdjustStock: %+v, %v", l, err)
		}
		if l, err := s.AdjustStock(ctx, v0.ID, -1, nil); err != nil || l.Stock != 6 || l.StockVersion != 3 {
			t.Fatalf("AdjustStock: %+v, %v", l, err)
		}

		// Update: conditional on the version; variants dropped, kept (with
		// their stock, even with SKUs swapped) and added.
		upd := shoe
		upd.Version, upd.Name, upd.Status = 2, "Shoe II", contract.ProductDraft
		upd.Variants = []contract.Variant{shoe.Variants[1], shoe.Variants[0], {ID: newID(), SKU: "SHOE-3", SKUSuffix: "3", Price: 900, Stock: 3}}
		upd.Variants[0].SKU, upd.Variants[1].SKU = upd.Variants[1].SKU, upd.Variants[0].SKU
		priceRange(&upd)
		stale := upd
		stale.Version = 5
		if err := s.Update(ctx, stale, nil, nil); !errors.Is(err, errVersion) {
			t.Fatalf("stale update: %v", err)
		}
		if err := s.Update(ctx, newProduct("X", "x", "X", contract.ProductDraft, nil, 1), nil, nil); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update missing: %v", err)
		}
		// The update's events see what it writes: the closure it keeps, and
		// the kept variants' stock (6, not the 10 upd was built with).
		var announced contract.Product
		var closure []string
		if err := s.Update(ctx, upd, nil, func(p contract.Product, c []string) ([]outbox.Event, error) {
			announced, closure = p, c
			return nil, nil
		}); err != nil {
			t.Fatal(err)
		}
		got, _ = s.Get(ctx, shoe.ID)
		if got.Name != "Shoe II" || got.Version != 2 || len(got.Variants) != 3 || got.Variants[1].ID != v0.ID ||
			got.Variants[1].Stock != 6 || got.Variants[1].SKU != "SHOE-2" || got.Variants[2].Stock != 3 || got.PriceMax != 900 {
			t.Fatalf("after update: %+v", got)
		}
		if !slices.Equal(closure, sorted(leaf, root)) {
			t.Fatalf("closure kept: %v", closure)
		}
		if announced.Name != "Shoe II" || announced.Version != 2 || len(announced.Variants) != 3 {
			t.Fatalf("update announced %+v", announced)
		}
		if db.Kind() == store.KindSQLite && (announced.Variants[1].Stock != 6 || announced.TotalStock != 6+10+3) {
			t.Fatalf("update announced the stock %+v, want the committed one", announced.Variants)
		}
		// Taken slug or SKU: nothing changes.
		bad := got
		bad.Version, bad.Slug = 3, "clash"
		if err := s.Update(ctx, bad, nil, nil); !errors.Is(err, errSlugTaken) {
			t.Fatalf("update to a taken slug: %v", err)
		}
		bad.Slug = got.Slug
		bad.Variants = slices.Clone(got.Variants)
		bad.Variants = append(bad.Variants, contract.Variant{ID: newID(), SKU: "NEW-1", Price: 1})
		bad.Variants[0].SKU = "CLASH-1"
		if err := s.Update(ctx, bad, nil, nil); !errors.Is(err, errSKUTaken) {
			t.Fatalf("update to a taken SKU: %v", err)
		}
		if again, _ := s.Get(ctx, shoe.ID); !reflect.DeepEqual(again, got) {
			t.Fatalf("failed update changed the product:\n%+v\n%+v", again, got)
		}
		if taken, _ := s.SKUsTaken(ctx, []string{"NEW-1"}, ""); len(taken) != 0 {
			t.Fatalf("failed update left SKU reserved: %v", taken)
		}
		// Another product under the same categories.
		free := newProduct("Free", "free", "FREE", contract.ProductPublished, []string{leaf}, 50)
		free.Variants[0].SKU = "SHOE-1-gone"
		if r := insertOne(t, s, free, []string{leaf, root}); r.Err != nil {
			t.Fatal(r.Err)
		}

		// Lists: by category (direct or with descendants), status, sorts.
		list := func(q Query) ([]string, int) {
			t.Helper()
			if q.Limit == 0 {
				q.Limit = 10
			}
			items, n, err := s.List(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			return summaryIDs(items), n
		}
		if ids, n := list(Query{CategoryID: root, Sort: contract.SortPrice}); n != 2 || !slices.Equal(ids, []string{free.ID, shoe.ID}) {
			t.Fatalf("root with descendants: %v %d", ids, n)
		}
		if ids, n := list(Query{CategoryID: root, Direct: true}); n != 0 || len(ids) != 0 {
			t.Fatalf("root direct: %v %d", ids, n)
		}
		if ids, n := list(Query{CategoryID: leaf, Direct: true, Status: contract.ProductPublished}); n != 1 || !slices.Equal(ids, []string{free.ID}) {
			t.Fatalf("leaf published: %v %d", ids, n)
		}
		if ids, n := list(Query{Sort: contract.SortName}); n != 4 || !slices.Equal(ids, []string{clash.ID, free.ID, dup.ID, shoe.ID}) {
			t.Fatalf("all by name: %v %d", ids, n)
		}
		if ids, _ := list(Query{Sort: contract.SortName, Desc: true, Offset: 1, Limit: 2}); !slices.Equal(ids, []string{dup.ID, free.ID}) {
			t.Fatalf("by name desc, page 2: %v", ids)
		}
		if ids, _ := list(Query{Sort: contract.SortCreated}); !slices.Equal(ids, []string{shoe.ID, dup.ID, clash.ID, free.ID}) {
			t.Fatalf("by created: %v", ids)
		}
		// After a position: the rest of the order, whatever the offset,
		// and the count of all matches.
		for _, q := range []Query{
			{Sort: contract.SortName}, {Sort: contract.SortName, Desc: true}, {Sort: contract.SortPrice}, {Sort: contract.SortPrice, Desc: true},
			{Sort: contract.SortCreated}, {Sort: contract.SortCreated, Desc: true}, {CategoryID: root, Sort: contract.SortPrice},
			{Status: contract.ProductPublished, Sort: contract.SortName},
		} {
			q.Limit = 10
			whole, total := list(q)
			for i := range whole {
				items, _, err := s.List(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				after := positionOf(items[i])
				q2 := q
				q2.After, q2.Limit = &after, 10
				rest, n := list(q2)
				if n != total || !slices.Equal(rest, whole[i+1:]) {
					t.Fatalf("%+v after #%d: %v (of %d), want %v (of %d)", q, i, rest, n, whole[i+1:], total)
				}
			}
		}
		items, _, err := s.List(ctx, Query{CategoryID: leaf, Sort: contract.SortPrice, Desc: true, Limit: 1})
		if err != nil || len(items) != 1 {
			t.Fatal(err)
		}
		if p := items[0]; p.ID != shoe.ID || p.TotalStock != 6+10+3 || p.PriceMin != 500 || p.Image == nil || p.Image.URL != shoe.Images[0].URL || p.Version != 2 {
			t.Fatalf("summary: %+v", p)
		}

		// Attribute usage.
		for key, want := range map[string]int{"color": 4, "color=red": 4, "tags=b": 4, "weight": 4, "color=blue": 0, "size": 0} {
			if n, err := s.CountAttribute(ctx, key); err != nil || n != want {
				t.Fatalf("CountAttribute(%s) = %d, %v; want %d", key, n, err, want)
			}
		}

		// Re-indexing after a category move.
		in, err := s.InCategory(ctx, root)
		if err != nil || len(in) != 2 || !slices.Equal(in[shoe.ID], []string{leaf}) {
			t.Fatalf("InCategory: %v, %v", in, err)
		}
		newRoot := newID()
		if err := s.SetClosures(ctx, map[string][]string{shoe.ID: sorted(leaf, newRoot), newID(): {leaf}}); err != nil {
			t.Fatal(err)
		}
		if ids, _ := list(Query{CategoryID: newRoot}); !slices.Equal(ids, []string{shoe.ID}) {
			t.Fatalf("after SetClosures: %v", ids)
		}
		if ids, _ := list(Query{CategoryID: root}); !slices.Equal(ids, []string{free.ID}) {
			t.Fatalf("old root after SetClosures: %v", ids)
		}
		if again, _ := s.Get(ctx, shoe.ID); again.Version != 2 {
			t.Fatalf("SetClosures changed the version: %d", again.Version)
		}

		// Deletes.
		if err := s.Delete(ctx, shoe.ID, 1, nil); !errors.Is(err, errVersion) {
			t.Fatalf("delete at a stale version: %v", err)
		}
		if err := s.Delete(ctx, shoe.ID, 2, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, shoe.ID, 0, nil); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete again: %v", err)
		}
		if _, err := s.AdjustStock(ctx, v0.ID, 1, nil); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("stock of a deleted variant: %v", err)
		}
		deleted, err := s.DeleteMany(ctx, []string{dup.ID, shoe.ID, clash.ID}, nil)
		if err != nil || !slices.Equal(sorted(deleted...), sorted(dup.ID, clash.ID)) {
			t.Fatalf("DeleteMany = %v, %v", deleted, err)
		}
		if ids, n := list(Query{}); n != 1 || !slices.Equal(ids, []string{free.ID}) {
			t.Fatalf("after deletes: %v %d", ids, n)
		}
		if n, _ := s.CountAttribute(ctx, "color"); n != 1 {
			t.Fatalf("attribute count after deletes: %d", n)
		}
		// SKUs of deleted products are free.
		again := newProduct("Again", "again", "SHOE", contract.ProductDraft, []string{leaf}, 1, 2, 3)
		if r := insertOne(t, s, again, nil); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
}

func sorted(xs ...string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return out
}

// openHot opens the store on db with one published product, "Hot", whose
// one variant has stock 10: what the stock tests adjust.
func openHot(t *testing.T, db *store.DB) (Store, contract.Product) {
	t.Helper()
	s, err := OpenStore(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	p := newProduct("Hot", "hot", "HOT", contract.ProductPublished, []string{newID()}, 100)
	if r := insertOne(t, s, p, nil); r.Err != nil {
		t.Fatal(r.Err)
	}
	return s, p
}

// clients returns s and n more handles on db's store, each with its own
// client, as n more processes would hold.
func clients(t *testing.T, s Store, db *store.DB, n int) []Store {
	t.Helper()
	stores := []Store{s}
	for range n {
		other, err := OpenStore(t.Context(), storetest.Another(t, db))
		if err != nil {
			t.Fatal(err)
		}
		stores = append(stores, other)
	}
	return stores
}

// TestStoreStockConcurrency: 50 goroutines adjusting one variant's stock
// end at the exact total, and takes beyond the stock fail without loss.
func TestStoreStockConcurrency(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		s, p := openHot(t, db)
		vid := p.Variants[0].ID // stock 10
		race := func(t *testing.T, stores []Store) {
			const workers, each = 50, 4
			var wg sync.WaitGroup
			var mu sync.Mutex
			failed := 0
			for w := range workers {
				wg.Go(func() {
					st := stores[w%len(stores)]
					for range each {
						// Every worker adds 3 and takes 1, twice: +4 net each.
						for _, d := range []int64{3, -1} {
							if _, err := st.AdjustStock(ctx, vid, d, nil); err != nil {
								mu.Lock()
								failed++
								mu.Unlock()
								t.Errorf("adjust %d: %v", d, err)
							}
						}
					}
				})
			}
			wg.Wait()
			if failed > 0 {
				t.FailNow()
			}
		}
		check := func(t *testing.T, want int64) {
			got, err := s.Get(ctx, p.ID)
			if err != nil || got.Variants[0].Stock != want {
				t.Fatalf("stock %d, want %d (%v)", got.Variants[0].Stock, want, err)
			}
		}
		t.Run("one_client", func(t *testing.T) {
			race(t, []Store{s})
			check(t, 10+50*4*2)
		})
		t.Run("many_clients", func(t *testing.T) {
			storetest.Require(t, db, storetest.MultiClient)
			race(t, clients(t, s, db, 3))
			check(t, 10+2*50*4*2)
		})
		t.Run("takes_bounded", func(t *testing.T) {
			got, _ := s.Get(ctx, p.ID)
			stock := got.Variants[0].Stock
			var wg sync.WaitGroup
			var mu sync.Mutex
			ok, refused := 0, 0
			for range 50 {
				wg.Go(func() {
					for range 10 {
						_, err := s.AdjustStock(ctx, vid, -1, nil)
						mu.Lock()
						switch {
						case err == nil:
							ok++
						case errors.Is(err, errStock):
							refused++
						default:
							t.Errorf("take: %v", err)
						}
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if int64(ok) != min(stock, 500) || ok+refused != 500 {
				t.Fatalf("%d takes succeeded and %d were refused from stock %d", ok, refused, stock)
			}
			check(t, stock-int64(ok))
		})
	})
}

// TestStoreBigCategoryPromotion is the exhaustive list model check, on
// every backend: every list shape (all products, a category with its
// descendants and directly, each status and any, each sort, by offset and
// by keyset both ways) pages and counts as a model of the products does,
// through inserts, updates and deletes. On SQLite it spans a category's
// promotion to big (sorted rows and kept counts); on MongoDB it checks the
// list filters, keyset ranges and counts.
func TestStoreBigCategoryPromotion(t *testing.T) {
	defer func(b, e int) { bigCategory, promoteEvery = b, e }(bigCategory, promoteEvery)
	bigCategory, promoteEvery = 4, 1
	storetest.ForEach(t, listModelCheck)
}

func listModelCheck(t *testing.T, db *store.DB) {
	ctx := t.Context()
	s, err := OpenStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	cat := newID()
	model := map[string]contract.Product{}
	check := func(when string) {
		t.Helper()
		for _, st := range []contract.ProductStatus{"", contract.ProductPublished, contract.ProductDraft} {
			for _, sortBy := range []string{contract.SortPrice, contract.SortName, contract.SortCreated} {
				var want []contract.Product
				for _, p := range model {
					if st == "" || p.Status == st {
						want = append(want, p)
					}
				}
				slices.SortFunc(want, func(a, b contract.Product) int {
					switch sortBy {
					case contract.SortPrice:
						if a.PriceMin != b.PriceMin {
							return int(a.PriceMin - b.PriceMin)
						}
					case contract.SortName:
						if c := strings.Compare(nameKey(a.Name), nameKey(b.Name)); c != 0 {
							return c
						}
					}
					return strings.Compare(a.ID, b.ID)
				})
				wantIDs := make([]string, len(want))
				for i, p := range want {
					wantIDs[i] = p.ID
				}
				for _, lq := range []Query{{CategoryID: cat}, {CategoryID: cat, Direct: true}, {}} {
					c, direct := lq.CategoryID, lq.Direct
					items, n, err := s.List(ctx, Query{CategoryID: c, Direct: direct, Status: st, Sort: sortBy, Limit: 100})
					if err != nil || n != len(want) || !slices.Equal(summaryIDs(items), wantIDs) {
						t.Fatalf("%s: category %q (direct %t) status %q by %s: %d %v, want %d %v (%v)", when, c, direct, st, sortBy, n, summaryIDs(items), len(want), wantIDs, err)
					}
					// By offset, three at a time, as page numbers go.
					var paged []string
					for off := 0; off < len(want); off += 3 {
						page, n, err := s.List(ctx, Query{CategoryID: c, Direct: direct, Status: st, Sort: sortBy, Offset: off, Limit: 3})
						if err != nil || n != len(want) {
							t.Fatalf("%s: offset %d: total %d (%v), want %d", when, off, n, err, len(want))
						}
						paged = append(paged, summaryIDs(page)...)
					}
					if !slices.Equal(paged, wantIDs) {
						t.Fatalf("%s: category %q (direct %t) status %q by %s, by offset: %v, want %v", when, c, direct, st, sortBy, paged, wantIDs)
					}
					// The same by keyset, two at a time, both ways.
					for _, desc := range []bool{false, true} {
						var walked []string
						var after *Position
						for range len(want) + 1 {
							page, _, err := s.List(ctx, Query{CategoryID: c, Direct: direct, Status: st, Sort: sortBy, Desc: desc, Limit: 2, After: after})
							if err != nil {
								t.Fatal(err)
							}
							if len(page) == 0 {
								break
							}
							walked = append(walked, summaryIDs(page)...)
							at := positionOf(page[len(page)-1])
							after = &at
						}
						if desc {
							slices.Reverse(walked)
						}
						if !slices.Equal(walked, wantIDs) {
							t.Fatalf("%s: category %q status %q by %s (desc %t), by keyset: %v, want %v", when, c, st, sortBy, desc, walked, wantIDs)
						}
					}
				}
			}
		}
	}
	statuses := []contract.ProductStatus{contract.ProductPublished, contract.ProductDraft, contract.ProductPublished}
	for i := range 8 {
		// Names and prices repeat (ties), so the id breaks them.
		p := newProduct(fmt.Sprintf("P%d", (i*5)%3), fmt.Sprint("p-", i), fmt.Sprint("P", i), statuses[i%3], []string{cat}, int64(100*((i*3)%4)+1))
		if r := insertOne(t, s, p, []string{cat}); r.Err != nil {
			t.Fatal(r.Err)
		}
		got, _ := s.Get(ctx, p.ID)
		model[p.ID] = got
		check(fmt.Sprint("after insert ", i))
	}
	var ids []string
	for id := range model {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	// A status change, a price change, a delete, a delete_many.
	p := model[ids[0]]
	p.Version, p.Status = p.Version+1, contract.ProductArchived
	if err := s.Update(ctx, p, nil, nil); err != nil {
		t.Fatal(err)
	}
	model[p.ID] = p
	check("after a status change")
	p = model[ids[1]]
	p.Version, p.Name = p.Version+1, "AAA"
	p.Variants = slices.Clone(p.Variants)
	p.Variants[0].Price = 99_999
	priceRange(&p)
	if err := s.Update(ctx, p, nil, nil); err != nil {
		t.Fatal(err)
	}
	model[p.ID] = p
	check("after a price and name change")
	if err := s.Delete(ctx, ids[2], 0, nil); err != nil {
		t.Fatal(err)
	}
	delete(model, ids[2])
	check("after a delete")
	if _, err := s.DeleteMany(ctx, ids[3:5], nil); err != nil {
		t.Fatal(err)
	}
	delete(model, ids[3])
	delete(model, ids[4])
	check("after delete_many")
}

// TestStoreMigratesReleasedSchema opens a file made by the first release
// (schema 1 only) with the current store: the later migrations apply, and
// the products written before keep working.
func TestStoreMigratesReleasedSchema(t *testing.T) {
	ctx := t.Context()
	db := storetest.SQLite(t)
	all, err := store.MigrationsFrom(schema, "schema")
	if err != nil || len(all) < 2 || all[0].Version != 1 {
		t.Fatalf("migrations %v, %v", all, err)
	}
	if _, err := db.SQLite(ctx, contract.ProductQueue, all[:1]); err != nil {
		t.Fatal(err)
	}
	old := &sqlStore{db: mustSQLite(t, db, all[:1]), prepared: map[string]*sql.Stmt{}, added: map[string]int{}}
	p := newProduct("Old", "old", "OLD", contract.ProductPublished, []string{newID()}, 100)
	if r := insertOne(t, old, p, nil); r.Err != nil {
		t.Fatal(r.Err)
	}
	s, err := OpenStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if l, err := s.AdjustStock(ctx, p.Variants[0].ID, 1, nil); err != nil || l.Stock != 11 || l.StockVersion != 1 {
		t.Fatalf("stock of a product from schema 1: %+v, %v", l, err)
	}
	if got, err := s.Get(ctx, p.ID); err != nil || got.Name != "Old" || got.Variants[0].Stock != 11 {
		t.Fatalf("product from schema 1: %+v, %v", got, err)
	}
}

func mustSQLite(t *testing.T, db *store.DB, ms []store.Migration) *sql.DB {
	t.Helper()
	s, err := db.SQLite(t.Context(), contract.ProductQueue, ms)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
