package seo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/feed"
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
		if err := m.on(bus.OnBatch(m.Bus, t, group, eventBatch, func(ctx context.Context, ds []bus.Delivery[contract.ProductEvent]) error {
			changes := make([]change, len(ds))
			for i, d := range ds {
				ev := d.Payload
				changes[i] = change{version: ev.Version, next: entry{Type: contract.SEOProduct, ID: ev.ID, Slug: ev.Slug,
					Public: ev.Status == contract.ProductPublished, Deleted: deleted, LastMod: publishedAt(d.Event)}}
			}
			return m.recordAll(ctx, changes)
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

// eventBatch is how many product events the consumer records in one
// registry write: a seed's burst of product.created costs a commit per
// batch, not per product.
const eventBatch = 500

// change is an entity's state as one event tells it, at the entity's
// version.
type change struct {
	version int64
	next    entry
}

// record writes next into the registry at version: recordAll of one.
func (m *Module) record(ctx context.Context, version int64, next entry) error {
	return m.recordAll(ctx, []change{{version, next}})
}

// recordAll writes each change into the registry at its version, keeping
// the history of what the entity was before, in one registry write. An
// event not newer than the entry (or than an earlier change of the same
// entity in the batch) is a redelivery or arrived late: nothing changes
// (the feed's write refuses it too, should a concurrent consumer write in
// between). An error makes the bus redeliver the events.
//
// The history is read before the write; two events of one entity handled
// at once by two instances can lose the slug of the older one from it (its
// redirect), never the newer state.
func (m *Module) recordAll(ctx context.Context, changes []change) error {
	// held is an entity's newest state so far: stored, or from this batch.
	type held struct {
		version int64
		e       *entry
		raw     []byte // the stored body, decoded when a change succeeds it
	}
	batch := map[string]held{}
	var entries []feed.Entry
	for _, c := range changes {
		next := c.next
		if c.version <= 0 || next.ID == "" {
			m.log.WarnContext(ctx, "seo: ignoring an event without id or version", "type", next.Type, "id", next.ID, "version", c.version)
			continue
		}
		k := key(next.Type, next.ID)
		h, ok := batch[k]
		if !ok {
			switch stored, err := m.store.Registry().Get(ctx, k); {
			case errors.Is(err, store.ErrNotFound):
			case err != nil:
				return fmt.Errorf("registry: read %s: %w", k, err)
			default:
				h = held{version: stored.Version, raw: stored.Body}
			}
		}
		if h.version >= c.version {
			batch[k] = h
			continue
		}
		if h.raw != nil {
			p, err := decodeEntry(h.raw)
			if err != nil {
				return fmt.Errorf("registry: %s: %w", k, err)
			}
			h.e = &p
		}
		e := succeed(h.e, next)
		body, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("registry: encode %s: %w", k, err)
		}
		entries = append(entries, feed.Entry{Key: k, Version: c.version, Body: body})
		batch[k] = held{version: c.version, e: &e}
	}
	if len(entries) == 0 {
		return nil
	}
	if _, err := feed.Write(ctx, m.store.Registry(), entries); err != nil {
		if len(entries) == 1 {
			return fmt.Errorf("registry: write %s v%d: %w", entries[0].Key, entries[0].Version, err)
		}
		return fmt.Errorf("registry: write %d entries: %w", len(entries), err)
	}
	m.tailer.Notify()
	return nil
}
