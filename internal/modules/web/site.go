package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/go-chi/chi/v5/middleware"
)

// Assets is where the storefront's templates and static files come from:
// the tree embedded from the repository's web/ directory (package
// shop/web), or, with --dev-assets, the same tree on disk, re-read on
// every request so that an edit shows at the next reload.
type Assets struct {
	FS fs.FS
	// Live re-parses the templates per request (development only).
	Live bool
}

// site renders the storefront's pages: one template set per page (the
// layout, every partial and the page's own file), parsed once at start
// unless the assets are live.
type site struct {
	assets Assets
	mu     sync.Mutex
	pages  map[string]*template.Template
	hashes map[string]string // static file → short content hash, for ?v=
	memo   renderMemo
}

// newSite parses every page template; a broken template fails the start,
// not the first request that needs it.
func newSite(a Assets) (*site, error) {
	s := &site{assets: a}
	pages, hashes, err := s.parse()
	if err != nil {
		return nil, err
	}
	s.pages, s.hashes = pages, hashes
	return s, nil
}

func (s *site) parse() (map[string]*template.Template, map[string]string, error) {
	hashes := map[string]string{}
	funcs := templateFuncs(func(name string) string { return "/static/" + name + "?v=" + hashes[name] })
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(s.assets.FS, "templates/layout.html", "templates/partials/*.html")
	if err != nil {
		return nil, nil, fmt.Errorf("storefront templates: %w", err)
	}
	files, err := fs.Glob(s.assets.FS, "templates/pages/*.html")
	if err != nil || len(files) == 0 {
		return nil, nil, fmt.Errorf("storefront templates: no pages in templates/pages (%v)", err)
	}
	pages := map[string]*template.Template{}
	for _, f := range files {
		t, err := base.Clone()
		if err == nil {
			t, err = t.ParseFS(s.assets.FS, f)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("storefront template %s: %w", f, err)
		}
		pages[strings.TrimSuffix(path.Base(f), ".html")] = t
	}
	err = fs.WalkDir(s.assets.FS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(s.assets.FS, p)
		if err != nil {
			return err
		}
		hashes[strings.TrimPrefix(p, "static/")] = contentHash(b)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("storefront static files: %w", err)
	}
	return pages, hashes, nil
}

// page returns the template set of page name, re-parsed when live.
func (s *site) page(name string) (*template.Template, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.assets.Live {
		pages, hashes, err := s.parse()
		if err != nil {
			return nil, err
		}
		s.pages, s.hashes = pages, hashes
	}
	t, ok := s.pages[name]
	if !ok {
		return nil, fmt.Errorf("storefront: no page template %q", name)
	}
	return t, nil
}

// render writes page name in the layout with status. It renders into a
// buffer first, so that a template error is a clean 500, never half a
// page. A catalogue page rendered before with the same view is served
// from the render memo (memo.go) without executing the templates.
func (m *Module) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	buf, key := pooledBuffer(), pooledBuffer()
	defer releaseBuffers(buf, key)
	memo := !m.site.assets.Live && memoKey(key, r, status, name, v)
	if memo {
		if html, ok := m.site.memo.get(key.Bytes()); ok {
			writePage(w, status, html)
			return
		}
	}
	t, err := m.site.page(name)
	if err == nil {
		err = t.ExecuteTemplate(buf, "layout.html", v)
	}
	if err != nil {
		m.cfg.Log.Error("render page", "page", name, "request_id", middleware.GetReqID(r.Context()), "err", err)
		http.Error(w, "internal error rendering the page; request id "+middleware.GetReqID(r.Context()), http.StatusInternalServerError)
		return
	}
	if memo {
		m.site.memo.put(key.Bytes(), bytes.Clone(buf.Bytes()))
	}
	writePage(w, status, buf.Bytes())
}

// writePage answers a rendered page.
func writePage(w http.ResponseWriter, status int, html []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(html)))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	if h.Get("Cache-Control") == "" {
		// Pages show the header's account state: never shared caches.
		h.Set("Cache-Control", "private, no-cache")
	}
	w.WriteHeader(status)
	_, _ = w.Write(html)
}
