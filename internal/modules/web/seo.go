package web

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
)

// seoRoutes mounts seo's public reads (resolve, meta), its admin
// overrides, and the crawler files at the root: /sitemap.xml,
// /sitemap-N.xml and /robots.txt.
func (m *Module) seoRoutes(root, public, admin chi.Router) {
	public.Get("/seo/resolve", endpointStatus(m, contract.Resolve, resolveStatus,
		fromPath(func(q *contract.ResolveRequest) []binder { return []binder{requiredQuery("path", &q.Path)} })))
	public.Get("/seo/meta", endpoint(m, contract.GetMeta, http.StatusOK,
		fromPath(func(q *contract.MetaRequest) []binder { return []binder{pageQuery(q), m.baseURL(&q.BaseURL)} })))

	byKey := func(k *contract.SEOOverrideKey) []binder {
		return []binder{queryString("path", &k.Path), queryString("type", (*string)(&k.Type)), queryString("id", &k.ID)}
	}
	admin.Get("/seo/overrides", endpoint(m, contract.GetOverride, http.StatusOK, fromPath(byKey)))
	admin.Put("/seo/overrides", endpoint(m, contract.PutOverride, http.StatusOK,
		fromBody(func(q *contract.PutOverrideRequest) []binder { return []binder{ifMatch(&q.Version)} })))
	admin.Delete("/seo/overrides", endpoint(m, contract.DeleteOverride, http.StatusOK,
		fromOptionalBody(func(q *contract.DeleteOverrideRequest) []binder {
			return append(byKey(&q.SEOOverrideKey), ifMatch(&q.Version))
		})))

	root.Get("/sitemap.xml", m.sitemapIndex)
	root.Get("/sitemap-{n}.xml", m.sitemapChunk)
	root.Get("/robots.txt", m.robots)
	for _, p := range []string{"/sitemap.xml", "/sitemap-{n}.xml", "/robots.txt"} {
		m.Service.Track("GET " + p)
	}
}

// resolveStatus is the HTTP status of a resolution: a redirect is an
// answer (200; the storefront sends the 301), a gone path 410, a path
// nobody owns 404, each with the resolution as the body.
func resolveStatus(r contract.Resolution) int {
	switch r.Kind {
	case contract.ResolveGone:
		return http.StatusGone
	case contract.ResolveNotFound:
		return http.StatusNotFound
	}
	return http.StatusOK
}

// requiredQuery sets *dst from a query parameter that must be there.
func requiredQuery(name string, dst *string) binder {
	return binder{query: name, bind: func(r *http.Request) error {
		if !r.URL.Query().Has(name) {
			return bus.Errorf(bus.CodeInvalid, "query %s is required", name)
		}
		*dst = r.URL.Query().Get(name)
		return nil
	}}
}

// pageQuery sets a meta request's path and query from ?path=, which is the
// page's path with its own query string, if any (/shoes?sort=price,
// escaped).
func pageQuery(q *contract.MetaRequest) binder {
	b := requiredQuery("path", &q.Path)
	return binder{query: b.query, bind: func(r *http.Request) error {
		if err := b.bind(r); err != nil {
			return err
		}
		q.Path, q.Query, _ = strings.Cut(q.Path, "?")
		return nil
	}}
}

// baseURL sets *dst to the shop's address (publicURL), for the absolute
// URLs of canonical links and JSON-LD.
func (m *Module) baseURL(dst *string) binder {
	return binder{bind: func(r *http.Request) error {
		*dst = m.publicURL(r)
		return nil
	}}
}

// sitemapLimit is the page size web asks seo for while streaming a chunk.
const sitemapLimit = contract.MaxSitemapPage

const (
	xmlHeader  = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"
	sitemapsNS = `http://www.sitemaps.org/schemas/sitemap/0.9`
)

