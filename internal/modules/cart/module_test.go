package cart

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/bus/amqp/amqptest"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/moduletest"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

// spec is the cart module as moduletest starts it, on clk's time when
// given.
func spec(cfg Config, clk func() time.Time) moduletest.Spec[Store, *Module] {
	return moduletest.Spec[Store, *Module]{Open: OpenStore,
		New: func(b bus.Bus, st Store, log *slog.Logger) *Module {
			m := NewWithConfig(b, st, cfg, log)
			if clk != nil {
				m.now = clk
			}
			return m
		},
		Relay: func(m *Module, r *outbox.Relay) { m.relay = r }}
}

// catalogue is the product module as the cart's tests see it: a stub
// answering get_variants from a table the test changes.
type catalogue struct {
	mu sync.Mutex
	vs map[string]contract.VariantInfo
}

func newCatalogue(t testing.TB, b bus.Bus) *catalogue {
	c := &catalogue{vs: map[string]contract.VariantInfo{}}
	moduletest.Handle(moduletest.NewStub(t, b, contract.ProductQueue), contract.GetVariants,
		func(ctx context.Context, req contract.VariantIDs) (contract.VariantList, error) {
			if p, _ := contract.PrincipalFrom(ctx); !p.Anonymous() || !req.PublishedOnly {
				return contract.VariantList{}, bus.Errorf(bus.CodeInvalid, "the cart must ask as nobody, for published products")
			}
			if len(req.IDs) == 0 || len(req.IDs) > contract.MaxBatch {
				return contract.VariantList{}, bus.Errorf(bus.CodeInvalid, "ids: %d", len(req.IDs))
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			out := contract.VariantList{Items: []contract.VariantInfo{}, Missing: []string{}}
			for _, id := range req.IDs {
				if v, ok := c.vs[id]; ok && v.Status == contract.ProductPublished {
					out.Items = append(out.Items, v)
				} else {
					out.Missing = append(out.Missing, id)
				}
			}
			return out, nil
		})
	return c
}

func (c *catalogue) add(name, currency string, price, stock int64) contract.VariantInfo {
	v := contract.VariantInfo{VariantID: uuid.Must(uuid.NewV7()).String(), ProductID: uuid.Must(uuid.NewV7()).String(), ProductName: name,
		Slug: strings.ToLower(name), Status: contract.ProductPublished, SKU: strings.ToUpper(name), Currency: currency, Price: price, Stock: stock,
		Options: []contract.VariantOption{{GroupCode: "size", ValueCode: "m", Label: "M"}}}
	c.mu.Lock()
	c.vs[v.VariantID] = v
	c.mu.Unlock()
	return v
}

func (c *catalogue) set(id string, fn func(v *contract.VariantInfo)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.vs[id]
	fn(&v)
	c.vs[id] = v
}

// shop is a running cart module with its product stub and the bus its
// callers use.
type shop struct {
	*moduletest.Harness[*Module]
	bus      bus.Bus
	products *catalogue
}

func start(t testing.TB, db *store.DB, cfg Config, clk func() time.Time, opts ...moduletest.Option) *shop {
	t.Helper()
	h := moduletest.Start(t, db, spec(cfg, clk), opts...)
	return &shop{Harness: h, bus: h.Bus, products: newCatalogue(t, h.Bus)}
}

// startAMQP runs the module on one RabbitMQ connection and its callers
// on another.
func startAMQP(t testing.TB, db *store.DB) *shop {
	url := amqptest.URL(t)
	opts := amqptest.Options(t, url)
	server, client := amqptest.Dial(t, url, opts), amqptest.Dial(t, url, opts)
	s := start(t, db, Config{}, nil, moduletest.OnBus(server))
	s.bus = client
	return s
}

func user() contract.Principal {
	return contract.Principal{UserID: uuid.Must(uuid.NewV7()).String(), Role: contract.RoleCustomer, SessionID: uuid.Must(uuid.NewV7()).String()}
}

func as(p contract.Principal) bus.Meta { return bus.Meta{Principal: p.String()} }

var guest = bus.Meta{}

func call[Req, Resp any](t testing.TB, s *shop, meta bus.Meta, e bus.Endpoint[Req, Resp], req Req) Resp {
	t.Helper()
	resp, err := bus.Call(bus.WithMeta(t.Context(), meta), s.bus, e, req)
	if err != nil {
		t.Fatalf("%s %+v: %v", e.Op, req, err)
	}
	return resp
}

// callSlow is call with a deadline of a minute instead of the bus's 10 s:
// for the concurrency tests, where 50 adds to one cart queue behind each
// other, which on FerretDB under the race detector on a loaded machine
// takes longer than 10 s for the last; they test what is kept, not speed.
func callSlow[Req, Resp any](t testing.TB, s *shop, meta bus.Meta, e bus.Endpoint[Req, Resp], req Req) Resp {
	t.Helper()
	ctx, cancel := context.WithTimeout(bus.WithMeta(t.Context(), meta), time.Minute)
	defer cancel()
	resp, err := bus.Call(ctx, s.bus, e, req)
	if err != nil {
		t.Errorf("%s %+v: %v", e.Op, req, err)
	}
	return resp
}

func callErr[Req, Resp any](t testing.TB, s *shop, meta bus.Meta, e bus.Endpoint[Req, Resp], req Req, code bus.Code, mention string) {
	t.Helper()
	_, err := bus.Call(bus.WithMeta(t.Context(), meta), s.bus, e, req)
	if bus.CodeOf(err) != code || !strings.Contains(err.Error(), mention) {
		t.Fatalf("%s %+v: got %v, want %s mentioning %q", e.Op, req, err, code, mention)
	}
}

func TestCartModule(t *testing.T) {
	moduletest.ForEach(t, spec(Config{}, nil), func(t *testing.T, h *moduletest.Harness[*Module]) {
		exercise(t, &shop{Harness: h, bus: h.Bus, products: newCatalogue(t, h.Bus)})
	})
}

// TestCartModuleAMQP is the same behaviour with the module and its
// callers on two RabbitMQ connections.
func TestCartModuleAMQP(t *testing.T) {
	exercise(t, startAMQP(t, storetest.SQLite(t)))
}

func exercise(t *testing.T, s *shop) {
	boot := s.products.add("Boot", "EUR", 12_000, 5)
	hat := s.products.add("Hat", "EUR", 2_500, 100)
	dollar := s.products.add("Cap", "USD", 1_000, 10)

	// A guest has no cart until the first add, which creates it and hands out its token once.
	if c := call(t, s, guest, contract.GetCart, contract.CartRef{}); c.ID != "" || len(c.Lines) != 0 || c.Owner != "guest" {
		t.Fatalf("no cart yet: %+v", c)
	}
	c := call(t, s, guest, contract.AddLine, contract.AddLineRequest{VariantID: boot.VariantID, Quantity: 2})
	token := c.Token
	if len(token) != 32 || c.ID == "" || c.Version != 1 || c.Currency != "EUR" || c.Subtotal != 24_000 || c.ItemCount != 2 || len(c.Lines) != 1 || c.ExpiresAt.IsZero() {
		t.Fatalf("first add: %+v", c)
	}
	l := c.Lines[0]
	if l.VariantID != boot.VariantID || l.ProductID != boot.ProductID || l.SKU != "BOOT" || l.ProductName != "Boot" || l.Slug != "boot" ||
		l.Quantity != 2 || l.UnitPrice != 12_000 || l.UnitPriceAdded != 12_000 || l.LineTotal != 24_000 || !l.Available || l.PriceChanged ||
		len(l.Options) != 1 || l.Options[0] != "M" {
		t.Fatalf("line %+v", l)
	}
	ref := contract.CartRef{Token: token}
	// The same variant again increases its line; the token is not handed out again.
	c = call(t, s, guest, contract.AddLine, contract.AddLineRequest{CartRef: ref, VariantID: boot.VariantID, Quantity: 1})
	if len(c.Lines) != 1 || c.Lines[0].Quantity != 3 || c.Token != "" || c.Version != 2 {
		t.Fatalf("second add: %+v", c)
	}
	// Without the token, or with another, the cart is not there; a malformed token is invalid.
	if c := call(t, s, guest, contract.GetCart, contract.CartRef{Token: strings.Repeat("a", 32)}); len(c.Lines) != 0 || c.ID != "" {
		t.Fatalf("another token: %+v", c)
	}
	// A token that cannot be one is no cart either (a mangled cookie must not break shopping).
	if c := call(t, s, guest, contract.GetCart, contract.CartRef{Token: "short"}); c.ID != "" {
		t.Fatalf("malformed token: %+v", c)
	}
	if c := call(t, s, guest, contract.AddLine, contract.AddLineRequest{CartRef: contract.CartRef{Token: "../" + token}, VariantID: hat.VariantID, Quantity: 1}); c.ID == "" || c.Token == "" || c.Token == token {
		t.Fatalf("add with a malformed token: %+v", c)
	}

	// Limits: above the stock is a conflict naming what is available; 0, negative and above the line limit are invalid.
	callErr(t, s, guest, contract.AddLine, contract.AddLineRequest{CartRef: ref, VariantID: boot.VariantID, Quantity: 3}, bus.CodeConflict, "only 5 available (3 already in the cart)")
	callErr(t, s, guest, contract.AddLine, contract.AddLineRequest{CartRef: ref, VariantID: boot.VariantID, Quantity: 0}, bus.CodeInvalid, "quantity 0")
	callErr(t, s, guest, contract.AddLine, contract.AddLineRequest{CartRef: ref, VariantID: boot.VariantID, Quantity: -1}, bus.CodeInvalid, "quantity -1")
	callErr(t, s, guest, contract.AddLine, contract.AddLineRequest{CartRef: ref, VariantID: hat.VariantID, Quantity: 100}, bus.CodeInvalid, "want 1 to 99")
	call(t, s, guest, contract.AddLine, contract.AddLineRequest{CartRef: ref, VariantID: hat.VariantID, Quantity: 99})
	callErr(t, s, guest, contract.AddLine, contract.AddLineRequest{CartRef: ref, VariantID: hat.VariantID, Quantity: 1}, bus.CodeConflict, "at most 99 per line")
	callErr(t, s, guest, contract.AddLine, contract.AddLineRequest{CartRef: ref, VariantID: uuid.NewString(), Quantity: 1}, bus.CodeNotFound, "not for sale")
	callErr(t, s, guest, contract.AddLine, contract.AddLineRequest{CartRef: ref, VariantID: "x", Quantity: 1}, bus.CodeInvalid, "variant_id")
	// One currency per cart.
	callErr(t, s, guest, contract.AddLine, contract.AddLineRequest{CartRef: ref, VariantID: dollar.VariantID, Quantity: 1}, bus.CodeConflict, "one currency per cart")

	c = call(t, s, guest, contract.GetCart, ref)
	if len(c.Lines) != 2 || c.Subtotal != 3*12_000+99*2_500 || c.ItemCount != 102 || c.Version != 3 {
		t.Fatalf("after the refused adds: %+v", c)
	}
	bootLine, hatLine := c.Lines[0], c.Lines[1]

	// Repricing on read: the new price and the old one, price_changed once.
	s.products.set(boot.VariantID, func(v *contract.VariantInfo) { v.Price = 15_000; v.ProductName = "Boot II" })
	// A peek (the storefront's header badge) shows it but does not use it up.
	peek := ref
	peek.Peek = true
	for range 2 {
		if c = call(t, s, guest, contract.GetCart, peek); !c.Lines[0].PriceChanged || c.Version != 3 {
			t.Fatalf("peeked: %+v", c)
		}
	}
	c = call(t, s, guest, contract.GetCart, ref)
	if l := c.Lines[0]; l.UnitPrice != 15_000 || l.UnitPriceAdded != 12_000 || !l.PriceChanged || l.LineTotal != 45_000 || l.ProductName != "Boot II" ||
		c.Subtotal != 45_000+99*2_500 {
		t.Fatalf("repriced: %+v", c)
	}
	c = call(t, s, guest, contract.GetCart, ref)
	if l := c.Lines[0]; l.UnitPrice != 15_000 || l.UnitPriceAdded != 12_000 || l.PriceChanged {
		t.Fatalf("seen: %+v", l)
	}
	// An unpublished product or a gone variant: unavailable, out of the totals, and back when published again.
	s.products.set(hat.VariantID, func(v *contract.VariantInfo) { v.Status = contract.ProductDraft })
	c = call(t, s, guest, contract.GetCart, ref)
	if l := c.Lines[1]; l.Available || l.LineTotal != 0 || l.ProductName != "Hat" || l.UnitPrice != 2_500 || c.Subtotal != 45_000 || c.ItemCount != 3 {
		t.Fatalf("unpublished: %+v", c)
	}
	callErr(t, s, guest, contract.SetQuantity, contract.SetQuantityRequest{CartRef: ref, LineID: hatLine.ID, Quantity: 2}, bus.CodeConflict, "no longer for sale")
	s.products.set(hat.VariantID, func(v *contract.VariantInfo) { v.Status = contract.ProductPublished })
	if c = call(t, s, guest, contract.GetCart, ref); !c.Lines[1].Available || c.ItemCount != 102 {
		t.Fatalf("published again: %+v", c)
	}
	// Stock below the quantity: the line says so.
	s.products.set(boot.VariantID, func(v *contract.VariantInfo) { v.Stock = 2 })
	if c = call(t, s, guest, contract.GetCart, ref); c.Lines[0].Notice != "only 2 in stock" {
		t.Fatalf("short stock: %+v", c.Lines[0])
	}
	s.products.set(boot.VariantID, func(v *contract.VariantInfo) { v.Stock = 5 })

	// set_quantity, with and without a version; 0 removes the line.
	c = call(t, s, guest, contract.SetQuantity, contract.SetQuantityRequest{CartRef: ref, LineID: bootLine.ID, Quantity: 5})
	if c.Lines[0].Quantity != 5 {
		t.Fatalf("set: %+v", c)
	}
	callErr(t, s, guest, contract.SetQuantity, contract.SetQuantityRequest{CartRef: ref, LineID: bootLine.ID, Quantity: 6}, bus.CodeConflict, "only 5 available")
	callErr(t, s, guest, contract.SetQuantity, contract.SetQuantityRequest{CartRef: ref, LineID: bootLine.ID, Quantity: 1, Version: c.Version - 1}, bus.CodeConflict, "version")
	callErr(t, s, guest, contract.SetQuantity, contract.SetQuantityRequest{CartRef: ref, LineID: uuid.NewString(), Quantity: 1}, bus.CodeNotFound, "not in your cart")
	callErr(t, s, guest, contract.SetQuantity, contract.SetQuantityRequest{CartRef: ref, LineID: bootLine.ID, Quantity: -2}, bus.CodeInvalid, "quantity -2")
	c = call(t, s, guest, contract.SetQuantity, contract.SetQuantityRequest{CartRef: ref, LineID: bootLine.ID, Quantity: 4, Version: c.Version})
	if c.Lines[0].Quantity != 4 {
		t.Fatalf("set at version: %+v", c)
	}
	c = call(t, s, guest, contract.SetQuantity, contract.SetQuantityRequest{CartRef: ref, LineID: bootLine.ID, Quantity: 0})
	if len(c.Lines) != 1 || c.Lines[0].ID != hatLine.ID {
		t.Fatalf("set to 0: %+v", c)
	}
	c = call(t, s, guest, contract.RemoveLine, contract.RemoveLineRequest{CartRef: ref, LineID: hatLine.ID})
	if len(c.Lines) != 0 || c.Currency != "" || c.Subtotal != 0 {
		t.Fatalf("removed: %+v", c)
	}
	callErr(t, s, guest, contract.RemoveLine, contract.RemoveLineRequest{CartRef: ref, LineID: hatLine.ID}, bus.CodeNotFound, "not in your cart")
	// An empty cart takes any currency.
	c = call(t, s, guest, contract.AddLine, contract.AddLineRequest{CartRef: ref, VariantID: dollar.VariantID, Quantity: 1})
	if c.Currency != "USD" || c.Token != "" {
		t.Fatalf("dollars: %+v", c)
	}
	if c = call(t, s, guest, contract.ClearCart, contract.ClearCartRequest{CartRef: ref}); len(c.Lines) != 0 {
		t.Fatalf("cleared: %+v", c)
	}

	// A user's cart is the principal's: a token in the body does not reach the guest cart.
	ann, bob := user(), user()
	call(t, s, guest, contract.AddLine, contract.AddLineRequest{CartRef: ref, VariantID: boot.VariantID, Quantity: 1})
	if c := call(t, s, as(ann), contract.GetCart, ref); len(c.Lines) != 0 || c.Owner != "user:"+ann.UserID {
		t.Fatalf("ann with the guest's token: %+v", c)
	}
	a := call(t, s, as(ann), contract.AddLine, contract.AddLineRequest{VariantID: hat.VariantID, Quantity: 2})
	if a.Token != "" || a.Owner != "user:"+ann.UserID || !a.ExpiresAt.IsZero() || len(a.Lines) != 1 {
		t.Fatalf("ann's cart: %+v", a)
	}
	if c := call(t, s, as(bob), contract.GetCart, contract.CartRef{}); len(c.Lines) != 0 {
		t.Fatalf("bob sees %+v", c)
	}
	callErr(t, s, as(bob), contract.RemoveLine, contract.RemoveLineRequest{LineID: a.Lines[0].ID}, bus.CodeNotFound, "not in your cart")
	callErr(t, s, bus.Meta{Principal: "user:nobody"}, contract.GetCart, contract.CartRef{}, bus.CodeUnauthorized, "principal")

	// The admin list: least recently updated first, admins only.
	callErr(t, s, as(ann), contract.ListCarts, contract.ListCartsRequest{}, bus.CodeForbidden, "admins")
	// Three carts: the malformed token's, the guest's, ann's (written last), one a page.
	var listed []contract.CartSummary
	for cursor := ""; ; {
		page := call(t, s, moduletest.AdminMeta, contract.ListCarts, contract.ListCartsRequest{Limit: 1, Cursor: cursor})
		if page.Total != 3 || len(page.Items) != 1 {
			t.Fatalf("list: %+v", page)
		}
		listed = append(listed, page.Items[0])
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if len(listed) != 3 || listed[0].Owner != "guest" || listed[1].Owner != "guest" || listed[2].Owner != "user:"+ann.UserID || listed[2].ItemCount != 2 ||
		listed[0].UpdatedAt.After(listed[1].UpdatedAt) || listed[1].UpdatedAt.After(listed[2].UpdatedAt) {
		t.Fatalf("listed %+v", listed)
	}
	callErr(t, s, moduletest.AdminMeta, contract.ListCarts, contract.ListCartsRequest{Cursor: "nope"}, bus.CodeInvalid, "cursor")
	callErr(t, s, moduletest.AdminMeta, contract.ListCarts, contract.ListCartsRequest{Limit: 101}, bus.CodeInvalid, "limit")
}

// TestMerge: at login the guest's lines join the user's cart, summed and
// capped with a notice; the guest cart is gone; merging again, or twice
// at once, adds nothing twice.
func TestMerge(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		s := start(t, db, Config{}, nil)
		boot := s.products.add("Boot", "EUR", 12_000, 5)
		hat := s.products.add("Hat", "EUR", 2_500, 500)
		scarf := s.products.add("Scarf", "EUR", 3_000, 10)
		ann := user()

		call(t, s, as(ann), contract.AddLine, contract.AddLineRequest{VariantID: boot.VariantID, Quantity: 3})
		call(t, s, as(ann), contract.AddLine, contract.AddLineRequest{VariantID: hat.VariantID, Quantity: 60})
		g := call(t, s, guest, contract.AddLine, contract.AddLineRequest{VariantID: boot.VariantID, Quantity: 4})
		call(t, s, guest, contract.AddLine, contract.AddLineRequest{CartRef: contract.CartRef{Token: g.Token}, VariantID: hat.VariantID, Quantity: 50})
		call(t, s, guest, contract.AddLine, contract.AddLineRequest{CartRef: contract.CartRef{Token: g.Token}, VariantID: scarf.VariantID, Quantity: 2})

		callErr(t, s, guest, contract.MergeCarts, contract.MergeCartsRequest{GuestToken: g.Token}, bus.CodeUnauthorized, "sign in")
		callErr(t, s, as(ann), contract.MergeCarts, contract.MergeCartsRequest{GuestToken: g.Token, Strategy: "replace"}, bus.CodeInvalid, "strategy")
		callErr(t, s, as(ann), contract.MergeCarts, contract.MergeCartsRequest{GuestToken: "x"}, bus.CodeInvalid, "guest_token")

		// Two merges racing (a retried login), then one more: the same cart.
		var wg sync.WaitGroup
		replies := make([]contract.Cart, 2)
		for i := range replies {
			wg.Go(func() {
				replies[i] = call(t, s, as(ann), contract.MergeCarts, contract.MergeCartsRequest{GuestToken: g.Token})
			})
		}
		wg.Wait()
		again := call(t, s, as(ann), contract.MergeCarts, contract.MergeCartsRequest{GuestToken: g.Token, Strategy: contract.MergeSum})
		for _, m := range append(replies, again) {
			if len(m.Lines) != 3 || m.Lines[0].Quantity != 5 || m.Lines[1].Quantity != 99 || m.Lines[2].Quantity != 2 {
				t.Fatalf("merged: %+v", m)
			}
		}
		c := call(t, s, as(ann), contract.GetCart, contract.CartRef{})
		if n := c.Lines[0].Notice; !strings.Contains(n, "from 7 to 5") || !strings.Contains(n, "only 5 in stock") {
			t.Fatalf("boot's notice %q", n)
		}
		if n := c.Lines[1].Notice; !strings.Contains(n, "from 110 to 99") || !strings.Contains(n, "at most 99 per line") {
			t.Fatalf("hat's notice %q", n)
		}
		if c.Lines[2].Notice != "" || c.ItemCount != 106 {
			t.Fatalf("merged cart %+v", c)
		}
		if c := call(t, s, as(ann), contract.GetCart, contract.CartRef{}); c.Lines[0].Notice != "" {
			t.Fatalf("notice shown twice: %+v", c.Lines[0])
		}
		// The guest cart is gone.
		if c := call(t, s, guest, contract.GetCart, contract.CartRef{Token: g.Token}); c.ID != "" {
			t.Fatalf("guest cart after the merge: %+v", c)
		}
		page := call(t, s, moduletest.AdminMeta, contract.ListCarts, contract.ListCartsRequest{})
		if page.Total != 1 {
			t.Fatalf("carts after the merge: %+v", page)
		}

		// A guest cart in another currency is not merged into a user's cart with lines.
		dollar := s.products.add("Cap", "USD", 1_000, 10)
		d := call(t, s, guest, contract.AddLine, contract.AddLineRequest{VariantID: dollar.VariantID, Quantity: 1})
		callErr(t, s, as(ann), contract.MergeCarts, contract.MergeCartsRequest{GuestToken: d.Token}, bus.CodeConflict, "one currency per cart")
		if c := call(t, s, guest, contract.GetCart, contract.CartRef{Token: d.Token}); len(c.Lines) != 1 {
			t.Fatalf("unmerged guest cart: %+v", c)
		}
		// Into a user without a cart, the guest cart is the user's cart.
		bob := user()
		if c := call(t, s, as(bob), contract.MergeCarts, contract.MergeCartsRequest{GuestToken: d.Token}); c.Currency != "USD" || len(c.Lines) != 1 {
			t.Fatalf("bob's merge: %+v", c)
		}
	})
}

