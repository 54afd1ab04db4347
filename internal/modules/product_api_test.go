package modules

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
)

func pageIDs(p contract.Page[contract.ProductSummary]) []string {
	out := make([]string, len(p.Items))
	for i, x := range p.Items {
		out[i] = x.ID
	}
	return out
}

func TestProductAPI(t *testing.T) {
	s := startShop(t, Config{DatabaseURL: store.SQLiteURL(t.TempDir()), AdminToken: adminToken})
	root := created[contract.Category](t, s.admin(t, "POST", "/api/v1/admin/categories", `{"name":"Root"}`))
	leaf := created[contract.Category](t, s.admin(t, "POST", "/api/v1/admin/categories", fmt.Sprintf(`{"name":"Leaf","parent_id":%q}`, root.ID)))

	r := s.admin(t, "POST", "/api/v1/admin/products", fmt.Sprintf(
		`{"name":"Lamp","category_ids":[%q],"currency":"EUR","price":4500,"images":[{"url":"https://img.example/lamp.jpg","alt":"A lamp"}],"variants":[{"stock":3}]}`, leaf.ID))
	lamp := created[contract.Product](t, r)
	if lamp.Status != "draft" || lamp.Slug != "lamp" || lamp.SKU != "LAMP" || lamp.Version != 1 || lamp.TotalStock != 3 {
		t.Fatalf("created %+v", lamp)
	}
	for _, field := range []string{`"category_ids"`, `"price_min"`, `"total_stock"`, `"created_at"`, `"sku_suffix"`} {
		if !bytes.Contains(r.body, []byte(field)) {
			t.Fatalf("no %s in %s", field, r.body)
		}
	}
	vase := created[contract.Product](t, s.admin(t, "POST", "/api/v1/admin/products", fmt.Sprintf(
		`{"name":"Vase","category_ids":[%q],"currency":"EUR","price":1500,"status":"published"}`, leaf.ID)))

	// Public reads see published products only; admin reads see all.
	for _, path := range []string{"/api/v1/products/" + lamp.ID, "/api/v1/products/by-slug/lamp"} {
		if r := s.get(t, path); r.status != 404 || r.errorCode(t) != "not_found" {
			t.Fatalf("draft %s publicly: %d %s", path, r.status, r.body)
		}
	}
	if got := ok[contract.Product](t, s.admin(t, "GET", "/api/v1/admin/products/"+lamp.ID, "")); got.ID != lamp.ID {
		t.Fatalf("admin get %+v", got)
	}
	public := ok[contract.Page[contract.ProductSummary]](t, s.get(t, "/api/v1/products?category="+root.ID+"&include_descendants=true"))
	if public.Total != 1 || public.Items[0].ID != vase.ID || public.NextCursor != "" {
		t.Fatalf("public list %+v", public)
	}
	all := ok[contract.Page[contract.ProductSummary]](t, s.admin(t, "GET", "/api/v1/admin/products?sort=price&order=desc", ""))
	if all.Total != 2 || all.Items[0].ID != lamp.ID || all.Items[0].Image == nil || all.Items[0].TotalStock != 3 {
		t.Fatalf("admin list %+v", all)
	}
	drafts := ok[contract.Page[contract.ProductSummary]](t, s.admin(t, "GET", "/api/v1/admin/products?status=draft&category="+leaf.ID, ""))
	if drafts.Total != 1 || drafts.Items[0].ID != lamp.ID {
		t.Fatalf("admin drafts %+v", drafts)
	}

	// Update with the version read; a stale version is a conflict. The
	// body is the contract's request, which may repeat the path's id.
	upd := ok[contract.Product](t, s.admin(t, "PATCH", "/api/v1/admin/products/"+lamp.ID, fmt.Sprintf(`{"id":%q,"version":1,"name":"Desk lamp","price":5000}`, lamp.ID)))
	if upd.Name != "Desk lamp" || upd.Slug != "lamp" || upd.Version != 2 || upd.Price != 5000 || upd.Variants[0].Price != 4500 {
		t.Fatalf("patched %+v", upd)
	}
	if r := s.admin(t, "PATCH", "/api/v1/admin/products/"+lamp.ID, `{"version":1,"name":"Stale"}`); r.status != 409 || r.errorCode(t) != "conflict" {
		t.Fatalf("stale patch: %d %s", r.status, r.body)
	}
	pub := ok[contract.Product](t, s.admin(t, "POST", "/api/v1/admin/products/"+lamp.ID+"/status", `{"status":"published","version":2}`))
	if pub.Status != "published" || pub.Version != 3 {
		t.Fatalf("published %+v", pub)
	}
	if got := ok[contract.Product](t, s.get(t, "/api/v1/products/by-slug/lamp")); got.ID != lamp.ID {
		t.Fatalf("by slug %+v", got)
	}
	byName := ok[contract.Page[contract.ProductSummary]](t, s.get(t, "/api/v1/products?sort=name&page_size=1&page=2"))
	if byName.Total != 2 || len(byName.Items) != 1 || byName.Items[0].ID != vase.ID {
		t.Fatalf("by name page 2: %+v", byName)
	}
	// The same page by cursor: the first page's next_cursor.
	first := ok[contract.Page[contract.ProductSummary]](t, s.get(t, "/api/v1/products?sort=name&page_size=1"))
	if first.Total != 2 || len(first.Items) != 1 || first.Items[0].ID != lamp.ID || first.NextCursor == "" {
		t.Fatalf("by name, first page: %+v", first)
	}
	next := ok[contract.Page[contract.ProductSummary]](t, s.get(t, "/api/v1/products?sort=name&page_size=1&cursor="+url.QueryEscape(first.NextCursor)))
	if next.Total != 2 || len(next.Items) != 1 || next.Items[0].ID != vase.ID || next.NextCursor != "" {
		t.Fatalf("by name, by cursor: %+v", next)
	}

	// Stock.
	vid := lamp.Variants[0].ID
	if lvl := ok[contract.StockLevel](t, s.admin(t, "POST", "/api/v1/admin/variants/"+vid+"/adjust-stock", `{"delta":-3}`)); lvl.Stock != 0 || lvl.SKU != "LAMP" {
		t.Fatalf("adjusted %+v", lvl)
	}
	if r := s.admin(t, "POST", "/api/v1/admin/variants/"+vid+"/adjust-stock", `{"delta":-1}`); r.status != 409 || r.errorCode(t) != "conflict" {
		t.Fatalf("below zero: %d %s", r.status, r.body)
	}
	regen := ok[contract.Product](t, s.admin(t, "POST", "/api/v1/admin/products/"+lamp.ID+"/regenerate-variants", `{}`))
	if len(regen.Variants) != 1 || regen.Variants[0].ID != vid || regen.Version != 4 {
		t.Fatalf("regenerated without options %+v", regen)
	}

	// Delete: at a version, then gone everywhere.
	if r := s.adminIfMatch(t, "DELETE", "/api/v1/admin/products/"+lamp.ID, `"1"`, ""); r.status != 412 || r.errorCode(t) != "conflict" {
		t.Fatalf("stale delete with If-Match: %d %s", r.status, r.body)
	}
	if r := s.admin(t, "DELETE", "/api/v1/admin/products/"+lamp.ID, `{"version":1}`); r.status != 409 || r.errorCode(t) != "conflict" {
		t.Fatalf("stale delete: %d %s", r.status, r.body)
	}
	if r := s.admin(t, "GET", "/api/v1/admin/products/"+lamp.ID, ""); r.status != 200 || r.header.Get("ETag") != `"4"` {
		t.Fatalf("ETag of a product at version 4: %d %q", r.status, r.header.Get("ETag"))
	}
	if del := ok[contract.DeleteProductsReply](t, s.adminIfMatch(t, "DELETE", "/api/v1/admin/products/"+lamp.ID, `"4"`, "")); len(del.Deleted) != 1 {
		t.Fatalf("deleted %+v", del)
	}
	if r := s.admin(t, "GET", "/api/v1/admin/products/"+lamp.ID, ""); r.status != 404 || r.errorCode(t) != "not_found" {
		t.Fatalf("after delete: %d %s", r.status, r.body)
	}
	if r := s.admin(t, "POST", "/api/v1/admin/variants/"+vid+"/adjust-stock", `{"delta":1}`); r.status != 404 {
		t.Fatalf("stock of a deleted variant: %d %s", r.status, r.body)
	}
}

