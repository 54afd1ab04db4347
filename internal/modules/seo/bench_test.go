package seo

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"runtime"
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

// liveProbe measures the live heap above base after a full GC, every
// 20th call, and keeps the highest: called after each page of a sitemap
// run, it shows what the run holds between pages (a page in flight is a
// page: MaxSitemapPage URLs), without counting garbage that a GC would
// take, which with the default GOGC grows with the registry, not with the
// sitemap.
type liveProbe struct {
	on        bool // off in a timed run
	base, top uint64
	calls     int
}

func (p *liveProbe) probe() {
	if !p.on {
		return
	}
	if p.calls++; p.calls%20 != 0 {
		return
	}
	if h := heapInUse(); h > p.base {
		p.top = max(p.top, h-p.base)
	}
}

// writeSitemap writes every chunk of the sitemap as web streams it: the
// index, then each chunk page by page through the bus, each URL written
// out as XML as its page arrives.
func writeSitemap(b *testing.B, bb bus.Bus, w io.Writer, afterPage func()) int {
	call := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.Background(), 30*time.Second)
	}
	ctx, cancel := call()
	idx, err := bus.Call(ctx, bb, contract.GetSitemapIndex, contract.Empty{})
	cancel()
	if err != nil {
		b.Fatal(err)
	}
	out := bufio.NewWriterSize(w, 32<<10)
	n := 0
	for _, c := range idx.Chunks {
		after := ""
		for {
			ctx, cancel := call()
			page, err := bus.Call(ctx, bb, contract.GetSitemapPage, contract.SitemapPageRequest{N: c.N, After: after, Limit: contract.MaxSitemapPage})
			cancel()
			if err != nil {
				b.Fatal(err)
			}
			for _, u := range page.URLs {
				fmt.Fprintf(out, "<url><loc>https://shop.example%s</loc><lastmod>%s</lastmod></url>\n", u.Path, u.LastMod.Format(time.RFC3339))
				n++
			}
			out.Flush()
			afterPage()
			if after = page.Next; after == "" {
				break
			}
		}
	}
	return n
}

// BenchmarkSitemap: the 1M-URL sitemap (index and twenty chunks) read
// through the bus in pages, as web streams it, against writing the same
// URLs from a slice in memory (the floor). Reports the bytes allocated per
// URL and the most the live heap held above the registry's own between
// pages (live-MB; the registry, with its sorted cache, is the base).
func BenchmarkSitemap(b *testing.B) {
	reg := newRegistry(quiet)
	fill(b, reg, benchPaths)
	_, bb := benchModule(b, reg)
	urls, _, _ := reg.sitemapURLs() // the sorted cache, kept: the registry does not change
	// run times write, then makes one more pass, untimed, with the probe
	// (whose full GCs would dwarf the work timed).
	run := func(b *testing.B, write func(p *liveProbe) int) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for b.Loop() {
			if n := write(&liveProbe{}); n != benchPaths {
				b.Fatalf("%d URLs", n)
			}
		}
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/benchPaths, "B/URL")
		p := &liveProbe{on: true, base: heapInUse()}
		write(p)
		b.ReportMetric(float64(p.top)/(1<<20), "live-MB")
	}
	b.Run("slice-baseline", func(b *testing.B) {
		run(b, func(p *liveProbe) int {
			out := bufio.NewWriterSize(io.Discard, 32<<10)
			for i, u := range urls {
				fmt.Fprintf(out, "<url><loc>https://shop.example%s</loc><lastmod>%s</lastmod></url>\n", u.path, time.Unix(u.mod, 0).UTC().Format(time.RFC3339))
				if i%contract.MaxSitemapPage == 0 {
					p.probe()
				}
			}
			out.Flush()
			return len(urls)
		})
	})
	b.Run("bus-pages", func(b *testing.B) {
		run(b, func(p *liveProbe) int { return writeSitemap(b, bb, io.Discard, p.probe) })
	})
	b.Run("rebuild", func(b *testing.B) {
		// After a change: the copy and sort of the paths, in the background
		// of the requests, which read the previous cache meanwhile.
		b.ReportAllocs()
		for b.Loop() {
			done := make(chan struct{})
			reg.buildSitemap(done)
			<-done
		}
	})
}
