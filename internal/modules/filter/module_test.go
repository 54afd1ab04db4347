package filter

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/bus/amqp/amqptest"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/moduletest"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

// The module on every backend (SQLite, embedded FerretDB) and both buses,
// as two instances over one store: the events reach one of them (its own
// in-process bus, or whichever instance RabbitMQ hands them to), and both
// answer from their index within a second. Redelivered and overtaken
// events change nothing; unpublished products and stock changes show.

// instances starts two filter instances on db: on two memory buses (as
// two workers of one primary), or on two RabbitMQ connections competing
// for the same queues. It returns the bus to publish on and the modules.
func instances(t *testing.T, db *store.DB, network string) (bus.Bus, [2]*Module) {
	t.Helper()
	var buses [2]bus.Bus
	switch network {
	case "memory":
		buses = [2]bus.Bus{moduletest.NewBus(t), moduletest.NewBus(t)}
	case "amqp":
		url := amqptest.URL(t)
		opts := amqptest.Options(t, url)
		buses = [2]bus.Bus{amqptest.Dial(t, url, opts), amqptest.Dial(t, url, opts)}
	}
	var ms [2]*Module
	for i, b := range buses {
		st, err := OpenStore(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		ms[i] = New(b, st, moduletest.TestLogger(t))
		if err := ms[i].Ready(context.Background()); err == nil {
			t.Fatal("ready before start")
		}
		if err := ms[i].Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		m := ms[i]
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), moduletest.StopTimeout)
			defer cancel()
			if err := m.Stop(ctx); err != nil {
				t.Errorf("stop: %v", err)
			}
		})
	}
	return buses[0], ms
}

