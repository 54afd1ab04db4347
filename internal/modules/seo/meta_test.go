package seo

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/bus/bustest"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/moduletest"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

const base = "https://shop.example"

// ld is one decoded JSON-LD object.
type ld = map[string]any

func decodeLD(t *testing.T, meta contract.Meta) map[string]ld {
	t.Helper()
	out := map[string]ld{}
	for _, raw := range meta.JSONLD {
		var o ld
		if err := json.Unmarshal(raw, &o); err != nil {
			t.Fatalf("JSON-LD %s: %v", raw, err)
		}
		if o["@context"] != "https://schema.org" {
			t.Errorf("JSON-LD %s: @context %v", raw, o["@context"])
		}
		out[o["@type"].(string)] = o
	}
	return out
}

var (
	priceRe    = regexp.MustCompile(`^-?\d+(\.\d+)?$`)
	currencyRe = regexp.MustCompile(`^[A-Z]{3}$`)
	itemAvail  = map[string]bool{"https://schema.org/InStock": true, "https://schema.org/OutOfStock": true}
)

func str(o ld, k string) string { s, _ := o[k].(string); return s }

// checkProductLD holds a Product to what Google's merchant listings
// require: name, image, and an offer with price (a decimal in major
// units), priceCurrency (ISO 4217) and availability (a schema.org URL).
func checkProductLD(t *testing.T, p ld) ld {
	t.Helper()
	offer, _ := p["offers"].(ld)
	switch {
	case str(p, "name") == "":
		t.Error("Product without name")
	case p["image"] == nil:
		t.Error("Product without image")
	case offer == nil:
		t.Fatal("Product without offers")
	case !currencyRe.MatchString(str(offer, "priceCurrency")):
		t.Errorf("offer priceCurrency %v", offer["priceCurrency"])
	case !itemAvail[str(offer, "availability")]:
		t.Errorf("offer availability %v is not a schema.org ItemAvailability URL", offer["availability"])
	}
	switch str(offer, "@type") {
	case "Offer":
		if !priceRe.MatchString(str(offer, "price")) {
			t.Errorf("offer price %v", offer["price"])
		}
	case "AggregateOffer":
		if !priceRe.MatchString(str(offer, "lowPrice")) || !priceRe.MatchString(str(offer, "highPrice")) || offer["offerCount"] == nil {
			t.Errorf("aggregate offer %v", offer)
		}
	default:
		t.Errorf("offer type %v", offer["@type"])
	}
	return offer
}

// checkBreadcrumbsLD: itemListElement of ListItems at positions 1, 2, …,
// each with a name and, but for the last, an item URL.
func checkBreadcrumbsLD(t *testing.T, b ld) []string {
	t.Helper()
	items, _ := b["itemListElement"].([]any)
	if len(items) == 0 {
		t.Fatal("BreadcrumbList without itemListElement")
	}
	var names []string
	for i, it := range items {
		li := it.(ld)
		if str(li, "@type") != "ListItem" || li["position"] != float64(i+1) || str(li, "name") == "" ||
			(i < len(items)-1 && !strings.HasPrefix(str(li, "item"), "https://")) {
			t.Errorf("itemListElement[%d] = %v", i, li)
		}
		names = append(names, str(li, "name"))
	}
	return names
}

func TestMajorUnits(t *testing.T) {
	for _, tc := range []struct {
		minor    int64
		currency string
		want     string
	}{{1234, "EUR", "12.34"}, {5, "EUR", "0.05"}, {0, "USD", "0.00"}, {-150, "EUR", "-1.50"}, {100, "JPY", "100"}, {1234, "KWD", "1.234"},
		{contract.MaxPrice, "EUR", "10000000000.00"}} {
		if got := majorUnits(tc.minor, tc.currency); got != tc.want {
			t.Errorf("majorUnits(%d, %s) = %s, want %s", tc.minor, tc.currency, got, tc.want)
		}
	}
}

