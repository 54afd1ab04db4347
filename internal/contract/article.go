package contract

import (
	"time"

	"github.com/shopengine/shop/internal/bus"
)

// ArticleStatus is where an article is in its editorial life.
type ArticleStatus string

// Article statuses. A scheduled article is public once its PublishAt has
// passed, without anyone writing it again.
const (
	ArticleDraft     ArticleStatus = "draft"
	ArticleScheduled ArticleStatus = "scheduled"
	ArticlePublished ArticleStatus = "published"
)

// ArticleEvent is the payload of every article event: what a follower
// (seo's slug registry and metadata, the storefront) needs without asking
// back. ID and Version are the entity's; a consumer ignores an event whose
// Version is not newer than the one it holds. A deleted event carries the
// version the delete made (one past the last write). Public says whether
// the article is visible now (published, or scheduled with PublishAt
// passed); article.published is emitted when an article becomes public,
// including by its PublishAt passing. The event's own id is the bus
// envelope's (bus.Event.ID).
type ArticleEvent struct {
	ID          string        `json:"id"`
	Version     int64         `json:"version"`
	Slug        string        `json:"slug"`
	Title       string        `json:"title"`
	Excerpt     string        `json:"excerpt"`
	CoverURL    string        `json:"cover_url,omitempty"`
	Tags        []string      `json:"tags"`
	Status      ArticleStatus `json:"status"`
	Public      bool          `json:"public"`
	PublishAt   *time.Time    `json:"publish_at,omitempty"`
	PublishedAt *time.Time    `json:"published_at,omitempty"`
	UpdatedAt   time.Time     `json:"updated_at"`
}

// Article events. (ArticlePublished is the status; the event of becoming
// public is ArticleMadePublic, topic article.published.)
var (
	ArticleCreated     = bus.EventType[ArticleEvent]{Topic: "article.created"}
	ArticleUpdated     = bus.EventType[ArticleEvent]{Topic: "article.updated"}
	ArticleMadePublic  = bus.EventType[ArticleEvent]{Topic: "article.published"}
	ArticleMadePrivate = bus.EventType[ArticleEvent]{Topic: "article.unpublished"}
	ArticleDeleted     = bus.EventType[ArticleEvent]{Topic: "article.deleted"}
)
