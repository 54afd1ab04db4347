// Package product is the product module: products, their variants, prices
// and stock. It serves the "product" queue (internal/contract's product
// endpoints), asks the category, attribute and option modules over the bus
// to check categories, attribute values and option groups and to generate
// variants, and publishes product.* events carrying what a read model of
// the catalogue needs.
//
// Its events are never lost: each write commits its event in the same
// atomic unit as the change (the transactional outbox, package outbox:
// an outbox table in the write's SQLite transaction; on MongoDB the event
// inside the product's or the variant's stock document, written by the
// same single-document write), and the module's relay publishes them
// afterwards with confirms, at least once, in commit order per product
// (on MongoDB: per document, so content events and each variant's stock
// events each keep their order). A broker outage delays events; a crash
// between the commit and the publish leaves them for the next relay.
// Consumers tell a redelivery from news by ProductEvent.Version (and
// VariantStock.StockVersion for stock).
//
// It follows the conventions of every module (DESIGN.md, Conventions):
//   - writes to one product take the version the caller read (required by
//     update; optional, 0 for any, on set_status, regenerate_variants and
//     delete) and fail conflict when it moved; stock is a counter of its
//     own, changed atomically by adjust_stock without a version;
//   - ops are verb_noun on the product queue (get_by_slug,
//     get_many_by_slugs, count_products_using_attribute);
//   - list replies with contract.Page, with a keyset cursor in every sort;
//   - every product.* topic carries a contract.ProductEvent with the
//     product's id and version (the event id is the envelope's, the same
//     on every delivery of the event).
//
// The package has the shape of every module (see package category):
// module.go (wiring); the handlers split by concern: handlers_check.go
// (input checks), peers.go (calls to other modules), handlers_create.go,
// handlers_read.go, handlers_write.go and events.go (the event payloads
// and their builders); store.go (the interface), store_sqlite*.go with
// its schema in schema/*.sql, store_mongo.go (open, documents, create and
// reads) and store_mongo_write.go (the writes to existing products); and
// their tests (outbox_test.go: each write's events commit with it).
package product

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
)

// Module is one instance of the product module.
type Module struct {
	bus.Server // the queue, its handlers, and the serving half of Start and Stop
	store      Store
	log        *slog.Logger
	now        func() time.Time
	subs       []bus.Consumer // category events
	// relay publishes the events the store's writes committed; handlers
	// Notify it after each such write.
	relay *outbox.Relay
}

// New returns the module with its handlers registered; Start serves them.
func New(b bus.Bus, st Store, log *slog.Logger) *Module {
	m := &Module{Server: bus.NewServer(b, contract.ProductQueue, log), store: st, log: log, now: store.Now, relay: outbox.NewRelay(b, st.Outbox(), log)}
	bus.Handle(m.Service, contract.CreateProduct, contract.AdminOnly(m.create))
	bus.Handle(m.Service, contract.CreateProducts, contract.AdminOnly(m.createMany))
	bus.Handle(m.Service, contract.UpdateProduct, contract.AdminOnly(m.update))
	bus.Handle(m.Service, contract.SetProductStatus, contract.AdminOnly(m.setStatus))
	bus.Handle(m.Service, contract.DeleteProduct, contract.AdminOnly(m.delete))
	bus.Handle(m.Service, contract.DeleteProducts, contract.AdminOnly(m.deleteMany))
	bus.Handle(m.Service, contract.GetProduct, m.get)
	bus.Handle(m.Service, contract.GetProductBySlug, m.getBySlug)
	bus.Handle(m.Service, contract.GetProducts, m.getMany)
	bus.Handle(m.Service, contract.GetProductsBySlugs, m.getManyBySlugs)
	bus.Handle(m.Service, contract.GetVariants, m.getVariants)
	bus.Handle(m.Service, contract.ListProducts, m.list)
	bus.Handle(m.Service, contract.RegenerateVariants, contract.AdminOnly(m.regenerate))
	bus.Handle(m.Service, contract.AdjustStock, contract.AdminOnly(m.adjustStock))
	bus.Handle(m.Service, contract.ProductsUsingAttribute, m.countUsingAttribute)
	return m
}

// eventGroup is the product module's subscription group: each event
// reaches one instance of the module.
const eventGroup = "product"

// Start serves the product queue, runs the outbox relay (which also
// publishes what a previous process committed and did not publish), and
// follows the category tree: a moved or deleted category changes the
// ancestors products are listed under.
func (m *Module) Start(ctx context.Context) error {
	if err := m.Server.Start(ctx); err != nil {
		return err
	}
	m.Go("outbox relay", m.relay.Run)
	m.Go("orphan sweep", m.sweep)
	for _, ev := range []bus.EventType[contract.CategoryEvent]{contract.CategoryMoved, contract.CategoryDeleted} {
		c, err := bus.On(m.Bus, ev, eventGroup, m.onCategoryChanged)
		if err != nil {
			return errors.Join(fmt.Errorf("subscribe %s: %w", ev.Topic, err), m.Stop(context.Background()))
		}
		m.subs = append(m.subs, c)
	}
	return nil
}

// sweepEvery is how often an instance sweeps the orphans of failed writes;
// sweepAge is how old an orphan must be, far past any request's deadline,
// so that a write still in flight keeps what it made.
const (
	sweepEvery = 10 * time.Minute
	sweepAge   = 10 * time.Minute
)

// sweep runs the store's orphan sweep now and then until ctx ends; a
// failed sweep is logged and tried again at the next tick.
func (m *Module) sweep(ctx context.Context) error {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		n, err := m.store.Sweep(ctx, m.now().Add(-sweepAge))
		if err != nil {
			m.log.WarnContext(ctx, "product orphan sweep failed", "err", err)
		} else if n > 0 {
			m.log.InfoContext(ctx, "product orphan sweep", "removed", n)
		}
	}
}

// Stop stops taking requests and events and waits for those in flight,
// then stops the relay: events not yet published stay in the store for
// the next start.
func (m *Module) Stop(ctx context.Context) error {
	var errs []error
	for _, c := range m.subs {
		errs = append(errs, c.Stop(ctx))
	}
	m.subs = nil
	return errors.Join(append(errs, m.Server.Stop(ctx))...)
}
