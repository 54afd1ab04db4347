package attribute

import (
	"context"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
)

// groupEvent and definitionEvent build the payloads of the events about
// g and d. Building and publishing are apart so that the payload can go
// into an outbox with the write.
func groupEvent(g contract.AttributeGroup) contract.AttributeGroupEvent {
	return contract.AttributeGroupEvent{ID: g.ID, Version: g.Version, Name: g.Name, Slug: g.Slug, Position: g.Position}
}

func definitionEvent(d contract.AttributeDefinition) contract.AttributeDefinitionEvent {
	return contract.AttributeDefinitionEvent{
		ID: d.ID, Version: d.Version, Code: d.Code, Name: d.Name, GroupID: d.GroupID, Type: d.Type, Values: d.Values,
		Unit: d.Unit, Filterable: d.Filterable, Required: d.Required, Position: d.Position,
	}
}

// publishGroup and publishDefinition send an event after the write it
// reports. The write stands if publishing fails; the failure is logged for
// the operator (there is no outbox yet, so such an event is lost).
func (m *Module) publishGroup(ctx context.Context, ev bus.EventType[contract.AttributeGroupEvent], g contract.AttributeGroup) {
	if err := bus.Emit(ctx, m.Bus, ev, groupEvent(g)); err != nil {
		m.log.Error("attribute event not published", "topic", ev.Topic, "id", g.ID, "version", g.Version, "err", err)
	}
}

func (m *Module) publishDefinition(ctx context.Context, ev bus.EventType[contract.AttributeDefinitionEvent], d contract.AttributeDefinition) {
	if err := bus.Emit(ctx, m.Bus, ev, definitionEvent(d)); err != nil {
		m.log.Error("attribute event not published", "topic", ev.Topic, "id", d.ID, "version", d.Version, "err", err)
	}
}
