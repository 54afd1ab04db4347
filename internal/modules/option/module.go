// Package option is the option module: product option groups and their
// selectable values ("Size": S, M, L), and the cartesian product of them
// from which products generate their variants. It serves the "option"
// queue (internal/contract's option endpoints) and publishes
// option.group.* events.
//
// It has the shape of every module package (see package category):
// module.go, handlers.go, store.go, store_sqlite.go, store_mongo.go, and
// beside them store_test.go, module_test.go and bench_test.go.
package option

import (
	"log/slog"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
)

// Module is one instance of the option module.
type Module struct {
	bus.Server // the queue, its handlers, Start and Stop
	store      Store
	log        *slog.Logger
	now        func() time.Time
}

// New returns the module with its handlers registered; Start serves them.
func New(b bus.Bus, st Store, log *slog.Logger) *Module {
	m := &Module{Server: bus.NewServer(b, contract.OptionQueue, log), store: st, log: log, now: store.Now}
	bus.Handle(m.Service, contract.CreateOptionGroup, m.create)
	bus.Handle(m.Service, contract.UpdateOptionGroup, m.update)
	bus.Handle(m.Service, contract.DeleteOptionGroup, m.delete)
	bus.Handle(m.Service, contract.GetOptionGroup, m.get)
	bus.Handle(m.Service, contract.GetOptionGroupByCode, m.getByCode)
	bus.Handle(m.Service, contract.ListOptionGroups, m.list)
	bus.Handle(m.Service, contract.AddOptionValue, m.addValue)
	bus.Handle(m.Service, contract.UpdateOptionValue, m.updateValue)
	bus.Handle(m.Service, contract.RemoveOptionValue, m.removeValue)
	bus.Handle(m.Service, contract.GenerateVariants, m.generateVariants)
	return m
}
