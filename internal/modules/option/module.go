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
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/shopengine/shop/internal/buildinfo"
	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
)

// Module is one instance of the option module.
type Module struct {
	bus      bus.Bus
	store    Store
	log      *slog.Logger
	svc      *bus.Service
	consumer bus.Consumer
	now      func() time.Time
}

// New returns the module with its handlers registered; Start serves them.
func New(b bus.Bus, st Store, log *slog.Logger) *Module {
	m := &Module{bus: b, store: st, log: log, now: now}
	m.svc = bus.NewService(contract.OptionQueue, buildinfo.Version(), log)
	bus.Handle(m.svc, contract.CreateOptionGroup, m.create)
	bus.Handle(m.svc, contract.UpdateOptionGroup, m.update)
	bus.Handle(m.svc, contract.DeleteOptionGroup, m.delete)
	bus.Handle(m.svc, contract.GetOptionGroup, m.get)
	bus.Handle(m.svc, contract.GetOptionGroupByCode, m.byCode)
	bus.Handle(m.svc, contract.ListOptionGroups, m.list)
	bus.Handle(m.svc, contract.AddOptionValue, m.addValue)
	bus.Handle(m.svc, contract.UpdateOptionValue, m.updateValue)
	bus.Handle(m.svc, contract.RemoveOptionValue, m.removeValue)
	bus.Handle(m.svc, contract.GenerateVariants, m.generateVariants)
	return m
}

// now is UTC at millisecond precision: what every backend stores exactly.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// Start begins serving the option queue.
func (m *Module) Start(context.Context) error {
	c, err := m.bus.Serve(m.svc)
	if err != nil {
		return fmt.Errorf("serve %s: %w", contract.OptionQueue, err)
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