// TestConcurrentAdds: 50 adds of one variant at once end at quantity 50,
// and 50 adds of 50 variants at 50 lines, with two instances of the
// module (two processes' worth of stores) competing for the requests, so
// that the version check, not the in-process lock, is what keeps every
// add.
func TestConcurrentAdds(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		s := start(t, db, Config{}, nil)
		// FerretDB loses concurrent conditional updates that come over
		// more than one connection (DESIGN.md, Storage), which a second
		// client is: there the one instance's writes are checked.
		if storetest.BackendOf(t, db).Name == "ferretdb" {
			t.Log("ferretdb: one instance (one connection); the version check across processes is tested on sqlite and mongodb")
		} else {
			moduletest.Start(t, storetest.Another(t, db), spec(Config{}, nil), moduletest.OnBus(s.Bus))
		}
		concurrentAdds(t, s)
	})
}

// TestConcurrentAddsAMQP is TestConcurrentAdds over RabbitMQ.
func TestConcurrentAddsAMQP(t *testing.T) {
	db := storetest.SQLite(t)
	s := startAMQP(t, db)
	url := amqptest.URL(t)
	moduletest.Start(t, storetest.Another(t, db), spec(Config{}, nil), moduletest.OnBus(amqptest.Dial(t, url, amqptest.Options(t, url))))
	concurrentAdds(t, s)
}

