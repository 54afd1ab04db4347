// Package category is the category module: the category tree that products
// are organised in. It serves the "category" queue (internal/contract's
// category endpoints) and publishes category.* events for read models.
//
// Every module package has this shape: module.go (Module, New, Start,
// Stop), handlers.go (one method per endpoint, with input checks and the
// events), store.go (the narrow Store interface and OpenStore),
// store_sqlite.go and store_mongo.go (its two implementations), and beside
// them store_test.go (one suite on every backend via storetest),
// module_test.go (handlers through the in-process bus) and bench_test.go.
package category

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/shopengine/shop/internal/buildinfo"
	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
)

// Module is one instance of the category module.
type Module struct {
	bus      bus.Bus
	store    Store
	log      *slog.Logger
	svc      *bus.Service
	consumer bus.Consumer
	now      func() time.Time
	cache    treeCache
}

// New returns the module with its handlers registered; Start serves them.
func New(b bus.Bus, st Store, log *slog.Logger) *Module {
	m := &Module{bus: b, store: st, log: log, now: now}
	m.svc = bus.NewService(contract.CategoryQueue, buildinfo.Version(), log)
	bus.Handle(m.svc, contract.CreateCategory, m.create)
	bus.Handle(m.svc, contract.UpdateCategory, m.update)
	bus.Handle(m.svc, contract.MoveCategory, m.move)
	bus.Handle(m.svc, contract.DeleteCategory, m.delete)
	bus.Handle(m.svc, contract.GetCategory, m.get)
	bus.Handle(m.svc, contract.GetCategoryBySlug, m.bySlug)
	bus.Handle(m.svc, contract.GetCategoryTree, m.tree)
	bus.Handle(m.svc, contract.GetBreadcrumbs, m.breadcrumbs)
	bus.Handle(m.svc, contract.ListChildren, m.children)
	return m
}

// now is UTC at millisecond precision: what every backend stores exactly.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// Start begins serving the category queue.
func (m *Module) Start(context.Context) error {
	c, err := m.bus.Serve(m.svc)
	if err != nil {
		return fmt.Errorf("serve %s: %w", contract.CategoryQueue, err)
	}
	m.consumer = c
	return nil
}

// Stop stops taking requests and waits for those in flight.
func (m *Module) Stop(ctx context.Context) error {
	if m.consumer == nil {
		return nil
	}
	return m.consumer.Stop(ctx)
}
