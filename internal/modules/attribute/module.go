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
// module.go, the handlers split by concern (handlers.go for what groups
// and definitions share, handlers_groups.go, handlers_definitions.go,
// validate.go for product values, events.go), store.go, store_sqlite.go
// with its schema in schema/*.sql, store_mongo.go, and their tests.
package attribute

import (
	"log/slog"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
)

// Module is one instance of the attribute module.
type Module struct {
	bus.Server // the queue, its handlers, Start and Stop
	store      Store
	log        *slog.Logger
	now        func() time.Time
}

// New returns the module with its handlers registered; Start serves them.
func New(b bus.Bus, st Store, log *slog.Logger) *Module {
	m := &Module{Server: bus.NewServer(b, contract.AttributeQueue, log), store: st, log: log, now: store.Now}
	bus.Handle(m.Service, contract.CreateAttributeGroup, m.createGroup)
	bus.Handle(m.Service, contract.UpdateAttributeGroup, m.updateGroup)
	bus.Handle(m.Service, contract.DeleteAttributeGroup, m.deleteGroup)
	bus.Handle(m.Service, contract.GetAttributeGroup, m.getGroup)
	bus.Handle(m.Service, contract.ListAttributeGroups, m.listGroups)
	bus.Handle(m.Service, contract.CreateAttributeDefinition, m.create)
	bus.Handle(m.Service, contract.UpdateAttributeDefinition, m.update)
	bus.Handle(m.Service, contract.DeleteAttributeDefinition, m.delete)
	bus.Handle(m.Service, contract.GetAttributeDefinition, m.get)
	bus.Handle(m.Service, contract.GetAttributeByCode, m.getByCode)
	bus.Handle(m.Service, contract.ListAttributes, m.list)
	bus.Handle(m.Service, contract.ValidateAttributes, m.validateValues)
	return m
}