func concurrentAdds(t *testing.T, s *shop) {
	const n = 50
	one := s.products.add("Boot", "EUR", 12_000, n)
	many := make([]contract.VariantInfo, n)
	for i := range many {
		many[i] = s.products.add(fmt.Sprintf("Item%d", i), "EUR", int64(100+i), 1)
	}
	for _, who := range []bus.Meta{as(user()), guest} {
		ref := contract.CartRef{}
		if who == guest {
			ref.Token = call(t, s, guest, contract.AddLine, contract.AddLineRequest{VariantID: many[0].VariantID, Quantity: 1}).Token
			call(t, s, guest, contract.RemoveLine, contract.RemoveLineRequest{CartRef: ref, LineID: call(t, s, guest, contract.GetCart, ref).Lines[0].ID})
		}
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				callSlow(t, s, who, contract.AddLine, contract.AddLineRequest{CartRef: ref, VariantID: one.VariantID, Quantity: 1})
			})
		}
		wg.Wait()
		c := call(t, s, who, contract.GetCart, ref)
		if len(c.Lines) != 1 || c.Lines[0].Quantity != n || c.ItemCount != n {
			t.Fatalf("%d concurrent adds of one variant: %+v", n, c)
		}
		call(t, s, who, contract.ClearCart, contract.ClearCartRequest{CartRef: ref})
		for _, v := range many {
			wg.Go(func() {
				callSlow(t, s, who, contract.AddLine, contract.AddLineRequest{CartRef: ref, VariantID: v.VariantID, Quantity: 1})
			})
		}
		wg.Wait()
		c = call(t, s, who, contract.GetCart, ref)
		seen := map[string]bool{}
		for _, l := range c.Lines {
			seen[l.VariantID] = true
		}
		if len(c.Lines) != n || len(seen) != n || c.ItemCount != n {
			t.Fatalf("%d concurrent adds of %d variants: %d lines, %d variants", n, n, len(c.Lines), len(seen))
		}
		call(t, s, who, contract.ClearCart, contract.ClearCartRequest{CartRef: ref})
	}
	// 50 concurrent first adds of one user: one cart.
	ann := as(user())
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			callSlow(t, s, ann, contract.AddLine, contract.AddLineRequest{VariantID: one.VariantID, Quantity: 1})
		})
	}
	wg.Wait()
	if c := call(t, s, ann, contract.GetCart, contract.CartRef{}); len(c.Lines) != 1 || c.Lines[0].Quantity != n {
		t.Fatalf("concurrent first adds: %+v", c)
	}
}

