// Package category is the category module: the category tree that products
// are organised in. It serves the "category" queue (internal/contract's
// category endpoints) and publishes category.* events for read models.
//
// Its events are never lost (the transactional outbox, package outbox):
// each write commits its events in the same atomic unit as the change —
// the outbox table in the write's SQLite transaction; on MongoDB the
// category document itself, in the single-document write that changes it,
// or for a delete the outbox collection through outbox.DeleteWith — and
// the module's relay publishes them afterwards, at least once, in commit
// order per category. A broker outage delays events, a crash between the
// commit and the publish leaves them for the next relay; a write that
// fails announces nothing. Consumers tell a redelivery from news by the
// event's version.
//
// Every module package has this shape: module.go (Module, New, Start,
// Stop), handlers.go (one method per endpoint, with input checks and the
// events; split by concern past ~600 lines, see package attribute),
// store.go (the narrow Store interface and OpenStore), store_sqlite.go
// with its schema as embedded schema/NNN_*.sql migrations, and
// store_mongo.go (its two implementations), and beside them store_test.go
// (one suite on every backend via storetest), module_test.go (handlers
// through the in-process bus), outbox_test.go (writes and their events
// commit together, moduletest.Outbox) and bench_test.go.
//
// It follows the conventions of contract (optimistic concurrency: every
// category has a version that each write checks and bumps; verb_noun op
// names; Page replies; one event type per topic, with the version).
package category

import (
	"context"
	"log/slog"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
)

// Module is one instance of the category module.
type Module struct {
	bus.Server // the queue, its handlers, Start and Stop
	store      Store
	log        *slog.Logger
	now        func() time.Time
	cache      treeCache
	// relay publishes the events the store's writes committed; the
	// handlers Notify it after each such write.
	relay *outbox.Relay
}

// New returns the module with its handlers registered; Start serves them.
func New(b bus.Bus, st Store, log *slog.Logger) *Module {
	m := &Module{Server: bus.NewServer(b, contract.CategoryQueue, log), store: st, log: log, now: store.Now,
		relay: outbox.NewRelay(b, st.Outbox(), log)}
	bus.Handle(m.Service, contract.CreateCategory, contract.AdminOnly(m.create))
	bus.Handle(m.Service, contract.UpdateCategory, contract.AdminOnly(m.update))
	bus.Handle(m.Service, contract.MoveCategory, contract.AdminOnly(m.move))
	bus.Handle(m.Service, contract.DeleteCategory, contract.AdminOnly(m.delete))
	bus.Handle(m.Service, contract.GetCategory, m.get)
	bus.Handle(m.Service, contract.GetCategoryBySlug, m.getBySlug)
	bus.Handle(m.Service, contract.GetCategoryTree, m.getTree)
	bus.Handle(m.Service, contract.GetBreadcrumbs, m.getBreadcrumbs)
	bus.Handle(m.Service, contract.ListChildren, m.listChildren)
	return m
}

// Start serves the category queue and runs the outbox relay, which also
// publishes what an earlier process committed and did not publish. The
// relay is background work (bus.Server.Go): should it fail, the process
// stops rather than go on without publishing.
func (m *Module) Start(ctx context.Context) error {
	if err := m.Server.Start(ctx); err != nil {
		return err
	}
	m.Go("outbox relay", m.relay.Run)
	return nil
}
