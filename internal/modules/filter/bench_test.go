package filter

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
)

// Benchmarks of the index on a generated catalogue of the seeder's shape
// (gen_test.go), at 100k products and, with FILTER_BENCH_1M=1, at 1M.
// The products go straight into the index (no bus, no store); each
// benchmark reports the query's p95 besides ns/op. BenchmarkBuild reports
// the index's heap per product; BenchmarkBuildFromStore the start-up build
// from a SQLite store. The peers (bleve, SQLite GROUP BY) are in
// peers_test.go and run the same queries on the same documents.

// benchQueries are the five queries the figures are about.
func benchQueries() []struct {
	name string
	req  contract.SearchRequest
} {
	lo, hi := int64(1000), int64(20000)
	return []struct {
		name string
		req  contract.SearchRequest
	}{
		{"root_category", contract.SearchRequest{Category: "cat-0", PageSize: 20}},
		{"leaf_category", contract.SearchRequest{Category: "cat-0-0-0", PageSize: 20}},
		{"two_facets_price", contract.SearchRequest{Facets: map[string][]string{"brand": {"brand_1", "brand_2"}, "colour": {"red"}}, PriceMin: &lo, PriceMax: &hi, PageSize: 20}},
		{"text_with_facets", contract.SearchRequest{Q: "smart lam", Facets: map[string][]string{"material": {"material_1"}}, PageSize: 20}},
		{"deep_page_50", contract.SearchRequest{Sort: contract.SortPriceAsc, Page: 50, PageSize: 20}},
	}
}

// typoQuery is the text query with a slip in each word ("smart" and
// "lamp" one letter too many): the index only, the peers not being asked for
// typos.
var typoQuery = struct {
	name string
	req  contract.SearchRequest
}{"text_typos", contract.SearchRequest{Q: "smartt lampz", Facets: map[string][]string{"material": {"material_1"}}, PageSize: 20}}

func benchSizes() []int {
	if os.Getenv("FILTER_BENCH_1M") != "" {
		return []int{100_000, 1_000_000}
	}
	return []int{100_000}
}

var (
	benchMu      sync.Mutex
	benchIndexes = map[int]*Index{}
)

// benchIndex builds (once per size) an index of n generated products, put
// in directly.
func benchIndex(n int) *Index {
	benchMu.Lock()
	defer benchMu.Unlock()
	if x, ok := benchIndexes[n]; ok {
		return x
	}
	for size := range benchIndexes { // one at a time: 1M is large
		delete(benchIndexes, size)
	}
	x, _ := buildDirect(n)
	benchIndexes[n] = x
	return x
}

// buildDirect generates n products into a fresh index and returns it
// with the heap it took (after a GC, minus the heap before).
func buildDirect(n int) (*Index, uint64) {
	g := newGenCatalog(42)
	before := heapInUse()
	x := NewIndex(slog.New(slog.DiscardHandler))
	x.Apply(g.definitions(), true)
	x.mu.Lock()
	for i := range n {
		x.put(fmt.Sprintf("p-%08d", i), g.product(i))
	}
	x.settle()
	x.mu.Unlock()
	return x, heapInUse() - before
}

func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// timeQuery runs q b.N times, reporting the p95 of its wall time and of
// its thread's CPU time in ms: on a shared machine the wall time
// includes waiting for a core, the CPU time does not.
func timeQuery(b *testing.B, q func() error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var wall, cpu []time.Duration
	b.ResetTimer()
	for b.Loop() {
		began, cpuBegan := time.Now(), threadCPU()
		if err := q(); err != nil {
			b.Fatal(err)
		}
		wall, cpu = append(wall, time.Since(began)), append(cpu, threadCPU()-cpuBegan)
	}
	b.StopTimer()
	b.ReportMetric(p95ms(wall), "p95-ms")
	b.ReportMetric(p95ms(cpu), "cpu-p95-ms")
}

func p95ms(ds []time.Duration) float64 {
	slices.Sort(ds)
	return float64(ds[len(ds)*95/100].Microseconds()) / 1000
}

// processCPU is the process's CPU time, all threads.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// threadCPU is the calling thread's CPU time (Linux RUSAGE_THREAD).
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkSearch(b *testing.B) {
	for _, n := range benchSizes() {
		x := benchIndex(n)
		runtime.GC() // the build's garbage is not the queries' to collect
		for _, q := range append(benchQueries(), typoQuery) {
			b.Run(fmt.Sprintf("%s/%s", sizeName(n), q.name), func(b *testing.B) {
				timeQuery(b, func() error { _, err := x.Search(q.req); return err })
			})
		}
	}
}

func sizeName(n int) string {
	if n >= 1_000_000 {
		return strconv.Itoa(n/1_000_000) + "M"
	}
	return strconv.Itoa(n/1000) + "k"
}

// BenchmarkBuild measures building the index straight from generated
// documents, and its heap per product.
func BenchmarkBuild(b *testing.B) {
	for _, n := range benchSizes() {
		b.Run(sizeName(n), func(b *testing.B) {
			var heap uint64
			cpuBegan := processCPU()
			for b.Loop() {
				var x *Index
				x, heap = buildDirect(n)
				runtime.KeepAlive(x)
			}
			b.ReportMetric(float64(heap)/float64(n), "heap-B/product")
			// Generating the documents and the two GCs of heapInUse
			// included.
			b.ReportMetric((processCPU()-cpuBegan).Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}

// BenchmarkBuildFromStore is the start of an instance: the snapshot read
// from a SQLite store of 100k (and with FILTER_BENCH_1M, 1M) products and
// applied to a fresh index.
func BenchmarkBuildFromStore(b *testing.B) {
	for _, n := range benchSizes() {
		b.Run(sizeName(n), func(b *testing.B) { benchBuildFromStore(b, n) })
	}
}

func benchBuildFromStore(b *testing.B, n int) {
	ctx := context.Background()
	db, err := store.Open(ctx, store.SQLiteURL(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close(ctx)
	st, err := OpenStore(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	g := newGenCatalog(42)
	for _, c := range g.definitions() {
		if _, err := st.Log().Put(ctx, c.Key, c.Version, c.Body); err != nil {
			b.Fatal(err)
		}
	}
	for i := range n {
		body, err := encodeProduct(g.product(i))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.Log().Put(ctx, fmt.Sprintf("%sp-%08d", keyProduct, i), 1, body); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	cpuBegan := processCPU()
	for b.Loop() {
		all, _, err := st.Log().Snapshot(ctx)
		if err != nil {
			b.Fatal(err)
		}
		x := NewIndex(slog.New(slog.DiscardHandler))
		x.Apply(all, true)
		if x.Len() != n {
			b.Fatalf("built %d products, want %d", x.Len(), n)
		}
	}
	b.ReportMetric(float64(n), "products")
	// The CPU time of the build, every thread's: on a shared machine the
	// wall time includes waiting for a core.
	b.ReportMetric((processCPU()-cpuBegan).Seconds()/float64(b.N), "cpu-s/op")
}
