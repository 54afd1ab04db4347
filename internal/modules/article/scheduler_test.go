package article

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/bus/bustest"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/moduletest"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

// clock is a test's time, shared by the instances it starts.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// barrier holds every Due that finds something until n of them have, so
// that n instances have all read the same due article before any of them
// writes: the race the scheduler's checked write must settle.
type barrier struct {
	mu      sync.Mutex
	n, seen int
	all     chan struct{}
}

func (b *barrier) wait(found int) {
	if found == 0 {
		return
	}
	b.mu.Lock()
	if b.seen++; b.seen == b.n {
		close(b.all)
	}
	b.mu.Unlock()
	select {
	case <-b.all:
	case <-time.After(5 * time.Second):
	}
}

type barrierStore struct {
	Store
	b *barrier
}

func (s barrierStore) Due(ctx context.Context, now time.Time, limit int) ([]contract.Article, error) {
	due, err := s.Store.Due(ctx, now, limit)
	s.b.wait(len(due))
	return due, err
}

// scheduled is the module on c's time, its scheduler ticking every tick,
// its store's Due behind b (nil: none).
func scheduled(c *clock, tick time.Duration, b *barrier) moduletest.Spec[Store, *Module] {
	spec := module
	spec.Open = func(ctx context.Context, db *store.DB) (Store, error) {
		s, err := OpenStore(ctx, db)
		if b != nil {
			s = barrierStore{s, b}
		}
		return s, err
	}
	spec.New = func(bb bus.Bus, st Store, log *slog.Logger) *Module {
		m := New(bb, st, log)
		m.now, m.tick = c.now, tick
		return m
	}
	return spec
}

// TestScheduledPublication: a scheduled article is hidden until its time,
// public at its time by the read's own check, and then published by the
// scheduler with article.published.
func TestScheduledPublication(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		c := &clock{t: store.Now()}
		h := moduletest.Start(t, db, scheduled(c, 10*time.Millisecond, nil))
		events := bustest.Record[contract.ArticleEvent](t, h.Bus, "article.*")
		when := c.now().Add(time.Hour)
		a := call(t, h.Bus, contract.CreateArticle, contract.CreateArticleRequest{Title: "Launch", BodyMarkdown: "Soon.", Status: contract.ArticleScheduled, PublishAt: &when})
		if a.Status != contract.ArticleScheduled || a.Public || !a.PublishAt.Equal(when) || a.PublishedAt != nil {
			t.Fatalf("scheduled %+v", a)
		}
		bustest.CallErr(t, h.Bus, contract.GetArticleBySlug, contract.ArticleSlug{Slug: "launch"}, bus.CodeNotFound, "launch")
		if got := bustest.Call(t, h.Bus, contract.ListArticles, contract.ListArticlesRequest{}); got.Total != 0 {
			t.Fatalf("public list before its time %+v", got)
		}
		time.Sleep(50 * time.Millisecond) // ticks that find nothing due
		if got := call(t, h.Bus, contract.GetArticle, contract.ArticleID{ID: a.ID}); got.Version != 1 || got.Status != contract.ArticleScheduled {
			t.Fatalf("published early: %+v", got)
		}

		c.add(time.Hour)
		got := bustest.Call(t, h.Bus, contract.GetArticleBySlug, contract.ArticleSlug{Slug: "launch"})
		if !got.Public {
			t.Fatalf("not public at its time: %+v", got)
		}
		evs := events.Wait(t, 2)
		if evs[1].Topic != contract.ArticleMadePublic.Topic || evs[1].Event.Version != 2 || !evs[1].Event.Public ||
			evs[1].Event.Status != contract.ArticlePublished || !evs[1].Event.PublishedAt.Equal(when) {
			t.Fatalf("events %+v", evs)
		}
		got = call(t, h.Bus, contract.GetArticle, contract.ArticleID{ID: a.ID})
		if got.Status != contract.ArticlePublished || got.Version != 2 || !got.PublishedAt.Equal(when) {
			t.Fatalf("after the scheduler %+v", got)
		}
		if n := len(moduletest.Settle(t, h.Outbox, events)); n != 2 {
			t.Fatalf("%d events, want created and published", n)
		}
	})
}

// TestScheduledPublicationOnce: three instances on one store (three
// workers, or three services) all find the same article due at the same
// moment; it is published, and announced, once. (Not on FerretDB, whose
// conditional updates from separate clients race: DESIGN.md, Storage.)
func TestScheduledPublicationOnce(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		storetest.Require(t, db, storetest.MultiClient)
		c := &clock{t: store.Now()}
		b := &barrier{n: 3, all: make(chan struct{})}
		// The tickers run once at start (nothing due) and then not before
		// the test ends: the test makes the ticks itself, all at once.
		spec := scheduled(c, time.Hour, b)
		h := moduletest.Start(t, db, spec)
		others := []*moduletest.Harness[*Module]{
			moduletest.Start(t, storetest.Another(t, db), spec, moduletest.OnBus(h.Bus)),
			moduletest.Start(t, storetest.Another(t, db), spec, moduletest.OnBus(h.Bus)),
		}
		events := bustest.Record[contract.ArticleEvent](t, h.Bus, "article.*")
		when := c.now().Add(time.Minute)
		a := call(t, h.Bus, contract.CreateArticle, contract.CreateArticleRequest{Title: "Once", BodyMarkdown: "x", Status: contract.ArticleScheduled, PublishAt: &when})
		c.add(time.Minute)

		var wg sync.WaitGroup
		for _, m := range []*Module{h.Module, others[0].Module, others[1].Module} {
			wg.Go(func() {
				if err := m.publishDue(t.Context()); err != nil {
					t.Errorf("publish due: %v", err)
				}
			})
		}
		wg.Wait()
		for _, o := range append(others, h) {
			o.Outbox.Wait(t)
		}
		evs := events.Wait(t, 2)
		evs = events.Settle()
		published := 0
		for _, e := range evs {
			if e.Topic == contract.ArticleMadePublic.Topic {
				published++
			}
		}
		if published != 1 || len(evs) != 2 {
			t.Fatalf("%d article.published events of %d, want 1 of 2: %+v", published, len(evs), evs)
		}
		if got := call(t, h.Bus, contract.GetArticle, contract.ArticleID{ID: a.ID}); got.Version != 2 || got.Status != contract.ArticlePublished {
			t.Fatalf("after three schedulers %+v", got)
		}
	})
}
