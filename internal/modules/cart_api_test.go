package modules

import (
	"encoding/json"
	"fmt"

	"strings"
	"testing"

	"github.com/shopengine/shop/internal/contract"
)

// cartShop is a shop for the cart HTTP tests, with a published boot
// (stock 5) and hat (stock 50).
func cartShop(t *testing.T) (s *shop, boot, hat contract.Product) {
	s = startShop(t, authConfig(t))
	cat := created[contract.Category](t, s.admin(t, "POST", "/api/v1/admin/categories", `{"name":"Shoes"}`))
	product := func(name string, price, stock int64) contract.Product {
		return created[contract.Product](t, s.admin(t, "POST", "/api/v1/admin/products", fmt.Sprintf(
			`{"name":%q,"category_ids":[%q],"currency":"EUR","price":%d,"status":"published","variants":[{"stock":%d}]}`, name, cat.ID, price, stock)))
	}
	return s, product("Boot", 12_000, 5), product("Hat", 2_500, 50)
}

// cartOf decodes a cart reply.
func cartOf(t *testing.T, r httpReply) contract.Cart {
	t.Helper()
	if r.StatusCode != 200 {
		t.Fatalf("cart: %d %s", r.StatusCode, r.body)
	}
	var c contract.Cart
	if err := json.Unmarshal(r.body, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func cartCookie(token string) []string {
	return []string{"Cookie", contract.CartTokenCookie + "=" + token}
}

// TestCartAPIGuest: a guest's cart lives behind the HttpOnly shop_cart
// cookie, issued at the first add, never in a body; bad input is 400
// naming the field and changes nothing; the cart is repriced on every read
// and shows unpublished products as unavailable.
func TestCartAPIGuest(t *testing.T) {
	s, boot, hat := cartShop(t)
	if c := cartOf(t, s.send(t, "GET", "/api/v1/cart", "")); c.ID != "" || len(c.Lines) != 0 {
		t.Fatalf("no cart yet: %+v", c)
	}
	r := s.send(t, "POST", "/api/v1/cart/lines", fmt.Sprintf(`{"variant_id":%q,"quantity":2}`, boot.Variants[0].ID))
	c := cartOf(t, r)
	ck := r.cookie(contract.CartTokenCookie)
	if ck == nil || len(ck.Value) != 32 || !ck.HttpOnly || ck.Path != "/" || ck.MaxAge <= 0 || strings.Contains(string(r.body), ck.Value) || strings.Contains(string(r.body), `"token"`) {
		t.Fatalf("cart cookie %+v, body %s", ck, r.body)
	}
	if len(c.Lines) != 1 || c.Subtotal != 24_000 || c.Lines[0].ProductName != "Boot" || r.Header.Get("ETag") != `"1"` {
		t.Fatalf("first add: %+v", c)
	}
	guest := cartCookie(ck.Value)
	if c := cartOf(t, s.send(t, "GET", "/api/v1/cart", "")); c.ID != "" {
		t.Fatalf("the cart without its cookie: %+v", c)
	}
	// A mangled cookie is dropped, not an error.
	if r := s.send(t, "GET", "/api/v1/cart", "", cartCookie("garbage")...); r.StatusCode != 200 || r.cookie(contract.CartTokenCookie) == nil || r.cookie(contract.CartTokenCookie).MaxAge >= 0 {
		t.Fatalf("mangled cookie: %d %s %v", r.StatusCode, r.body, r.Cookies())
	}
	if c := cartOf(t, s.send(t, "GET", "/api/v1/cart", "", guest...)); c.ID == "" || c.Lines[0].Quantity != 2 {
		t.Fatalf("the cart with its cookie: %+v", c)
	}
	lineID := c.Lines[0].ID

	// Bad input: 400 naming the field, and the cart as it was.
	v := boot.Variants[0].ID
	for _, tc := range []struct{ method, path, body, field string }{
		{"POST", "/api/v1/cart/lines", fmt.Sprintf(`{"variant_id":%q,"quantity":0}`, v), "quantity"},
		{"POST", "/api/v1/cart/lines", fmt.Sprintf(`{"variant_id":%q,"quantity":-1}`, v), "quantity"},
		{"POST", "/api/v1/cart/lines", fmt.Sprintf(`{"variant_id":%q,"quantity":1.5}`, v), "quantity"},
		{"POST", "/api/v1/cart/lines", fmt.Sprintf(`{"variant_id":%q,"quantity":"2"}`, v), "quantity"},
		{"POST", "/api/v1/cart/lines", fmt.Sprintf(`{"variant_id":%q}`, v), "quantity"},
		{"POST", "/api/v1/cart/lines", `{"variant_id":{"$gt":""},"quantity":1}`, "variant_id"},
		{"POST", "/api/v1/cart/lines", fmt.Sprintf(`{"variant_id":%q,"quantity":1,"price":1}`, v), "price"},
		{"POST", "/api/v1/cart/lines", fmt.Sprintf(`{"variant_id":%q,"quantity":1,"token":%q}`, v, ck.Value), "token"},
		{"POST", "/api/v1/cart/lines", `{"variant_id":`, "malformed"},
		{"POST", "/api/v1/cart/lines", `{"variant_id":"` + strings.Repeat("x", 2<<20) + `","quantity":1}`, "larger than"},
		{"POST", "/api/v1/cart/lines?quantity=3", fmt.Sprintf(`{"variant_id":%q,"quantity":1}`, v), "quantity"},
		{"PATCH", "/api/v1/cart/lines/" + lineID, `{"quantity":-3}`, "quantity"},
		{"PATCH", "/api/v1/cart/lines/" + lineID, `{"quantity":2.5}`, "quantity"},
		{"PATCH", "/api/v1/cart/lines/" + lineID, `{"quantity":"1"}`, "quantity"},
		{"PATCH", "/api/v1/cart/lines/" + lineID, `{}`, "quantity"},
		{"PATCH", "/api/v1/cart/lines/" + lineID, `{"quantity":{"$gt":0}}`, "quantity"},
		{"PATCH", "/api/v1/cart/lines/not-an-id", `{"quantity":1}`, "line_id"},
		{"DELETE", "/api/v1/cart/lines/" + lineID, `{"line_id":"x"}`, "line_id"},
	} {
		r := s.send(t, tc.method, tc.path, tc.body, guest...)
		if r.StatusCode != 400 || r.code(t) != "invalid" || !strings.Contains(string(r.body), tc.field) {
			t.Fatalf("%s %s %.80s: %d %s, want 400 naming %s", tc.method, tc.path, tc.body, r.StatusCode, r.body, tc.field)
		}
	}
	if c := cartOf(t, s.send(t, "GET", "/api/v1/cart", "", guest...)); c.Version != 1 || len(c.Lines) != 1 || c.Lines[0].Quantity != 2 {
		t.Fatalf("after bad input: %+v", c)
	}
	// Above the stock: 409 naming what is available.
	if r := s.send(t, "PATCH", "/api/v1/cart/lines/"+lineID, `{"quantity":6}`, guest...); r.StatusCode != 409 || !strings.Contains(string(r.body), "only 5 available") {
		t.Fatalf("above stock: %d %s", r.StatusCode, r.body)
	}
	// A stale If-Match is 412.
	if r := s.send(t, "PATCH", "/api/v1/cart/lines/"+lineID, `{"quantity":3}`, append(guest, "If-Match", `"7"`)...); r.StatusCode != 412 {
		t.Fatalf("stale If-Match: %d %s", r.StatusCode, r.body)
	}
	// Cross-site writes are refused.
	if r := s.send(t, "POST", "/api/v1/cart/lines", fmt.Sprintf(`{"variant_id":%q,"quantity":1}`, hat.Variants[0].ID),
		append(guest, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")...); r.StatusCode != 403 {
		t.Fatalf("cross-site add: %d %s", r.StatusCode, r.body)
	}

	c = cartOf(t, s.send(t, "POST", "/api/v1/cart/lines", fmt.Sprintf(`{"variant_id":%q,"quantity":3}`, hat.Variants[0].ID), guest...))
	if len(c.Lines) != 2 || c.Subtotal != 24_000+7_500 {
		t.Fatalf("two lines: %+v", c)
	}

	// Repricing: the boot's price changes; the cart shows both prices, once.
	b := ok[contract.Product](t, s.admin(t, "GET", "/api/v1/admin/products/"+boot.ID, ""))
	if r := s.adminIfMatch(t, "PATCH", "/api/v1/admin/products/"+boot.ID, fmt.Sprintf(`"%d"`, b.Version),
		fmt.Sprintf(`{"variants":[{"id":%q,"price":15000}]}`, boot.Variants[0].ID)); r.status != 200 {
		t.Fatalf("reprice: %d %s", r.status, r.body)
	}
	c = cartOf(t, s.send(t, "GET", "/api/v1/cart", "", guest...))
	if l := c.Lines[0]; l.UnitPrice != 15_000 || l.UnitPriceAdded != 12_000 || !l.PriceChanged || l.LineTotal != 30_000 || c.Subtotal != 30_000+7_500 {
		t.Fatalf("repriced: %+v", c)
	}
	if c := cartOf(t, s.send(t, "GET", "/api/v1/cart", "", guest...)); c.Lines[0].PriceChanged || c.Lines[0].UnitPrice != 15_000 {
		t.Fatalf("price change shown twice: %+v", c.Lines[0])
	}
	// The hat unpublished: unavailable and out of the totals.
	if r := s.admin(t, "POST", "/api/v1/admin/products/"+hat.ID+"/status", `{"status":"draft"}`); r.status != 200 {
		t.Fatalf("unpublish: %d %s", r.status, r.body)
	}
	c = cartOf(t, s.send(t, "GET", "/api/v1/cart", "", guest...))
	if l := c.Lines[1]; l.Available || l.LineTotal != 0 || l.ProductName != "Hat" || c.Subtotal != 30_000 || c.ItemCount != 2 {
		t.Fatalf("unpublished hat: %+v", c)
	}
	// A deleted product likewise.
	if r := s.admin(t, "DELETE", "/api/v1/admin/products/"+boot.ID, ""); r.status != 200 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	c = cartOf(t, s.send(t, "GET", "/api/v1/cart", "", guest...))
	if c.Lines[0].Available || c.Subtotal != 0 || c.ItemCount != 0 {
		t.Fatalf("deleted boot: %+v", c)
	}

	// Remove a line, then clear the cart.
	c = cartOf(t, s.send(t, "DELETE", "/api/v1/cart/lines/"+c.Lines[0].ID, "", guest...))
	if len(c.Lines) != 1 {
		t.Fatalf("removed: %+v", c)
	}
	if c := cartOf(t, s.send(t, "DELETE", "/api/v1/cart", "", guest...)); len(c.Lines) != 0 {
		t.Fatalf("cleared: %+v", c)
	}
	// The admin list of carts.
	var page contract.Page[contract.CartSummary]
	if r := s.admin(t, "GET", "/api/v1/admin/carts?limit=10", ""); r.status != 200 {
		t.Fatalf("admin carts: %d %s", r.status, r.body)
	} else {
		r.decode(t, &page)
	}
	if page.Total != 1 || page.Items[0].Owner != "guest" {
		t.Fatalf("admin carts: %+v", page)
	}
	if r := s.send(t, "GET", "/api/v1/admin/carts", "", guest...); r.StatusCode != 401 {
		t.Fatalf("carts list without an admin: %d", r.StatusCode)
	}
}

// TestCartAPIMergeAtLogin: a guest with a cart who signs in gets the
// guest's lines in the user's cart, summed and capped; the guest cookie
// is dropped; signing in again with the old cookie adds nothing twice.
func TestCartAPIMergeAtLogin(t *testing.T) {
	s, boot, hat := cartShop(t)
	s.status(t, 201, "POST", "/api/v1/auth/register", `{"email":"ann@example.com","password":"`+goodPW+`"}`)
	token := s.login(t, "ann@example.com", goodPW)
	cartOf(t, s.send(t, "POST", "/api/v1/cart/lines", fmt.Sprintf(`{"variant_id":%q,"quantity":4}`, boot.Variants[0].ID), bearer(token)...))

	r := s.send(t, "POST", "/api/v1/cart/lines", fmt.Sprintf(`{"variant_id":%q,"quantity":3}`, boot.Variants[0].ID))
	guestToken := r.cookie(contract.CartTokenCookie).Value
	cartOf(t, s.send(t, "POST", "/api/v1/cart/lines", fmt.Sprintf(`{"variant_id":%q,"quantity":2}`, hat.Variants[0].ID), cartCookie(guestToken)...))

	login := s.send(t, "POST", "/api/v1/auth/login", `{"email":"ann@example.com","password":"`+goodPW+`"}`, cartCookie(guestToken)...)
	if login.StatusCode != 200 {
		t.Fatalf("login: %d %s", login.StatusCode, login.body)
	}
	if ck := login.cookie(contract.CartTokenCookie); ck == nil || ck.MaxAge >= 0 {
		t.Fatalf("guest cookie after the login: %+v", ck)
	}
	session := login.cookie("shop_session").Value
	c := cartOf(t, s.send(t, "GET", "/api/v1/cart", "", cookie(session)...))
	if len(c.Lines) != 2 || c.Lines[0].Quantity != 5 || !strings.Contains(c.Lines[0].Notice, "from 7 to 5") || c.Lines[1].Quantity != 2 || c.ItemCount != 7 ||
		c.Owner != "user:"+login.userID(t) {
		t.Fatalf("merged: %+v", c)
	}
	// The old guest cookie again, at a login and on a cart request: nothing twice.
	s.status(t, 200, "POST", "/api/v1/auth/login", `{"email":"ann@example.com","password":"`+goodPW+`"}`, cartCookie(guestToken)...)
	both := []string{"Cookie", "shop_session=" + session + "; " + contract.CartTokenCookie + "=" + guestToken}
	r = s.send(t, "GET", "/api/v1/cart", "", both...)
	if c := cartOf(t, r); c.ItemCount != 7 || len(c.Lines) != 2 {
		t.Fatalf("after a second merge: %+v", c)
	}
	if ck := r.cookie(contract.CartTokenCookie); ck == nil || ck.MaxAge >= 0 {
		t.Fatalf("leftover guest cookie not dropped: %+v", ck)
	}
	// The guest cart is gone.
	if c := cartOf(t, s.send(t, "GET", "/api/v1/cart", "", cartCookie(guestToken)...)); c.ID != "" {
		t.Fatalf("guest cart after the merge: %+v", c)
	}
	// Another user never sees Ann's cart.
	s.status(t, 201, "POST", "/api/v1/auth/register", `{"email":"bob@example.com","password":"`+goodPW+`"}`)
	if c := cartOf(t, s.send(t, "GET", "/api/v1/cart", "", bearer(s.login(t, "bob@example.com", goodPW))...)); len(c.Lines) != 0 {
		t.Fatalf("bob sees %+v", c)
	}
}

// userID is the user of a login reply.
func (r httpReply) userID(t *testing.T) string {
	t.Helper()
	var g struct{ User contract.User }
	if err := json.Unmarshal(r.body, &g); err != nil || g.User.ID == "" {
		t.Fatalf("login reply %s", r.body)
	}
	return g.User.ID
}
