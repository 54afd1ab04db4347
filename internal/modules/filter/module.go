// Package filter is the filter module: faceted search over the published
// catalogue. It serves the "filter" queue (contract.Search) and owns no
// data of its own making: its store is a read model of the product,
// category, attribute and option events (consumer.go, store.go), and
// every instance answers from an in-memory index built from that store at
// start and kept current by tailing it (package feed), so a change shows
// in every instance within about a poll interval, whichever instance
// consumed its event.
//
// The index (index.go, catalog.go, column.go, text.go) and the query over
// it (query.go, facets.go, sort.go) are the heart of the module; a search
// is one in-process call over roaring bitmaps, facet counts disjunctive,
// with no store access.
package filter

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/feed"
)

// Module is one instance of the filter module.
type Module struct {
	bus.Server
	store  Store
	index  *Index
	tailer *feed.Tailer
	log    *slog.Logger
	subs   []bus.Consumer
	// replies are the encoded replies of the index's current revision
	// (cache.go).
	replies  replyCache
	searches singleflight.Group // the misses of replies being searched
}

// New returns the module with its handler registered; Start serves it.
func New(b bus.Bus, st Store, log *slog.Logger) *Module {
	idx := NewIndex(log)
	m := &Module{Server: bus.NewServer(b, contract.FilterQueue, log), store: st, index: idx, log: log,
		tailer: feed.NewTailer(st.Log(), idx.Apply, feed.TailerOptions{Logger: log})}
	m.Service.Handle(contract.Search.Op, m.handleSearch)
	return m
}

// Start serves the queue, loads the snapshot and tails the store in the
// background (Ready says when it is loaded), compacts old tombstones, and
// follows the events.
func (m *Module) Start(ctx context.Context) error {
	if err := m.Server.Start(ctx); err != nil {
		return err
	}
	m.Go("feed catalog", m.tailer.Run)
	m.Go("feed compaction", m.compact)
	if err := m.subscribe(); err != nil {
		return errors.Join(err, m.Stop(context.Background()))
	}
	return nil
}

// Stop stops the events, then the queue and the tailer.
func (m *Module) Stop(ctx context.Context) error {
	var errs []error
	for _, c := range m.subs {
		errs = append(errs, c.Stop(ctx))
	}
	m.subs = nil
	return errors.Join(append(errs, m.Server.Stop(ctx))...)
}

// Ready implements the registry's Readier: not ready until the snapshot
// is loaded ("feed catalog: loading snapshot"), so /readyz keeps an
// instance out of rotation while it would answer from an empty index.
func (m *Module) Ready(ctx context.Context) error { return m.tailer.Ready(ctx) }

// compactEvery is how often an instance removes old tombstones; several
// instances doing it is harmless.
const compactEvery = 10 * time.Minute

func (m *Module) compact(ctx context.Context) error {
	t := time.NewTicker(compactEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if n, err := m.store.Log().Compact(ctx, feed.DefaultTombstoneAge); err != nil {
				m.log.WarnContext(ctx, "filter: compact feed", "err", err)
			} else if n > 0 {
				m.log.DebugContext(ctx, "filter: compacted feed", "tombstones", n)
			}
		}
	}
}

// search answers from the index once it is loaded.
func (m *Module) search(_ context.Context, req contract.SearchRequest) (contract.SearchReply, error) {
	select {
	case <-m.tailer.Loaded():
	default:
		return contract.SearchReply{}, bus.Errorf(bus.CodeUnavailable, "filter: loading snapshot")
	}
	return m.index.Search(req)
}
