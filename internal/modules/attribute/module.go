// Package attribute is the attribute module: the definitions of the
// attributes products carry ("weight", "material"), organised in groups
// ("Technical"), and the check of a product's attribute values against
// them. It serves the "attribute" queue (internal/contract's attribute
// endpoints), asks the product module whether products use an attribute
// before a change that would orphan their data, and publishes
// attribute.group.* and attribute.definition.* events for read models (the
// filter module's facets).
//
// The package has the shape of every module (see package category):
// module.go, handlers.go, store.go, store_sqlite.go, store_mongo.go and
// their tests.
package attribute

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/shopengine/shop/internal/buildinfo"
	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
)

// Module is one instance of the attribute module.
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
	m.svc = bus.NewService(contract.AttributeQueue, buildinfo.Version(), log)
	bus.Handle(m.svc, contract.CreateAttributeGroup, m.createGroup)
	bus.Handle(m.svc, contract.UpdateAttributeGroup, m.updateGroup)
	bus.Handle(m.svc, contract.DeleteAttributeGroup, m.deleteGroup)
	bus.Handle(m.svc, contract.GetAttributeGroup, m.getGroup)
	bus.Handle(m.svc, contract.ListAttributeGroups, m.listGroups)
	bus.Handle(m.svc, contract.CreateAttributeDefinition, m.create)
	bus.Handle(m.svc, contract.UpdateAttributeDefinition, m.update)
	bus.Handle(m.svc, contract.DeleteAttributeDefinition, m.delete)
	bus.Handle(m.svc, contract.GetAttributeDefinition, m.get)
	bus.Handle(m.svc, contract.GetAttributeByCode, m.byCode)
	bus.Handle(m.svc, contract.ListAttributes, m.list)
	bus.Handle(m.svc, contract.ValidateAttributes, m.validate)
	return m
}

// now is UTC at millisecond precision: what every backend stores exactly.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// Start begins serving the attribute queue.
func (m *Module) Start(context.Context) error {
	c, err := m.bus.Serve(m.svc)
	if err != nil {
		return fmt.Errorf("serve %s: %w", contract.AttributeQueue, err)
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
