package article

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/slugs"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/validate"
)

// The reads: get, get_by_slug, list and list_tags. The public (and an
// admin asking with public_only) sees only what is public at the time of
// the read: published articles, and scheduled ones whose publish_at has
// passed, whether or not the scheduler has got to them yet.

// publicOnly is whether a read shows public articles only: when the
// request asks, and always for a caller who is not an admin — whom the
// principal says, not a body field.
func publicOnly(ctx context.Context, asked bool) bool { return asked || !contract.CallerIsAdmin(ctx) }

func (m *Module) get(ctx context.Context, req contract.ArticleID) (contract.Article, error) {
	if err := validate.ID("id", req.ID); err != nil {
		return contract.Article{}, err
	}
	a, err := m.load(ctx, req.ID)
	if err != nil {
		return a, err
	}
	now := m.now()
	if publicOnly(ctx, req.PublicOnly) && !isPublic(a, now) {
		return contract.Article{}, notFound(req.ID)
	}
	return reply(a, now), nil
}

func (m *Module) getBySlug(ctx context.Context, req contract.ArticleSlug) (contract.Article, error) {
	if err := slugs.Validate(req.Slug); err != nil {
		return contract.Article{}, invalid("%v", err)
	}
	a, err := m.store.BySlug(ctx, req.Slug)
	now := m.now()
	if errors.Is(err, store.ErrNotFound) || err == nil && publicOnly(ctx, req.PublicOnly) && !isPublic(a, now) {
		return contract.Article{}, bus.Errorf(bus.CodeNotFound, "no article with slug %q", req.Slug)
	}
	if err != nil {
		return a, err
	}
	return reply(a, now), nil
}

func (m *Module) list(ctx context.Context, req contract.ListArticlesRequest) (contract.Page[contract.ArticleSummary], error) {
	page := contract.Page[contract.ArticleSummary]{Items: []contract.ArticleSummary{}}
	q := Query{Featured: req.Featured, Limit: req.Limit}
	switch {
	case q.Limit == 0:
		q.Limit = contract.DefaultArticlesPage
	case q.Limit < 0 || q.Limit > contract.MaxArticlesPage:
		return page, invalid("limit %d: want 1 to %d", req.Limit, contract.MaxArticlesPage)
	}
	if req.Tag != "" {
		if err := slugs.Validate(req.Tag); err != nil {
			return page, invalid("tag: %v", err)
		}
		q.Tag = req.Tag
	}
	now := m.now()
	public := publicOnly(ctx, req.PublicOnly)
	switch req.Status {
	case "":
	case contract.ArticleDraft, contract.ArticleScheduled, contract.ArticlePublished:
		if public {
			return page, bus.Errorf(bus.CodeForbidden, "status %q: only admins list articles by status", req.Status)
		}
		q.Status = req.Status
	default:
		return page, invalid("status %q: want draft, scheduled or published", req.Status)
	}
	if public {
		q.PublicAt = &now
	}
	if req.Cursor != "" {
		after, err := decodeCursor(req.Cursor)
		if err != nil {
			return page, err
		}
		q.After = &after
	}
	// One more than the page tells whether there is a next one.
	limit := q.Limit
	q.Limit++
	items, total, err := m.store.List(ctx, q)
	if err != nil {
		return page, err
	}
	if len(items) > limit {
		items = items[:limit]
		last := items[limit-1]
		page.NextCursor = encodeCursor(Position{At: summarySortAt(last), ID: last.ID})
	}
	for i := range items {
		items[i].Public = isPublic(contract.Article{Status: items[i].Status, PublishAt: items[i].PublishAt}, now)
		if items[i].Tags == nil {
			items[i].Tags = []string{}
		}
	}
	page.Items, page.Total = append(page.Items, items...), total
	return page, nil
}

// summarySortAt is sortAt of a listed article.
func summarySortAt(s contract.ArticleSummary) time.Time {
	return sortAt(contract.Article{Status: s.Status, PublishAt: s.PublishAt, PublishedAt: s.PublishedAt, CreatedAt: s.CreatedAt})
}

func (m *Module) listTags(ctx context.Context, req contract.ListArticleTagsRequest) (contract.Page[contract.ArticleTag], error) {
	var at *time.Time
	if publicOnly(ctx, req.PublicOnly) {
		now := m.now()
		at = &now
	}
	tags, err := m.store.Tags(ctx, at)
	if err != nil {
		return contract.Page[contract.ArticleTag]{}, err
	}
	if tags == nil {
		tags = []contract.ArticleTag{}
	}
	return contract.Page[contract.ArticleTag]{Items: tags, Total: len(tags)}, nil
}

// cursor is a list position as it travels: base64url of this JSON,
// opaque to clients.
type cursor struct {
	At int64  `json:"t"` // unix milliseconds
	ID string `json:"id"`
}

// maxCursorLen bounds a cursor: an id and a time fit in far less.
const maxCursorLen = 200

func encodeCursor(p Position) string {
	b, _ := json.Marshal(cursor{At: p.At.UnixMilli(), ID: p.ID}) // an int and a string: cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (Position, error) {
	bad := invalid("cursor: not a cursor of this list; use the next_cursor of the page before, or none for the first page")
	if len(s) > maxCursorLen {
		return Position{}, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Position{}, bad
	}
	var c cursor
	if bus.DecodeStrict(b, &c) != nil || validate.ID("cursor", c.ID) != nil {
		return Position{}, bad
	}
	return Position{At: time.UnixMilli(c.At).UTC(), ID: c.ID}, nil
}
