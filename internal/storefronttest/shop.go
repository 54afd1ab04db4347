package storefronttest

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/contract"
)

// Shop is what the walk needs to know about the shop at URL: found over
// its JSON API by Discover, so that the walk depends on nothing but a
// running shop with a seeded catalogue and at least one public article.
type Shop struct {
	URL string // base URL, no trailing slash
	// Department is the root category's slug holding Product: home links
	// it as a tile, and its page has facets to pick.
	Department string
	// Product is published with more than two variants; Variant is one
	// of them other than the first, with stock for the walk's three adds.
	Product contract.Product
	Variant contract.Variant
	// Article is the newest public article: the blog's first card.
	Article Article
}

// Article is the article the walk opens, and the texts its page shows.
type Article struct {
	Title, Slug string
	Texts       []string
}

// minStock is what the walk's cart needs of its variant: two added as
// the account, one more as a guest, merged to three at login.
const minStock = 3

// discoverWithin bounds the waits of Discover: the read models (filter's
// index) follow the catalogue's change feeds, which a loaded machine
// running many processes makes slow.
const discoverWithin = 90 * time.Second

// Discover reads what the walk needs from the shop at base: it waits
// until the filter module's search lists the whole published catalogue
// (the category pages' facets come from it), then picks a product with
// variants in stock, its department and the newest public article.
func Discover(t testing.TB, base string) Shop {
	t.Helper()
	base = strings.TrimSuffix(base, "/")
	s := Shop{URL: base}
	var list contract.Page[contract.ProductSummary]
	getJSON(t, base, "/api/v1/products?page_size=100", &list)
	deadline := time.Now().Add(discoverWithin)
	for {
		var found contract.SearchReply
		getJSON(t, base, "/api/v1/search?page_size=1", &found)
		if found.Total == list.Total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("search lists %d products within %v, the catalogue %d", found.Total, discoverWithin, list.Total)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, it := range list.Items {
		var p contract.Product
		getJSON(t, base, "/api/v1/products/by-slug/"+url.PathEscape(it.Slug), &p)
		if len(p.Variants) <= 2 || len(p.CategoryIDs) == 0 {
			continue
		}
		for _, v := range p.Variants[1:] {
			if v.Stock >= minStock && len(v.Options) > 0 {
				s.Product, s.Variant = p, v
				break
			}
		}
		if s.Product.ID != "" {
			break
		}
	}
	if s.Product.ID == "" {
		t.Fatalf("%s: none of the first %d published products has more than two variants and one of them (not the first) with stock %d",
			base, len(list.Items), minStock)
	}
	var crumbs contract.Page[contract.Category]
	getJSON(t, base, "/api/v1/categories/"+s.Product.CategoryIDs[0]+"/breadcrumbs", &crumbs)
	if len(crumbs.Items) == 0 {
		t.Fatalf("category %s of %s has no breadcrumbs", s.Product.CategoryIDs[0], s.Product.Slug)
	}
	s.Department = crumbs.Items[0].Slug

	var articles contract.Page[contract.ArticleSummary]
	getJSON(t, base, "/api/v1/articles?limit=1", &articles)
	if len(articles.Items) == 0 {
		t.Fatalf("%s has no public article for the walk's blog", base)
	}
	var a contract.Article
	getJSON(t, base, "/api/v1/articles/by-slug/"+url.PathEscape(articles.Items[0].Slug), &a)
	s.Article = Article{Title: a.Title, Slug: a.Slug, Texts: []string{a.Title}}
	if a.AuthorName != "" {
		s.Article.Texts = append(s.Article.Texts, "By "+a.AuthorName)
	}
	if h := headingRE.FindStringSubmatch(a.BodyHTML); h != nil {
		s.Article.Texts = append(s.Article.Texts, html.UnescapeString(h[1]))
	}
	return s
}

// headingRE finds an article body's first plain second-level heading.
var headingRE = regexp.MustCompile(`<h2[^>]*>([^<]+)</h2>`)

// getJSON GETs path at base and decodes its 200 answer into v.
func getJSON(t testing.TB, base, path string, v any) {
	t.Helper()
	c := &http.Client{Timeout: 20 * time.Second}
	resp, err := c.Get(base + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %.500s", path, resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("GET %s: %v: %.500s", path, err, raw)
	}
}

// String names the shop's picks in a test's log.
func (s Shop) String() string {
	return fmt.Sprintf("%s: department /%s, product %s (variant %s), article %s", s.URL, s.Department, s.Product.Slug, s.Variant.SKU, s.Article.Slug)
}