// metaWorld is an seo module with stubs of product and category answering
// for one product and a two-level category tree.
type metaWorld struct {
	b                  bus.Bus
	product, men, shoe string
	products           *moduletest.Stub
}

func startMeta(t *testing.T, db *store.DB) metaWorld {
	b := moduletest.NewBus(t)
	w := metaWorld{b: b, product: newID(), men: newID(), shoe: newID()}
	w.products = moduletest.NewStub(t, b, contract.ProductQueue)
	moduletest.Handle(w.products, contract.GetProduct, func(_ context.Context, req contract.ProductID) (contract.Product, error) {
		if req.ID != w.product {
			return contract.Product{}, bus.Errorf(bus.CodeNotFound, "no product %s", req.ID)
		}
		return contract.Product{ID: w.product, Name: "Trail Runner", Slug: "trail-runner", Status: contract.ProductPublished, SKU: "TR-1",
			Description: "A light   shoe\nfor long runs. " + strings.Repeat("Grippy sole. ", 30), Currency: "EUR", PriceMin: 12999, PriceMax: 12999, TotalStock: 3,
			Images:   []contract.Image{{URL: "https://cdn.example/tr.jpg"}, {URL: "https://cdn.example/tr2.jpg"}},
			Variants: []contract.Variant{{ID: "v1", Price: 12999, Stock: 3}}}, nil
	})
	categories := moduletest.NewStub(t, b, contract.CategoryQueue)
	cats := map[string]contract.Category{
		w.men:  {ID: w.men, Name: "Men", Slug: "men", Description: "For men."},
		w.shoe: {ID: w.shoe, Name: "Shoes", Slug: "shoes", ParentID: w.men, Description: "Shoes for men."},
	}
	moduletest.Handle(categories, contract.GetCategory, func(_ context.Context, req contract.CategoryID) (contract.Category, error) {
		return cats[req.ID], nil
	})
	moduletest.Handle(categories, contract.GetBreadcrumbs, func(_ context.Context, req contract.CategoryID) (contract.Page[contract.Category], error) {
		return contract.Page[contract.Category]{Items: []contract.Category{cats[w.men], cats[w.shoe]}, Total: 2}, nil
	})
	start(t, db, b)
	emit(t, b, contract.ProductCreated, productEvent(w.product, "trail-runner", contract.ProductPublished, 1))
	emit(t, b, contract.CategoryCreated, contract.CategoryEvent{ID: w.men, Version: 1, Slug: "men"})
	emit(t, b, contract.CategoryCreated, contract.CategoryEvent{ID: w.shoe, Version: 1, Slug: "shoes", ParentID: w.men, AncestorIDs: []string{w.men}})
	await(t, b, eventWait, map[string]string{"/p/trail-runner": "entity " + w.product, "/men/shoes": "entity " + w.shoe})
	return w
}

func meta(t *testing.T, b bus.Bus, path, query string) contract.Meta {
	t.Helper()
	return bustest.Call(t, b, contract.GetMeta, contract.MetaRequest{Path: path, Query: query, BaseURL: base})
}

