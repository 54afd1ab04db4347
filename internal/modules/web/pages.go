package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
)

// pageRoutes mounts the storefront on r beside the API and the process
// routes (chi's static routes and the /api/v1 mount win over the "/*"
// catch-all, so nothing here shadows them).
func (m *Module) pageRoutes(r chi.Router) {
	pages := chi.NewRouter()
	m.pageMiddleware(pages)
	pages.NotFound(m.notFoundPage)
	pages.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		m.renderError(w, r, http.StatusMethodNotAllowed, "Method not allowed", "This page cannot be "+r.Method+"-ed.")
	})
	pages.Get("/static/*", m.staticFile)
	pages.Get(placeholderPrefix+"{file}", m.productSVG)
	pages.Get("/", m.homePage)
	pages.Get("/search", m.searchPage)
	pages.Get(contract.ProductPathPrefix+"{slug}", m.entityPage)
	m.cartPageRoutes(pages)
	m.accountRoutes(pages)
	pages.Get("/*", m.catchAll)
	r.Mount("/", pages)
	m.track("", pages)
}

// pageMiddleware is what every storefront page runs under: the page's
// budget, the refusal of cross-site form posts, the session.
func (m *Module) pageMiddleware(r chi.Router) {
	r.Use(withPageBudget, m.crossOrigin(http.HandlerFunc(m.crossOriginPage)), m.authenticate)
}

// layout starts a page's view: the header's parts are gathered with the
// page's own (the menu and the cart badge are optional: a header without
// them is still a header), and the notice a redirect asked for is set.
func (m *Module) layout(g *gatherer, r *http.Request) *view {
	c := callerOf(r.Context())
	v := &view{Header: header{SignedIn: c.p.IsUser(), Path: r.URL.RequestURI()}}
	withDone(v, r)
	g.Optional("menu", "", func(r *http.Request) error {
		tree, id, err := m.numberedTree(r)
		v.Header.Menu, v.menuID = tree.Roots, id
		return err
	})
	if m.seams.cartBadge != nil {
		g.Optional("cart", "", func(r *http.Request) error {
			b, err := m.seams.cartBadge(r)
			if err == nil {
				v.Header.Cart = &b
			}
			return err
		})
	}
	return v
}

// withSEO asks seo (when wired) for the metadata of the page as an
// optional part: what it gives overrides what the page set, field by
// field, when the page finishes; without it the page's own meta stands.
func (m *Module) withSEO(g *gatherer, v *view) {
	if m.seams.meta == nil {
		return
	}
	g.Optional("seo", "", func(r *http.Request) error {
		meta, err := m.seams.meta(r)
		if err == nil {
			g.mu.Lock()
			v.seo = &meta
			g.mu.Unlock()
		}
		return err
	})
}

// mergeMeta lays seo's non-empty fields over the page's.
func mergeMeta(page PageMeta, seo *PageMeta) PageMeta {
	if seo == nil {
		return page
	}
	for _, f := range []struct {
		dst *string
		src string
	}{
		{&page.Lang, seo.Lang}, {&page.Title, seo.Title}, {&page.Description, seo.Description},
		{&page.Canonical, seo.Canonical}, {&page.Robots, seo.Robots}, {&page.OGType, seo.OGType}, {&page.OGImage, seo.OGImage},
	} {
		if f.src != "" {
			*f.dst = f.src
		}
	}
	if len(seo.JSONLD) > 0 {
		page.JSONLD = seo.JSONLD
	}
	return page
}

// finish waits for the page's parts and renders it, or the error page of
// the required part that failed.
func (m *Module) finish(w http.ResponseWriter, r *http.Request, g *gatherer, v *view, name string) {
	m.finishStatus(w, r, g, v, http.StatusOK, name)
}

// finishStatus is finish answering with status (a form shown again with
// its errors is a 400 or 409).
func (m *Module) finishStatus(w http.ResponseWriter, r *http.Request, g *gatherer, v *view, status int, name string) {
	if err := g.Wait(); err != nil {
		m.pageError(w, r, err)
		return
	}
	// The parts fail in any order: named in one, the same outage is the
	// same page (and one entry of the render memo).
	slices.Sort(g.degraded)
	v.Degraded, v.Notices = g.degraded, append(v.Notices, g.notices...)
	v.Meta = mergeMeta(v.Meta, v.seo).withDefaults(r)
	m.render(w, r, status, name, v)
}

// errorPage is the content of an error page.
type errorPage struct {
	Status         int
	Title, Message string
	RequestID      string
}

// pageError renders the page of a bus error: not found 404, invalid 400,
// unavailable or timed out 503 (with Retry-After), else 500.
func (m *Module) pageError(w http.ResponseWriter, r *http.Request, err error) {
	switch code := bus.CodeOf(err); {
	case code == bus.CodeNotFound:
		m.renderError(w, r, http.StatusNotFound, "Page not found", "We could not find what you were looking for. It may have moved, or it never existed.")
	case code == bus.CodeInvalid:
		m.renderError(w, r, http.StatusBadRequest, "Bad request", bus.AsError(err).Message)
	case code == bus.CodeUnauthorized || code == bus.CodeForbidden:
		m.renderError(w, r, http.StatusForbidden, "Not for you", "This page needs another account.")
	case code == bus.CodeUnavailable || code == bus.CodeTimeout || errDeadline(err):
		m.unavailablePage(w, r, "Part of the shop is not answering right now. Please try again in a moment.")
	default:
		m.cfg.Log.Error("page failed", "path", r.URL.Path, "request_id", middleware.GetReqID(r.Context()), "err", err)
		m.renderError(w, r, http.StatusInternalServerError, "Something went wrong", "The shop failed to show this page. It has been logged.")
	}
}

