// Package seo is the seo module: the slug registry (every public
// storefront path and the entity it leads to, with the paths each entity
// had before), page metadata with admin overrides, sitemaps and JSON-LD.
// It serves the "seo" queue (internal/contract's seo endpoints).
//
// The registry is a read model (DESIGN.md, Events and read models). The
// module's consumer group takes the product, category and article events
// and writes one entry per entity, at the entity's version, into a change
// feed in its own store (package feed); every instance tails that feed
// into memory (registry), and resolve, get_meta and the sitemaps answer
// from there. So an instance that did not take an event still sees its
// change within a poll of the feed (100 ms), on the memory bus with
// several workers as on RabbitMQ with competing instances, and a restart
// loads one snapshot. Until the first snapshot is loaded the module is not
// ready (Ready, for /readyz).
//
// The URL space is described in internal/contract (ProductPathPrefix,
// ArticlePathPrefix, ReservedPrefixes): products /p/<slug>, articles
// /blog/<slug>, categories /<slug>/<child-slug>/… under their ancestors.
package seo

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/feed"
	"github.com/shopengine/shop/internal/store"
)

// Module is one instance of the seo module.
type Module struct {
	bus.Server
	store     Store
	log       *slog.Logger
	now       func() time.Time
	reg       *registry
	tailer    *feed.Tailer
	consumers []bus.Consumer
}

// New returns the module with its handlers registered; Start serves them.
func New(b bus.Bus, st Store, log *slog.Logger) *Module {
	m := &Module{Server: bus.NewServer(b, contract.SEOQueue, log), store: st, log: log, now: store.Now, reg: newRegistry(log)}
	m.tailer = feed.NewTailer(st.Registry(), m.reg.apply, feed.TailerOptions{Logger: log})
	bus.Handle(m.Service, contract.Resolve, m.resolve)
	bus.Handle(m.Service, contract.GetMeta, m.getMeta)
	bus.Handle(m.Service, contract.GetSitemapIndex, m.sitemapIndex)
	bus.Handle(m.Service, contract.GetSitemapPage, m.sitemapPage)
	bus.Handle(m.Service, contract.GetOverride, contract.AdminOnly(m.getOverride))
	bus.Handle(m.Service, contract.PutOverride, contract.AdminOnly(m.putOverride))
	bus.Handle(m.Service, contract.DeleteOverride, contract.AdminOnly(m.deleteOverride))
	return m
}

// Start tails the registry feed, serves the queue and starts the event
// consumers. Requests that come before the snapshot is loaded are
// answered unavailable (Ready says why), not from an empty registry.
func (m *Module) Start(ctx context.Context) error {
	m.Go("feed registry", m.tailer.Run)
	if err := m.Server.Start(ctx); err != nil {
		return err
	}
	if err := m.subscribe(); err != nil {
		return errors.Join(err, m.Stop(ctx))
	}
	return nil
}

// Stop stops the consumers, then the queue and the tailer.
func (m *Module) Stop(ctx context.Context) error {
	var err error
	for _, c := range m.consumers {
		err = errors.Join(err, c.Stop(ctx))
	}
	m.consumers = nil
	return errors.Join(err, m.Server.Stop(ctx))
}

// Ready implements modules.Readier: ready once the registry's snapshot is
// loaded and its feed is being read.
func (m *Module) Ready(ctx context.Context) error { return m.tailer.Ready(ctx) }

// loaded fails a read of the registry before its first snapshot.
func (m *Module) loaded(ctx context.Context) error {
	if err := m.tailer.Ready(ctx); err != nil {
		select {
		case <-m.tailer.Loaded():
			return nil // loaded once; a stale feed still answers from memory
		default:
		}
		return bus.RetryLater(bus.CodeUnavailable, time.Second, "seo: %v", err)
	}
	return nil
}
