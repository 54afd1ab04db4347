package seo

import (
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/shopengine/shop/internal/contract"
)

// sitemapCache is the registry's public paths in path order, with their
// lastmod: what the sitemap chunks are cut from. Sorting a million paths
// takes about a second, longer than a page request may wait, so only the
// first build is waited for; after a change the cache is rebuilt in the
// background, at most once per sitemapRefresh, and requests meanwhile
// read the previous one. A crawler reading twenty chunks of a changing
// catalogue thus never sorts per page, and resolve waits only for the
// copy of the paths (the sort runs outside the registry's lock).
//
// Chunk n is positions [(n-1)·SitemapChunkSize, n·SitemapChunkSize) of
// the order; a page of it is keyset-paged by path (After), so a rebuild
// between two pages of one chunk neither repeats nor skips a path that
// stayed.
type sitemapCache struct {
	mu       sync.Mutex
	building chan struct{} // non-nil while a build runs; closed when done
	built    time.Time
	from     time.Time // registry.changed when built
	rev      int64
	urls     []sitemapURL // nil until the first build
	mods     []time.Time  // per chunk: the newest lastmod
}

// sitemapURL is one URL of the cache: 24 bytes per path besides the
// path's bytes, which it shares with the registry.
type sitemapURL struct {
	path string
	mod  int64 // unix seconds
}

// sitemapRefresh is how stale the sitemap may be while the registry
// changes: a second of lag costs crawlers nothing, and a bulk import then
// sorts the paths once a second at most, not once per page.
var sitemapRefresh = time.Second

// sitemapURLs returns the cache, starting a rebuild if the registry
// changed since it was built and it is older than sitemapRefresh. The
// slices are never modified after they are built, so callers read them
// without a lock.
func (r *registry) sitemapURLs() ([]sitemapURL, []time.Time, int64) {
	c := &r.sitemap
	r.mu.RLock()
	changed := r.changed
	r.mu.RUnlock()
	c.mu.Lock()
	stale := c.urls == nil || !changed.Equal(c.from) && time.Since(c.built) >= sitemapRefresh
	if stale && c.building == nil {
		c.building = make(chan struct{})
		go r.buildSitemap(c.building)
	}
	if c.urls == nil {
		wait := c.building
		c.mu.Unlock()
		<-wait
		c.mu.Lock()
	}
	urls, mods, rev := c.urls, c.mods, c.rev
	c.mu.Unlock()
	return urls, mods, rev
}

// buildSitemap makes the cache from the registry, then closes done.
func (r *registry) buildSitemap(done chan struct{}) {
	r.mu.RLock()
	changed := r.changed
	urls := make([]sitemapURL, 0, len(r.nodes))
	for _, n := range r.nodes {
		if n.path != "" && n.live() && n.public {
			if cl, ok := r.paths[n.path]; ok && cl.n == n {
				urls = append(urls, sitemapURL{path: n.path, mod: n.lastmod})
			}
		}
	}
	rev := r.rev
	r.mu.RUnlock()
	slices.SortFunc(urls, func(a, b sitemapURL) int { return strings.Compare(a.path, b.path) })
	var mods []time.Time
	for i := 0; i < len(urls); i += contract.SitemapChunkSize {
		newest := int64(0)
		for _, u := range urls[i:min(i+contract.SitemapChunkSize, len(urls))] {
			newest = max(newest, u.mod)
		}
		mods = append(mods, time.Unix(newest, 0).UTC())
	}
	c := &r.sitemap
	c.mu.Lock()
	c.urls, c.mods, c.rev, c.built, c.from, c.building = urls, mods, rev, time.Now(), changed, nil
	c.mu.Unlock()
	close(done)
}

// sitemapIndex lists the chunks.
func (r *registry) sitemapIndex() contract.SitemapIndex {
	urls, mods, rev := r.sitemapURLs()
	idx := contract.SitemapIndex{Chunks: make([]contract.SitemapChunk, len(mods)), Total: len(urls), Rev: rev}
	for i, m := range mods {
		idx.Chunks[i] = contract.SitemapChunk{N: i + 1, LastMod: m}
	}
	return idx
}

// sitemapPage returns up to limit URLs of chunk n after the path after;
// ok is false when the chunk does not exist.
func (r *registry) sitemapPage(n int, after string, limit int) (contract.SitemapPage, bool) {
	urls, mods, rev := r.sitemapURLs()
	if n < 1 || n > len(mods) {
		return contract.SitemapPage{Rev: rev}, false
	}
	lo, hi := (n-1)*contract.SitemapChunkSize, min(n*contract.SitemapChunkSize, len(urls))
	chunk := urls[lo:hi]
	start := 0
	if after != "" {
		start = sort.Search(len(chunk), func(i int) bool { return chunk[i].path > after })
	}
	end := min(start+limit, len(chunk))
	page := contract.SitemapPage{URLs: make([]contract.SitemapURL, 0, end-start), Rev: rev}
	for _, u := range chunk[start:end] {
		page.URLs = append(page.URLs, contract.SitemapURL{Path: u.path, LastMod: time.Unix(u.mod, 0).UTC()})
	}
	if end < len(chunk) {
		page.Next = chunk[end-1].path
	}
	return page, true
}