// TestSweep: guest carts idle for the TTL are swept, users' never.
func TestSweep(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clk := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := start(t, storetest.SQLite(t), Config{GuestTTL: 48 * time.Hour}, clk)
	hat := s.products.add("Hat", "EUR", 2_500, 100)
	g := call(t, s, guest, contract.AddLine, contract.AddLineRequest{VariantID: hat.VariantID, Quantity: 1})
	if !g.ExpiresAt.Equal(now.Add(48 * time.Hour)) {
		t.Fatalf("expires %v", g.ExpiresAt)
	}
	ann := as(user())
	call(t, s, ann, contract.AddLine, contract.AddLineRequest{VariantID: hat.VariantID, Quantity: 1})
	mu.Lock()
	now = now.Add(47 * time.Hour)
	mu.Unlock()
	// A write keeps a guest cart alive.
	call(t, s, guest, contract.AddLine, contract.AddLineRequest{CartRef: contract.CartRef{Token: g.Token}, VariantID: hat.VariantID, Quantity: 1})
	mu.Lock()
	now = now.Add(47 * time.Hour)
	mu.Unlock()
	if n, err := s.Module.Sweep(t.Context()); err != nil || n != 0 {
		t.Fatalf("early sweep: %d, %v", n, err)
	}
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	// Expired and not yet swept: already gone for its shopper.
	if c := call(t, s, guest, contract.GetCart, contract.CartRef{Token: g.Token}); c.ID != "" {
		t.Fatalf("expired cart read: %+v", c)
	}
	if n, err := s.Module.Sweep(t.Context()); err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	if c := call(t, s, ann, contract.GetCart, contract.CartRef{}); len(c.Lines) != 1 {
		t.Fatalf("user cart after the sweep: %+v", c)
	}
	// An add with a token that has no cart (expired, or made up) starts a
	// cart at a fresh token, never at the one the client sent.
	for _, old := range []string{g.Token, strings.Repeat("7", 32)} {
		c := call(t, s, guest, contract.AddLine, contract.AddLineRequest{CartRef: contract.CartRef{Token: old}, VariantID: hat.VariantID, Quantity: 1})
		if len(c.Token) != 32 || c.Token == old || c.Version != 1 {
			t.Fatalf("add with token %s: %+v", old, c)
		}
		if c := call(t, s, guest, contract.GetCart, contract.CartRef{Token: old}); c.ID != "" {
			t.Fatalf("cart at the old token: %+v", c)
		}
	}
}

