package web

import (
	"bytes"
	"context"
	"encoding/json"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
)

// storefrontPrefixes are the storefront's own first path segments that
// the contract's list may lack; init adds them there, before any seo
// module starts, so that no category can take one as its root slug.
var storefrontPrefixes = []string{"/admin", "/media", "/static", "/cart", "/account", "/search", "/blog", "/p"}

func init() {
	for _, p := range storefrontPrefixes {
		if !contract.IsReserved(p) {
			contract.ReservedPrefixes = append(contract.ReservedPrefixes, p)
		}
	}
}

// seoBudget bounds each of seo's answers (resolve, get_meta) within the
// page's budget: with seo down or hanging the direct lookup still has
// the rest of the budget, and the page's default meta costs no more.
const seoBudget = 300 * time.Millisecond

// servePath serves an entity path (a category's, /p/<slug>, /blog/<slug>)
// by what the resolver says it is.
func (m *Module) servePath(w http.ResponseWriter, r *http.Request, path string) {
	t, err := m.seams.resolve(r, path)
	switch {
	case err != nil:
		m.pageError(w, r, err)
	case t.Gone:
		m.renderError(w, r, http.StatusGone, "No longer here", "This page was removed from the shop.")
	case t.Redirect != "":
		to := t.Redirect
		if r.URL.RawQuery != "" {
			to += "?" + r.URL.RawQuery // a facet link to an old path keeps its filters
		}
		http.Redirect(w, r, to, http.StatusMovedPermanently)
	case t.Kind == targetCategory:
		m.categoryPage(w, r, t.ID)
	case t.Kind == targetProduct:
		m.renderProduct(w, r, t)
	case t.Kind == targetArticle:
		m.articlePage(w, r, t)
	default:
		m.notFoundPage(w, r)
	}
}

// resolveSEO asks seo's slug registry what path is. With seo unavailable
// or late, and for a path it does not know (its registry follows the
// modules' change feeds, so a product created a moment ago may not be in
// it yet), the path is looked up directly: the modules then decide
// between the page and a 404.
func (m *Module) resolveSEO(r *http.Request, path string) (target, error) {
	ctx, cancel := context.WithTimeout(r.Context(), seoBudget)
	res, err := sharedIf(m, r.WithContext(ctx), contract.Resolve, contract.ResolveRequest{Path: path}, known)
	cancel()
	if err != nil {
		if !unavailable(err) && r.Context().Err() == nil {
			return target{}, err
		}
		m.cfg.Log.Warn("seo did not resolve; looking the path up directly", "path", path,
			"request_id", middleware.GetReqID(r.Context()), "err", err)
		return m.resolveDirect(r, path)
	}
	switch res.Kind {
	case contract.ResolveEntity:
		return target{Kind: targetKind(res.Type), ID: res.ID}, nil
	case contract.ResolveRedirect:
		return target{Redirect: res.Target}, nil
	case contract.ResolveGone:
		return target{Gone: true}, nil
	}
	return m.resolveDirect(r, path)
}

// known reports whether seo's registry knew the path: only then is its
// answer kept (sharedIf), so a page created a moment ago is not held to
// the registry's "not found" for a TTL.
func known(res contract.Resolution) bool { return res.Kind != contract.ResolveNotFound }

// keepMeta is known for seo's meta, which also keeps a path seo has
// metadata for without an entity (the home page's override): that answer
// is not a "not yet".
func keepMeta(meta contract.Meta) bool { return known(meta.Resolution) || meta.Title != "" }

// unavailable reports whether err says a module did not answer (down,
// timed out, or the page's budget spent).
func unavailable(err error) bool {
	c := bus.CodeOf(err)
	return c == bus.CodeUnavailable || errDeadline(err)
}

// resolveDirect is the resolver without seo, by the path scheme seo
// owns (contract.ProductPathPrefix, ArticlePathPrefix, category slugs
// from the root): products and articles by slug (the page's own read),
// categories down the tree. It knows no old slugs and no deleted
// entities: those are 404s until seo answers again.
func (m *Module) resolveDirect(r *http.Request, path string) (target, error) {
	for prefix, kind := range map[string]targetKind{contract.ProductPathPrefix: targetProduct, contract.ArticlePathPrefix: targetArticle} {
		if slug, ok := strings.CutPrefix(path, prefix); ok {
			if slug == "" || strings.Contains(slug, "/") {
				return target{}, bus.Errorf(bus.CodeNotFound, "no %s at %s", kind, path)
			}
			return target{Kind: kind, Slug: slug}, nil
		}
	}
	return m.resolveCategoryPath(r, strings.Trim(path, "/"))
}

// seoMeta is seo's metadata of the page r asks for (its path and query,
// so that seo makes a filtered category page noindex with the plain
// category as canonical).
func (m *Module) seoMeta(r *http.Request) (PageMeta, error) {
	ctx, cancel := context.WithTimeout(r.Context(), seoBudget)
	defer cancel()
	meta, err := sharedIf(m, r.WithContext(ctx), contract.GetMeta, contract.MetaRequest{Path: r.URL.Path, Query: r.URL.RawQuery, BaseURL: m.publicURL(r)},
		keepMeta)
	if err != nil {
		return PageMeta{}, err
	}
	pm := PageMeta{Title: meta.Title, Description: meta.Description, Canonical: meta.Canonical, Robots: meta.Robots, OGImage: meta.OGImage}
	for _, ld := range meta.JSONLD {
		pm.JSONLD = append(pm.JSONLD, jsonLD(ld))
	}
	return pm, nil
}

// jsonLD makes structured data safe inside <script>: json.HTMLEscape
// writes <, > and & (and U+2028/9) as \u escapes, which JSON reads as
// the same characters, so no "</script>" in a product name can end the
// element.
func jsonLD(raw json.RawMessage) template.JS {
	var buf bytes.Buffer
	json.HTMLEscape(&buf, raw)
	return template.JS(buf.String()) //nolint:gosec // escaped above: JSON with no markup characters
}
