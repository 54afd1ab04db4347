package product

import (
	"context"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
)

// The events product announces, and the category events it follows.
//
// Every write commits its event with it, in the store's outbox (see
// Store): the handler hands the store a builder (announce, stockChanged),
// the store calls it with what it writes, and the relay (Module.relay)
// publishes the event once the write has committed, at least once, even
// if the broker was down or the process died in between. The handler then
// only nudges the relay (Notify); it never publishes itself.

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
	var options []contract.VariantOption
	stock := make([]contract.VariantStock, 0, len(p.Variants))
	seen := map[string]bool{}
	for _, v := range p.Variants {
		total += v.Stock
		stock = append(stock, contract.VariantStock{VariantID: v.ID, SKU: v.SKU, Stock: v.Stock})
		for _, o := range v.Options {
			if !seen[o.ValueID] {
				seen[o.ValueID] = true
				options = append(options, o)
			}
		}
	}
	var image *contract.Image
	if len(p.Images) > 0 {
		image = &p.Images[0]
	}
	return contract.ProductEvent{
		ID: p.ID, Slug: p.Slug, Name: p.Name, Description: p.Description, Image: image, Options: options, Stock: stock, CreatedAt: p.CreatedAt,
		Status: p.Status, CategoryIDs: p.CategoryIDs, AllCategoryIDs: closure,
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

// announce returns the store's builder of the one event of type et that
// a write of a product commits, with payload from what the write commits
// (see Events): the relay publishes it once the write has committed.
func announce(et bus.EventType[contract.ProductEvent], payload func(p contract.Product, closure []string) contract.ProductEvent) Events {
	return func(p contract.Product, closure []string) ([]outbox.Event, error) {
		ev, err := outbox.New(et, p.ID, payload(p, closure))
		if err != nil {
			return nil, err
		}
		return []outbox.Event{ev}, nil
	}
}

// stockChanged is the builder of the stock_changed event of an
// adjustment by delta: the product with the variant's new level.
func stockChanged(delta int64) StockEvents {
	return func(p contract.Product, closure []string, l contract.StockLevel) ([]outbox.Event, error) {
		e := event(p, closure)
		e.Variants = []contract.VariantStock{{VariantID: l.VariantID, SKU: l.SKU, Stock: l.Stock, Delta: delta, StockVersion: l.StockVersion}}
		ev, err := outbox.New(contract.ProductStockChanged, p.ID, e)
		if err != nil {
			return nil, err
		}
		return []outbox.Event{ev}, nil
	}
}
