package filter

import (
	"context"
	"errors"
	"fmt"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/feed"
)

// The consumer group: each event reaches one instance of the module (per
// process on the memory bus, one of the competing instances on RabbitMQ),
// which writes it into the store; every instance's tailer then reads it
// from there. The store keeps, per key, the newest version only, so a
// redelivered or overtaken event changes nothing.

// eventGroup is the filter module's subscription group.
const eventGroup = "filter"

// subscribe follows every event the read model is made of.
func (m *Module) subscribe() error {
	var errs []error
	on := func(c bus.Consumer, err error) {
		if err != nil {
			errs = append(errs, err)
			return
		}
		m.subs = append(m.subs, c)
	}
	for _, et := range []bus.EventType[contract.ProductEvent]{contract.ProductCreated, contract.ProductUpdated, contract.ProductStatusChanged} {
		on(bus.OnBatch(m.Bus, et, eventGroup, eventBatch, m.onProducts))
	}
	on(bus.On(m.Bus, contract.ProductDeleted, eventGroup, m.onProductDeleted))
	on(bus.On(m.Bus, contract.ProductStockChanged, eventGroup, m.onStock))
	for _, et := range []bus.EventType[contract.CategoryEvent]{contract.CategoryCreated, contract.CategoryUpdated, contract.CategoryMoved} {
		on(bus.On(m.Bus, et, eventGroup, m.onCategory))
	}
	on(bus.On(m.Bus, contract.CategoryDeleted, eventGroup, func(ctx context.Context, ev contract.CategoryEvent, _ *bus.Event) error {
		return m.deleted(ctx, keyCategory+ev.ID, ev.Version)
	}))
	for _, et := range []bus.EventType[contract.AttributeDefinitionEvent]{contract.AttributeDefinitionCreated, contract.AttributeDefinitionUpdated} {
		on(bus.On(m.Bus, et, eventGroup, func(ctx context.Context, ev contract.AttributeDefinitionEvent, _ *bus.Event) error {
			return m.put(ctx, keyAttribute+ev.ID, ev.Version, ev)
		}))
	}
	on(bus.On(m.Bus, contract.AttributeDefinitionDeleted, eventGroup, func(ctx context.Context, ev contract.AttributeDefinitionEvent, _ *bus.Event) error {
		return m.deleted(ctx, keyAttribute+ev.ID, ev.Version)
	}))
	for _, et := range []bus.EventType[contract.AttributeGroupEvent]{contract.AttributeGroupCreated, contract.AttributeGroupUpdated} {
		on(bus.On(m.Bus, et, eventGroup, func(ctx context.Context, ev contract.AttributeGroupEvent, _ *bus.Event) error {
			return m.put(ctx, keyAttrGroup+ev.ID, ev.Version, ev)
		}))
	}
	on(bus.On(m.Bus, contract.AttributeGroupDeleted, eventGroup, func(ctx context.Context, ev contract.AttributeGroupEvent, _ *bus.Event) error {
		return m.deleted(ctx, keyAttrGroup+ev.ID, ev.Version)
	}))
	for _, et := range []bus.EventType[contract.OptionGroupEvent]{contract.OptionGroupCreated, contract.OptionGroupUpdated} {
		on(bus.On(m.Bus, et, eventGroup, func(ctx context.Context, ev contract.OptionGroupEvent, _ *bus.Event) error {
			return m.put(ctx, keyOption+ev.ID, ev.Version, ev)
		}))
	}
	on(bus.On(m.Bus, contract.OptionGroupDeleted, eventGroup, func(ctx context.Context, ev contract.OptionGroupEvent, _ *bus.Event) error {
		return m.deleted(ctx, keyOption+ev.ID, ev.Version)
	}))
	if len(errs) > 0 {
		return fmt.Errorf("subscribe: %w", errors.Join(errs...))
	}
	return nil
}

// eventBatch is how many product events the consumer writes in one
// store transaction: a seed's burst of product.created costs a commit per
// batch, not per product.
const eventBatch = 500

// onProducts keeps a published product and drops any other: a draft or an
// archived product is not shown, and its tombstone at the event's version
// keeps an older "published" event from bringing it back. A batch of
// events is one store write.
func (m *Module) onProducts(ctx context.Context, ds []bus.Delivery[contract.ProductEvent]) error {
	writes := make([]docWrite, len(ds))
	for i, d := range ds {
		ev := d.Payload
		writes[i] = docWrite{key: keyProduct + ev.ID, version: ev.Version}
		if ev.Status == contract.ProductPublished {
			writes[i].doc = productDocOf(ev)
		}
	}
	err := m.store.Write(ctx, writes)
	if len(writes) == 1 {
		return m.written(writes[0].key, err)
	}
	if err != nil {
		// The bus delivers the batch again event by event: an event the
		// feed refuses is then dropped alone (written), the others written.
		return fmt.Errorf("write %d products: %w", len(writes), err)
	}
	m.tailer.Notify()
	return nil
}

func (m *Module) onProductDeleted(ctx context.Context, ev contract.ProductEvent, _ *bus.Event) error {
	return m.deleted(ctx, keyProduct+ev.ID, ev.Version)
}

// onStock keeps the level of each variant in the event, by its stock
// version (the product's content version does not move with sales).
func (m *Module) onStock(ctx context.Context, ev contract.ProductEvent, _ *bus.Event) error {
	for _, v := range ev.Variants {
		if err := m.put(ctx, keyStock+v.VariantID, v.StockVersion, stockDoc{ProductID: ev.ID, Stock: v.Stock}); err != nil {
			return err
		}
	}
	return nil
}

func (m *Module) onCategory(ctx context.Context, ev contract.CategoryEvent, _ *bus.Event) error {
	return m.put(ctx, keyCategory+ev.ID, ev.Version, categoryDoc{Name: ev.Name, Slug: ev.Slug, ParentID: ev.ParentID, Position: ev.Position})
}

func (m *Module) put(ctx context.Context, key string, version int64, doc any) error {
	_, err := m.store.Put(ctx, key, version, doc)
	return m.written(key, err)
}

func (m *Module) deleted(ctx context.Context, key string, version int64) error {
	_, err := m.store.Delete(ctx, key, version)
	return m.written(key, err)
}

// written nudges this instance's tailer, so its own change shows at once.
// An event the feed refuses as input (no id, no version) would be refused
// on every redelivery too: it is logged and dropped; a store error is
// returned, so the event comes again.
func (m *Module) written(key string, err error) error {
	if errors.Is(err, feed.ErrInvalid) {
		m.log.Error("filter: event refused by the read model, dropped", "key", key, "err", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	m.tailer.Notify()
	return nil
}