func TestProductAPIRefusesBadInput(t *testing.T) {
	s := startShop(t, Config{DatabaseURL: store.SQLiteURL(t.TempDir()), AdminToken: adminToken})
	cat := created[contract.Category](t, s.admin(t, "POST", "/api/v1/admin/categories", `{"name":"Cat"}`))
	p := created[contract.Product](t, s.admin(t, "POST", "/api/v1/admin/products", fmt.Sprintf(
		`{"name":"Base","category_ids":[%q],"currency":"EUR","price":100}`, cat.ID)))
	vid := p.Variants[0].ID
	valid := fmt.Sprintf(`{"name":"X","category_ids":[%q],"currency":"EUR","price":1}`, cat.ID)

	tests := []struct {
		name, method, path, token, body string
		status                          int
		code, mention                   string
	}{
		{"no token", "POST", "/api/v1/admin/products", "", valid, 401, "unauthorized", ""},
		{"admin list without token", "GET", "/api/v1/admin/products", "", ``, 401, "unauthorized", ""},
		{"malformed JSON", "POST", "/api/v1/admin/products", adminToken, `{"name":`, 400, "invalid", "malformed"},
		{"empty body", "POST", "/api/v1/admin/products", adminToken, ``, 400, "invalid", "body"},
		{"unknown field", "POST", "/api/v1/admin/products", adminToken, strings.Replace(valid, `{`, `{"admin":true,`, 1), 400, "invalid", "admin"},
		{"wrong type", "POST", "/api/v1/admin/products", adminToken, strings.Replace(valid, `"price":1`, `"price":"1"`, 1), 400, "invalid", "price"},
		{"float price", "POST", "/api/v1/admin/products", adminToken, strings.Replace(valid, `"price":1`, `"price":1.5`, 1), 400, "invalid", "price"},
		{"operator injection", "POST", "/api/v1/admin/products", adminToken, strings.Replace(valid, `"name":"X"`, `"name":{"$gt":""}`, 1), 400, "invalid", "name"},
		{"oversize body", "POST", "/api/v1/admin/products", adminToken, `{"name":"` + strings.Repeat("x", 1<<20) + `"}`, 400, "invalid", "larger"},
		{"no category", "POST", "/api/v1/admin/products", adminToken, `{"name":"X","currency":"EUR"}`, 400, "invalid", "category_ids"},
		{"bad currency", "POST", "/api/v1/admin/products", adminToken, strings.Replace(valid, `"EUR"`, `"eur"`, 1), 400, "invalid", "currency"},
		{"bad image", "POST", "/api/v1/admin/products", adminToken, strings.Replace(valid, `"price":1`, `"price":1,"images":[{"url":"ftp://x/y.jpg"}]`, 1), 400, "invalid", "images[0].url"},
		{"taken slug", "POST", "/api/v1/admin/products", adminToken, strings.Replace(valid, `"name":"X"`, `"name":"X","slug":"base"`, 1), 409, "conflict", "slug"},
		{"taken sku", "POST", "/api/v1/admin/products", adminToken, strings.Replace(valid, `"name":"X"`, `"name":"X","sku":"BASE"`, 1), 409, "conflict", "BASE"},
		{"id in patch body", "PATCH", "/api/v1/admin/products/" + p.ID, adminToken, `{"id":"x","version":1,"name":"y"}`, 400, "invalid", "id"},
		{"patch without version", "PATCH", "/api/v1/admin/products/" + p.ID, adminToken, `{"name":"y"}`, 400, "invalid", "version"},
		{"patch bad id", "PATCH", "/api/v1/admin/products/nope", adminToken, `{"version":1,"name":"y"}`, 400, "invalid", "UUID"},
		{"id of another product in a status body", "POST", "/api/v1/admin/products/" + p.ID + "/status", adminToken, `{"id":"01a21042-816e-7207-a40f-0cf2f438397d","status":"archived"}`, 400, "invalid", "id"},
		{"status unknown", "POST", "/api/v1/admin/products/" + p.ID + "/status", adminToken, `{"status":"live"}`, 400, "invalid", "status"},
		{"regenerate without body", "POST", "/api/v1/admin/products/" + p.ID + "/regenerate-variants", adminToken, ``, 400, "invalid", "body"},
		{"delete bad version", "DELETE", "/api/v1/admin/products/" + p.ID, adminToken, `{"version":"x"}`, 400, "invalid", "version"},
		{"delete version in the query", "DELETE", "/api/v1/admin/products/" + p.ID + "?version=1", adminToken, ``, 400, "invalid", "version"},
		{"delete unknown param", "DELETE", "/api/v1/admin/products/" + p.ID + "?force=1", adminToken, ``, 400, "invalid", "force"},
		{"adjust zero", "POST", "/api/v1/admin/variants/" + vid + "/adjust-stock", adminToken, `{"delta":0}`, 400, "invalid", "delta"},
		{"adjust wrong type", "POST", "/api/v1/admin/variants/" + vid + "/adjust-stock", adminToken, `{"delta":"-1"}`, 400, "invalid", "delta"},
		{"adjust missing", "POST", "/api/v1/admin/variants/01a21042-816e-7207-a40f-0cf2f438397d/adjust-stock", adminToken, `{"delta":1}`, 404, "not_found", "variant"},
		{"get bad id", "GET", "/api/v1/products/not-a-uuid", "", ``, 400, "invalid", "UUID"},
		{"get missing", "GET", "/api/v1/products/01a21042-816e-7207-a40f-0cf2f438397d", "", ``, 404, "not_found", ""},
		{"bad slug", "GET", "/api/v1/products/by-slug/NOT%20A%20SLUG", "", ``, 400, "invalid", "slug"},
		{"page zero", "GET", "/api/v1/products?page=0", "", ``, 400, "invalid", "page"},
		{"page not a number", "GET", "/api/v1/products?page=x", "", ``, 400, "invalid", "page"},
		{"page size too big", "GET", "/api/v1/products?page_size=101", "", ``, 400, "invalid", "page_size"},
		{"page size zero", "GET", "/api/v1/products?page_size=0", "", ``, 400, "invalid", "page_size"},
		{"bad cursor", "GET", "/api/v1/products?cursor=%7B%22%24gt%22%3A%22%22%7D", "", ``, 400, "invalid", "cursor"},
		{"cursor and page", "GET", "/api/v1/products?cursor=abc&page=2", "", ``, 400, "invalid", "cursor"},
		{"bad sort", "GET", "/api/v1/products?sort=random", "", ``, 400, "invalid", "sort"},
		{"bad order", "GET", "/api/v1/products?order=up", "", ``, 400, "invalid", "order"},
		{"bad category", "GET", "/api/v1/products?category=shoes", "", ``, 400, "invalid", "category"},
		{"bad include_descendants", "GET", "/api/v1/products?category=" + cat.ID + "&include_descendants=maybe", "", ``, 400, "invalid", "include_descendants"},
		{"descendants without category", "GET", "/api/v1/products?include_descendants=true", "", ``, 400, "invalid", "include_descendants"},
		{"status is admin only", "GET", "/api/v1/products?status=draft", "", ``, 400, "invalid", "status"},
		{"unknown parameter", "GET", "/api/v1/products?color=red", "", ``, 400, "invalid", "color"},
		{"repeated parameter", "GET", "/api/v1/products?page=1&page=2", "", ``, 400, "invalid", "page"},
		{"admin bad status", "GET", "/api/v1/admin/products?status=gone", adminToken, ``, 400, "invalid", "status"},
		{"wrong method", "PUT", "/api/v1/products", "", ``, 405, "invalid", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.do(t, tt.method, tt.path, tt.token, strings.NewReader(tt.body))
			if r.status != tt.status || r.errorCode(t) != tt.code || !strings.Contains(string(r.body), tt.mention) {
				t.Fatalf("%d %s, want %d %s mentioning %q", r.status, r.body, tt.status, tt.code, tt.mention)
			}
		})
	}
	// Nothing was written.
	all := ok[contract.Page[contract.ProductSummary]](t, s.admin(t, "GET", "/api/v1/admin/products", ""))
	if all.Total != 1 || all.Items[0].Version != 1 || all.Items[0].TotalStock != 0 {
		t.Fatalf("bad input changed data: %+v", all)
	}
}
