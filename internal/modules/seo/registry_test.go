package seo

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/feed"
)

// book is a registry fed by hand as the consumer feeds it (succeed over
// the previous entry, one feed seq per write), for tests of the URL space
// without a store.
type book struct {
	t    testing.TB
	reg  *registry
	seq  int64
	held map[string]entry
	vers map[string]int64
}

func newBook(t testing.TB) *book {
	return &book{t: t, reg: newRegistry(slog.New(slog.NewTextHandler(io.Discard, nil))), held: map[string]entry{}, vers: map[string]int64{}}
}

// put writes e as the next version of its entity.
func (b *book) put(e entry) {
	b.t.Helper()
	k := key(e.Type, e.ID)
	var prev *entry
	if p, ok := b.held[k]; ok {
		prev = &p
	}
	if e.LastMod.IsZero() {
		e.LastMod = time.Unix(1_700_000_000+b.seq, 0).UTC()
	}
	next := succeed(prev, e)
	body, err := json.Marshal(next)
	if err != nil {
		b.t.Fatal(err)
	}
	b.held[k], b.seq = next, b.seq+1
	b.vers[k]++
	b.reg.apply([]feed.Change{{Key: k, Seq: b.seq, Version: b.vers[k], Body: body}}, false)
}

func product(id, slug string, public bool) entry {
	return entry{Type: contract.SEOProduct, ID: id, Slug: slug, Public: public}
}

func category(id, parent, slug string) entry {
	return entry{Type: contract.SEOCategory, ID: id, Slug: slug, Parent: parent, Public: true}
}

func gone(e entry) entry { e.Deleted = true; return e }

// expect checks what each path resolves to: "entity <id>", "redirect
// <target>", "gone" or "not_found".
func expect(t *testing.T, r *registry, want map[string]string) {
	t.Helper()
	for path, w := range want {
		res := r.resolve(path)
		got := string(res.Kind)
		switch res.Kind {
		case contract.ResolveEntity:
			got += " " + res.ID
		case contract.ResolveRedirect:
			got += " " + res.Target
		}
		if got != w {
			t.Errorf("resolve(%q) = %s, want %s", path, got, w)
		}
	}
}

func TestProductPaths(t *testing.T) {
	b := newBook(t)
	b.put(product("p1", "red-shoe", true))
	b.put(product("p2", "blue-shoe", false))
	expect(t, b.reg, map[string]string{
		"/p/red-shoe": "entity p1", "/p/red-shoe/": "redirect /p/red-shoe", "/p/blue-shoe": "not_found", "/p/nothing": "not_found", "/red-shoe": "not_found",
	})
	b.put(product("p1", "crimson-shoe", true))
	b.put(product("p1", "scarlet-shoe", true))
	expect(t, b.reg, map[string]string{
		"/p/red-shoe": "redirect /p/scarlet-shoe", "/p/crimson-shoe": "redirect /p/scarlet-shoe", "/p/scarlet-shoe": "entity p1",
	})
	// Unpublished: its paths answer nothing (it may come back); a new
	// product takes a freed slug at once.
	b.put(product("p1", "scarlet-shoe", false))
	b.put(product("p3", "red-shoe", true))
	expect(t, b.reg, map[string]string{"/p/scarlet-shoe": "not_found", "/p/crimson-shoe": "not_found", "/p/red-shoe": "entity p3"})
	// Back to the old slug: it is the current path again, not a redirect.
	b.put(product("p1", "crimson-shoe", true))
	expect(t, b.reg, map[string]string{"/p/crimson-shoe": "entity p1", "/p/scarlet-shoe": "redirect /p/crimson-shoe"})
	// Deleted: every path of it is gone, except what another holds.
	b.put(gone(product("p1", "crimson-shoe", true)))
	expect(t, b.reg, map[string]string{"/p/crimson-shoe": "gone", "/p/scarlet-shoe": "gone", "/p/red-shoe": "entity p3"})
	// A deleted product's slug reused by a new one.
	b.put(product("p4", "crimson-shoe", true))
	expect(t, b.reg, map[string]string{"/p/crimson-shoe": "entity p4"})
}

func TestCategoryPathsCascade(t *testing.T) {
	b := newBook(t)
	b.put(category("men", "", "men"))
	b.put(category("shoes", "men", "shoes"))
	b.put(category("boots", "shoes", "boots"))
	b.put(category("women", "", "women"))
	expect(t, b.reg, map[string]string{"/men": "entity men", "/men/shoes": "entity shoes", "/men/shoes/boots": "entity boots", "/shoes": "not_found"})

	// Renaming the root moves the subtree; every old path redirects.
	b.put(category("men", "", "gents"))
	expect(t, b.reg, map[string]string{
		"/gents/shoes/boots": "entity boots", "/men": "redirect /gents", "/men/shoes": "redirect /gents/shoes",
		"/men/shoes/boots": "redirect /gents/shoes/boots", "/men/shoes/nothing": "not_found",
	})
	// Moving shoes under women moves boots with it, and the paths of both
	// earlier places still lead there.
	b.put(category("shoes", "women", "shoes"))
	expect(t, b.reg, map[string]string{
		"/women/shoes/boots": "entity boots", "/gents/shoes": "redirect /women/shoes", "/gents/shoes/boots": "redirect /women/shoes/boots",
		"/men/shoes/boots": "redirect /women/shoes/boots", "/men": "redirect /gents",
	})
	// A new category may take an old path: it is its, not a redirect.
	b.put(category("new", "", "men"))
	expect(t, b.reg, map[string]string{"/men": "entity new"})
	// Deletion (children first, as a cascade announces them) is gone.
	b.put(gone(category("boots", "shoes", "boots")))
	b.put(gone(category("shoes", "women", "shoes")))
	expect(t, b.reg, map[string]string{"/women/shoes": "gone", "/women/shoes/boots": "gone", "/women": "entity women"})
}

