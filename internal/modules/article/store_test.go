package article

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

var testTime = time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)

func at(d time.Duration) *time.Time {
	t := testTime.Add(d)
	return &t
}

// newArticle is an article as the handlers would make it, created at
// testTime+created, in status st (published at, or scheduled for, when).
func newArticle(slug string, created time.Duration, st contract.ArticleStatus, when *time.Time, tags ...string) contract.Article {
	a := contract.Article{ID: uuid.Must(uuid.NewV7()).String(), Title: "Title " + slug, Slug: slug, Excerpt: "About " + slug,
		BodyMarkdown: "# " + slug, BodyHTML: `<h1 id="` + slug + `">` + slug + `</h1>`, Tags: tags, AuthorName: "Ann",
		Status: st, ReadingMinutes: 1, Version: 1, CreatedAt: testTime.Add(created), UpdatedAt: testTime.Add(created)}
	if tags == nil {
		a.Tags = []string{}
	}
	switch st {
	case contract.ArticlePublished:
		a.PublishedAt = when
	case contract.ArticleScheduled:
		a.PublishAt = when
	}
	return a
}

func slugsOf(items []contract.ArticleSummary) []string {
	out := make([]string, len(items))
	for i, a := range items {
		out[i] = a.Slug
	}
	return out
}

