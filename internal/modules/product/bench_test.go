package product

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/moduletest"
	"github.com/shopengine/shop/internal/store/storetest"
)

// benchProducts sizes the benchmarks' catalogue: go test -bench . -products 100000.
var benchProducts = flag.Int("products", 100_000, "products the product benchmarks create")

// benchTree is 10 roots × 10 children × 10 leaves (1,110 categories).
type benchTree struct {
	roots, children, leaves []string
}

func makeBenchTree(h *harness) benchTree {
	var t benchTree
	for i := range 10 {
		root := h.cats.add(fmt.Sprint("Root ", i), "")
		t.roots = append(t.roots, root.ID)
		for j := range 10 {
			child := h.cats.add(fmt.Sprint("Child ", i, j), root.ID)
			t.children = append(t.children, child.ID)
			for k := range 10 {
				leaf := h.cats.add(fmt.Sprint("Leaf ", i, j, k), child.ID)
				t.leaves = append(t.leaves, leaf.ID)
			}
		}
	}
	return t
}

var benchWords = []string{"alpine", "basic", "classic", "deluxe", "eco", "field", "grand", "heavy", "indigo", "junior", "kinetic", "light"}

// seed creates n products through create_many over the in-process bus, as
// `shop seed` does: batches of contract.MaxBatch, two in flight (SQLite
// writes one at a time anyway). Each product is in one leaf (one in ten
// also in a second), 90% published; half have a size option (3 variants).
// It returns the time taken.
func seed(b *testing.B, h *harness, tree benchTree, n int) time.Duration {
	rng := rand.New(rand.NewPCG(1, 2))
	var batches [][]contract.CreateProductRequest
	for i := 0; i < n; i += contract.MaxBatch {
		var batch []contract.CreateProductRequest
		for k := i; k < min(i+contract.MaxBatch, n); k++ {
			req := contract.CreateProductRequest{
				Name:        fmt.Sprintf("%s %s %d", benchWords[rng.IntN(len(benchWords))], benchWords[rng.IntN(len(benchWords))], k),
				CategoryIDs: []string{tree.leaves[rng.IntN(len(tree.leaves))]},
				Currency:    "EUR", Price: int64(100 + rng.IntN(100_000)), Status: contract.ProductPublished,
				Attributes: contract.AttributeValues{"color": []string{"red", "blue"}[k%2], "weight": float64(k % 50)},
				Images:     []contract.Image{{URL: fmt.Sprintf("https://img.example/%d.jpg", k), Alt: "picture"}},
			}
			if k%10 == 0 {
				if other := tree.leaves[rng.IntN(len(tree.leaves))]; other != req.CategoryIDs[0] {
					req.CategoryIDs = append(req.CategoryIDs, other)
				}
			}
			switch k % 20 {
			case 0:
				req.Status = contract.ProductDraft
			case 1:
				req.Status = contract.ProductArchived
			}
			if k%2 == 0 {
				req.Options = []contract.VariantSelection{{GroupID: sizeGroup.ID}}
			} else {
				req.Variants = []contract.VariantInput{{Stock: int64(rng.IntN(50))}}
			}
			batch = append(batch, req)
		}
		batches = append(batches, batch)
	}
	start := time.Now()
	work := make(chan []contract.CreateProductRequest)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for batch := range work {
				reply, err := bus.Call(moduletest.Admin(context.Background()), h.bus, contract.CreateProducts, contract.CreateProductsRequest{Items: batch, SkipExisting: true})
				if err != nil || reply.Failed > 0 {
					b.Errorf("create_many: %v %+v", err, reply.Results)
				}
			}
		})
	}
	for _, batch := range batches {
		work <- batch
	}
	close(work)
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	return time.Since(start)
}

// BenchmarkSeed creates -products products through create_many on SQLite
// over the in-process bus (the seeder's path); the target is well under
// 60 s for 100,000. Run with -benchtime 1x.
func BenchmarkSeed(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		h := start(b, storetest.SQLite(b))
		tree := makeBenchTree(h)
		b.StartTimer()
		took := seed(b, h, tree, *benchProducts)
		b.ReportMetric(float64(*benchProducts)/took.Seconds(), "products/s")
		b.ReportMetric(took.Seconds(), "s/seed")
	}
}

// BenchmarkList measures one page with its total count at -products
// products on SQLite, in the module (the handler, without the bus hop):
// a leaf category (~100 products), a mid-level one with its descendants
// (~1,000: below bigCategory, so sorted whole), a root with its
// descendants (~10,000: a big category, pages from the sorted index), and
// all products; by price, name and creation. The target is ≤ 5 ms p95;
// p50/p95 are reported per case. Run with -benchtime 2000x.
func BenchmarkList(b *testing.B) {
	h := start(b, storetest.SQLite(b))
	tree := makeBenchTree(h)
	took := seed(b, h, tree, *benchProducts)
	b.Logf("seeded %d products in %v (%.0f products/s)", *benchProducts, took.Round(time.Millisecond), float64(*benchProducts)/took.Seconds())
	m := h.module
	published := contract.ProductPublished
	cases := []struct {
		name string
		req  contract.ListProductsRequest
	}{
		{"leaf/price", contract.ListProductsRequest{CategoryID: tree.leaves[17], Status: published, Sort: "price"}},
		{"leaf/name_desc", contract.ListProductsRequest{CategoryID: tree.leaves[17], Status: published, Sort: "name", Order: "desc"}},
		{"child_descendants/price", contract.ListProductsRequest{CategoryID: tree.children[42], IncludeDescendants: true, Status: published, Sort: "price"}},
		{"child_descendants/name_desc_page5", contract.ListProductsRequest{CategoryID: tree.children[42], IncludeDescendants: true, Status: published, Sort: "name", Order: "desc", Page: 5}},
		{"root_descendants/price", contract.ListProductsRequest{CategoryID: tree.roots[3], IncludeDescendants: true, Status: published, Sort: "price"}},
		{"root_descendants/price_desc_page10", contract.ListProductsRequest{CategoryID: tree.roots[3], IncludeDescendants: true, Status: published, Sort: "price", Order: "desc", Page: 10}},
		{"root_descendants/name", contract.ListProductsRequest{CategoryID: tree.roots[3], IncludeDescendants: true, Status: published, Sort: "name"}},
		{"root_descendants/created", contract.ListProductsRequest{CategoryID: tree.roots[3], IncludeDescendants: true, Status: published}},
		{"root_descendants_any_status/price", contract.ListProductsRequest{CategoryID: tree.roots[3], IncludeDescendants: true, Sort: "price"}},
		{"all/price", contract.ListProductsRequest{Status: published, Sort: "price"}},
		{"all/name_page100", contract.ListProductsRequest{Status: published, Sort: "name", Page: 100}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			var times []time.Duration
			var total int
			for b.Loop() {
				t0 := time.Now()
				page, err := m.list(ctx, c.req)
				times = append(times, time.Since(t0))
				if err != nil || len(page.Items) == 0 {
					b.Fatalf("list: %d items, %v", len(page.Items), err)
				}
				total = page.Total
			}
			slices.Sort(times)
			pct := func(p float64) float64 {
				return float64(times[int(p*float64(len(times)-1))].Microseconds()) / 1000
			}
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.95), "p95-ms")
			b.ReportMetric(float64(total), "matches")
		})
	}
}
