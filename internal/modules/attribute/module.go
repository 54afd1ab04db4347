// Package attribute is the attribute module: the definitions of the
// attributes products carry ("weight", "material"), organised in groups
// ("Technical"), and the check of a product's attribute values against
// them. It serves the "attribute" queue (internal/contract's attribute
// endpoints), asks the product module whether products use an attribute
// before a change that would orphan their data, and publishes
// attribute.group.* and attribute.definition.* events for read models (the
// filter module's facets).
//
// Its events are never lost (the transactional outbox, package outbox):
// each write commits its events in the same atomic unit as the change —
// the outbox table in the write's SQLite transaction; on MongoDB the group
// or definition document itself, in the single-document write that
// changes it, or for a delete the outbox collection through
// outbox.DeleteWith — and the module's relay publishes them afterwards,
// at least once, in commit order per group and definition. A renumbering
// announces each group or definition it moves from inside its write, at
// the version the write gives it. A broker outage delays events, a crash
// between the commit and the publish leaves them for the next relay; a
// write that fails announces nothing. Consumers tell a redelivery from
// news by the event's version.
//
// The package has the shape of every module (see package category):
// module.go, the handlers split by concern (handlers.go for what groups
// and definitions share, handlers_groups.go, handlers_definitions.go,
// validate.go for product values, events.go for the event payloads and
// their outbox entries), store.go, store_sqlite.go with its schema in
// schema/*.sql, store_mongo.go, and their tests (outbox_test.go: writes
// and their events commit together).
package attribute

import (
	"context"
	"log/slog"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
)

// Module is one instance of the attribute module.
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
	m := &Module{Server: bus.NewServer(b, contract.AttributeQueue, log), store: st, log: log, now: store.Now,
		relay: outbox.NewRelay(b, st.Outbox(), log)}
	bus.Handle(m.Service, contract.CreateAttributeGroup, contract.AdminOnly(m.createGroup))
	bus.Handle(m.Service, contract.UpdateAttributeGroup, contract.AdminOnly(m.updateGroup))
	bus.Handle(m.Service, contract.DeleteAttributeGroup, contract.AdminOnly(m.deleteGroup))
	bus.Handle(m.Service, contract.GetAttributeGroup, m.getGroup)
	bus.Handle(m.Service, contract.ListAttributeGroups, m.listGroups)
	bus.Handle(m.Service, contract.CreateAttributeDefinition, contract.AdminOnly(m.create))
	bus.Handle(m.Service, contract.UpdateAttributeDefinition, contract.AdminOnly(m.update))
	bus.Handle(m.Service, contract.DeleteAttributeDefinition, contract.AdminOnly(m.delete))
	bus.Handle(m.Service, contract.GetAttributeDefinition, m.get)
	bus.Handle(m.Service, contract.GetAttributeByCode, m.getByCode)
	bus.Handle(m.Service, contract.ListAttributes, m.list)
	bus.Handle(m.Service, contract.ValidateAttributes, m.validateValues)
	bus.Handle(m.Service, contract.ValidateAttributesMany, m.validateMany)
	return m
}

// Start serves the attribute queue and runs the outbox relay, which also
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