func TestMeta(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		w := startMeta(t, db)
		b := w.b

		// A product: defaults from the product, Product JSON-LD.
		pm := meta(t, b, "/p/trail-runner", "")
		if pm.Title != "Trail Runner" || pm.Canonical != base+"/p/trail-runner" || pm.Robots != contract.RobotsIndex ||
			pm.OGImage != "https://cdn.example/tr.jpg" || !strings.HasPrefix(pm.Description, "A light shoe for long runs.") ||
			len([]rune(pm.Description)) > descriptionLength || !strings.HasSuffix(pm.Description, "…") {
			t.Fatalf("product meta %+v", pm)
		}
		offer := checkProductLD(t, decodeLD(t, pm)["Product"])
		if offer["price"] != "129.99" || offer["priceCurrency"] != "EUR" || offer["availability"] != "https://schema.org/InStock" {
			t.Fatalf("offer %v", offer)
		}

		// A category: BreadcrumbList with the registry's URLs.
		cm := meta(t, b, "/men/shoes", "")
		if cm.Title != "Shoes" || cm.Description != "Shoes for men." || cm.Robots != contract.RobotsIndex || cm.Canonical != base+"/men/shoes" {
			t.Fatalf("category meta %+v", cm)
		}
		crumbs := decodeLD(t, cm)["BreadcrumbList"]
		if names := checkBreadcrumbsLD(t, crumbs); strings.Join(names, ">") != "Men>Shoes" {
			t.Fatalf("breadcrumbs %v", names)
		}
		if first := crumbs["itemListElement"].([]any)[0].(ld); first["item"] != base+"/men" {
			t.Fatalf("first crumb %v", first)
		}
		// Crawl-trap safety: facets and sort make it noindex, canonical
		// the plain category, even when an override says index.
		bustest.CallAs(t, moduletest.AdminMeta, b, contract.PutOverride, contract.PutOverrideRequest{
			SEOOverrideKey: contract.SEOOverrideKey{Type: contract.SEOCategory, ID: w.shoe}, Robots: contract.RobotsIndex, Title: "All shoes"})
		for _, q := range []string{"colour=red", "sort=price", "colour=red&size=42&sort=-price"} {
			fm := meta(t, b, "/men/shoes", q)
			if fm.Robots != contract.RobotsNoindexFollow || fm.Canonical != base+"/men/shoes" || fm.Title != "All shoes" {
				t.Errorf("?%s: robots %q canonical %q title %q", q, fm.Robots, fm.Canonical, fm.Title)
			}
		}

		// An old path: the canonical is the new one, and it is not indexed.
		emit(t, b, contract.ProductUpdated, productEvent(w.product, "trail-runner-2", contract.ProductPublished, 2))
		await(t, b, eventWait, map[string]string{"/p/trail-runner": "redirect /p/trail-runner-2"})
		if rm := meta(t, b, "/p/trail-runner", ""); rm.Resolution.Kind != contract.ResolveRedirect || rm.Canonical != base+"/p/trail-runner-2" || rm.Robots == contract.RobotsIndex {
			t.Fatalf("redirect meta %+v", rm)
		}
		if nm := meta(t, b, "/nothing", ""); nm.Resolution.Kind != contract.ResolveNotFound || nm.Robots != contract.RobotsNoindexNofollow {
			t.Fatalf("not found meta %+v", nm)
		}

		// Home: Organization and WebSite with a SearchAction; its
		// override names the site.
		hm := meta(t, b, "/", "")
		checkHome(t, hm, "Shop")
		o := bustest.CallAs(t, moduletest.AdminMeta, b, contract.PutOverride, contract.PutOverrideRequest{
			SEOOverrideKey: contract.SEOOverrideKey{Path: "/"}, Title: "Trail & Co", Description: "Shoes for trails"})
		if o.Version != 1 {
			t.Fatalf("created override %+v", o)
		}
		hm = meta(t, b, "/", "")
		checkHome(t, hm, "Trail & Co")
		if hm.Description != "Shoes for trails" {
			t.Fatalf("home meta %+v", hm)
		}

		// Overrides of an entity, version-checked, and a path override
		// over them.
		pk := contract.SEOOverrideKey{Type: contract.SEOProduct, ID: w.product}
		po := bustest.CallAs(t, moduletest.AdminMeta, b, contract.PutOverride, contract.PutOverrideRequest{SEOOverrideKey: pk, Title: "Best trail shoe",
			OGImage: "https://cdn.example/og.jpg", Canonical: "/p/canonical"})
		bustest.CallErrAs(t, moduletest.AdminMeta, b, contract.PutOverride, contract.PutOverrideRequest{SEOOverrideKey: pk, Title: "x"}, bus.CodeConflict, "already has an override")
		bustest.CallErrAs(t, moduletest.AdminMeta, b, contract.PutOverride, contract.PutOverrideRequest{SEOOverrideKey: pk, Title: "x", Version: po.Version + 1}, bus.CodeConflict, "is at version 1, not 2")
		pm = meta(t, b, "/p/trail-runner-2", "")
		if pm.Title != "Best trail shoe" || pm.OGImage != "https://cdn.example/og.jpg" || pm.Canonical != base+"/p/canonical" || pm.Description == "" {
			t.Fatalf("overridden product meta %+v", pm)
		}
		bustest.CallAs(t, moduletest.AdminMeta, b, contract.PutOverride, contract.PutOverrideRequest{SEOOverrideKey: contract.SEOOverrideKey{Path: "/p/trail-runner-2"}, Robots: contract.RobotsNoindexFollow})
		if pm = meta(t, b, "/p/trail-runner-2", ""); pm.Robots != contract.RobotsNoindexFollow || pm.Title != "Best trail shoe" {
			t.Fatalf("path over entity override %+v", pm)
		}
		got := bustest.CallAs(t, moduletest.AdminMeta, b, contract.GetOverride, pk)
		if got.Title != "Best trail shoe" || got.Version != 1 {
			t.Fatalf("get override %+v", got)
		}
		bustest.CallErrAs(t, moduletest.AdminMeta, b, contract.DeleteOverride, contract.DeleteOverrideRequest{SEOOverrideKey: pk, Version: 2}, bus.CodeConflict, "version")
		bustest.CallAs(t, moduletest.AdminMeta, b, contract.DeleteOverride, contract.DeleteOverrideRequest{SEOOverrideKey: pk, Version: 1})
		bustest.CallErrAs(t, moduletest.AdminMeta, b, contract.GetOverride, pk, bus.CodeNotFound, "no override")
	})
}