// awaitBoth polls req on both instances' indexes until cond holds.
func awaitBoth(t *testing.T, ms [2]*Module, what string, req contract.SearchRequest, cond func(contract.SearchReply) bool) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for i, m := range ms {
		for {
			got, err := m.index.Search(req)
			if err == nil && cond(got) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: instance %d not within 1s: %+v %v", what, i, got, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func TestModuleFollowsEventsOnEveryInstance(t *testing.T) {
	for _, network := range []string{"memory", "amqp"} {
		t.Run(network, func(t *testing.T) {
			storetest.ForEach(t, func(t *testing.T, db *store.DB) {
				b, ms := instances(t, db, network)
				ctx := context.Background()
				for _, m := range ms {
					select {
					case <-m.tailer.Loaded():
					case <-time.After(10 * time.Second):
						t.Fatal("snapshot not loaded")
					}
					if err := m.Ready(ctx); err != nil {
						t.Fatalf("not ready after the snapshot: %v", err)
					}
				}
				emit := func(err error) {
					t.Helper()
					if err != nil {
						t.Fatal(err)
					}
				}
				emit(bus.Emit(ctx, b, contract.CategoryCreated, contract.CategoryEvent{ID: "c1", Version: 1, Slug: "lamps", Name: "Lamps"}))
				emit(bus.Emit(ctx, b, contract.AttributeDefinitionCreated, contract.AttributeDefinitionEvent{ID: "a1", Version: 1, Code: "brand", Name: "Brand",
					Type: contract.AttributeSelect, Values: []contract.AllowedValue{{Code: "acme", Label: "Acme"}}, Filterable: true}))
				emit(bus.Emit(ctx, b, contract.OptionGroupCreated, contract.OptionGroupEvent{ID: "o1", Version: 1, Code: "size", Name: "Size",
					Values: []contract.OptionValue{{ID: "s", Code: "s", Label: "S"}}}))
				lamp := contract.ProductEvent{ID: "p1", Version: 1, Name: "Lamp", Slug: "lamp", Status: contract.ProductPublished, CategoryIDs: []string{"c1"},
					Attributes: contract.AttributeValues{"brand": "acme"}, Currency: "EUR", PriceMin: 500, PriceMax: 500,
					Options: []contract.VariantOption{{GroupCode: "size", ValueCode: "s"}}, Stock: []contract.VariantStock{{VariantID: "v1", Stock: 0}}}
				emit(bus.Emit(ctx, b, contract.ProductCreated, lamp))
				req := contract.SearchRequest{Category: "lamps", Facets: map[string][]string{"brand": {"acme"}, "size": {"s"}}, PageSize: 10}
				awaitBoth(t, ms, "created", req, func(r contract.SearchReply) bool { return r.Total == 1 && !r.Items[0].InStock })

				emit(bus.Emit(ctx, b, contract.ProductStockChanged, contract.ProductEvent{ID: "p1", Version: 1,
					Variants: []contract.VariantStock{{VariantID: "v1", Stock: 3, StockVersion: 1}}}))
				awaitBoth(t, ms, "stock", contract.SearchRequest{InStock: true, PageSize: 10}, func(r contract.SearchReply) bool { return r.Total == 1 })

				renamed := lamp
				renamed.Version, renamed.Name = 2, "Desk lamp"
				emit(bus.Emit(ctx, b, contract.ProductUpdated, renamed))
				emit(bus.Emit(ctx, b, contract.ProductCreated, lamp)) // redelivered, older
				awaitBoth(t, ms, "renamed", contract.SearchRequest{Q: "desk", PageSize: 10}, func(r contract.SearchReply) bool { return r.Total == 1 })
				time.Sleep(200 * time.Millisecond) // the old event had its chance
				awaitBoth(t, ms, "old event ignored", contract.SearchRequest{Q: "desk", PageSize: 10}, func(r contract.SearchReply) bool { return r.Total == 1 })

				draft := renamed
				draft.Version, draft.Status = 3, contract.ProductDraft
				emit(bus.Emit(ctx, b, contract.ProductStatusChanged, draft))
				awaitBoth(t, ms, "unpublished", contract.SearchRequest{PageSize: 10}, func(r contract.SearchReply) bool { return r.Total == 0 })

				// Over the bus, with the wire's checks.
				if _, err := bus.Call(ctx, b, contract.Search, contract.SearchRequest{PageSize: 0}); bus.AsError(err).Code != bus.CodeInvalid {
					t.Fatalf("page_size 0 over the bus: %v", err)
				}
				got, err := bus.Call(ctx, b, contract.Search, contract.SearchRequest{PageSize: 5})
				if err != nil || got.Total != 0 || got.Items == nil {
					t.Fatalf("search over the bus: %+v %v", got, err)
				}
			})
		})
	}
}

// A burst of product events (a seed) is written in batches: every event
// lands, drafts as tombstones, an event the feed refuses (version 0) is
// dropped alone, and both instances answer for all of them.
func TestModuleWritesABurstOfProductEvents(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b, ms := instances(t, db, "memory")
		ctx := context.Background()
		// Batches matter on SQLite; MongoDB (FerretDB: slow, one
		// connection) writes one entry at a time anyway, so fewer there.
		n := 300
		if db.Kind() != store.KindSQLite {
			n = 60
		}
		bad := n/2 + 7
		published := 0
		for i := range n {
			ev := contract.ProductEvent{ID: fmt.Sprintf("p%d", i), Version: 1, Name: fmt.Sprintf("Lamp %d", i), Slug: fmt.Sprintf("lamp-%d", i),
				Status: contract.ProductPublished, Currency: "EUR", PriceMin: 500, PriceMax: 500}
			switch {
			case i%10 == 0:
				ev.Status = contract.ProductDraft
			case i == bad:
				ev.Version = 0 // refused by the feed
			default:
				published++
			}
			if err := bus.Emit(ctx, b, contract.ProductCreated, ev); err != nil {
				t.Fatal(err)
			}
		}
		deadline := time.Now().Add(60 * time.Second)
		for i, m := range ms {
			for {
				got, err := m.index.Search(contract.SearchRequest{PageSize: 1})
				if err == nil && got.Total == published {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("instance %d: %+v %v, want %d products", i, got.Total, err, published)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		all, _, err := ms[0].store.Log().Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != published {
			t.Fatalf("%d live entries, want %d", len(all), published)
		}
		if c, err := ms[0].store.Log().Get(ctx, keyProduct+"p10"); err != nil || !c.Deleted {
			t.Fatalf("draft p10: %+v %v, want a tombstone", c, err)
		}
	})
}
