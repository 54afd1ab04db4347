package article

import (
	"context"
	"errors"
	"time"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
)

// dueBatch bounds the scheduled articles one tick publishes; the next
// tick takes the rest.
const dueBatch = 100

// schedule publishes scheduled articles whose publish_at has passed, every
// tick, until ctx ends. Reads already show such an article as public; this
// makes it published (published_at = publish_at, so its place in lists
// stays) and commits article.published with it.
//
// Exactly once, with any number of instances and workers: each instance
// reads the due articles, and each publication is a write checked on the
// version it read (the store's Update: "… WHERE id = ? AND version = ?",
// or the same filter on MongoDB), carrying the event in the same
// transaction or document write. The first instance's write moves the
// version and the status; every other instance's write then matches
// nothing (store.ErrStale) and commits nothing, so the event is committed
// once; the outbox publishes it at least once, under one event id, and
// consumers tell a redelivery by it and by the version. An admin's edit
// racing the scheduler wins or loses the same way, and a lost publication
// is retried at the next tick from the new version.
func (m *Module) schedule(ctx context.Context) error {
	t := time.NewTicker(m.tick)
	defer t.Stop()
	for {
		if err := m.publishDue(ctx); err != nil && ctx.Err() == nil {
			// A store outage delays publications (reads show them
			// regardless); it is not a reason to stop the process.
			m.log.Warn("scheduler: will retry at the next tick", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// publishDue publishes what is due now; a publication another writer got
// to first is skipped.
func (m *Module) publishDue(ctx context.Context) error {
	now := m.now()
	due, err := m.store.Due(ctx, now, dueBatch)
	if err != nil {
		return err
	}
	published := 0
	for _, a := range due {
		expected := a.Version
		a.Status, a.PublishedAt = contract.ArticlePublished, a.PublishAt
		a.UpdatedAt, a.Version = now, expected+1
		ev, err := outbox.New(contract.ArticleMadePublic, a.ID, event(a, now))
		if err != nil {
			return err
		}
		switch err := m.store.Update(ctx, a, expected, ev); {
		case err == nil:
			published++
		case errors.Is(err, store.ErrStale), errors.Is(err, store.ErrNotFound):
			// Another instance published it, or an admin changed or
			// deleted it, since it was read.
		default:
			return err
		}
	}
	if published > 0 {
		m.relay.Notify()
		m.log.Info("scheduler: published scheduled articles", "count", published)
	}
	return nil
}
