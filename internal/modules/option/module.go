// Package option is the option module: product option groups and their
// selectable values ("Size": S, M, L), and the cartesian product of them
// from which products generate their variants. It serves the "option"
// queue (internal/contract's option endpoints) and publishes
// option.group.* events.
//
// Its events are never lost (the transactional outbox, package outbox):
// each write commits its event in the same atomic unit as the change —
// the outbox table in the write's SQLite transaction; on MongoDB the
// group document itself, in the single-document write that changes it,
// or for a delete the outbox collection through outbox.DeleteWith — and
// the module's relay publishes them afterwards, at least once, in commit
// order per group. A broker outage delays events, a crash between the
// commit and the publish leaves them for the next relay; a write that
// fails announces nothing. Consumers tell a redelivery from news by the
// event's version.
//
// It has the shape of every module package (see package category):
// module.go, handlers.go, store.go, store_sqlite.go, store_mongo.go, and
// beside them store_test.go, module_test.go, outbox_test.go (writes and
// their events commit together) and bench_test.go.
package option

import (
	"context"
	"log/slog"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
)

// Module is one instance of the option module.
type Module struct {
	bus.Server // the queue, its handlers, Start and Stop
	store      Store
	log        *slog.Logger
	now        func() time.Time
	// relay publishes the events the store's writes committed; the
	// handlers Notify it after each such write.
	relay *outbox.Relay
}

// New returns the module with its handlers registered; Start serves them.
func New(b bus.Bus, st Store, log *slog.Logger) *Module {
	m := &Module{Server: bus.NewServer(b, contract.OptionQueue, log), store: st, log: log, now: store.Now,
		relay: outbox.NewRelay(b, st.Outbox(), log)}
	bus.Handle(m.Service, contract.CreateOptionGroup, contract.AdminOnly(m.create))
	bus.Handle(m.Service, contract.UpdateOptionGroup, contract.AdminOnly(m.update))
	bus.Handle(m.Service, contract.DeleteOptionGroup, contract.AdminOnly(m.delete))
	bus.Handle(m.Service, contract.GetOptionGroup, m.get)
	bus.Handle(m.Service, contract.GetOptionGroupByCode, m.getByCode)
	bus.Handle(m.Service, contract.ListOptionGroups, m.list)
	bus.Handle(m.Service, contract.AddOptionValue, contract.AdminOnly(m.addValue))
	bus.Handle(m.Service, contract.UpdateOptionValue, contract.AdminOnly(m.updateValue))
	bus.Handle(m.Service, contract.RemoveOptionValue, contract.AdminOnly(m.removeValue))
	bus.Handle(m.Service, contract.GenerateVariants, m.generateVariants)
	return m
}

// Start serves the option queue and runs the outbox relay, which also
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
