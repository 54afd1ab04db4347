package product

import (
	"fmt"
	"testing"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

// mongoBench opens a fresh MongoDB store on the first MongoDB backend
// (the embedded FerretDB here; SHOP_TEST_MONGO_URI's server after it).
func mongoBench(b *testing.B) *mongoStore {
	for _, be := range storetest.Backends(b) {
		if be.Kind == store.KindMongo {
			st, err := OpenStore(b.Context(), be.Open(b))
			if err != nil {
				b.Fatal(err)
			}
			return st.(*mongoStore)
		}
	}
	b.Skip("no MongoDB backend")
	return nil
}

// BenchmarkMongoInsertMany compares create_many's batched write with the
// one-by-one path it replaced, 50 products of two variants per op.
func BenchmarkMongoInsertMany(b *testing.B) {
	for _, mode := range []string{"one-by-one", "batched"} {
		b.Run(mode, func(b *testing.B) {
			s := mongoBench(b)
			n := 0
			for b.Loop() {
				items := make([]NewProduct, 50)
				for i := range items {
					n++
					items[i] = NewProduct{Product: newProduct("P", fmt.Sprint("p-", n), fmt.Sprint("P", n), contract.ProductPublished, nil, 100, 200)}
				}
				var err error
				if mode == "batched" {
					_, err = s.Insert(b.Context(), items)
				} else {
					_, err = s.insertOneByOne(b.Context(), items)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMongoListTotal compares a list total from the counters with
// counting the matches (CountDocuments, the baseline) at 2,000 products.
func BenchmarkMongoListTotal(b *testing.B) {
	s := mongoBench(b)
	items := make([]NewProduct, 2000)
	for i := range items {
		items[i] = NewProduct{Product: newProduct("P", fmt.Sprint("p-", i), fmt.Sprint("P", i), contract.ProductPublished, nil, 100)}
	}
	if _, err := s.Insert(b.Context(), items); err != nil {
		b.Fatal(err)
	}
	q := Query{Status: contract.ProductPublished}
	b.Run("count-documents", func(b *testing.B) {
		for b.Loop() {
			if n, err := s.products.CountDocuments(b.Context(), listFilter(q)); err != nil || n != 2000 {
				b.Fatal(n, err)
			}
		}
	})
	b.Run("counters", func(b *testing.B) {
		for b.Loop() {
			if n, err := s.total(b.Context(), q); err != nil || n != 2000 {
				b.Fatal(n, err)
			}
		}
	})
}
