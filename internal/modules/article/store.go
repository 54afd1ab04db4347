package article

import (
	"context"
	"time"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
)

// Store is the article module's narrow view of its database: articles,
// read and written whole. Both implementations return store.ErrNotFound,
// store.ErrDuplicate (a slug taken) and store.ErrStale (a version moved)
// the same way, so the logic maps them to bus codes once.
//
// Versions: Update and Delete apply only while the article is still at
// the version they expect, checked in the same statement as the write;
// every write adds one. The scheduler's publication of a scheduled
// article is such a write too, which is what makes it happen once
// however many instances race for it (see scheduler.go).
//
// Events: every write commits its events with it (the transactional
// outbox), in the same SQLite transaction, or on MongoDB in the same
// single-document write (a delete records them with outbox.DeleteWith);
// a write that fails leaves none.
type Store interface {
	// Insert stores a new article (at a.Version, 1) with its events.
	Insert(ctx context.Context, a contract.Article, events ...outbox.Event) error
	Get(ctx context.Context, id string) (contract.Article, error)
	BySlug(ctx context.Context, slug string) (contract.Article, error)
	// List returns up to q.Limit articles matching q, newest first (by
	// sortAt, then id, both descending), after q.After when set, and the
	// number matching q without After and Limit.
	List(ctx context.Context, q Query) ([]contract.ArticleSummary, int, error)
	// Tags counts the tags of the articles public at publicAt (nil: of
	// every article), most used first, then by tag.
	Tags(ctx context.Context, publicAt *time.Time) ([]contract.ArticleTag, error)
	// Due returns up to limit scheduled articles whose PublishAt is at or
	// before now, earliest first.
	Due(ctx context.Context, now time.Time, limit int) ([]contract.Article, error)
	// Update writes a whole (all but id and created_at) as version
	// expected+1, if the article is still at expected (> 0), with its
	// events.
	Update(ctx context.Context, a contract.Article, expected int64, events ...outbox.Event) error
	// Delete removes article id if it is at expected (0: any) and returns
	// it as it was; deleted builds the events from it, committed with the
	// delete.
	Delete(ctx context.Context, id string, expected int64, deleted func(contract.Article) ([]outbox.Event, error)) (contract.Article, error)
	// Outbox is where the writes leave their events for the relay.
	Outbox() outbox.Source
}

// Query is one page of a list.
type Query struct {
	Tag      string
	Featured *bool
	Status   contract.ArticleStatus // "": any
	// PublicAt, when set, keeps the articles public at that time:
	// published, or scheduled with PublishAt at or before it.
	PublicAt *time.Time
	After    *Position
	Limit    int
}

// Position is a place in the list order: an article's sortAt and id.
type Position struct {
	At time.Time
	ID string
}

// sortAt is where a sits in lists, newest first: when it became or
// becomes public, or, for a draft, when it was created. For a public
// article it is never after the time it became public, so "public at t"
// is "published or scheduled, with sortAt ≤ t" on both backends.
func sortAt(a contract.Article) time.Time {
	switch {
	case a.Status == contract.ArticlePublished && a.PublishedAt != nil:
		return *a.PublishedAt
	case a.Status == contract.ArticleScheduled && a.PublishAt != nil:
		return *a.PublishAt
	}
	return a.CreatedAt
}

// OpenStore returns the Store for db's backend, with its schema or indexes
// in place.
func OpenStore(ctx context.Context, db *store.DB) (Store, error) {
	return store.OpenModule[Store](ctx, db, contract.ArticleQueue, openSQLStore, openMongoStore)
}