// TestStore is the store suite, run on every backend this machine reaches.
func TestStore(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		s, err := OpenStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		old := newArticle("old", 0, contract.ArticlePublished, at(time.Hour), "go", "news")
		old.Cover, old.Featured, old.CustomExcerpt = &contract.Image{URL: "https://img.example/a.jpg", Alt: "A"}, true, true
		fresh := newArticle("fresh", time.Minute, contract.ArticlePublished, at(3*time.Hour), "go")
		draft := newArticle("draft", 2*time.Minute, contract.ArticleDraft, nil, "go")
		soon := newArticle("soon", 3*time.Minute, contract.ArticleScheduled, at(2*time.Hour), "news")
		later := newArticle("later", 4*time.Minute, contract.ArticleScheduled, at(5*time.Hour))
		for _, a := range []contract.Article{old, fresh, draft, soon, later} {
			if err := s.Insert(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Insert(ctx, newArticle("old", 0, contract.ArticleDraft, nil)); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("duplicate slug: %v", err)
		}

		got, err := s.Get(ctx, old.ID)
		if err != nil || !reflect.DeepEqual(got, old) {
			t.Fatalf("get:\n got %+v %v\nwant %+v", got, err, old)
		}
		if got, err := s.BySlug(ctx, "soon"); err != nil || !reflect.DeepEqual(got, soon) {
			t.Fatalf("by slug:\n got %+v %v\nwant %+v", got, err, soon)
		}
		if _, err := s.Get(ctx, uuid.NewString()); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing: %v", err)
		}

		// Every article, newest first: scheduled and published by their
		// time, drafts by creation (testTime+2m, before every other).
		items, total, err := s.List(ctx, Query{Limit: 10})
		if err != nil || total != 5 || !slices.Equal(slugsOf(items), []string{"later", "fresh", "soon", "old", "draft"}) {
			t.Fatalf("list all: %v %d %v", slugsOf(items), total, err)
		}
		if items[3].Cover == nil || items[3].Cover.URL != old.Cover.URL || !items[3].Featured {
			t.Fatalf("summary %+v", items[3])
		}
		// Public at testTime+3h30: published ones and "soon" (its time
		// passed); "later" and the draft are not.
		now := testTime.Add(210 * time.Minute)
		items, total, err = s.List(ctx, Query{PublicAt: &now, Limit: 10})
		if err != nil || total != 3 || !slices.Equal(slugsOf(items), []string{"fresh", "soon", "old"}) {
			t.Fatalf("list public: %v %d %v", slugsOf(items), total, err)
		}
		items, total, err = s.List(ctx, Query{PublicAt: &now, Tag: "go", Limit: 10})
		if err != nil || total != 2 || !slices.Equal(slugsOf(items), []string{"fresh", "old"}) {
			t.Fatalf("list public go: %v %d %v", slugsOf(items), total, err)
		}
		yes := true
		items, total, err = s.List(ctx, Query{Featured: &yes, Limit: 10})
		if err != nil || total != 1 || !slices.Equal(slugsOf(items), []string{"old"}) {
			t.Fatalf("list featured: %v %d %v", slugsOf(items), total, err)
		}
		items, _, err = s.List(ctx, Query{Status: contract.ArticleScheduled, Limit: 10})
		if err != nil || !slices.Equal(slugsOf(items), []string{"later", "soon"}) {
			t.Fatalf("list scheduled: %v %v", slugsOf(items), err)
		}
		// Keyset pages: two, then after the second.
		page, total, err := s.List(ctx, Query{Limit: 2})
		if err != nil || total != 5 || !slices.Equal(slugsOf(page), []string{"later", "fresh"}) {
			t.Fatalf("page 1: %v %v", slugsOf(page), err)
		}
		last := page[1]
		page, total, err = s.List(ctx, Query{Limit: 2, After: &Position{At: *last.PublishedAt, ID: last.ID}})
		if err != nil || total != 5 || !slices.Equal(slugsOf(page), []string{"soon", "old"}) {
			t.Fatalf("page 2: %v %d %v", slugsOf(page), total, err)
		}

		// Tags with counts: all, and public only.
		tags, err := s.Tags(ctx, nil)
		want := []contract.ArticleTag{{Tag: "go", Count: 3}, {Tag: "news", Count: 2}}
		if err != nil || !reflect.DeepEqual(tags, want) {
			t.Fatalf("tags %+v %v", tags, err)
		}
		tags, err = s.Tags(ctx, &now)
		want = []contract.ArticleTag{{Tag: "go", Count: 2}, {Tag: "news", Count: 2}}
		if err != nil || !reflect.DeepEqual(tags, want) {
			t.Fatalf("public tags %+v %v", tags, err)
		}
		if early := testTime; true {
			tags, err = s.Tags(ctx, &early)
			if err != nil || len(tags) != 0 {
				t.Fatalf("tags before anything was public %+v %v", tags, err)
			}
		}

		// Due: scheduled with publish_at passed, earliest first.
		due, err := s.Due(ctx, testTime.Add(6*time.Hour), 10)
		if err != nil || len(due) != 2 || due[0].ID != soon.ID || due[1].ID != later.ID {
			t.Fatalf("due %+v %v", due, err)
		}
		if due, err = s.Due(ctx, now, 10); err != nil || len(due) != 1 || due[0].ID != soon.ID {
			t.Fatalf("due at 3h30 %+v %v", due, err)
		}

		// Update is checked on the version and writes every field,
		// clearing the cover and times it no longer has.
		edit := old
		edit.Title, edit.Cover, edit.Tags, edit.Status, edit.PublishedAt, edit.UpdatedAt = "New title", nil, []string{"news"}, contract.ArticleDraft, nil, testTime.Add(time.Hour)
		if err := s.Update(ctx, edit, 2); !errors.Is(err, store.ErrStale) {
			t.Fatalf("stale update: %v", err)
		}
		if err := s.Update(ctx, contract.Article{ID: uuid.NewString()}, 1); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update of a missing article: %v", err)
		}
		if err := s.Update(ctx, edit, 1); err != nil {
			t.Fatal(err)
		}
		edit.Version = 2
		if got, err := s.Get(ctx, old.ID); err != nil || !reflect.DeepEqual(got, edit) {
			t.Fatalf("after update:\n got %+v %v\nwant %+v", got, err, edit)
		}
		taken := fresh
		taken.Slug = "soon"
		if err := s.Update(ctx, taken, 1); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("update to a taken slug: %v", err)
		}

		// Delete: checked when asked, the events built from what it found.
		var seen contract.Article
		deleted := func(a contract.Article) ([]outbox.Event, error) { seen = a; return nil, nil }
		if _, err := s.Delete(ctx, old.ID, 1, deleted); !errors.Is(err, store.ErrStale) {
			t.Fatalf("stale delete: %v", err)
		}
		if _, err := s.Delete(ctx, old.ID, 2, deleted); err != nil || seen.ID != old.ID || seen.Title != "New title" {
			t.Fatalf("delete: %v %+v", err, seen)
		}
		if _, err := s.Get(ctx, old.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted article still there: %v", err)
		}
		if _, err := s.Delete(ctx, old.ID, 0, deleted); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete again: %v", err)
		}
	})
}
