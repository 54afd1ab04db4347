// Package category is the category module: the category tree that products
// are organised in. It serves the "category" queue (internal/contract's
// category endpoints) and publishes category.* events for read models.
//
// Every module package has this shape: module.go (Module, New, Start,
// Stop), handlers.go (one method per endpoint, with input checks and the
// events; split by concern past ~600 lines, see package attribute),
// store.go (the narrow Store interface and OpenStore), store_sqlite.go
// with its schema as embedded schema/NNN_*.sql migrations, and
// store_mongo.go (its two implementations), and beside them store_test.go
// (one suite on every backend via storetest), module_test.go (handlers
// through the in-process bus) and bench_test.go.
//
// It follows the conventions of contract (optimistic concurrency: every
// category has a version that each write checks and bumps; verb_noun op
// names; Page replies; one event type per topic, with the version).
package category

import (
	"log/slog"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
)

// Module is one instance of the category module.
type Module struct {
	bus.Server // the queue, its handlers, Start and Stop
	store      Store
	log        *slog.Logger
	now        func() time.Time
	cache      treeCache
}

// New returns the module with its handlers registered; Start serves them.
func New(b bus.Bus, st Store, log *slog.Logger) *Module {
	m := &Module{Server: bus.NewServer(b, contract.CategoryQueue, log), store: st, log: log, now: store.Now}
	bus.Handle(m.Service, contract.CreateCategory, m.create)
	bus.Handle(m.Service, contract.UpdateCategory, m.update)
	bus.Handle(m.Service, contract.MoveCategory, m.move)
	bus.Handle(m.Service, contract.DeleteCategory, m.delete)
	bus.Handle(m.Service, contract.GetCategory, m.get)
	bus.Handle(m.Service, contract.GetCategoryBySlug, m.getBySlug)
	bus.Handle(m.Service, contract.GetCategoryTree, m.getTree)
	bus.Handle(m.Service, contract.GetBreadcrumbs, m.getBreadcrumbs)
	bus.Handle(m.Service, contract.ListChildren, m.listChildren)
	return m
}
