package seo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
)

// group is the seo module's consumer group: each event reaches one
// instance, which writes it into the registry feed; every instance then
// reads it from there.
const group = contract.SEOQueue

// subscribe starts the module's consumers of the product, category and
// article events. Stock changes are not followed: they change no path.
func (m *Module) subscribe() error {
	products := []bus.EventType[contract.ProductEvent]{contract.ProductCreated, contract.ProductUpdated, contract.ProductStatusChanged, contract.ProductDeleted}
	for _, t := range products {
		deleted := t == contract.ProductDeleted
		if err := m.on(bus.On(m.Bus, t, group, func(ctx context.Context, ev contract.ProductEvent, e *bus.Event) error {
			return m.record(ctx, ev.Version, entry{Type: contract.SEOProduct, ID: ev.ID, Slug: ev.Slug,
				Public: ev.Status == contract.ProductPublished, Deleted: deleted, LastMod: publishedAt(e)})
		})); err != nil {
			return err
		}
	}
	categories := []bus.EventType[contract.CategoryEvent]{contract.CategoryCreated, contract.CategoryUpdated, contract.CategoryMoved, contract.CategoryDeleted}
	for _, t := range categories {
		deleted := t == contract.CategoryDeleted
		if err := m.on(bus.On(m.Bus, t, group, func(ctx context.Context, ev contract.CategoryEvent, e *bus.Event) error {
			return m.record(ctx, ev.Version, entry{Type: contract.SEOCategory, ID: ev.ID, Slug: ev.Slug, Parent: ev.ParentID,
				Public: true, Deleted: deleted, LastMod: publishedAt(e)})
		})); err != nil {
			return err
		}
	}
	articles := []bus.EventType[contract.ArticleEvent]{contract.ArticleCreated, contract.ArticleUpdated, contract.ArticleMadePublic, contract.ArticleMadePrivate, contract.ArticleDeleted}
	for _, t := range articles {
		deleted := t == contract.ArticleDeleted
		if err := m.on(bus.On(m.Bus, t, group, func(ctx context.Context, ev contract.ArticleEvent, e *bus.Event) error {
			mod := ev.UpdatedAt
			if mod.IsZero() {
				mod = publishedAt(e)
			}
			return m.record(ctx, ev.Version, entry{Type: contract.SEOArticle, ID: ev.ID, Slug: ev.Slug,
				Public: ev.Public, Deleted: deleted, LastMod: mod.UTC(),
				Article: &articleInfo{Title: ev.Title, Excerpt: ev.Excerpt, CoverURL: ev.CoverURL, PublishedAt: ev.PublishedAt, UpdatedAt: ev.UpdatedAt}})
		})); err != nil {
			return err
		}
	}
	return nil
}

func (m *Module) on(c bus.Consumer, err error) error {
	if err != nil {
		return fmt.Errorf("seo: subscribe: %w", err)
	}
	m.consumers = append(m.consumers, c)
	return nil
}

// publishedAt is when the event's write was published: the lastmod of an
// entity whose event has no time of its own.
func publishedAt(e *bus.Event) time.Time {
	if e == nil || e.Published.IsZero() {
		return store.Now()
	}
	return e.Published.UTC()
}

// record writes next into the registry at version, keeping the history of
// what the entity was before. An event not newer than the entry is a
// redelivery or arrived late: nothing changes (the feed's Put refuses it
// too, should a concurrent consumer write in between). An error makes the
// bus redeliver the event.
//
// The history is read before the write; two events of one entity handled
// at once by two instances can lose the slug of the older one from it (its
// redirect), never the newer state.
func (m *Module) record(ctx context.Context, version int64, next entry) error {
	if version <= 0 || next.ID == "" {
		m.log.WarnContext(ctx, "seo: ignoring an event without id or version", "type", next.Type, "id", next.ID, "version", version)
		return nil
	}
	k := key(next.Type, next.ID)
	var prev *entry
	switch c, err := m.store.Registry().Get(ctx, k); {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return fmt.Errorf("registry: read %s: %w", k, err)
	case c.Version >= version:
		return nil
	default:
		p, err := decodeEntry(c.Body)
		if err != nil {
			return fmt.Errorf("registry: %s: %w", k, err)
		}
		prev = &p
	}
	body, err := json.Marshal(succeed(prev, next))
	if err != nil {
		return fmt.Errorf("registry: encode %s: %w", k, err)
	}
	if _, err := m.store.Registry().Put(ctx, k, version, body); err != nil {
		return fmt.Errorf("registry: write %s v%d: %w", k, version, err)
	}
	m.tailer.Notify()
	return nil
}
