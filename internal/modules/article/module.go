// Package article is the article module: editorial content and blog
// posts, written in Markdown and served as sanitised HTML. It serves the
// "article" queue (internal/contract's article endpoints) and publishes
// article.* events, with slug and status, for seo and the storefront.
//
// Its events are never lost (the transactional outbox, package outbox):
// each write commits its one event in the same atomic unit as the change
// — the outbox table in the write's SQLite transaction; on MongoDB the
// article document itself, or for a delete the outbox collection through
// outbox.DeleteWith — and the module's relay publishes them afterwards,
// at least once, in commit order per article.
//
// Scheduled publication needs no cron job: reads check the time (a
// scheduled article is public once its publish_at has passed), and each
// instance runs a scheduler (scheduler.go) that publishes due articles
// with a version-checked write carrying article.published, so the event
// is committed once however many instances or workers race for it.
//
// It has the shape of every module package (see package category):
// module.go, handlers.go and handlers_read.go, render.go (Markdown →
// sanitised HTML), scheduler.go, store.go, store_sqlite.go,
// store_mongo.go, and beside them store_test.go, module_test.go,
// render_test.go and bench_test.go.
package article

import (
	"context"
	"log/slog"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
)

// Module is one instance of the article module.
type Module struct {
	bus.Server // the queue, its handlers, Start and Stop
	store      Store
	log        *slog.Logger
	now        func() time.Time
	// tick is how often the scheduler looks for due articles.
	tick time.Duration
	// relay publishes the events the store's writes committed; the
	// handlers Notify it after each such write.
	relay *outbox.Relay
}

// DefaultTick is how often the scheduler looks for scheduled articles
// whose time has come: reads already show them at the time, so this
// bounds only how late article.published can be.
const DefaultTick = time.Second

// New returns the module with its handlers registered; Start serves them.
func New(b bus.Bus, st Store, log *slog.Logger) *Module {
	m := &Module{Server: bus.NewServer(b, contract.ArticleQueue, log), store: st, log: log, now: store.Now,
		tick: DefaultTick, relay: outbox.NewRelay(b, st.Outbox(), log)}
	bus.Handle(m.Service, contract.CreateArticle, contract.AdminOnly(m.create))
	bus.Handle(m.Service, contract.UpdateArticle, contract.AdminOnly(m.update))
	bus.Handle(m.Service, contract.DeleteArticle, contract.AdminOnly(m.delete))
	bus.Handle(m.Service, contract.PublishArticle, contract.AdminOnly(m.publish))
	bus.Handle(m.Service, contract.UnpublishArticle, contract.AdminOnly(m.unpublish))
	bus.Handle(m.Service, contract.GetArticle, m.get)
	bus.Handle(m.Service, contract.GetArticleBySlug, m.getBySlug)
	bus.Handle(m.Service, contract.ListArticles, m.list)
	bus.Handle(m.Service, contract.ListArticleTags, m.listTags)
	return m
}

// Start serves the article queue and runs the outbox relay and the
// scheduler, as background work (bus.Server.Go): should either fail, the
// process stops rather than go on without them.
func (m *Module) Start(ctx context.Context) error {
	if err := m.Server.Start(ctx); err != nil {
		return err
	}
	m.Go("outbox relay", m.relay.Run)
	m.Go("scheduler", m.schedule)
	return nil
}
