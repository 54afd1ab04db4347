package article

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/slugs"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/validate"
)

// The writes: create, update, publish, unpublish, delete.

const (
	maxTitleLen   = 200
	maxExcerptLen = 1000
	maxAuthorLen  = 200
	maxURLLen     = 2000
	maxAltLen     = 500
	// maxRendered bounds an article's Markdown and HTML together, so that
	// a reply carrying both stays inside one bus message.
	maxRendered = bus.MaxBodySize * 7 / 8
	// writeAttempts bounds the re-reads of a write made without an
	// expected version that keeps losing the race to others.
	writeAttempts = 20
)

func invalid(format string, args ...any) error { return bus.Errorf(bus.CodeInvalid, format, args...) }

func checkTitle(s string) (string, error) { return validate.Name("title", s, maxTitleLen) }

func checkExcerpt(s string) (string, error) {
	if err := validate.Text("excerpt", s, maxExcerptLen); err != nil {
		return "", err
	}
	return strings.Join(strings.Fields(s), " "), nil
}

func checkAuthor(s string) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", nil
	}
	return validate.Name("author_name", s, maxAuthorLen)
}

func checkBody(s string) error {
	if len(s) > contract.MaxArticleBody {
		return invalid("body_markdown: %d bytes, at most %d", len(s), contract.MaxArticleBody)
	}
	return validate.Text("body_markdown", s, contract.MaxArticleBody)
}

// checkCover checks a cover; one with an empty URL (on update: remove
// it) comes back nil.
func checkCover(c *contract.Image) (*contract.Image, error) {
	if c == nil || c.URL == "" && c.Alt == "" {
		return nil, nil
	}
	if err := validate.WebURL("cover.url", c.URL, maxURLLen); err != nil {
		return nil, err
	}
	alt := ""
	if c.Alt != "" {
		var err error
		if alt, err = validate.Name("cover.alt", c.Alt, maxAltLen); err != nil {
			return nil, err
		}
	}
	return &contract.Image{URL: c.URL, Alt: alt}, nil
}

