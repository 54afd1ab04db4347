package seo

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/bus/memory"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/feed"
	"github.com/shopengine/shop/internal/store"
)

// benchPaths is the size of the URL space of the benchmarks.
const benchPaths = 1_000_000

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// benchSlug is the slug of product i: as long as a real one.
func benchSlug(i int) string { return fmt.Sprintf("solar-garden-lamp-%07d", i) }

// fill applies n product entries to reg as the tailer does, in batches of
// 10k (one feed read), every 100th product renamed once so that it has an
// old path.
func fill(tb testing.TB, reg *registry, n int) {
	tb.Helper()
	seq := reg.revision()
	mod := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	batch := make([]feed.Change, 0, 10_000)
	for i := 0; i < n; i++ {
		e := entry{Type: contract.SEOProduct, ID: fmt.Sprintf("0190a4c2-0000-7000-8000-%012d", i), Slug: benchSlug(i), Public: true, LastMod: mod.Add(time.Duration(i) * time.Second)}
		if i%100 == 0 {
			e.Old = []place{{Slug: "old-" + benchSlug(i)}}
		}
		body, err := json.Marshal(e)
		if err != nil {
			tb.Fatal(err)
		}
		seq++
		batch = append(batch, feed.Change{Key: key(e.Type, e.ID), Seq: seq, Version: 1, Body: body})
		if len(batch) == cap(batch) || i == n-1 {
			reg.apply(batch, false)
			batch = batch[:0]
		}
	}
}

// heapInUse is the live heap after a full GC.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkResolve: resolve at 1M paths against a plain map lookup of the
// same paths (the floor), and over the in-process bus (what a storefront
// in the same process pays). Reports the registry's memory per path.
func BenchmarkResolve(b *testing.B) {
	before := heapInUse()
	reg := newRegistry(quiet)
	fill(b, reg, benchPaths)
	perPath := float64(heapInUse()-before) / float64(len(reg.paths))
	paths := make([]string, benchPaths)
	for i := range paths {
		paths[i] = contract.ProductPathPrefix + benchSlug(i)
	}
	b.Run("map-baseline", func(b *testing.B) {
		before := heapInUse()
		plain := make(map[string]string, benchPaths)
		for i, p := range paths {
			plain[p] = fmt.Sprint(i)
		}
		mapPerPath := float64(heapInUse()-before) / benchPaths
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, ok := plain[paths[i%benchPaths]]; !ok {
				b.Fatal("missing")
			}
			i += 7919
		}
		b.ReportMetric(mapPerPath, "B/path")
	})
	b.Run("registry", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if reg.resolve(paths[i%benchPaths]).Kind != contract.ResolveEntity {
				b.Fatal("not an entity")
			}
			i += 7919
		}
		b.ReportMetric(perPath, "B/path")
	})
	b.Run("registry-old-path", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if reg.resolve("/p/old-"+benchSlug((i%(benchPaths/100))*100)).Kind != contract.ResolveRedirect {
				b.Fatal("not a redirect")
			}
			i += 7919
		}
	})
	b.Run("bus-memory", func(b *testing.B) {
		m, bb := benchModule(b, reg)
		_ = m
		ctx := context.Background()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if res, err := bus.Call(ctx, bb, contract.Resolve, contract.ResolveRequest{Path: paths[i%benchPaths]}); err != nil || res.Kind != contract.ResolveEntity {
				b.Fatal(res, err)
			}
			i += 7919
		}
	})
}

// benchModule serves reg's answers through a module on an in-process bus
// (its store, on SQLite, is empty: the registry is filled by hand).
func benchModule(b *testing.B, reg *registry) (*Module, bus.Bus) {
	b.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.SQLiteURL(b.TempDir()), store.WithLogger(quiet))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close(ctx) })
	st, err := OpenStore(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	bb := memory.New(quiet)
	b.Cleanup(func() { bb.Close(ctx) })
	m := New(bb, st, quiet)
	if err := m.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Stop(ctx) })
	<-m.tailer.Loaded()
	m.reg = reg // after the (empty) snapshot: the tailer applies to the old one
	return m, bb
}

// peak samples the live heap every millisecond until stop, and returns
// the highest value seen.
func peak() (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var top atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > top.Load() {
				top.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); wg.Wait(); return top.Load() }
}

// writeSitemap writes every chunk of the sitemap as web streams it: the
// index, then each chunk page by page through the bus, each URL written
// out as XML as its page arrives.
func writeSitemap(b *testing.B, bb bus.Bus, w io.Writer) int {
	ctx := context.Background()
	idx, err := bus.Call(ctx, bb, contract.GetSitemapIndex, contract.Empty{})
	if err != nil {
		b.Fatal(err)
	}
	out := bufio.NewWriterSize(w, 32<<10)
	n := 0
	for _, c := range idx.Chunks {
		after := ""
		for {
			page, err := bus.Call(ctx, bb, contract.GetSitemapPage, contract.SitemapPageRequest{N: c.N, After: after, Limit: contract.MaxSitemapPage})
			if err != nil {
				b.Fatal(err)
			}
			for _, u := range page.URLs {
				fmt.Fprintf(out, "<url><loc>https://shop.example%s</loc><lastmod>%s</lastmod></url>\n", u.Path, u.LastMod.Format(time.RFC3339))
				n++
			}
			if after = page.Next; after == "" {
				break
			}
		}
	}
	out.Flush()
	return n
}

// BenchmarkSitemap: the 1M-URL sitemap (index and twenty chunks) read
// through the bus in pages, against writing the same URLs from a slice in
// memory (the floor). Reports the peak live heap above the registry's own
// (registry built, sorted cache included, before the run).
func BenchmarkSitemap(b *testing.B) {
	reg := newRegistry(quiet)
	fill(b, reg, benchPaths)
	_, bb := benchModule(b, reg)
	urls, _, _ := reg.sitemapURLs() // the sorted cache, kept: the registry did not change
	b.Run("slice-baseline", func(b *testing.B) {
		base := heapInUse()
		stop := peak()
		for b.Loop() {
			out := bufio.NewWriterSize(io.Discard, 32<<10)
			for _, u := range urls {
				fmt.Fprintf(out, "<url><loc>https://shop.example%s</loc><lastmod>%s</lastmod></url>\n", u.path, time.Unix(u.mod, 0).UTC().Format(time.RFC3339))
			}
			out.Flush()
		}
		b.ReportMetric(above(stop(), base), "peak-MB")
	})
	b.Run("bus-pages", func(b *testing.B) {
		base := heapInUse()
		stop := peak()
		for b.Loop() {
			if n := writeSitemap(b, bb, io.Discard); n != benchPaths {
				b.Fatalf("%d URLs", n)
			}
		}
		b.ReportMetric(above(stop(), base), "peak-MB")
	})
	b.Run("rebuild-and-pages", func(b *testing.B) {
		// A registry that changed: the first page sorts the paths again.
		old := sitemapRefresh
		sitemapRefresh = 0
		b.Cleanup(func() { sitemapRefresh = old })
		base := heapInUse()
		stop := peak()
		for b.Loop() {
			reg.mu.Lock()
			reg.changed = time.Now()
			reg.mu.Unlock()
			if n := writeSitemap(b, bb, io.Discard); n != benchPaths {
				b.Fatalf("%d URLs", n)
			}
		}
		b.ReportMetric(above(stop(), base), "peak-MB")
	})
}

// above is how far the peak live heap rose above base, in MiB.
func above(peak, base uint64) float64 {
	if peak < base {
		return 0
	}
	return float64(peak-base) / (1 << 20)
}
