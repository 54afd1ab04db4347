package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/bus/memory"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/moduletest"
)

// seamShop is the web module over a memory bus whose category and product
// modules are stubs: a two-level tree (garden → garden-tools) and one
// product, so that the seams can be exercised without the real modules.
type seamShop struct {
	m       *Module
	url     string
	product *moduletest.Stub
}

func startSeamShop(t *testing.T) *seamShop {
	b := memory.New(moduletest.TestLogger(t))
	cat := moduletest.NewStub(t, b, contract.CategoryQueue)
	moduletest.Reply(cat, contract.GetCategoryTree, contract.CategoryTree{Count: 2, Roots: []contract.CategoryNode{
		{ID: "c1", Name: "Garden", Slug: "garden", Children: []contract.CategoryNode{{ID: "c2", Name: "Tools", Slug: "garden-tools"}}},
	}})
	prod := moduletest.NewStub(t, b, contract.ProductQueue)
	moduletest.Reply(prod, contract.ListProducts, contract.Page[contract.ProductSummary]{Total: 1, Items: []contract.ProductSummary{
		{ID: "p1", Name: "Spade", Slug: "spade", Currency: "EUR", PriceMin: 1999, PriceMax: 1999, TotalStock: 3},
	}})
	m, err := New(Config{Bus: b, Log: moduletest.TestLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	m.Routes(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &seamShop{m: m, url: srv.URL, product: prod}
}

func (s *seamShop) get(t *testing.T, path string) (int, http.Header, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(s.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestCartBadgeSeam(t *testing.T) {
	s := startSeamShop(t)
	if _, _, body := s.get(t, "/"); strings.Contains(body, "data-cart-count") {
		t.Fatal("a badge without a cart module (none serves the cart queue)")
	}
	s.m.seams.cartBadge = func(*http.Request) (cartBadge, error) { return cartBadge{Items: 3}, nil }
	if _, _, body := s.get(t, "/"); !strings.Contains(body, "data-cart-count>3</span>") {
		t.Fatalf("no badge of 3:\n%.2000s", body)
	}
	s.m.seams.cartBadge = func(*http.Request) (cartBadge, error) {
		return cartBadge{}, bus.Errorf(bus.CodeUnavailable, "cart down")
	}
	if code, _, body := s.get(t, "/"); code != 200 || strings.Contains(body, "data-cart-count") || !regexp.MustCompile(`data-degraded="[^"]*\bcart\b`).MatchString(body) {
		t.Fatalf("cart down: %d, badge or no degraded mark:\n%.2000s", code, body)
	}
}

func TestFacetsSeam(t *testing.T) {
	s := startSeamShop(t)
	code, _, body := s.get(t, "/garden/garden-tools")
	if code != 200 || !strings.Contains(body, "Filters are unavailable") || !strings.Contains(body, "Spade") || s.product.Calls("list") != 1 {
		t.Fatalf("without filter: %d, %d list calls:\n%.3000s", code, s.product.Calls("list"), body)
	}
	var gotQuery url.Values
	s.m.seams.facets = func(r *http.Request, _, categoryID string, q url.Values) (facetPanel, error) {
		gotQuery = q
		return facetPanel{
			Groups:   []facetGroup{{Code: "colour", Name: "Colour", Param: "f.colour", Values: []facetValue{{Code: "red", Label: "Red", Count: 2, Selected: true}}}},
			Products: contract.Page[contract.ProductSummary]{Total: 1, Items: []contract.ProductSummary{{ID: "p9", Name: "Red rake", Slug: "red-rake", Currency: "EUR"}}},
		}, nil
	}
	code, _, body = s.get(t, "/garden/garden-tools?f.colour=red")
	if code != 200 || strings.Contains(body, "Filters are unavailable") || !strings.Contains(body, "<legend>Colour</legend>") ||
		!strings.Contains(body, `name="f.colour" value="red" checked`) || !strings.Contains(body, "Red rake") || s.product.Calls("list") != 1 {
		t.Fatalf("with filter: %d, %d list calls:\n%.3000s", code, s.product.Calls("list"), body)
	}
	if gotQuery.Get("f.colour") != "red" {
		t.Fatalf("facets got query %v", gotQuery)
	}
	s.m.seams.facets = func(*http.Request, string, string, url.Values) (facetPanel, error) {
		return facetPanel{}, bus.Errorf(bus.CodeUnavailable, "filter down")
	}
	code, _, body = s.get(t, "/garden/garden-tools")
	if code != 200 || !strings.Contains(body, "Filters are unavailable") || !strings.Contains(body, "Spade") || s.product.Calls("list") != 2 {
		t.Fatalf("filter down: %d, %d list calls (want the product list as the fallback):\n%.3000s", code, s.product.Calls("list"), body)
	}
	// Over RabbitMQ a stopped filter leaves its queue unconsumed: no
	// answer until the deadline. Its own budget leaves the fallback list
	// the rest of the page's.
	s.m.seams.facets = func(r *http.Request, _, _ string, _ url.Values) (facetPanel, error) {
		<-r.Context().Done()
		return facetPanel{}, bus.Errorf(bus.CodeUnavailable, "no instance is consuming queue filter")
	}
	code, _, body = s.get(t, "/garden/garden-tools")
	if code != 200 || !strings.Contains(body, "Filters are unavailable") || !strings.Contains(body, "Spade") || s.product.Calls("list") != 3 {
		t.Fatalf("filter silent: %d, %d list calls (want the product list within the page's budget):\n%.3000s", code, s.product.Calls("list"), body)
	}
}

func TestResolverAndMetaSeams(t *testing.T) {
	s := startSeamShop(t)
	s.m.seams.resolve = func(r *http.Request, path string) (target, error) {
		switch path {
		case "/old-garden":
			return target{Redirect: "/garden"}, nil
		case "/gone":
			return target{Gone: true}, nil
		case "/broken":
			return target{}, errors.New("boom")
		}
		return s.m.resolveDirect(r, path)
	}
	if code, h, _ := s.get(t, "/old-garden"); code != http.StatusMovedPermanently || h.Get("Location") != "/garden" {
		t.Fatalf("old slug: %d %s", code, h.Get("Location"))
	}
	if code, _, body := s.get(t, "/gone"); code != http.StatusGone || !strings.Contains(body, "No longer here") {
		t.Fatalf("deleted: %d", code)
	}
	if code, _, body := s.get(t, "/broken"); code != 500 || !strings.Contains(body, "Something went wrong") {
		t.Fatalf("resolver failure: %d", code)
	}
	s.m.seams.meta = func(r *http.Request) (PageMeta, error) {
		if r.URL.Path != "/garden" {
			return PageMeta{}, bus.Errorf(bus.CodeNotFound, "no meta for %s", r.URL.Path)
		}
		return PageMeta{Title: "Garden supplies", Canonical: "/garden"}, nil
	}
	if _, _, body := s.get(t, "/garden"); !strings.Contains(body, "<title>Garden supplies · shop</title>") {
		t.Fatalf("seo's title not used:\n%.1500s", body)
	}
}

// TestResolveSEOFallsBackWhenSEOHangs: a seo that does not answer is cut
// off (seoBudget) before the page's budget runs out: the category is
// found down the tree and rendered with the page's own meta.
func TestResolveSEOFallsBackWhenSEOHangs(t *testing.T) {
	s := startSeamShop(t)
	seo := moduletest.NewStub(t, s.m.cfg.Bus, contract.SEOQueue)
	moduletest.Handle(seo, contract.Resolve, func(ctx context.Context, _ contract.ResolveRequest) (contract.Resolution, error) {
		<-ctx.Done()
		return contract.Resolution{}, ctx.Err()
	})
	moduletest.Handle(seo, contract.GetMeta, func(ctx context.Context, _ contract.MetaRequest) (contract.Meta, error) {
		<-ctx.Done()
		return contract.Meta{}, ctx.Err()
	})
	code, _, body := s.get(t, "/garden/garden-tools")
	if code != 200 || !strings.Contains(body, "Spade") || !strings.Contains(body, `<link rel="canonical" href="/garden/garden-tools">`) {
		t.Fatalf("seo hanging: %d\n%.2000s", code, body)
	}
}

// TestResolveSEOAnswers: seo's answers become the pages' statuses, and
// its JSON-LD is embedded so that nothing in it ends the <script>.
func TestResolveSEOAnswers(t *testing.T) {
	s := startSeamShop(t)
	seo := moduletest.NewStub(t, s.m.cfg.Bus, contract.SEOQueue)
	moduletest.Handle(seo, contract.Resolve, func(_ context.Context, req contract.ResolveRequest) (contract.Resolution, error) {
		switch req.Path {
		case "/old-garden":
			return contract.Resolution{Kind: contract.ResolveRedirect, Type: contract.SEOCategory, ID: "c1", Target: "/garden"}, nil
		case "/p/sold":
			return contract.Resolution{Kind: contract.ResolveGone}, nil
		case "/garden":
			return contract.Resolution{Kind: contract.ResolveEntity, Type: contract.SEOCategory, ID: "c1"}, nil
		}
		return contract.Resolution{Kind: contract.ResolveNotFound}, nil
	})
	moduletest.Handle(seo, contract.GetMeta, func(_ context.Context, req contract.MetaRequest) (contract.Meta, error) {
		return contract.Meta{Title: "Garden & more", Canonical: req.BaseURL + "/garden", Robots: contract.RobotsIndex,
			JSONLD: []json.RawMessage{json.RawMessage(`{"name":"</script><script>alert(1)</script>"}`)}}, nil
	})
	if code, h, _ := s.get(t, "/old-garden?sort=price-asc"); code != http.StatusMovedPermanently || h.Get("Location") != "/garden?sort=price-asc" {
		t.Fatalf("redirect: %d %q", code, h.Get("Location"))
	}
	if code, _, _ := s.get(t, "/p/sold"); code != http.StatusGone {
		t.Fatalf("gone: %d", code)
	}
	if code, _, _ := s.get(t, "/nowhere"); code != http.StatusNotFound {
		t.Fatalf("not found (and not in the tree): %d", code)
	}
	code, _, body := s.get(t, "/garden")
	if code != 200 || !strings.Contains(body, "<title>Garden &amp; more · shop</title>") ||
		!strings.Contains(body, `<script type="application/ld+json">{"name":"\u003c/script\u003e\u003cscript\u003ealert(1)\u003c/script\u003e"}</script>`) ||
		strings.Contains(body, "<script>alert(1)") {
		t.Fatalf("entity with seo meta: %d\n%.2500s", code, body)
	}
}
