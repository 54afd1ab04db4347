package attribute

import (
	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
)

// groupEvent and definitionEvent build the payloads of the events about
// g and d. The handlers build them before a write, or the store calls
// them (through announceGroup and announceDefinition) inside one, so that
// they go into the outbox with the write they announce.
func groupEvent(g contract.AttributeGroup) contract.AttributeGroupEvent {
	return contract.AttributeGroupEvent{ID: g.ID, Version: g.Version, Name: g.Name, Slug: g.Slug, Position: g.Position}
}

func definitionEvent(d contract.AttributeDefinition) contract.AttributeDefinitionEvent {
	return contract.AttributeDefinitionEvent{
		ID: d.ID, Version: d.Version, Code: d.Code, Name: d.Name, GroupID: d.GroupID, Type: d.Type, Values: d.Values,
		Unit: d.Unit, Filterable: d.Filterable, Required: d.Required, Position: d.Position,
	}
}

// groupOutbox and definitionOutbox are the pending event of type ev about
// g or d, as the write commits it.
func groupOutbox(ev bus.EventType[contract.AttributeGroupEvent], g contract.AttributeGroup) ([]outbox.Event, error) {
	e, err := outbox.New(ev, g.ID, groupEvent(g))
	return []outbox.Event{e}, err
}

func definitionOutbox(ev bus.EventType[contract.AttributeDefinitionEvent], d contract.AttributeDefinition) ([]outbox.Event, error) {
	e, err := outbox.New(ev, d.ID, definitionEvent(d))
	return []outbox.Event{e}, err
}

// announceGroup and announceDefinition announce each entity a store write
// commits with an event of type ev, for writes whose entities only the
// store knows (a renumbering).
func announceGroup(ev bus.EventType[contract.AttributeGroupEvent]) announce[contract.AttributeGroup] {
	return func(g contract.AttributeGroup) ([]outbox.Event, error) { return groupOutbox(ev, g) }
}

func announceDefinition(ev bus.EventType[contract.AttributeDefinitionEvent]) announce[contract.AttributeDefinition] {
	return func(d contract.AttributeDefinition) ([]outbox.Event, error) { return definitionOutbox(ev, d) }
}

// The delete is an entity's last write: its event carries the version
// after it (one past the version the store passes, the last write's), so
// a consumer holding the last update applies it.
var (
	groupDeleted announce[contract.AttributeGroup] = func(g contract.AttributeGroup) ([]outbox.Event, error) {
		g.Version++
		return groupOutbox(contract.AttributeGroupDeleted, g)
	}
	definitionDeleted announce[contract.AttributeDefinition] = func(d contract.AttributeDefinition) ([]outbox.Event, error) {
		d.Version++
		return definitionOutbox(contract.AttributeDefinitionDeleted, d)
	}
)
