package modules

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
)

// searchWithin is how soon a write must show in search: the issue's
// promise (the outbox relay, the consumer's write, a tailer poll).
const searchWithin = time.Second

// awaitSearch polls GET /api/v1/search?query until cond holds, failing
// after searchWithin with the last reply.
func awaitSearch(t *testing.T, base func(t *testing.T, path string) response, query string, what string, cond func(contract.SearchReply) bool) contract.SearchReply {
	t.Helper()
	deadline := time.Now().Add(searchWithin)
	for {
		r := base(t, "/api/v1/search?"+query)
		var got contract.SearchReply
		if r.status == 200 {
			r.decode(t, &got)
			if cond(got) {
				return got
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v; last reply to %s: %d %s", what, searchWithin, query, r.status, r.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func facetOf(r contract.SearchReply, code string) (contract.Facet, bool) {
	for _, f := range r.Facets {
		if f.Code == code {
			return f, true
		}
	}
	return contract.Facet{}, false
}

func counts(f contract.Facet) map[string]int {
	out := map[string]int{}
	for _, v := range f.Values {
		out[v.Code] = v.Count
	}
	return out
}

func itemIDs(r contract.SearchReply) []string {
	var out []string
	for _, it := range r.Items {
		out = append(out, it.ID)
	}
	return out
}

// TestSearchAPI runs the whole path in one process: the catalogue
// modules' writes, their events through the outbox, filter's consumer and
// feed, and GET /api/v1/search.
func TestSearchAPI(t *testing.T) {
	s := startShop(t, Config{DatabaseURL: store.SQLiteURL(t.TempDir()), AdminToken: adminToken})
	cat := seedSearchCatalogue(t, s)
	get := func(t *testing.T, path string) response { return s.get(t, path) }

	all := awaitSearch(t, get, "page_size=10", "three products listed", func(r contract.SearchReply) bool { return r.Total == 3 })
	if len(all.Categories) != 1 || all.Categories[0].ID != cat.root.ID || all.Categories[0].Count != 3 {
		t.Fatalf("root categories %+v", all.Categories)
	}
	if all.Price.Min != 1500 || all.Price.Max != 9000 || len(all.Price.Histogram) == 0 {
		t.Fatalf("price facet %+v", all.Price)
	}
	brand, _ := facetOf(all, "brand")
	if !maps(counts(brand), map[string]int{"acme": 2, "zen": 1}) {
		t.Fatalf("brand facet %+v", brand)
	}
	if _, ok := facetOf(all, "origin"); ok {
		t.Fatal("origin is not filterable, yet a facet")
	}
	size, _ := facetOf(all, "size")
	if !maps(counts(size), map[string]int{"s": 2, "m": 1}) || size.Kind != contract.FacetOption {
		t.Fatalf("size facet %+v", size)
	}

	// Disjunctive: with brand=acme selected, brand still counts zen (what
	// picking it too would add), while size counts acme products only.
	acme := ok[contract.SearchReply](t, s.get(t, "/api/v1/search?f.brand=acme&category="+cat.root.Slug))
	brand, _ = facetOf(acme, "brand")
	size, _ = facetOf(acme, "size")
	if acme.Total != 2 || !maps(counts(brand), map[string]int{"acme": 2, "zen": 1}) || !brand.Values[0].Selected || !maps(counts(size), map[string]int{"s": 1, "m": 1}) {
		t.Fatalf("brand=acme: total %d, brand %+v, size %+v", acme.Total, brand, size)
	}
	wp := ok[contract.SearchReply](t, s.get(t, "/api/v1/search?f.waterproof=yes&f.brand=acme,zen&price=1000-5000&in_stock=1&sort=price_asc"))
	if !slices.Equal(itemIDs(wp), []string{cat.vase.ID}) {
		t.Fatalf("waterproof, in stock, 10-50: %+v", wp.Items)
	}
	text := ok[contract.SearchReply](t, s.get(t, "/api/v1/search?q="+url.QueryEscape("CAFE lam")))
	if !slices.Equal(itemIDs(text), []string{cat.lamp.ID}) || text.Items[0].Image == nil || text.Items[0].Slug != "cafe-lamp" {
		t.Fatalf("q=CAFE lam: %+v", text.Items)
	}
	weight := ok[contract.SearchReply](t, s.get(t, "/api/v1/search?f.weight=100-&sort=name"))
	if !slices.Equal(itemIDs(weight), []string{cat.lamp.ID, cat.stool.ID}) {
		t.Fatalf("weight >= 100 by name: %+v", weight.Items)
	}

	// Bad input names what is wrong and is a 400; a page past the end is
	// an empty page; operator characters are plain text.
	for query, want := range map[string]string{
		"f.colour=red":                  "colour",
		"f.brand=nope":                  "nope",
		"price=50-10":                   "price",
		"page_size=0":                   "page_size",
		"page_size=101":                 "page_size",
		"q=" + strings.Repeat("x", 201): "q:",
		"sort=random":                   "sort",
		"page=x":                        "page",
		"in_stock=maybe":                "in_stock",
		"price=ten":                     "price",
		"bogus=1":                       "bogus",
	} {
		r := s.get(t, "/api/v1/search?"+query)
		if r.status != 400 || r.errorCode(t) != "invalid" || !strings.Contains(string(r.body), want) {
			t.Errorf("%s: %d %s, want 400 naming %s", query, r.status, r.body, want)
		}
	}
	if r := ok[contract.SearchReply](t, s.get(t, "/api/v1/search?page=9&page_size=2")); r.Total != 3 || len(r.Items) != 0 {
		t.Fatalf("page past the end: %+v", r)
	}
	for _, q := range []string{`{"$gt":""}`, ".*", "lamp|vase", "[*", `\`} {
		if r := ok[contract.SearchReply](t, s.get(t, "/api/v1/search?q="+url.QueryEscape(q))); r.Total != 0 {
			t.Fatalf("q=%s as plain text: %+v", q, r.Items)
		}
	}
	if r := s.get(t, "/api/v1/search?category=no-such-category"); r.status != 404 {
		t.Fatalf("unknown category: %d %s", r.status, r.body)
	}

	// Changes show without a product write where the definitions change.
	s.admin(t, "PATCH", "/api/v1/admin/attributes/"+cat.brand.ID, fmt.Sprintf(`{"version":%d,"values":[{"code":"acme","label":"ACME Corp"},{"code":"zen","label":"Zen"}]}`, cat.brand.Version))
	awaitSearch(t, get, "page_size=1", "relabelled brand", func(r contract.SearchReply) bool {
		f, _ := facetOf(r, "brand")
		return len(f.Values) > 0 && f.Values[0].Label == "ACME Corp"
	})
	s.admin(t, "PATCH", "/api/v1/admin/attributes/"+cat.origin.ID, fmt.Sprintf(`{"version":%d,"filterable":true}`, cat.origin.Version))
	awaitSearch(t, get, "page_size=1", "origin made filterable", func(r contract.SearchReply) bool {
		f, ok := facetOf(r, "origin")
		return ok && maps(counts(f), map[string]int{"fr": 1})
	})
	// A moved category takes its products along.
	ok[contract.Category](t, s.admin(t, "POST", "/api/v1/admin/categories/"+cat.leaf.ID+"/move", fmt.Sprintf(`{"parent_id":%q}`, cat.other.ID)))
	awaitSearch(t, get, "page_size=10&category="+cat.other.ID, "moved leaf under other", func(r contract.SearchReply) bool { return r.Total == 2 })
	// Unpublished, deleted, edited.
	ok[contract.Product](t, s.admin(t, "POST", "/api/v1/admin/products/"+cat.stool.ID+"/status", `{"status":"draft"}`))
	ok[contract.DeleteProductsReply](t, s.admin(t, "DELETE", "/api/v1/admin/products/"+cat.vase.ID, ""))
	lamp := ok[contract.Product](t, s.admin(t, "GET", "/api/v1/admin/products/"+cat.lamp.ID, ""))
	ok[contract.Product](t, s.admin(t, "PATCH", "/api/v1/admin/products/"+cat.lamp.ID, fmt.Sprintf(`{"version":%d,"name":"Reading lamp"}`, lamp.Version)))
	awaitSearch(t, get, "page_size=10", "unpublished, deleted, renamed", func(r contract.SearchReply) bool {
		return r.Total == 1 && r.Items[0].Name == "Reading lamp"
	})
}

func maps(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// searchCatalogue is a small catalogue: a root with a leaf, another root,
// attributes brand (select), waterproof (boolean), weight (number) and
// origin (select, not filterable), option group size, and three published
// products.
type searchCatalogue struct {
	root, leaf, other         contract.Category
	brand, origin             contract.AttributeDefinition
	lamp, vase, stool         contract.Product
	sizeS, sizeM, sizeGroupID string
}

func seedSearchCatalogue(t *testing.T, s *shop) searchCatalogue {
	var c searchCatalogue
	c.root = created[contract.Category](t, s.admin(t, "POST", "/api/v1/admin/categories", `{"name":"Home"}`))
	c.leaf = created[contract.Category](t, s.admin(t, "POST", "/api/v1/admin/categories", fmt.Sprintf(`{"name":"Lighting","parent_id":%q}`, c.root.ID)))
	c.other = created[contract.Category](t, s.admin(t, "POST", "/api/v1/admin/categories", `{"name":"Garden"}`))
	group := created[contract.AttributeGroup](t, s.admin(t, "POST", "/api/v1/admin/attribute-groups", `{"name":"Main"}`))
	attr := func(body string) contract.AttributeDefinition {
		return created[contract.AttributeDefinition](t, s.admin(t, "POST", "/api/v1/admin/attributes", fmt.Sprintf(body, group.ID)))
	}
	c.brand = attr(`{"code":"brand","name":"Brand","group_id":%q,"type":"select","values":[{"code":"acme","label":"Acme"},{"code":"zen","label":"Zen"}],"filterable":true}`)
	attr(`{"code":"waterproof","name":"Waterproof","group_id":%q,"type":"boolean","filterable":true}`)
	attr(`{"code":"weight","name":"Weight","group_id":%q,"type":"number","unit":"g","filterable":true}`)
	c.origin = attr(`{"code":"origin","name":"Origin","group_id":%q,"type":"select","values":[{"code":"fr","label":"France"}]}`)
	size := created[contract.OptionGroup](t, s.admin(t, "POST", "/api/v1/admin/options", `{"code":"size","name":"Size","values":[{"code":"s","label":"S"},{"code":"m","label":"M"}]}`))
	c.sizeGroupID, c.sizeS, c.sizeM = size.ID, size.Values[0].ID, size.Values[1].ID
	product := func(body string, args ...any) contract.Product {
		return created[contract.Product](t, s.admin(t, "POST", "/api/v1/admin/products", fmt.Sprintf(body, args...)))
	}
	c.lamp = product(`{"name":"Café Lamp","description":"A warm light","status":"published","category_ids":[%q],"currency":"EUR","price":9000,
		"images":[{"url":"https://img.example/lamp.jpg","alt":"lamp"}],"attributes":{"brand":"acme","weight":450,"origin":"fr"},
		"options":[{"group_id":%q}],"variants":[{"option_value_ids":[%q],"stock":1},{"option_value_ids":[%q],"stock":0}]}`, c.leaf.ID, c.sizeGroupID, c.sizeS, c.sizeM)
	c.vase = product(`{"name":"Vase","status":"published","category_ids":[%q],"currency":"EUR","price":1500,"attributes":{"brand":"zen","waterproof":true,"weight":90},
		"options":[{"group_id":%q}],"variants":[{"option_value_ids":[%q],"stock":4}]}`, c.leaf.ID, c.sizeGroupID, c.sizeS)
	c.stool = product(`{"name":"Stool","status":"published","category_ids":[%q],"currency":"EUR","price":3000,"attributes":{"brand":"acme","waterproof":true,"weight":2000},"variants":[{"stock":0}]}`, c.root.ID)
	return c
}
