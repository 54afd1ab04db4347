package product

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/moduletest"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

// announced is one product event as pending or as published.
type announced = moduletest.Decoded[contract.ProductEvent]

// decode reads product events from the outbox (moduletest.Decode).
var decode = moduletest.Decode[contract.ProductEvent]

// label names an event by what consumers order it by: topic, product,
// version and, for stock, the variant's stock version and level.
func label(a announced, names map[string]string) string {
	name := names[a.Event.ID]
	if name == "" {
		name = a.Event.ID
	}
	l := fmt.Sprintf("%s %s@%d", strings.TrimPrefix(a.Topic, "product."), name, a.Event.Version)
	for _, v := range a.Event.Variants {
		l += fmt.Sprintf(" stock %d@%d", v.Stock, v.StockVersion)
	}
	return l
}

func labels(evs []announced, names map[string]string) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = label(e, names)
	}
	return out
}

func sortedLabels(evs []announced, names map[string]string) []string {
	out := labels(evs, names)
	slices.Sort(out)
	return out
}

// byProduct groups events by product, in their order.
func byProduct(evs []announced) map[string][]announced {
	out := map[string][]announced{}
	for _, e := range evs {
		out[e.Event.ID] = append(out[e.Event.ID], e)
	}
	return out
}

// TestWritesCommitTheirEvents: every write of the product module leaves
// its event in the store, committed with it, before any relay has run; a
// write that fails leaves none; the relay, once it runs, publishes
// exactly the pending events, each once, in commit order per product
// (per document on MongoDB: a product's content events by version, each
// variant's stock events by stock version), and the outbox is empty
// after.
func TestWritesCommitTheirEvents(t *testing.T) {
	moduletest.ForEach(t, module, func(t *testing.T, mt *moduletest.Harness[*Module]) {
		h := withPeers(t, mt)
		c := makeCatalog(h)
		names := map[string]string{} // product id → name in the labels
		var want []string            // the pending events, as labels
		step := func(what string, add ...string) {
			t.Helper()
			want = append(want, add...)
			slices.Sort(want)
			if got := sortedLabels(decode(t, mt.Outbox.Pending(t)), names); !slices.Equal(got, want) {
				t.Fatalf("after %s: pending %q, want %q", what, got, want)
			}
		}
		created := func(name string, req contract.CreateProductRequest) contract.Product {
			t.Helper()
			req.Name, req.Currency = name, "EUR"
			if req.CategoryIDs == nil {
				req.CategoryIDs = []string{c.hats.ID}
			}
			p := call(t, h, contract.CreateProduct, req)
			names[p.ID] = name
			return p
		}

		// create: the event of the slug candidate written.
		boot := created("Boot", contract.CreateProductRequest{CategoryIDs: []string{c.hiking.ID}, Variants: []contract.VariantInput{{Stock: 5}}})
		step("create", "created Boot@1")
		boot2 := created("Sandal", contract.CreateProductRequest{Variants: []contract.VariantInput{{Stock: 1}}})
		step("create", "created Sandal@1")
		again := call(t, h, contract.CreateProduct, contract.CreateProductRequest{Name: "Boot", CategoryIDs: []string{c.hats.ID}, Currency: "EUR"})
		names[again.ID] = "Boot again"
		step("create under the next slug", "created Boot again@1")
		// update, and one at a stale version.
		call(t, h, contract.UpdateProduct, contract.UpdateProductRequest{ID: boot.ID, Version: 1, Name: ptr("Boot Pro")})
		step("update", "updated Boot@2")
		callErr(t, h, contract.UpdateProduct, contract.UpdateProductRequest{ID: boot.ID, Version: 1, Name: ptr("Stale")}, bus.CodeConflict, "version")
		step("a stale update")
		// set_status.
		call(t, h, contract.SetProductStatus, contract.SetProductStatusRequest{ID: boot.ID, Status: contract.ProductPublished})
		step("set_status", "status_changed Boot@3")
		callErr(t, h, contract.SetProductStatus, contract.SetProductStatusRequest{ID: boot.ID, Status: contract.ProductArchived, Version: 2}, bus.CodeConflict, "version")
		step("a stale set_status")
		// adjust_stock: the exact level and stock version; one below 0 fails.
		vid := boot.Variants[0].ID
		call(t, h, contract.AdjustStock, contract.AdjustStockRequest{VariantID: vid, Delta: 3})
		call(t, h, contract.AdjustStock, contract.AdjustStockRequest{VariantID: vid, Delta: -2})
		step("adjust_stock", "stock_changed Boot@3 stock 8@1", "stock_changed Boot@3 stock 6@2")
		callErr(t, h, contract.AdjustStock, contract.AdjustStockRequest{VariantID: vid, Delta: -7}, bus.CodeConflict, "below 0")
		step("an adjust_stock below 0")
		// A taken SKU fails the create (see TestProductModule for FerretDB
		// under the race detector).
		if !(race && storetest.BackendOf(t, mt.DB).Name == "ferretdb") {
			callErr(t, h, contract.CreateProduct, contract.CreateProductRequest{Name: "Clash", CategoryIDs: []string{c.hats.ID}, Currency: "EUR",
				Variants: []contract.VariantInput{{SKU: boot.Variants[0].SKU}}}, bus.CodeConflict, boot.Variants[0].SKU)
			step("a create with a taken SKU")
		}
		// create_many: the created items' events only, each under its slug.
		reply := call(t, h, contract.CreateProducts, contract.CreateProductsRequest{Items: []contract.CreateProductRequest{
			{Name: "Cap", CategoryIDs: []string{c.hats.ID}, Currency: "EUR"},
			{Name: "Bad", CategoryIDs: []string{c.hats.ID}, Currency: "eur"},
			{Name: "Cap", CategoryIDs: []string{c.hats.ID}, Currency: "EUR"},
			{Name: "Taken", Slug: boot.Slug, CategoryIDs: []string{c.hats.ID}, Currency: "EUR"},
		}})
		if reply.Created != 2 || reply.Failed != 2 {
			t.Fatalf("create_many: %+v", reply)
		}
		names[reply.Results[0].ID], names[reply.Results[2].ID] = "Cap", "Cap 2"
		step("create_many", "created Cap@1", "created Cap 2@1")
		// regenerate_variants dropping a variant whose stock event is
		// still pending: the event stays.
		sized := created("Sized", contract.CreateProductRequest{Options: []contract.VariantSelection{{GroupID: sizeGroup.ID}}})
		call(t, h, contract.AdjustStock, contract.AdjustStockRequest{VariantID: sized.Variants[0].ID, Delta: 4}) // size S
		call(t, h, contract.UpdateProduct, contract.UpdateProductRequest{ID: sized.ID, Version: 1,
			Options: &[]contract.VariantSelection{{GroupID: sizeGroup.ID, ValueIDs: []string{valueID(sizeGroup, "m")}}}})
		if r := call(t, h, contract.RegenerateVariants, contract.RegenerateVariantsRequest{ID: sized.ID, Version: 2}); len(r.Variants) != 1 {
			t.Fatalf("regenerated %+v", r.Variants)
		}
		step("regenerate_variants", "created Sized@1", "stock_changed Sized@1 stock 4@1", "updated Sized@2", "updated Sized@3")
		// delete (with a pending stock event of its own), a stale one, and
		// delete_many with a missing id.
		call(t, h, contract.AdjustStock, contract.AdjustStockRequest{VariantID: boot2.Variants[0].ID, Delta: 1})
		step("adjust_stock", "stock_changed Sandal@1 stock 2@1")
		callErr(t, h, contract.DeleteProduct, contract.DeleteProductRequest{ID: boot2.ID, Version: 7}, bus.CodeConflict, "version")
		step("a stale delete")
		call(t, h, contract.DeleteProduct, contract.DeleteProductRequest{ID: boot2.ID, Version: 1})
		step("delete", "deleted Sandal@2")
		callErr(t, h, contract.DeleteProduct, contract.DeleteProductRequest{ID: boot2.ID}, bus.CodeNotFound, boot2.ID)
		step("a delete of a deleted product")
		del := call(t, h, contract.DeleteProducts, contract.ProductIDs{IDs: []string{again.ID, boot2.ID, reply.Results[2].ID}})
		if len(del.Deleted) != 2 {
			t.Fatalf("delete_many %+v", del)
		}
		step("delete_many", "deleted Boot again@2", "deleted Cap 2@2")

		// The relay, let run, publishes exactly the pending events (nothing
		// before), each once, and empties the outbox.
		pending := decode(t, mt.Outbox.Pending(t))
		got := decode(t, mt.Outbox.Publish(t))
		for id, evs := range byProduct(got) {
			if storetest.BackendOf(t, mt.DB).Kind == store.KindSQLite {
				// One table, one sequence: the commit order itself.
				if w := labels(byProduct(pending)[id], names); !slices.Equal(labels(evs, names), w) {
					t.Fatalf("%s: published %q, want the commit order %q", names[id], labels(evs, names), w)
				}
			}
			var version int64
			stockVersion := map[string]int64{}
			for _, e := range evs {
				if e.Topic == contract.ProductStockChanged.Topic {
					v := e.Event.Variants[0]
					if v.StockVersion <= stockVersion[v.VariantID] {
						t.Fatalf("%s: stock events out of order: %q", names[id], labels(evs, names))
					}
					stockVersion[v.VariantID] = v.StockVersion
					continue
				}
				if e.Event.Version <= version {
					t.Fatalf("%s: events out of order: %q", names[id], labels(evs, names))
				}
				version = e.Event.Version
			}
		}
		// The payloads are the writes': the slug written, the status before.
		for _, e := range got {
			switch {
			case e.Event.ID == again.ID && e.Topic == contract.ProductCreated.Topic && e.Event.Slug != "boot-2":
				t.Fatalf("created event of the retried slug: %+v", e.Event)
			case e.Event.ID == reply.Results[2].ID && e.Topic == contract.ProductCreated.Topic && e.Event.Slug != reply.Results[2].Slug:
				t.Fatalf("created event of create_many's second Cap: %+v, slug %s", e.Event, reply.Results[2].Slug)
			case e.Topic == contract.ProductStatusChanged.Topic && (e.Event.PreviousStatus != contract.ProductDraft || e.Event.Status != contract.ProductPublished):
				t.Fatalf("status event %+v", e.Event)
			case e.Event.ID == boot.ID && e.Topic == contract.ProductCreated.Topic &&
				!slices.Equal(e.Event.AllCategoryIDs, sorted(c.shoes.ID, c.boots.ID, c.hiking.ID)):
				t.Fatalf("created event's categories %+v", e.Event)
			case e.Event.ID == boot2.ID && e.Topic == contract.ProductDeleted.Topic && (e.Event.Slug != boot2.Slug || e.Event.TotalStock != 2):
				t.Fatalf("deleted event %+v", e.Event)
			}
		}
	}, moduletest.HoldOutbox())
}