// sitemapIndex streams /sitemap.xml: one <sitemap> per chunk, with the
// registry revision as ETag.
func (m *Module) sitemapIndex(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := callContext(r)
	defer cancel()
	idx, err := bus.Call(ctx, m.cfg.Bus, contract.GetSitemapIndex, contract.Empty{})
	if err != nil {
		m.writeError(w, r, err)
		return
	}
	if notModified(w, r, idx.Rev) {
		return
	}
	base := m.publicURL(r)
	out := startXML(w)
	fmt.Fprintf(out, `%s<sitemapindex xmlns="%s">`+"\n", xmlHeader, sitemapsNS)
	for _, c := range idx.Chunks {
		fmt.Fprintf(out, "<sitemap><loc>%s/sitemap-%d.xml</loc><lastmod>%s</lastmod></sitemap>\n", escapeXML(base), c.N, c.LastMod.UTC().Format(time.RFC3339))
	}
	fmt.Fprint(out, "</sitemapindex>\n")
	_ = out.Flush()
}

// sitemapChunk streams /sitemap-N.xml: it asks seo for the chunk page by
// page and writes each page out as it comes, so neither process holds
// more than a page of it.
func (m *Module) sitemapChunk(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(chi.URLParam(r, "n"))
	if err != nil || n < 1 {
		m.writeError(w, r, bus.Errorf(bus.CodeNotFound, "no sitemap %q", chi.URLParam(r, "n")))
		return
	}
	ctx, cancel := callContext(r)
	defer func() { cancel() }() // the last page's
	page, err := bus.Call(ctx, m.cfg.Bus, contract.GetSitemapPage, contract.SitemapPageRequest{N: n, Limit: sitemapLimit})
	if err != nil {
		m.writeError(w, r, err)
		return
	}
	if notModified(w, r, page.Rev) {
		return
	}
	base := escapeXML(m.publicURL(r))
	out := startXML(w)
	fmt.Fprintf(out, `%s<urlset xmlns="%s">`+"\n", xmlHeader, sitemapsNS)
	written := 0
	for {
		for _, u := range page.URLs {
			if written == contract.SitemapChunkSize {
				break
			}
			fmt.Fprintf(out, "<url><loc>%s%s</loc><lastmod>%s</lastmod></url>\n", base, escapeXML((&url.URL{Path: u.Path}).EscapedPath()), u.LastMod.UTC().Format(time.RFC3339))
			written++
		}
		if page.Next == "" || written == contract.SitemapChunkSize {
			break
		}
		// Each page gets a fresh deadline: a chunk is twenty pages.
		cancel()
		ctx, cancel = callContext(r)
		page, err = bus.Call(ctx, m.cfg.Bus, contract.GetSitemapPage, contract.SitemapPageRequest{N: n, After: page.Next, Limit: sitemapLimit})
		if err != nil {
			// The status is sent: end the document short and say so in
			// the log; the crawler sees a truncated file and retries.
			m.cfg.Log.Error("sitemap: page failed mid-stream", "n", n, "written", written, "err", err)
			break
		}
	}
	fmt.Fprint(out, "</urlset>\n")
	_ = out.Flush()
}

// startXML sets the headers of an XML answer and returns its buffered
// writer.
func startXML(w http.ResponseWriter) *bufio.Writer {
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	return bufio.NewWriterSize(w, 32<<10)
}

// notModified sets the ETag of revision rev and answers 304 when the
// client has it already.
func notModified(w http.ResponseWriter, r *http.Request, rev int64) bool {
	tag := entityTag(rev)
	w.Header().Set("ETag", tag)
	for _, t := range strings.Split(r.Header.Get("If-None-Match"), ",") {
		if t = strings.TrimSpace(t); t == tag || t == "W/"+tag || t == "*" {
			w.WriteHeader(http.StatusNotModified)
			return true
		}
	}
	return false
}

func escapeXML(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// robots answers /robots.txt: everything but the API and the customer's
// own pages may be crawled, and the sitemap is named.
func (m *Module) robots(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	var b strings.Builder
	b.WriteString("User-agent: *\n")
	for _, p := range []string{"/api/", "/cart", "/account", "/login", "/register", "/logout", "/search"} {
		b.WriteString("Disallow: " + p + "\n")
	}
	b.WriteString("\nSitemap: " + m.publicURL(r) + "/sitemap.xml\n")
	_, _ = w.Write([]byte(b.String()))
}