// TestRedeliveredWriteAppliesOnce: a write delivered again under the bus
// request id of one already applied (AMQP redelivers a request whose
// instance died after its commit, before its answer) answers the cart as
// it is, on every backend: the add is not applied twice, and a
// version-checked write is not refused by the version its first delivery
// moved.
func TestRedeliveredWriteAppliesOnce(t *testing.T) {
	moduletest.ForEach(t, spec(Config{}, nil), func(t *testing.T, h *moduletest.Harness[*Module]) {
		s := &shop{Harness: h, bus: h.Bus, products: newCatalogue(t, h.Bus)}
		hat := s.products.add("Hat", "EUR", 2_500, 100)
		first := call(t, s, guest, contract.AddLine, contract.AddLineRequest{VariantID: hat.VariantID, Quantity: 1})
		ref := contract.CartRef{Token: first.Token}
		m := h.Module
		delivery := func(id string) context.Context { return bus.WithRequestID(t.Context(), id) }
		add := contract.AddLineRequest{CartRef: ref, VariantID: hat.VariantID, Quantity: 2}
		c, err := m.addLine(delivery("req-1"), add)
		if err != nil || c.Lines[0].Quantity != 3 || c.Version != 2 {
			t.Fatalf("add: %+v %v, want quantity 3 at version 2", c, err)
		}
		if c, err = m.addLine(delivery("req-1"), add); err != nil || c.Lines[0].Quantity != 3 || c.Version != 2 {
			t.Fatalf("the same add delivered again: %+v %v, want quantity 3 at version 2 (not applied twice)", c, err)
		}
		if c, err = m.addLine(delivery("req-2"), add); err != nil || c.Lines[0].Quantity != 5 || c.Version != 3 {
			t.Fatalf("another add: %+v %v, want quantity 5 at version 3", c, err)
		}
		set := contract.SetQuantityRequest{CartRef: ref, LineID: c.Lines[0].ID, Quantity: 7, Version: 3}
		if c, err = m.setQuantity(delivery("req-3"), set); err != nil || c.Lines[0].Quantity != 7 || c.Version != 4 {
			t.Fatalf("set quantity at version 3: %+v %v", c, err)
		}
		if c, err = m.setQuantity(delivery("req-3"), set); err != nil || c.Lines[0].Quantity != 7 || c.Version != 4 {
			t.Fatalf("the same set delivered again: %+v %v, want the cart at version 4, not a version conflict", c, err)
		}
		// Without a request id (a caller that sends none) every delivery applies.
		if c, err = m.addLine(t.Context(), add); err != nil || c.Lines[0].Quantity != 9 {
			t.Fatalf("add without a request id: %+v %v", c, err)
		}
		// The cart remembers the latest ids, not every one.
		for i := range 2 * maxRequests {
			if _, err := m.addLine(delivery(fmt.Sprintf("many-%d", i)), contract.AddLineRequest{CartRef: ref, VariantID: hat.VariantID, Quantity: 1}); err != nil {
				t.Fatal(err)
			}
		}
		st, err := m.store.ByOwner(t.Context(), guestKey(first.Token))
		if err != nil || len(st.Requests) != maxRequests || st.Requests[maxRequests-1] != fmt.Sprintf("many-%d", 2*maxRequests-1) {
			t.Fatalf("stored request ids %v (%v), want the latest %d", st.Requests, err, maxRequests)
		}
	})
}