// checkTags normalises tags to slugs, in the order given, without
// repeats.
func checkTags(tags []string) ([]string, error) {
	if len(tags) > contract.MaxArticleTags {
		return nil, invalid("tags: %d given, at most %d", len(tags), contract.MaxArticleTags)
	}
	out := make([]string, 0, len(tags))
	for i, t := range tags {
		if _, err := validate.Name(fmt.Sprintf("tags[%d]", i), t, slugs.MaxLen); err != nil {
			return nil, err
		}
		s := slugs.Make(t, "")
		if s == "" {
			return nil, invalid("tags[%d] %q: has no letters or digits to make a tag of", i, t)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// derive renders a's body into its HTML and reading time and, unless the
// author wrote one, its excerpt.
func derive(a *contract.Article) error {
	r, err := render(a.BodyMarkdown)
	if err != nil {
		return err
	}
	if len(a.BodyMarkdown)+len(r.HTML) > maxRendered {
		return invalid("body_markdown: renders to %d bytes of HTML, too large with the Markdown (at most %d together)", len(r.HTML), maxRendered)
	}
	a.BodyHTML, a.ReadingMinutes = r.HTML, r.Minutes
	if !a.CustomExcerpt {
		a.Excerpt = excerptFrom(r.Text)
	}
	return nil
}

// isPublic is whether a is visible to the public at now.
func isPublic(a contract.Article, now time.Time) bool {
	switch a.Status {
	case contract.ArticlePublished:
		return true
	case contract.ArticleScheduled:
		return a.PublishAt != nil && !a.PublishAt.After(now)
	}
	return false
}

// publication sets a published (now) or, with publishAt in the future,
// scheduled.
func publication(a *contract.Article, publishAt *time.Time, now time.Time) {
	if publishAt != nil && publishAt.After(now) {
		at := publishAt.UTC().Truncate(time.Millisecond)
		a.Status, a.PublishAt, a.PublishedAt = contract.ArticleScheduled, &at, nil
		return
	}
	a.Status, a.PublishAt, a.PublishedAt = contract.ArticlePublished, nil, &now
}

// event builds the payload of an event about a, as of now.
func event(a contract.Article, now time.Time) contract.ArticleEvent {
	ev := contract.ArticleEvent{ID: a.ID, Version: a.Version, Slug: a.Slug, Title: a.Title, Excerpt: a.Excerpt,
		Tags: tagsOf(a), Status: a.Status, Public: isPublic(a, now), PublishAt: a.PublishAt, PublishedAt: a.PublishedAt,
		UpdatedAt: a.UpdatedAt}
	if a.Cover != nil {
		ev.CoverURL = a.Cover.URL
	}
	return ev
}

// reply is a as a read or write answers it, as of now.
func reply(a contract.Article, now time.Time) contract.Article {
	a.Public = isPublic(a, now)
	a.Tags = tagsOf(a)
	return a
}

func (m *Module) create(ctx context.Context, req contract.CreateArticleRequest) (contract.Article, error) {
	title, err := checkTitle(req.Title)
	if err != nil {
		return contract.Article{}, err
	}
	base, generated := req.Slug, req.Slug == ""
	if generated {
		base = slugs.Make(title, "article")
	} else if err := slugs.Validate(base); err != nil {
		return contract.Article{}, invalid("%v", err)
	}
	now := m.now()
	a := contract.Article{ID: uuid.Must(uuid.NewV7()).String(), Title: title, BodyMarkdown: req.BodyMarkdown,
		Featured: req.Featured, Status: contract.ArticleDraft, Version: 1, CreatedAt: now, UpdatedAt: now}
	if a.Excerpt, err = checkExcerpt(req.Excerpt); err != nil {
		return contract.Article{}, err
	}
	a.CustomExcerpt = a.Excerpt != ""
	if err := checkBody(req.BodyMarkdown); err != nil {
		return contract.Article{}, err
	}
	if a.Cover, err = checkCover(req.Cover); err != nil {
		return contract.Article{}, err
	}
	if a.Tags, err = checkTags(req.Tags); err != nil {
		return contract.Article{}, err
	}
	if a.AuthorName, err = checkAuthor(req.AuthorName); err != nil {
		return contract.Article{}, err
	}
	switch req.Status {
	case "", contract.ArticleDraft:
		if req.PublishAt != nil {
			return contract.Article{}, invalid("publish_at: a draft has none; give status scheduled, or publish it later")
		}
	case contract.ArticleScheduled:
		if req.PublishAt == nil {
			return contract.Article{}, invalid("publish_at: required to schedule an article")
		}
		publication(&a, req.PublishAt, now)
	case contract.ArticlePublished:
		publication(&a, req.PublishAt, now)
	default:
		return contract.Article{}, invalid("status %q: want draft, scheduled or published", req.Status)
	}
	if err := derive(&a); err != nil {
		return contract.Article{}, err
	}
	if a.Slug, err = slugs.Claim(base, generated, store.ErrDuplicate, func(slug string) error {
		a.Slug = slug
		ev, err := outbox.New(contract.ArticleCreated, a.ID, event(a, now))
		if err != nil {
			return err
		}
		return m.store.Insert(ctx, a, ev)
	}); err != nil {
		return contract.Article{}, err
	}
	m.relay.Notify()
	return reply(a, now), nil
}

// change is an edit of an article: it changes a (as read, at now) and
// returns the event that announces the change, or nil when there is
// nothing to write.
type change func(a *contract.Article, now time.Time) (*bus.EventType[contract.ArticleEvent], error)

// write applies ch to article id and writes the result as the next
// version, if the article is at version want. With want 0 it applies to
// whatever version the article is at, re-reading after a lost race: a
// publish or a delete means the same whatever was edited meanwhile.
func (m *Module) write(ctx context.Context, id string, want int64, ch change) (contract.Article, error) {
	for attempt := 1; ; attempt++ {
		a, err := m.load(ctx, id)
		if err != nil {
			return a, err
		}
		if want > 0 && a.Version != want {
			return contract.Article{}, conflict(a, want)
		}
		now := m.now()
		expected := a.Version
		et, err := ch(&a, now)
		if err != nil || et == nil {
			return reply(a, now), err
		}
		a.UpdatedAt, a.Version = now, expected+1
		ev, err := outbox.New(*et, a.ID, event(a, now))
		if err != nil {
			return contract.Article{}, err
		}
		err = m.store.Update(ctx, a, expected, ev)
		switch {
		case err == nil:
			m.relay.Notify()
			return reply(a, now), nil
		case errors.Is(err, store.ErrDuplicate):
			return contract.Article{}, bus.Errorf(bus.CodeConflict, "slug %q is taken", a.Slug)
		case errors.Is(err, store.ErrNotFound):
			return contract.Article{}, notFound(id)
		case !errors.Is(err, store.ErrStale):
			return contract.Article{}, err
		case want > 0:
			// Lost the race after the check: say where it is now.
			if a, err = m.load(ctx, id); err != nil {
				return a, err
			}
			return contract.Article{}, conflict(a, want)
		case attempt == writeAttempts:
			return contract.Article{}, bus.Errorf(bus.CodeConflict, "article %s: too many concurrent edits, try again", id)
		}
	}
}

func notFound(id string) error { return bus.Errorf(bus.CodeNotFound, "article %s not found", id) }

// conflict is the error of a write that expected version want of a.
func conflict(a contract.Article, want int64) error {
	return contract.VersionConflict("article "+a.ID, a.Version, want)
}

func (m *Module) load(ctx context.Context, id string) (contract.Article, error) {
	a, err := m.store.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return a, notFound(id)
	}
	return a, err
}

func (m *Module) update(ctx context.Context, req contract.UpdateArticleRequest) (contract.Article, error) {
	if err := validate.ID("id", req.ID); err != nil {
		return contract.Article{}, err
	}
	if err := validate.Version(req.Version, true); err != nil {
		return contract.Article{}, err
	}
	if req.Title == nil && req.Slug == nil && req.Excerpt == nil && req.BodyMarkdown == nil && req.Cover == nil &&
		req.Tags == nil && req.AuthorName == nil && req.Featured == nil {
		return contract.Article{}, invalid("nothing to update: give title, slug, excerpt, body_markdown, cover, tags, author_name or featured")
	}
	// Every field is checked before anything is read or written.
	var title, excerpt, author string
	var cover *contract.Image
	var tags []string
	var err error
	if req.Title != nil {
		if title, err = checkTitle(*req.Title); err != nil {
			return contract.Article{}, err
		}
	}
	if req.Slug != nil {
		if err := slugs.Validate(*req.Slug); err != nil {
			return contract.Article{}, invalid("%v", err)
		}
	}
	if req.Excerpt != nil {
		if excerpt, err = checkExcerpt(*req.Excerpt); err != nil {
			return contract.Article{}, err
		}
	}
	if req.BodyMarkdown != nil {
		if err := checkBody(*req.BodyMarkdown); err != nil {
			return contract.Article{}, err
		}
	}
	if req.Cover != nil {
		if cover, err = checkCover(req.Cover); err != nil {
			return contract.Article{}, err
		}
	}
	if req.Tags != nil {
		if tags, err = checkTags(*req.Tags); err != nil {
			return contract.Article{}, err
		}
	}
	if req.AuthorName != nil {
		if author, err = checkAuthor(*req.AuthorName); err != nil {
			return contract.Article{}, err
		}
	}
	return m.write(ctx, req.ID, req.Version, func(a *contract.Article, _ time.Time) (*bus.EventType[contract.ArticleEvent], error) {
		// The slug stays when the title changes: URLs outlive titles.
		if req.Title != nil {
			a.Title = title
		}
		if req.Slug != nil {
			a.Slug = *req.Slug
		}
		if req.Excerpt != nil {
			a.Excerpt, a.CustomExcerpt = excerpt, excerpt != ""
		}
		if req.BodyMarkdown != nil {
			a.BodyMarkdown = *req.BodyMarkdown
		}
		if req.Cover != nil {
			a.Cover = cover
		}
		if req.Tags != nil {
			a.Tags = tags
		}
		if req.AuthorName != nil {
			a.AuthorName = author
		}
		if req.Featured != nil {
			a.Featured = *req.Featured
		}
		if err := derive(a); err != nil {
			return nil, err
		}
		return &contract.ArticleUpdated, nil
	})
}

func (m *Module) publish(ctx context.Context, req contract.PublishArticleRequest) (contract.Article, error) {
	if err := validate.ID("id", req.ID); err != nil {
		return contract.Article{}, err
	}
	if err := validate.Version(req.Version, false); err != nil {
		return contract.Article{}, err
	}
	return m.write(ctx, req.ID, req.Version, func(a *contract.Article, now time.Time) (*bus.EventType[contract.ArticleEvent], error) {
		was := isPublic(*a, now)
		if a.Status == contract.ArticlePublished && (req.PublishAt == nil || !req.PublishAt.After(now)) {
			return nil, nil // published already: its published_at stays
		}
		publication(a, req.PublishAt, now)
		switch is := isPublic(*a, now); {
		case is && !was:
			return &contract.ArticleMadePublic, nil
		case was && !is:
			return &contract.ArticleMadePrivate, nil
		}
		return &contract.ArticleUpdated, nil
	})
}

func (m *Module) unpublish(ctx context.Context, req contract.UnpublishArticleRequest) (contract.Article, error) {
	if err := validate.ID("id", req.ID); err != nil {
		return contract.Article{}, err
	}
	if err := validate.Version(req.Version, false); err != nil {
		return contract.Article{}, err
	}
	return m.write(ctx, req.ID, req.Version, func(a *contract.Article, now time.Time) (*bus.EventType[contract.ArticleEvent], error) {
		if a.Status == contract.ArticleDraft {
			return nil, nil
		}
		was := isPublic(*a, now)
		a.Status, a.PublishAt, a.PublishedAt = contract.ArticleDraft, nil, nil
		if was {
			return &contract.ArticleMadePrivate, nil
		}
		return &contract.ArticleUpdated, nil
	})
}

func (m *Module) delete(ctx context.Context, req contract.DeleteArticleRequest) (contract.DeleteArticleReply, error) {
	if err := validate.ID("id", req.ID); err != nil {
		return contract.DeleteArticleReply{}, err
	}
	if err := validate.Version(req.Version, false); err != nil {
		return contract.DeleteArticleReply{}, err
	}
	now := m.now()
	a, err := m.store.Delete(ctx, req.ID, req.Version, func(a contract.Article) ([]outbox.Event, error) {
		// The delete is the article's last write: its event carries the
		// version after it, so a consumer holding the last update applies it.
		a.Version++
		a.UpdatedAt = now
		payload := event(a, now)
		payload.Public = false
		ev, err := outbox.New(contract.ArticleDeleted, a.ID, payload)
		return []outbox.Event{ev}, err
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return contract.DeleteArticleReply{}, notFound(req.ID)
	case errors.Is(err, store.ErrStale):
		if a, err = m.load(ctx, req.ID); err != nil {
			return contract.DeleteArticleReply{}, err
		}
		return contract.DeleteArticleReply{}, conflict(a, req.Version)
	case err != nil:
		return contract.DeleteArticleReply{}, err
	}
	m.relay.Notify()
	return contract.DeleteArticleReply{Deleted: a.ID}, nil
}