// retryAfterSeconds is the Retry-After of a 503 page.
const retryAfterSeconds = 5

func (m *Module) unavailablePage(w http.ResponseWriter, r *http.Request, msg string) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	m.renderError(w, r, http.StatusServiceUnavailable, "Temporarily unavailable", msg)
}

// renderError renders an error page in the layout. Its header is only
// what needs no bus call (an error page must not wait for the bus that
// may be what failed); it is never indexed.
func (m *Module) renderError(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	c := callerOf(r.Context())
	v := &view{
		Meta:   PageMeta{Title: title, Robots: "noindex"}.withDefaults(r),
		Header: header{SignedIn: c.p.IsUser(), Path: r.URL.RequestURI(), Query: r.URL.Query().Get("q")},
		Page:   errorPage{Status: status, Title: title, Message: msg, RequestID: middleware.GetReqID(r.Context())},
	}
	if tree, ok := m.tree.cached(); ok {
		v.Header.Menu = tree.Roots
	}
	w.Header().Set("Cache-Control", "no-store")
	m.render(w, r, status, "error", v)
}

func (m *Module) notFoundPage(w http.ResponseWriter, r *http.Request) {
	m.renderError(w, r, http.StatusNotFound, "Page not found", "We could not find what you were looking for. It may have moved, or it never existed.")
}

// crossOriginPage is the refusal of a cross-site form post.
func (m *Module) crossOriginPage(w http.ResponseWriter, r *http.Request) {
	m.renderError(w, r, http.StatusForbidden, "Request refused", "This form was sent from another site. Please use the form on this page.")
}

// catchAll serves every other path through the resolver (categories: a
// path under a reserved prefix is never one, so no slug shadows the
// shop's routes).
func (m *Module) catchAll(w http.ResponseWriter, r *http.Request) {
	if contract.IsReserved(r.URL.Path) {
		m.notFoundPage(w, r)
		return
	}
	m.servePath(w, r, r.URL.Path)
}

// entityPage serves /p/{slug} and /blog/{slug} through the resolver: an
// old slug is a 301, a deleted product or article a 410.
func (m *Module) entityPage(w http.ResponseWriter, r *http.Request) {
	m.servePath(w, r, r.URL.Path)
}

// treeTTL is how long the category tree is reused: the menu of every page
// and the catch-all need it, and a category edit may show a second late.
const treeTTL = time.Second

// treeCache holds the last category tree read.
type treeCache struct {
	mu   sync.Mutex
	tree contract.CategoryTree
	at   time.Time
	id   uint64 // the tree's number (sharedIDs), for the render memo
}

func (c *treeCache) cached() (contract.CategoryTree, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tree, !c.at.IsZero() && time.Since(c.at) < treeTTL
}

// categoryTree is the category tree, from the cache or the category module.
func (m *Module) categoryTree(r *http.Request) (contract.CategoryTree, error) {
	t, _, err := m.numberedTree(r)
	return t, err
}

// numberedTree is categoryTree with the tree's number: every tree read
// gets a new one (sharedIDs), and the tree is never changed after, so
// the number stands for the tree's content.
func (m *Module) numberedTree(r *http.Request) (contract.CategoryTree, uint64, error) {
	m.tree.mu.Lock()
	if !m.tree.at.IsZero() && time.Since(m.tree.at) < treeTTL {
		defer m.tree.mu.Unlock()
		return m.tree.tree, m.tree.id, nil
	}
	m.tree.mu.Unlock()
	t, err := call(m, r, contract.GetCategoryTree, contract.Empty{})
	if err != nil {
		return t, 0, err
	}
	id := sharedIDs.Add(1)
	m.tree.mu.Lock()
	m.tree.tree, m.tree.at, m.tree.id = t, time.Now(), id
	m.tree.mu.Unlock()
	return t, id, nil
}

// resolveCategoryPath is the resolver until seo's: the path is a
// category's slugs from its root ("/clothing/clothing-tops"), walked down
// the tree.
func (m *Module) resolveCategoryPath(r *http.Request, path string) (target, error) {
	tree, err := m.categoryTree(r)
	if err != nil {
		return target{}, err
	}
	trail := walkTree(tree.Roots, strings.Split(path, "/"))
	if trail == nil {
		return target{}, bus.Errorf(bus.CodeNotFound, "no category at /%s", path)
	}
	return target{Kind: targetCategory, ID: trail[len(trail)-1].ID}, nil
}

// walkTree follows slugs down from nodes: the nodes passed, or nil when a
// slug is not a child of the one before.
func walkTree(nodes []contract.CategoryNode, slugs []string) []contract.CategoryNode {
	var trail []contract.CategoryNode
	for _, s := range slugs {
		found := false
		for _, n := range nodes {
			if n.Slug == s {
				trail, nodes, found = append(trail, n), n.Children, true
				break
			}
		}
		if !found {
			return nil
		}
	}
	return trail
}

// findTrail returns the nodes from a root down to category id, or nil.
func findTrail(nodes []contract.CategoryNode, id string) []contract.CategoryNode {
	for _, n := range nodes {
		if n.ID == id {
			return []contract.CategoryNode{n}
		}
		if t := findTrail(n.Children, id); t != nil {
			return append([]contract.CategoryNode{n}, t...)
		}
	}
	return nil
}

// crumb is one breadcrumb: a category's name and full path.
type crumb struct{ Name, Path string }

// crumbsOf makes the breadcrumbs of a trail of categories.
func crumbsOf(trail []contract.CategoryNode) []crumb {
	out := make([]crumb, len(trail))
	p := ""
	for i, n := range trail {
		p += "/" + n.Slug
		out[i] = crumb{Name: n.Name, Path: p}
	}
	return out
}
