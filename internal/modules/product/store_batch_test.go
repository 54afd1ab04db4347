package product

import (
	"errors"
	"fmt"
	"testing"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

// TestStoreInsertMany: a batch of new products answers item by item the
// same on every backend (on MongoDB through the batched path and the
// one-by-one fallback): new products created with their stock; a taken
// slug skipped (SkipExisting) or retried with the next candidate; a slug
// twice in the batch and a SKU taken by another product retried or
// refused; and every created product readable, listed and counted.
func TestStoreInsertMany(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		s, err := OpenStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		old := newProduct("Old", "old", "OLD", contract.ProductPublished, nil, 100)
		if r := insertOne(t, s, old, nil); r.Err != nil {
			t.Fatal(r.Err)
		}
		next := func(p contract.Product) func(int) (contract.Product, bool) {
			return func(n int) (contract.Product, bool) {
				q := p
				q.Slug = fmt.Sprintf("%s-%d", p.Slug, n)
				q.Variants = append([]contract.Variant(nil), p.Variants...)
				for i := range q.Variants {
					q.Variants[i].SKU = fmt.Sprintf("%s-%d-%d", p.SKU, n, i+1)
				}
				return q, n <= 3
			}
		}
		fresh := make([]contract.Product, 3)
		var items []NewProduct
		for i := range fresh {
			fresh[i] = newProduct(fmt.Sprint("New ", i), fmt.Sprint("new-", i), fmt.Sprint("NEW", i), contract.ProductPublished, nil, 100, 200)
			items = append(items, NewProduct{Product: fresh[i]})
		}
		skip := newProduct("Old again", "old", "OLD2", contract.ProductPublished, nil, 100)
		retry := newProduct("Old retried", "old", "OLD3", contract.ProductPublished, nil, 100)
		twice := newProduct("New 0 again", "new-0", "TWICE", contract.ProductPublished, nil, 100)
		skuTaken := newProduct("Takes OLD-1", "takes", "OLD", contract.ProductPublished, nil, 100)
		items = append(items,
			NewProduct{Product: skip, SkipExisting: true},
			NewProduct{Product: retry, Next: next(retry), RetrySKU: true},
			NewProduct{Product: twice, Next: next(twice), RetrySKU: true},
			NewProduct{Product: skuTaken},
		)
		res, err := s.Insert(ctx, items)
		if err != nil || len(res) != len(items) {
			t.Fatalf("Insert = %d results, %v", len(res), err)
		}
		for i := range fresh {
			if r := res[i]; r.Err != nil || r.ID != fresh[i].ID || r.Skipped {
				t.Errorf("item %d: %+v, want created", i, r)
			}
			got, err := s.Get(ctx, fresh[i].ID)
			if err != nil || got.TotalStock != 20 {
				t.Errorf("item %d read back: %+v, %v", i, got, err)
			}
		}
		if r := res[3]; !r.Skipped || r.ID != old.ID {
			t.Errorf("existing slug with SkipExisting: %+v, want skipped as %s", r, old.ID)
		}
		if r := res[4]; r.Err != nil || r.Slug != "old-2" {
			t.Errorf("taken slug with retries: %+v, want created as old-2", r)
		}
		if r := res[5]; r.Err != nil || r.Slug != "new-0-2" {
			t.Errorf("slug twice in the batch: %+v, want the second created as new-0-2", r)
		}
		if r := res[6]; !errors.Is(r.Err, errSKUTaken) {
			t.Errorf("a SKU of another product, no retries: %+v, want errSKUTaken", r)
		}
		if _, n, err := s.List(ctx, Query{Sort: contract.SortCreated, Limit: 1}); err != nil || n != 6 {
			t.Errorf("total after the batch: %d (%v), want 6", n, err)
		}
		// The refused item left no reservation behind: its SKU OLD-1 is
		// still old's, and nothing else of it is taken.
		if taken, err := s.SKUsTaken(ctx, []string{"OLD-1"}, old.ID); err != nil || len(taken) != 0 {
			t.Errorf("OLD-1 held by another product than old: %v, %v", taken, err)
		}
	})
}
