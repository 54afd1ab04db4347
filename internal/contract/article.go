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
// public is ArticleMadePublic, topic article.published.) Every write
// commits exactly one event (through the outbox), so that no two events
// share a version: create → article.created (Public says whether it was
// created public); update → article.updated; publish → article.published
// when it makes the article public, article.updated when it schedules it
// (article.unpublished when that hides a public one); unpublish →
// article.unpublished (article.updated for one that was not public);
// PublishAt passing → article.published, once, from the scheduler's
// version-checked write; delete → article.deleted.
var (
	ArticleCreated     = bus.EventType[ArticleEvent]{Topic: "article.created"}
	ArticleUpdated     = bus.EventType[ArticleEvent]{Topic: "article.updated"}
	ArticleMadePublic  = bus.EventType[ArticleEvent]{Topic: "article.published"}
	ArticleMadePrivate = bus.EventType[ArticleEvent]{Topic: "article.unpublished"}
	ArticleDeleted     = bus.EventType[ArticleEvent]{Topic: "article.deleted"}
)

// Limits of the article module, checked on every write.
const (
	// MaxArticleBody bounds an article's Markdown, in bytes: a long read is
	// 10,000 words (~60 KB); the bound leaves room for tables and code
	// while an article with its rendered HTML stays inside one bus
	// message (bus.MaxBodySize).
	MaxArticleBody = 256 << 10
	// MaxArticleTags bounds an article's tags.
	MaxArticleTags = 20
	// MaxArticlesPage bounds a list page; DefaultArticlesPage is used
	// when none is given. FeedArticles is the length of every feed.
	MaxArticlesPage     = 100
	DefaultArticlesPage = 20
	FeedArticles        = 20
)

// Article is a piece of editorial content: a blog post or a content page.
// Its body is written in Markdown (GFM); BodyHTML is derived from it on
// every write — rendered, then sanitised — and is never stored or served
// unsanitised. Excerpt is the author's (CustomExcerpt) or, when none was
// given, generated from the body's text, and follows the body when it
// changes. ReadingMinutes is the body's word count at 265 words a minute,
// rounded up.
//
// Status and times: a draft has neither PublishAt nor PublishedAt; a
// scheduled article has PublishAt (in the future when it was written);
// a published one has PublishedAt. A scheduled article is public as soon
// as PublishAt passes (reads check the time), and the module's scheduler
// then makes it published with PublishedAt = PublishAt. Public says
// whether the article is visible to the public at the time of the reply.
type Article struct {
	ID             string        `json:"id"`
	Title          string        `json:"title"`
	Slug           string        `json:"slug"`
	Excerpt        string        `json:"excerpt"`
	CustomExcerpt  bool          `json:"custom_excerpt"`
	BodyMarkdown   string        `json:"body_markdown"`
	BodyHTML       string        `json:"body_html"`
	Cover          *Image        `json:"cover,omitempty"`
	Tags           []string      `json:"tags"`
	AuthorName     string        `json:"author_name"`
	Status         ArticleStatus `json:"status"`
	PublishAt      *time.Time    `json:"publish_at,omitempty"`
	PublishedAt    *time.Time    `json:"published_at,omitempty"`
	ReadingMinutes int           `json:"reading_time_minutes"`
	Featured       bool          `json:"featured"`
	Public         bool          `json:"public"`
	Version        int64         `json:"version"`
	CreatedAt      time.Time     `json:"created_at"`
	UpdatedAt      time.Time     `json:"updated_at"`
}

// ETagVersion implements Versioned.
func (a Article) ETagVersion() int64 { return a.Version }

// ArticleSummary is an article as lists and feeds show it: everything but
// the bodies.
type ArticleSummary struct {
	ID             string        `json:"id"`
	Title          string        `json:"title"`
	Slug           string        `json:"slug"`
	Excerpt        string        `json:"excerpt"`
	Cover          *Image        `json:"cover,omitempty"`
	Tags           []string      `json:"tags"`
	AuthorName     string        `json:"author_name"`
	Status         ArticleStatus `json:"status"`
	PublishAt      *time.Time    `json:"publish_at,omitempty"`
	PublishedAt    *time.Time    `json:"published_at,omitempty"`
	ReadingMinutes int           `json:"reading_time_minutes"`
	Featured       bool          `json:"featured"`
	Public         bool          `json:"public"`
	Version        int64         `json:"version"`
	CreatedAt      time.Time     `json:"created_at"`
	UpdatedAt      time.Time     `json:"updated_at"`
}