// TestStoreStockEventsExact: under concurrent adjustments of one variant
// (from one client, and from several where the backend honours that),
// every adjustment that succeeded committed exactly one event, with the
// level and stock version it wrote: the versions are 1, 2, 3… without a
// gap or a repeat, and each level is the previous one plus the delta.
func TestStoreStockEventsExact(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := moduletest.Admin(t.Context())
		s, p := openHot(t, db)
		vid := p.Variants[0].ID // stock 10
		stores := []Store{s}
		if storetest.BackendOf(t, db).Has(storetest.MultiClient) {
			stores = clients(t, s, db, 2)
		}
		var ok, refused atomic.Int64
		var wg sync.WaitGroup
		for w := range 20 {
			wg.Go(func() {
				st := stores[w%len(stores)]
				for i := range 5 {
					d := int64(3)
					if (w+i)%2 == 1 {
						d = -4
					}
					_, err := st.AdjustStock(ctx, vid, d, stockChanged(d))
					switch {
					case err == nil:
						ok.Add(1)
					case d < 0 && errors.Is(err, errStock):
						refused.Add(1)
					default:
						t.Errorf("adjust %d: %v", d, err)
					}
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		evs := decode(t, moduletest.Pending(t, s.Outbox()))
		if int64(len(evs)) != ok.Load() {
			t.Fatalf("%d events for %d adjustments (%d refused)", len(evs), ok.Load(), refused.Load())
		}
		slices.SortFunc(evs, func(a, b announced) int {
			return int(a.Event.Variants[0].StockVersion - b.Event.Variants[0].StockVersion)
		})
		level := int64(10)
		for i, e := range evs {
			v := e.Event.Variants[0]
			if v.StockVersion != int64(i+1) || v.Stock != level+v.Delta || v.VariantID != vid || v.SKU != "HOT-1" || e.Event.ID != p.ID {
				t.Fatalf("event %d of %d: %+v after level %d", i+1, len(evs), v, level)
			}
			level = v.Stock
		}
		got, err := s.Get(ctx, p.ID)
		if err != nil || got.Variants[0].Stock != level {
			t.Fatalf("stock %d, the last event says %d (%v)", got.Variants[0].Stock, level, err)
		}
	})
}

// TestStoreStockWithoutVersion: a MongoDB stock document written before
// stock versions were counted (no version field) takes its first
// compare-and-set as version 0.
func TestStoreStockWithoutVersion(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		if db.Kind() != store.KindMongo {
			t.Skip("a MongoDB document's missing field")
		}
		ctx := moduletest.Admin(t.Context())
		s, err := OpenStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		p := newProduct("Old", "old", "OLD", contract.ProductPublished, []string{newID()}, 100)
		if r := insertOne(t, s, p, nil); r.Err != nil {
			t.Fatal(r.Err)
		}
		vid := p.Variants[0].ID
		if _, err := s.(*mongoStore).stock.UpdateOne(ctx, bson.D{{Key: "_id", Value: vid}}, bson.D{{Key: "$unset", Value: bson.D{{Key: "version", Value: ""}}}}); err != nil {
			t.Fatal(err)
		}
		for want := int64(1); want <= 2; want++ {
			if l, err := s.AdjustStock(ctx, vid, 1, stockChanged(1)); err != nil || l.StockVersion != want || l.Stock != 10+want {
				t.Fatalf("adjust: %+v, %v; want stock version %d", l, err, want)
			}
		}
		if evs := decode(t, moduletest.Pending(t, s.Outbox())); len(evs) != 2 {
			t.Fatalf("%d events pending, want 2", len(evs))
		}
	})
}