func checkHome(t *testing.T, m contract.Meta, name string) {
	t.Helper()
	lds := decodeLD(t, m)
	org, site := lds["Organization"], lds["WebSite"]
	if org == nil || site == nil || str(org, "name") != name || str(org, "url") != base+"/" || str(site, "name") != name || m.Title != name {
		t.Fatalf("home JSON-LD %v, title %q", lds, m.Title)
	}
	action, _ := site["potentialAction"].(ld)
	target, _ := action["target"].(ld)
	if str(action, "@type") != "SearchAction" || str(target, "urlTemplate") != base+"/search?q={search_term_string}" ||
		str(action, "query-input") != "required name=search_term_string" {
		t.Fatalf("SearchAction %v", action)
	}
	if m.Canonical != base+"/" || m.Robots != contract.RobotsIndex {
		t.Fatalf("home meta %+v", m)
	}
}

func TestArticleAndAggregateLD(t *testing.T) {
	published := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	a := articleLD(articleInfo{Title: strings.Repeat("Long headline ", 20), Excerpt: "About things", CoverURL: "https://cdn.example/a.jpg",
		PublishedAt: &published, UpdatedAt: published.Add(time.Hour)}, base+"/blog/x")
	raw, _ := encodeLD(a)
	var o ld
	if err := json.Unmarshal(raw[0], &o); err != nil {
		t.Fatal(err)
	}
	if h := str(o, "headline"); h == "" || len([]rune(h)) > maxHeadline {
		t.Errorf("headline %q (%d runes)", h, len([]rune(h)))
	}
	if _, err := time.Parse(time.RFC3339, str(o, "datePublished")); err != nil || str(o, "@type") != "Article" || o["image"] == nil {
		t.Errorf("article %v", o)
	}
	p := productLD(contract.Product{Name: "Tee", Currency: "JPY", PriceMin: 1500, PriceMax: 2500, Images: []contract.Image{{URL: "https://cdn.example/t.jpg"}},
		Variants: []contract.Variant{{Price: 1500}, {Price: 2500}}}, base+"/p/tee")
	raw, _ = encodeLD(p)
	if err := json.Unmarshal(raw[0], &o); err != nil {
		t.Fatal(err)
	}
	offer := checkProductLD(t, o)
	if offer["lowPrice"] != "1500" || offer["highPrice"] != "2500" || offer["availability"] != "https://schema.org/OutOfStock" {
		t.Errorf("aggregate offer %v", offer)
	}
	// JSON-LD goes into a <script>: markup in a name cannot close it.
	raw, _ = encodeLD(productLD(contract.Product{Name: "</script><b>", Currency: "EUR"}, base))
	if strings.Contains(string(raw[0]), "</script>") {
		t.Errorf("JSON-LD %s can close its script element", raw[0])
	}
}

