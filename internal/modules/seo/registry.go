package seo

import (
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/feed"
)

// registry is one instance's in-memory URL space: every entity of the
// registry feed, and the path → entity map that resolve answers from.
// The feed's Tailer is its only writer (apply); resolve, meta and the
// sitemaps read it under a read lock, so a lookup is a map read or two.
type registry struct {
	log *slog.Logger

	mu      sync.RWMutex
	nodes   map[string]*node // by feed key
	paths   map[string]claim // the winning claim of each path
	shadow  map[string][]claim
	rev     int64 // the highest feed seq applied: the registry's revision
	changed time.Time

	sitemap sitemapCache
}

// node is an entity placed in the URL space: its entry, kept compact
// because there is one per path of the shop (a million products are a
// million nodes): the id is the key's tail, lastmod is unix seconds, and
// a product's or article's slug is the tail of its path.
type node struct {
	key     string // "<type>:<id>"
	typ     contract.SEOEntityType
	public  bool
	deleted bool
	lastmod int64
	slug    string
	parent  string  // a category's parent id
	hist    []place // the places it had before (entry.Old)
	article *articleInfo
	path    string   // current path; "" when it has none (a category under a missing or reserved ancestor)
	old     []string // the old paths it claims
}

func (n *node) live() bool { return !n.deleted }

// id is the entity's id: the key after "<type>:".
func (n *node) id() string { return n.key[len(n.typ)+1:] }

// set replaces n's entry.
func (n *node) set(e entry) {
	n.typ, n.public, n.deleted, n.lastmod = e.Type, e.Public, e.Deleted, e.LastMod.Unix()
	n.slug, n.parent, n.hist, n.article = e.Slug, e.Parent, e.Old, e.Article
	if len(n.hist) == 0 {
		n.hist = nil
	}
}

// claim is a node's hold on a path: its current path, or an old one.
type claim struct {
	n   *node
	old bool
}

// rank orders claims of one path: a live entity's current path beats its
// old paths and every path of a deleted entity, so a slug taken by a new
// entity is theirs at once, and an old path stays a redirect until then.
func (c claim) rank() int {
	switch {
	case c.n.live() && !c.old:
		return 3
	case c.n.live():
		return 2
	case !c.old:
		return 1
	}
	return 0
}

// better reports whether a beats b; between equals the newer entity wins,
// then the key, so that every instance picks the same.
func better(a, b claim) bool {
	if ra, rb := a.rank(), b.rank(); ra != rb {
		return ra > rb
	}
	if a.n.lastmod != b.n.lastmod {
		return a.n.lastmod > b.n.lastmod
	}
	return a.n.key < b.n.key
}

func newRegistry(log *slog.Logger) *registry {
	return &registry{log: log, nodes: map[string]*node{}, paths: map[string]claim{}, shadow: map[string][]claim{}}
}

