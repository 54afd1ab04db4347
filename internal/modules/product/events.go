package product

import (
	"context"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
)

// The events product publishes, and the category events it follows.

// onCategoryChanged re-indexes the products under a category that moved
// (their ancestors changed) or was deleted. Products keep their category
// ids; a deleted one stands for itself, with no ancestors.
func (m *Module) onCategoryChanged(ctx context.Context, ev contract.CategoryEvent, _ *bus.Event) error {
	affected, err := m.store.InCategory(ctx, ev.ID)
	if err != nil || len(affected) == 0 {
		return err
	}
	cats, err := m.categories(ctx)
	if err != nil {
		return err
	}
	closures := make(map[string][]string, len(affected))
	for id, direct := range affected {
		closures[id], _ = cats.closure(direct, false)
	}
	return m.store.SetClosures(ctx, closures)
}

// event is the payload of a write of p (indexed under closure): the
// product as a read model holds it, at the version the write made.
func event(p contract.Product, closure []string) contract.ProductEvent {
	p = normal(p)
	if closure == nil {
		closure = []string{}
	}
	var total int64
	for _, v := range p.Variants {
		total += v.Stock
	}
	return contract.ProductEvent{
		ID: p.ID, Slug: p.Slug, Name: p.Name, Status: p.Status, CategoryIDs: p.CategoryIDs, AllCategoryIDs: closure,
		Attributes: p.Attributes, Currency: p.Currency, PriceMin: p.PriceMin, PriceMax: p.PriceMax, TotalStock: total, Version: p.Version,
	}
}

// deletedEvent is the event of p's deletion, at the version the delete
// made: one past its last write, so that consumers holding that write see
// the deletion as newer.
func deletedEvent(p contract.Product, closure []string) contract.ProductEvent {
	e := event(p, closure)
	e.Version++
	return e
}

// publish sends an event after the write it reports. The write stands if
// publishing fails; the failure is logged for the operator (there is no
// outbox yet, so such an event is lost).
func (m *Module) publish(ctx context.Context, ev bus.EventType[contract.ProductEvent], payload contract.ProductEvent) {
	if err := bus.Emit(ctx, m.Bus, ev, payload); err != nil {
		m.log.Error("product event not published", "topic", ev.Topic, "id", payload.ID, "err", err)
	}
}