func TestOverrideBadInput(t *testing.T) {
	b := moduletest.NewBus(t)
	start(t, storetest.SQLite(t), b)
	id := newID()
	for _, tc := range []struct {
		req     contract.PutOverrideRequest
		mention string
	}{
		{contract.PutOverrideRequest{}, "path, or type and id, is required"},
		{contract.PutOverrideRequest{SEOOverrideKey: contract.SEOOverrideKey{Path: "/", Type: contract.SEOProduct, ID: id}}, "give one of the two"},
		{contract.PutOverrideRequest{SEOOverrideKey: contract.SEOOverrideKey{Path: "home"}}, "path must start with '/'"},
		{contract.PutOverrideRequest{SEOOverrideKey: contract.SEOOverrideKey{Type: "page", ID: id}}, "type must be"},
		{contract.PutOverrideRequest{SEOOverrideKey: contract.SEOOverrideKey{Type: contract.SEOProduct, ID: `{"$gt":""}`}}, "id must be a UUID"},
		{contract.PutOverrideRequest{SEOOverrideKey: contract.SEOOverrideKey{Path: "/"}, Robots: "index"}, "robots must be"},
		{contract.PutOverrideRequest{SEOOverrideKey: contract.SEOOverrideKey{Path: "/"}, Title: strings.Repeat("t", maxTitle+1)}, "title is"},
		{contract.PutOverrideRequest{SEOOverrideKey: contract.SEOOverrideKey{Path: "/"}, Description: "a\x00b"}, "description must not contain control"},
		{contract.PutOverrideRequest{SEOOverrideKey: contract.SEOOverrideKey{Path: "/"}, OGImage: "javascript:alert(1)"}, "og_image must be an absolute"},
		{contract.PutOverrideRequest{SEOOverrideKey: contract.SEOOverrideKey{Path: "/"}, Canonical: "ftp://x/"}, "canonical must be an absolute"},
		{contract.PutOverrideRequest{SEOOverrideKey: contract.SEOOverrideKey{Path: "/"}, Version: -1}, "version must not be negative"},
	} {
		bustest.CallErrAs(t, moduletest.AdminMeta, b, contract.PutOverride, tc.req, bus.CodeInvalid, tc.mention)
	}
	// Nothing was written; and only admins write or read overrides.
	bustest.CallErrAs(t, moduletest.AdminMeta, b, contract.GetOverride, contract.SEOOverrideKey{Path: "/"}, bus.CodeNotFound, "no override")
	bustest.CallErr(t, b, contract.PutOverride, contract.PutOverrideRequest{SEOOverrideKey: contract.SEOOverrideKey{Path: "/"}, Title: "x"}, bus.CodeUnauthorized, "")
	customer := bus.Meta{Principal: contract.Principal{UserID: newID(), Role: contract.RoleCustomer, SessionID: newID()}.String()}
	bustest.CallErrAs(t, customer, b, contract.PutOverride, contract.PutOverrideRequest{SEOOverrideKey: contract.SEOOverrideKey{Path: "/"}, Title: "x"}, bus.CodeForbidden, "")
	bustest.CallErrAs(t, customer, b, contract.GetOverride, contract.SEOOverrideKey{Path: "/"}, bus.CodeForbidden, "")
	for _, req := range []contract.MetaRequest{{Path: "/", BaseURL: ""}, {Path: "/", BaseURL: "shop.example"}, {Path: "/", BaseURL: base + "/?q=1"}, {Path: "x", BaseURL: base}, {Path: "/", BaseURL: base, Query: "a=%zz"}} {
		bustest.CallErr(t, b, contract.GetMeta, req, bus.CodeInvalid, "")
	}
}