// Summary returns a as lists show it.
func (a Article) Summary() ArticleSummary {
	return ArticleSummary{ID: a.ID, Title: a.Title, Slug: a.Slug, Excerpt: a.Excerpt, Cover: a.Cover, Tags: a.Tags,
		AuthorName: a.AuthorName, Status: a.Status, PublishAt: a.PublishAt, PublishedAt: a.PublishedAt,
		ReadingMinutes: a.ReadingMinutes, Featured: a.Featured, Public: a.Public, Version: a.Version,
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
}

// CreateArticleRequest creates an article. Slug is generated from Title
// when empty (with a numeric suffix when taken); Excerpt from the body
// when empty. Tags are normalised to slugs ("Go Tips" → "go-tips") and
// deduplicated. Status defaults to draft; published publishes at once;
// scheduled needs PublishAt. A PublishAt that is not in the future
// publishes at once (under either status); a draft takes none.
type CreateArticleRequest struct {
	Title        string        `json:"title"`
	Slug         string        `json:"slug,omitempty"`
	Excerpt      string        `json:"excerpt,omitempty"`
	BodyMarkdown string        `json:"body_markdown"`
	Cover        *Image        `json:"cover,omitempty"`
	Tags         []string      `json:"tags,omitempty"`
	AuthorName   string        `json:"author_name,omitempty"`
	Featured     bool          `json:"featured,omitempty"`
	Status       ArticleStatus `json:"status,omitempty"`
	PublishAt    *time.Time    `json:"publish_at,omitempty"`
}

// UpdateArticleRequest changes the fields that are set, if the article is
// still at Version (required: else conflict). An Excerpt of "" goes back
// to the generated one; a Cover with an empty URL removes the cover.
// Status has its own endpoints (publish, unpublish). Over HTTP it is the
// PATCH body as it is, with the id from the path.
type UpdateArticleRequest struct {
	ID           string    `json:"id"`
	Version      int64     `json:"version"`
	Title        *string   `json:"title,omitempty"`
	Slug         *string   `json:"slug,omitempty"`
	Excerpt      *string   `json:"excerpt,omitempty"`
	BodyMarkdown *string   `json:"body_markdown,omitempty"`
	Cover        *Image    `json:"cover,omitempty"`
	Tags         *[]string `json:"tags,omitempty"`
	AuthorName   *string   `json:"author_name,omitempty"`
	Featured     *bool     `json:"featured,omitempty"`
}

// PublishArticleRequest publishes an article at once, or, with PublishAt
// in the future, schedules it; with Version > 0 only if the article is
// still at that version (0: whatever it is at).
type PublishArticleRequest struct {
	ID        string     `json:"id"`
	Version   int64      `json:"version,omitempty"`
	PublishAt *time.Time `json:"publish_at,omitempty"`
}

// UnpublishArticleRequest makes an article (published or scheduled) a
// draft again, clearing PublishAt and PublishedAt; with Version > 0 only
// if it is still at that version.
type UnpublishArticleRequest struct {
	ID      string `json:"id"`
	Version int64  `json:"version,omitempty"`
}

// DeleteArticleRequest deletes an article; with Version > 0 only if it is
// still at that version.
type DeleteArticleRequest struct {
	ID      string `json:"id"`
	Version int64  `json:"version,omitempty"`
}

// DeleteArticleReply names the article deleted.
type DeleteArticleReply struct {
	Deleted string `json:"deleted"`
}

// ArticleID addresses one article. Callers who are not admins see public
// articles only (anything else is not found), whatever PublicOnly says;
// PublicOnly makes an admin's read the public one (the public API).
type ArticleID struct {
	ID         string `json:"id"`
	PublicOnly bool   `json:"public_only,omitempty"`
}

// ArticleSlug addresses one article by slug, with ArticleID's visibility.
type ArticleSlug struct {
	Slug       string `json:"slug"`
	PublicOnly bool   `json:"public_only,omitempty"`
}

// ListArticlesRequest asks for one page of articles, newest first: by the
// time they became (or become) public, drafts by their creation. Tag and
// Featured filter; Status (admins only, who see every status) filters by
// stored status. Limit is 1..MaxArticlesPage (0: DefaultArticlesPage);
// Cursor is the NextCursor of the page before, with the same filters.
type ListArticlesRequest struct {
	Tag        string        `json:"tag,omitempty"`
	Featured   *bool         `json:"featured,omitempty"`
	Status     ArticleStatus `json:"status,omitempty"`
	PublicOnly bool          `json:"public_only,omitempty"`
	Cursor     string        `json:"cursor,omitempty"`
	Limit      int           `json:"limit,omitempty"`
}

// ListArticleTagsRequest asks for every tag with the number of articles
// carrying it: public articles only for the public (and with PublicOnly),
// every article for admins.
type ListArticleTagsRequest struct {
	PublicOnly bool `json:"public_only,omitempty"`
}

// ArticleTag is a tag and how many articles carry it. Lists of tags are
// ordered by count (most first), then tag.
type ArticleTag struct {
	Tag   string `json:"tag"`
	Count int    `json:"count"`
}

// Article endpoints. Writes are for admins (AdminOnly); reads are public,
// showing the public only what is public.
var (
	CreateArticle    = bus.Endpoint[CreateArticleRequest, Article]{Queue: ArticleQueue, Op: "create"}
	UpdateArticle    = bus.Endpoint[UpdateArticleRequest, Article]{Queue: ArticleQueue, Op: "update"}
	DeleteArticle    = bus.Endpoint[DeleteArticleRequest, DeleteArticleReply]{Queue: ArticleQueue, Op: "delete"}
	PublishArticle   = bus.Endpoint[PublishArticleRequest, Article]{Queue: ArticleQueue, Op: "publish"}
	UnpublishArticle = bus.Endpoint[UnpublishArticleRequest, Article]{Queue: ArticleQueue, Op: "unpublish"}
	GetArticle       = bus.Endpoint[ArticleID, Article]{Queue: ArticleQueue, Op: "get"}
	GetArticleBySlug = bus.Endpoint[ArticleSlug, Article]{Queue: ArticleQueue, Op: "get_by_slug"}
	ListArticles     = bus.Endpoint[ListArticlesRequest, Page[ArticleSummary]]{Queue: ArticleQueue, Op: "list"}
	ListArticleTags  = bus.Endpoint[ListArticleTagsRequest, Page[ArticleTag]]{Queue: ArticleQueue, Op: "list_tags"}
)
