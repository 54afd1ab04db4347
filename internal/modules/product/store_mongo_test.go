package product

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

// Replays of the races and failures of the MongoDB store's writes, made
// deterministic by its test hook (mongoStore.hook). They run the path
// without transactions (the one FerretDB has) on every MongoDB backend;
// TestMongoReindexDuringUpdate also runs the transaction path where the
// server has it.

// forMongo runs fn on a fresh MongoDB store of every MongoDB backend, on
// the compensating path and, where the server has transactions, on the
// transaction path too.
func forMongo(t *testing.T, withTx bool, fn func(t *testing.T, s *mongoStore)) {
	storetest.ForEachMongo(t, func(t *testing.T, b storetest.Backend) {
		st, err := OpenStore(t.Context(), b.Open(t))
		if err != nil {
			t.Fatal(err)
		}
		s := st.(*mongoStore)
		tx := s.tx
		s.tx = false
		t.Run("compensating", func(t *testing.T) { fn(t, s) })
		if withTx && tx {
			st, err := OpenStore(t.Context(), b.Open(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Run("transaction", func(t *testing.T) { fn(t, st.(*mongoStore)) })
		}
	})
}

type writerKey struct{}

// as marks ctx as the write of who, for a hook to tell writes apart.
func as(ctx context.Context, who string) context.Context {
	return context.WithValue(ctx, writerKey{}, who)
}

func who(ctx context.Context) string { s, _ := ctx.Value(writerKey{}).(string); return s }

// withSKU returns p at its next version with one more variant of SKU sku.
func withSKU(p contract.Product, sku string) contract.Product {
	p.Version++
	p.Variants = append(slices.Clone(p.Variants), contract.Variant{ID: newID(), SKU: sku, SKUSuffix: "x", Price: 500, Stock: 3})
	priceRange(&p)
	return p
}

// reserved reports whether sku is reserved by any product.
func reserved(t *testing.T, s *mongoStore, sku string) bool {
	t.Helper()
	n, err := s.skus.CountDocuments(t.Context(), bson.D{{Key: "_id", Value: sku}})
	if err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// TestMongoSKUReleaseRace: two updates of one product at one version both
// add SKU X-1. A reserves it; B, in between, fails to reserve it and
// undoes its reservations. B's undo must leave A's reservation alone:
// before reservations carried their write's token, it deleted every
// reservation of the product among B's SKUs, A's included, and A's
// product then used X-1 unreserved, so a third product could take it.
func TestMongoSKUReleaseRace(t *testing.T) {
	forMongo(t, false, func(t *testing.T, s *mongoStore) {
		ctx := t.Context()
		p := newProduct("A", "a", "A", contract.ProductPublished, nil, 100)
		if r := insertOne(t, s, p, nil); r.Err != nil {
			t.Fatal(r.Err)
		}
		var errB error
		s.hook = func(ctx context.Context, step string) error {
			if step == "update:reserved" && who(ctx) == "A" {
				errB = s.Update(t.Context(), withSKU(p, "X-1"), nil, nil)
			}
			return nil
		}
		if err := s.Update(as(ctx, "A"), withSKU(p, "X-1"), nil, nil); err != nil {
			t.Fatalf("update A: %v", err)
		}
		s.hook = nil
		if !errors.Is(errB, errSKUTaken) {
			t.Fatalf("update B = %v, want errSKUTaken (A holds X-1)", errB)
		}
		if !reserved(t, s, "X-1") {
			t.Fatal("X-1 is not reserved although product A uses it: B's undo released A's reservation")
		}
		if r := insertOne(t, s, newProduct("C", "c", "X", contract.ProductPublished, nil, 100), nil); !errors.Is(r.Err, errSKUTaken) {
			t.Fatalf("product C took X-1, which A uses: %+v", r)
		}
	})
}

// TestMongoCompensationOutlivesRequest: a write whose request context
// ends half-way (cancelled after it reserved its SKUs) still undoes what
// it made. Undo steps on the request's context failed at once and leaked
// the reservations and stock documents.
func TestMongoCompensationOutlivesRequest(t *testing.T) {
	forMongo(t, false, func(t *testing.T, s *mongoStore) {
		p := newProduct("A", "a", "A", contract.ProductPublished, nil, 100)
		if r := insertOne(t, s, p, nil); r.Err != nil {
			t.Fatal(r.Err)
		}
		var cancel context.CancelFunc
		s.hook = func(_ context.Context, step string) error {
			if step == "update:reserved" || step == "insert:reserved" {
				cancel()
			}
			return nil
		}
		ctx, cancel := context.WithCancel(t.Context())
		up := withSKU(p, "Y-1")
		if err := s.Update(ctx, up, nil, nil); err == nil {
			t.Fatal("an update on a cancelled context succeeded")
		}
		ctx, cancel = context.WithCancel(t.Context())
		defer cancel()
		q := newProduct("B", "b", "Z", contract.ProductPublished, nil, 100)
		if _, err := s.Insert(ctx, []NewProduct{{Product: q}}); err == nil {
			t.Fatal("an insert on a cancelled context succeeded")
		}
		s.hook = nil
		for _, sku := range []string{"Y-1", "Z-1"} {
			if reserved(t, s, sku) {
				t.Errorf("%s is still reserved after its write failed: the undo ran on the cancelled context", sku)
			}
		}
		n, err := s.stock.CountDocuments(t.Context(), bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: []string{up.Variants[1].ID, q.Variants[0].ID}}}}})
		if err != nil || n != 0 {
			t.Errorf("%d stock documents of the failed writes are left (%v)", n, err)
		}
		if got, err := s.Get(t.Context(), p.ID); err != nil || got.Version != 1 {
			t.Errorf("product after the failed update: %+v, %v", got, err)
		}
	})
}