// apply is the feed.Tailer callback: a snapshot (reset) or changes in seq
// order. The entries are decoded before the lock is taken, so resolve
// waits only for the map updates.
func (r *registry) apply(changes []feed.Change, reset bool) {
	entries := make([]*entry, len(changes))
	for i, c := range changes {
		if c.Deleted {
			continue
		}
		e, err := decodeEntry(c.Body)
		if err != nil {
			r.log.Error("seo: skipping a registry entry that does not decode", "key", c.Key, "err", err)
			continue
		}
		entries[i] = &e
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if reset {
		r.nodes, r.paths, r.shadow, r.rev = make(map[string]*node, len(changes)), make(map[string]claim, len(changes)), map[string][]claim{}, 0
	}
	categories := reset
	for i, c := range changes {
		r.rev = max(r.rev, c.Seq)
		n := r.nodes[c.Key]
		if n != nil {
			r.unplace(n)
		}
		if c.Deleted { // a feed tombstone: seo writes none, but a key may be dropped by hand
			delete(r.nodes, c.Key)
			categories = categories || n != nil && n.typ == contract.SEOCategory
			continue
		}
		e := entries[i]
		if e == nil {
			continue
		}
		if n == nil {
			n = &node{key: c.Key}
			r.nodes[c.Key] = n
		}
		n.set(*e)
		if n.typ == contract.SEOCategory {
			categories = true // placed below, with every other category
			continue
		}
		cur, old := r.pathsOf(n, nil)
		if cur != "" {
			n.slug = cur[len(cur)-len(n.slug):] // share the path's bytes
		}
		r.place(n, cur, old)
	}
	if categories {
		r.placeCategories()
	}
	r.changed = time.Now()
}

// pathsOf returns n's current and old paths. catPaths holds the current
// paths of the categories (nil outside placeCategories, where n is not a
// category).
func (r *registry) pathsOf(n *node, catPaths map[string]string) (string, []string) {
	var prefix string
	switch n.typ {
	case contract.SEOProduct:
		prefix = contract.ProductPathPrefix
	case contract.SEOArticle:
		prefix = contract.ArticlePathPrefix
	case contract.SEOCategory:
		cur := underParent(catPaths, n.parent, n.slug)
		var old []string
		for _, p := range n.hist {
			if o := underParent(catPaths, p.Parent, p.Slug); o != "" && o != cur {
				old = append(old, o)
			}
		}
		return cur, old
	default:
		return "", nil
	}
	var old []string
	for _, p := range n.hist {
		if p.Slug != "" && p.Slug != n.slug {
			old = append(old, prefix+p.Slug)
		}
	}
	if n.slug == "" {
		return "", old
	}
	return prefix + n.slug, old
}

// underParent is the path of slug under the category parent ("" a root):
// "" when the parent has no path, or when the path is reserved.
func underParent(catPaths map[string]string, parent, slug string) string {
	if slug == "" {
		return ""
	}
	base := ""
	if parent != "" {
		base = catPaths[parent]
		if base == "" {
			return ""
		}
	}
	p := base + "/" + slug
	if contract.IsReserved(p) {
		return ""
	}
	return p
}

// placeCategories recomputes every category's paths from the tree the
// entries describe, and moves the claims of those whose paths changed: a
// rename or move of a category moves its whole subtree.
func (r *registry) placeCategories() {
	parents := map[string]string{}
	slugs := map[string]string{}
	for _, n := range r.nodes {
		if n.typ == contract.SEOCategory {
			parents[n.id()], slugs[n.id()] = n.parent, n.slug
		}
	}
	catPaths := make(map[string]string, len(slugs))
	var pathOf func(id string, depth int) string
	pathOf = func(id string, depth int) string {
		if p, ok := catPaths[id]; ok {
			return p
		}
		slug, ok := slugs[id]
		if !ok || depth > 64 { // a missing ancestor (its event not in yet), or a cycle
			return ""
		}
		base := ""
		if parent := parents[id]; parent != "" {
			if base = pathOf(parent, depth+1); base == "" {
				catPaths[id] = ""
				return ""
			}
		}
		p := base + "/" + slug
		if contract.IsReserved(p) {
			p = ""
		}
		catPaths[id] = p
		return p
	}
	for id := range slugs {
		pathOf(id, 0)
	}
	reserved := 0
	for _, n := range r.nodes {
		if n.typ != contract.SEOCategory {
			continue
		}
		cur, old := r.pathsOf(n, catPaths)
		if cur == "" && n.parent == "" && n.live() {
			reserved++
		}
		if cur == n.path && equal(old, n.old) {
			continue
		}
		r.unplace(n)
		r.place(n, cur, old)
	}
	if reserved > 0 {
		r.log.Warn("seo: root categories whose slug is a reserved prefix get no path", "count", reserved, "reserved", contract.ReservedPrefixes)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// place gives n its paths and claims them.
func (r *registry) place(n *node, cur string, old []string) {
	n.path, n.old = cur, old
	if cur != "" {
		r.claim(cur, claim{n: n})
	}
	for _, p := range old {
		r.claim(p, claim{n: n, old: true})
	}
}

// unplace drops n's claims, letting the best shadowed claim of each path
// take it.
func (r *registry) unplace(n *node) {
	if n.path != "" {
		r.unclaim(n.path, n)
	}
	for _, p := range n.old {
		r.unclaim(p, n)
	}
	n.path, n.old = "", nil
}

func (r *registry) claim(p string, c claim) {
	cur, ok := r.paths[p]
	switch {
	case !ok:
		r.paths[p] = c
	case better(c, cur):
		r.paths[p] = c
		r.shadow[p] = append(r.shadow[p], cur)
	default:
		r.shadow[p] = append(r.shadow[p], c)
	}
}

func (r *registry) unclaim(p string, n *node) {
	sh := r.shadow[p]
	if cur, ok := r.paths[p]; ok && cur.n == n {
		if len(sh) == 0 {
			delete(r.paths, p)
			return
		}
		best := 0
		for i := range sh {
			if better(sh[i], sh[best]) {
				best = i
			}
		}
		r.paths[p] = sh[best]
		sh = append(sh[:best], sh[best+1:]...)
	} else {
		keep := sh[:0]
		for _, c := range sh {
			if c.n != n {
				keep = append(keep, c)
			}
		}
		sh = keep
	}
	if len(sh) == 0 {
		delete(r.shadow, p)
	} else {
		r.shadow[p] = sh
	}
}

// maxHops bounds the rewrites of one resolve (an old category path whose
// new place is itself an old path of another, and so on).
const maxHops = 8

// resolve answers what path is. It is called on every storefront
// catch-all request, so it is a few map reads under a read lock.
func (r *registry) resolve(path string) contract.Resolution {
	r.mu.RLock()
	defer r.mu.RUnlock()
	res := r.lookup(path, 0)
	if res.Kind == contract.ResolveNotFound && len(path) > 1 && strings.HasSuffix(path, "/") {
		// "/shoes/" is "/shoes".
		if sub := r.lookup(strings.TrimRight(path, "/"), 0); sub.Kind == contract.ResolveEntity || sub.Kind == contract.ResolveRedirect {
			res = redirect(sub)
		}
	}
	res.Path = path
	return res
}

// redirect turns the answer for a rewritten path into a redirect to
// wherever it leads.
func redirect(sub contract.Resolution) contract.Resolution {
	target := sub.Target
	if sub.Kind == contract.ResolveEntity {
		target = sub.Path
	}
	return contract.Resolution{Kind: contract.ResolveRedirect, Type: sub.Type, ID: sub.ID, Target: target}
}

// lookup is resolve under the lock.
func (r *registry) lookup(path string, hops int) contract.Resolution {
	if c, ok := r.paths[path]; ok {
		n := c.n
		res := contract.Resolution{Path: path, Type: n.typ, ID: n.id()}
		switch {
		case !n.live():
			res.Kind = contract.ResolveGone
		case !n.public || c.old && n.path == "":
			return contract.Resolution{Kind: contract.ResolveNotFound, Path: path}
		case c.old:
			res.Kind, res.Target = contract.ResolveRedirect, n.path
		default:
			res.Kind = contract.ResolveEntity
		}
		return res
	}
	// Below an old category path: the same place under the category's
	// current path, if something is there.
	for i := strings.LastIndexByte(path, '/'); i > 0; i = strings.LastIndexByte(path[:i], '/') {
		c, ok := r.paths[path[:i]]
		if !ok {
			continue
		}
		if c.old && c.n.typ == contract.SEOCategory && c.n.live() && c.n.path != "" && hops < maxHops {
			if sub := r.lookup(c.n.path+path[i:], hops+1); sub.Kind == contract.ResolveEntity || sub.Kind == contract.ResolveRedirect {
				return redirect(sub)
			}
		}
		break
	}
	return contract.Resolution{Kind: contract.ResolveNotFound, Path: path}
}

// entity returns the current path of an entity and, for an article, what
// its event said of it.
func (r *registry) entity(t contract.SEOEntityType, id string) (path string, article *articleInfo, ok bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	n, ok := r.nodes[key(t, id)]
	if !ok {
		return "", nil, false
	}
	return n.path, n.article, true
}

// revision is the highest feed seq the registry has applied.
func (r *registry) revision() int64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.rev
}
