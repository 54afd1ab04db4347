package modules

import (
	"encoding/xml"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
)

// awaitStatus polls GET path until it answers status.
func (s *shop) awaitStatus(t *testing.T, path string, status int) response {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := s.get(t, path)
		if r.status == status {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %d %s, want %d", path, r.status, r.body, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func resolvePath(p string) string { return "/api/v1/seo/resolve?path=" + url.QueryEscape(p) }

// The seo API on a whole shop: the catalogue's writes reach the registry
// through their events, and web serves resolve, meta, overrides, the
// sitemaps and robots.txt.
func TestSEOAPI(t *testing.T) {
	s := startShop(t, Config{DatabaseURL: store.SQLiteURL(t.TempDir()), AdminToken: adminToken})
	root := created[contract.Category](t, s.admin(t, "POST", "/api/v1/admin/categories", `{"name":"Garden"}`))
	leaf := created[contract.Category](t, s.admin(t, "POST", "/api/v1/admin/categories", fmt.Sprintf(`{"name":"Lamps","parent_id":%q}`, root.ID)))
	lamp := created[contract.Product](t, s.admin(t, "POST", "/api/v1/admin/products", fmt.Sprintf(
		`{"name":"Solar Lamp","description":"Lights the path.","category_ids":[%q],"currency":"EUR","price":4550,"status":"published",
		  "images":[{"url":"https://img.example/lamp.jpg","alt":"A lamp"}],"variants":[{"stock":3}]}`, leaf.ID)))

	var res contract.Resolution
	s.awaitStatus(t, resolvePath("/p/solar-lamp"), 200).decode(t, &res)
	if res.Kind != contract.ResolveEntity || res.Type != contract.SEOProduct || res.ID != lamp.ID {
		t.Fatalf("resolve product: %+v", res)
	}
	s.awaitStatus(t, resolvePath("/garden/lamps"), 200).decode(t, &res)
	if res.ID != leaf.ID {
		t.Fatalf("resolve category: %+v", res)
	}
	if r := s.get(t, resolvePath("/nothing/here")); r.status != 404 {
		t.Fatalf("unknown path: %d %s", r.status, r.body)
	}

	// A category rename: the old paths of it and its child redirect.
	s.adminIfMatch(t, "PATCH", "/api/v1/admin/categories/"+root.ID, `"1"`, `{"slug":"outdoor"}`)
	s.awaitStatus(t, resolvePath("/outdoor/lamps"), 200)
	s.get(t, resolvePath("/garden/lamps")).decode(t, &res)
	if res.Kind != contract.ResolveRedirect || res.Target != "/outdoor/lamps" {
		t.Fatalf("old category path: %+v", res)
	}

	// Meta of the product, with its JSON-LD; of the category with a facet.
	var meta contract.Meta
	s.get(t, "/api/v1/seo/meta?path="+url.QueryEscape("/p/solar-lamp")).decode(t, &meta)
	if meta.Title != "Solar Lamp" || meta.Canonical != s.url+"/p/solar-lamp" || meta.OGImage != "https://img.example/lamp.jpg" ||
		len(meta.JSONLD) != 1 || !strings.Contains(string(meta.JSONLD[0]), `"price":"45.50"`) {
		t.Fatalf("product meta %+v %s", meta, meta.JSONLD)
	}
	meta = contract.Meta{}
	s.get(t, "/api/v1/seo/meta?path="+url.QueryEscape("/outdoor/lamps?colour=red&sort=price")).decode(t, &meta)
	if meta.Robots != contract.RobotsNoindexFollow || meta.Canonical != s.url+"/outdoor/lamps" {
		t.Fatalf("faceted category meta %+v", meta)
	}

	// Bad input: 400 naming the field.
	for path, mention := range map[string]string{
		"/api/v1/seo/resolve":                        "path is required",
		resolvePath("no-slash"):                      "path must start with '/'",
		resolvePath("/a\x01"):                        "control characters",
		resolvePath("/" + strings.Repeat("x", 3000)): "path is 3001 bytes",
		"/api/v1/seo/resolve?path=/x&extra=1":        "extra",
	} {
		r := s.get(t, path)
		if r.status != 400 || r.errorCode(t) != "invalid" || !strings.Contains(string(r.body), mention) {
			t.Errorf("GET %s: %d %s, want 400 mentioning %q", path, r.status, r.body, mention)
		}
	}

	// Overrides: admin only, version-checked with If-Match.
	if r := s.do(t, "PUT", "/api/v1/admin/seo/overrides", "", strings.NewReader(`{"path":"/","title":"x"}`)); r.status != 401 {
		t.Fatalf("anonymous override: %d %s", r.status, r.body)
	}
	for body, mention := range map[string]string{
		`{"path":"/","title":"x","unknown":1}`: "unknown",
		`{"path":{"$gt":""}}`:                  "path",
		`{"path":"/","robots":"index"}`:        "robots must be",
	} {
		if r := s.admin(t, "PUT", "/api/v1/admin/seo/overrides", body); r.status != 400 || !strings.Contains(string(r.body), mention) {
			t.Errorf("PUT %s: %d %s, want 400 mentioning %q", body, r.status, r.body, mention)
		}
	}
	if r := s.admin(t, "GET", "/api/v1/admin/seo/overrides?path=/", ""); r.status != 404 {
		t.Fatalf("override after bad input: %d %s", r.status, r.body)
	}
	r := s.admin(t, "PUT", "/api/v1/admin/seo/overrides", `{"path":"/","title":"Lamp & Co"}`)
	if r.status != 200 || r.header.Get("ETag") != `"1"` {
		t.Fatalf("create override: %d %s", r.status, r.body)
	}
	if r := s.adminIfMatch(t, "PUT", "/api/v1/admin/seo/overrides", `"3"`, `{"path":"/","title":"Stale"}`); r.status != 412 {
		t.Fatalf("stale override: %d %s", r.status, r.body)
	}
	s.adminIfMatch(t, "PUT", "/api/v1/admin/seo/overrides", `"1"`, `{"path":"/","title":"Lamps & Co","description":"Lights."}`)
	meta = contract.Meta{}
	s.get(t, "/api/v1/seo/meta?path=/").decode(t, &meta)
	if meta.Title != "Lamps & Co" || meta.Description != "Lights." || len(meta.JSONLD) != 2 {
		t.Fatalf("home meta %+v", meta)
	}

	// Sitemaps: the index names the chunk; the chunk lists the live paths
	// with lastmod; the ETag makes a revalidation 304.
	var index struct {
		Sitemaps []struct {
			Loc     string `xml:"loc"`
			LastMod string `xml:"lastmod"`
		} `xml:"sitemap"`
	}
	deadline := time.Now().Add(5 * time.Second)
	var chunk struct {
		URLs []struct {
			Loc     string `xml:"loc"`
			LastMod string `xml:"lastmod"`
		} `xml:"url"`
	}
	for {
		r = s.get(t, "/sitemap.xml")
		if err := xml.Unmarshal(r.body, &index); err != nil || r.status != 200 || len(index.Sitemaps) != 1 || index.Sitemaps[0].Loc != s.url+"/sitemap-1.xml" {
			t.Fatalf("sitemap index: %d %s (%v)", r.status, r.body, err)
		}
		c := s.get(t, "/sitemap-1.xml")
		chunk.URLs = nil
		if err := xml.Unmarshal(c.body, &chunk); err != nil || c.status != 200 || c.header.Get("ETag") == "" {
			t.Fatalf("sitemap chunk: %d %s (%v)", c.status, c.body, err)
		}
		if len(chunk.URLs) == 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var locs []string
	for _, u := range chunk.URLs {
		if _, err := time.Parse(time.RFC3339, u.LastMod); err != nil {
			t.Errorf("%s: lastmod %q", u.Loc, u.LastMod)
		}
		locs = append(locs, strings.TrimPrefix(u.Loc, s.url))
	}
	if strings.Join(locs, " ") != "/outdoor /outdoor/lamps /p/solar-lamp" {
		t.Fatalf("sitemap URLs %v", locs)
	}
	tag := r.header.Get("ETag")
	if r := s.doWith(t, "GET", "/sitemap.xml", "", nil, map[string]string{"If-None-Match": tag}); r.status != 304 {
		t.Fatalf("revalidated sitemap: %d", r.status)
	}
	if r := s.get(t, "/sitemap-2.xml"); r.status != 404 {
		t.Fatalf("sitemap-2: %d %s", r.status, r.body)
	}
	robots := s.get(t, "/robots.txt")
	if robots.status != 200 || !strings.Contains(string(robots.body), "Sitemap: "+s.url+"/sitemap.xml") || !strings.Contains(string(robots.body), "Disallow: /api/") {
		t.Fatalf("robots.txt: %d %s", robots.status, robots.body)
	}

	// An article: public once published, with its Article JSON-LD from
	// the article module's events.
	post := created[contract.Article](t, s.admin(t, "POST", "/api/v1/admin/articles",
		`{"title":"Lighting a garden","body_markdown":"Use *solar* lamps.","cover":{"url":"https://img.example/garden.jpg","alt":"A garden"}}`))
	s.awaitStatus(t, resolvePath("/blog/"+post.Slug), 404)
	if r := s.admin(t, "POST", "/api/v1/admin/articles/"+post.ID+"/publish", `{}`); r.status != 200 {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	s.awaitStatus(t, resolvePath("/blog/"+post.Slug), 200)
	meta = contract.Meta{}
	s.get(t, "/api/v1/seo/meta?path="+url.QueryEscape("/blog/"+post.Slug)).decode(t, &meta)
	if meta.Title != "Lighting a garden" || meta.OGImage != "https://img.example/garden.jpg" || len(meta.JSONLD) != 1 ||
		!strings.Contains(string(meta.JSONLD[0]), `"@type":"Article"`) || !strings.Contains(string(meta.JSONLD[0]), `"datePublished":"`) {
		t.Fatalf("article meta %+v %s", meta, meta.JSONLD)
	}

	// Deletion: 410 Gone.
	if r := s.admin(t, "DELETE", "/api/v1/admin/products/"+lamp.ID, ""); r.status != 200 {
		t.Fatalf("delete product: %d %s", r.status, r.body)
	}
	s.awaitStatus(t, resolvePath("/p/solar-lamp"), 410)
}