func TestCategoryReservedAndOutOfOrder(t *testing.T) {
	b := newBook(t)
	// A child whose parent's event is not in yet has no path until it is.
	b.put(category("kid", "root", "kid"))
	expect(t, b.reg, map[string]string{"/kid": "not_found"})
	b.put(category("root", "", "toys"))
	expect(t, b.reg, map[string]string{"/toys/kid": "entity kid"})
	for _, slug := range []string{"api", "p", "blog", "cart", "static"} {
		b.put(category("r-"+slug, "", slug))
		b.put(category("c-"+slug, "r-"+slug, "child"))
		expect(t, b.reg, map[string]string{"/" + slug: "not_found", "/" + slug + "/child": "not_found"})
	}
	// A reserved prefix is a whole segment: "/apiary" is free.
	b.put(category("apiary", "", "apiary"))
	expect(t, b.reg, map[string]string{"/apiary": "entity apiary"})
}

func TestArticlePaths(t *testing.T) {
	b := newBook(t)
	a := entry{Type: contract.SEOArticle, ID: "a1", Slug: "hello", Article: &articleInfo{Title: "Hello"}}
	b.put(a)
	expect(t, b.reg, map[string]string{"/blog/hello": "not_found"})
	a.Public = true
	b.put(a)
	a.Slug = "hello-world"
	b.put(a)
	expect(t, b.reg, map[string]string{"/blog/hello-world": "entity a1", "/blog/hello": "redirect /blog/hello-world"})
}

// The registry's answers are the same after a restart: a snapshot of the
// entries rebuilds every path, redirects included.
func TestRegistrySnapshot(t *testing.T) {
	b := newBook(t)
	b.put(category("men", "", "men"))
	b.put(category("shoes", "men", "shoes"))
	b.put(category("men", "", "gents"))
	b.put(product("p1", "a", true))
	b.put(product("p1", "b", true))
	var all []feed.Change
	for k, e := range b.held {
		body, _ := json.Marshal(e)
		all = append(all, feed.Change{Key: k, Seq: 1, Version: 1, Body: body})
	}
	fresh := newRegistry(b.reg.log)
	fresh.apply(all, true)
	expect(t, fresh, map[string]string{"/men/shoes": "redirect /gents/shoes", "/gents/shoes": "entity shoes", "/p/a": "redirect /p/b", "/p/b": "entity p1"})
}

func TestSitemapChunks(t *testing.T) {
	old := sitemapRefresh
	sitemapRefresh = 0
	t.Cleanup(func() { sitemapRefresh = old })
	b := newBook(t)
	const n = 2*contract.SitemapChunkSize + 7
	for i := range n {
		b.put(product(fmt.Sprint("p", i), fmt.Sprintf("item-%06d", i), true))
	}
	b.put(product("draft", "draft", false))
	b.put(product("p0", "renamed", true)) // its old path is no URL of the sitemap
	idx := b.reg.sitemapIndex()
	if idx.Total != n || len(idx.Chunks) != 3 || idx.Rev != b.seq {
		t.Fatalf("index: %d URLs in %d chunks at rev %d, want %d in 3 at %d", idx.Total, len(idx.Chunks), idx.Rev, n, b.seq)
	}
	var all []string
	for _, c := range idx.Chunks {
		got, after := 0, ""
		for {
			page, ok := b.reg.sitemapPage(c.N, after, contract.MaxSitemapPage)
			if !ok {
				t.Fatalf("chunk %d missing", c.N)
			}
			for _, u := range page.URLs {
				if u.LastMod.IsZero() {
					t.Fatalf("%s has no lastmod", u.Path)
				}
				all = append(all, u.Path)
			}
			got += len(page.URLs)
			if after = page.Next; after == "" {
				break
			}
		}
		want := min(contract.SitemapChunkSize, n-(c.N-1)*contract.SitemapChunkSize)
		if got != want {
			t.Errorf("chunk %d has %d URLs, want %d", c.N, got, want)
		}
	}
	if len(all) != n || !slices.IsSorted(all) || slices.Contains(all, "/p/draft") || slices.Contains(all, "/p/item-000000") || !slices.Contains(all, "/p/renamed") {
		t.Fatalf("sitemap: %d URLs, sorted %v, draft or old path listed", len(all), slices.IsSorted(all))
	}
	if len(slices.Compact(slices.Clone(all))) != n {
		t.Fatal("a URL is listed twice")
	}
	if _, ok := b.reg.sitemapPage(4, "", 10); ok {
		t.Fatal("chunk 4 of 3 exists")
	}
}