// TestMongoReindexDuringUpdate: a re-index (SetClosures, after a category
// moved) lands between an update's read and its write. The update keeps
// the closure (nil) and must not write back the one it read: the product
// stays listed under its new ancestors.
func TestMongoReindexDuringUpdate(t *testing.T) {
	forMongo(t, true, func(t *testing.T, s *mongoStore) {
		ctx := t.Context()
		cat, oldRoot, newRoot := newID(), newID(), newID()
		p := newProduct("A", "a", "A", contract.ProductPublished, []string{cat}, 100)
		if r := insertOne(t, s, p, []string{oldRoot}); r.Err != nil {
			t.Fatal(r.Err)
		}
		once := true
		s.hook = func(_ context.Context, step string) error {
			if step == "update:write" && once {
				once = false
				return s.SetClosures(t.Context(), map[string][]string{p.ID: {cat, newRoot}})
			}
			return nil
		}
		up := p
		up.Version, up.Name = 2, "A2"
		if err := s.Update(ctx, up, nil, nil); err != nil {
			t.Fatal(err)
		}
		s.hook = nil
		for root, want := range map[string]int{newRoot: 1, oldRoot: 0} {
			items, n, err := s.List(ctx, Query{CategoryID: root, Sort: contract.SortCreated, Limit: 10})
			if err != nil || n != want || len(items) != want {
				t.Errorf("under %s: %d items, total %d (%v); want %d: the re-index was overwritten", root, len(items), n, err, want)
			}
		}
		if got, _ := s.Get(ctx, p.ID); got.Name != "A2" || got.Version != 2 {
			t.Errorf("the update itself: %+v", got)
		}
	})
}

var errCrash = errors.New("crash (test)")

// TestMongoDeleteHalfWay: a product delete that dies after the product
// document is gone, before its stock and SKUs are (no transactions):
// adjust_stock refuses the orphan stock, and the sweep frees the SKUs and
// removes the stock, after which another product can take the SKUs.
func TestMongoDeleteHalfWay(t *testing.T) {
	forMongo(t, false, func(t *testing.T, s *mongoStore) {
		ctx := t.Context()
		p := newProduct("A", "a", "A", contract.ProductPublished, nil, 100, 200)
		if r := insertOne(t, s, p, nil); r.Err != nil {
			t.Fatal(r.Err)
		}
		s.hook = func(_ context.Context, step string) error {
			if step == "delete:product-gone" {
				return errCrash
			}
			return nil
		}
		if err := s.Delete(ctx, p.ID, 0, nil); !errors.Is(err, errCrash) {
			t.Fatalf("delete = %v, want the injected crash", err)
		}
		s.hook = nil
		if _, err := s.AdjustStock(ctx, p.Variants[0].ID, 1, nil); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("adjust_stock of a deleted product's variant = %v, want ErrNotFound", err)
		}
		if n, err := s.Sweep(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
			t.Fatalf("a sweep of orphans older than an hour removed %d (%v), want 0: they are younger", n, err)
		}
		n, err := s.Sweep(ctx, time.Now().Add(time.Second))
		if err != nil || n != 4 {
			t.Fatalf("sweep removed %d (%v), want 4 (2 SKUs, 2 stock documents)", n, err)
		}
		if r := insertOne(t, s, newProduct("B", "b", "A", contract.ProductPublished, nil, 100), nil); r.Err != nil {
			t.Fatalf("the swept SKU A-1 is still taken: %v", r.Err)
		}
		// A live product's reservations and stock are not orphans.
		if n, err := s.Sweep(ctx, time.Now().Add(time.Second)); err != nil || n != 0 {
			t.Fatalf("a second sweep removed %d (%v), want 0", n, err)
		}
	})
}

// TestMongoCounters: list totals come from the counters (no counting of
// matches per page); they follow a re-index in chunks, and a database
// written before the counters existed gets them made from its products
// when the store opens.
func TestMongoCounters(t *testing.T) {
	defer func(n int) { reindexChunk = n }(reindexChunk)
	reindexChunk = 2 // several chunks for a handful of products
	forMongo(t, false, func(t *testing.T, s *mongoStore) {
		ctx := t.Context()
		cat, oldRoot, newRoot := newID(), newID(), newID()
		closures := map[string][]string{}
		for i := range 5 {
			p := newProduct("P", "p-"+string(rune('a'+i)), "P"+string(rune('a'+i)), contract.ProductPublished, []string{cat}, 100)
			if r := insertOne(t, s, p, []string{oldRoot}); r.Err != nil {
				t.Fatal(r.Err)
			}
			closures[p.ID] = []string{cat, newRoot}
		}
		if err := s.SetClosures(ctx, closures); err != nil {
			t.Fatal(err)
		}
		totals := func(when string) {
			t.Helper()
			for q, want := range map[Query]int{
				{CategoryID: newRoot}: 5, {CategoryID: oldRoot}: 0, {CategoryID: cat, Direct: true}: 5,
				{Status: contract.ProductPublished}: 5, {Status: contract.ProductDraft}: 0, {}: 5,
			} {
				q.Sort, q.Limit = contract.SortCreated, 1
				if _, n, err := s.List(ctx, q); err != nil || n != want {
					t.Errorf("%s: total of %+v = %d (%v), want %d", when, q, n, err, want)
				}
			}
		}
		totals("after the re-index")
		if _, err := s.counts.DeleteMany(ctx, bson.D{}); err != nil {
			t.Fatal(err)
		}
		if err := s.recountAll(ctx); err != nil {
			t.Fatal(err)
		}
		totals("after counting a database without counters")
	})
}
