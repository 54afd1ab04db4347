package article

import (
	"strings"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/bus/bustest"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/moduletest"
	"github.com/shopengine/shop/internal/store/storetest"
)

// TestArticleBadInput: every bad field is invalid, named, and writes
// nothing (no article, no event).
func TestArticleBadInput(t *testing.T) {
	h := moduletest.Start(t, storetest.SQLite(t), module)
	events := bustest.Record[contract.ArticleEvent](t, h.Bus, "article.*")
	past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	for _, c := range []struct {
		req     contract.CreateArticleRequest
		mention string
	}{
		{contract.CreateArticleRequest{}, "title: required"},
		{contract.CreateArticleRequest{Title: strings.Repeat("t", maxTitleLen+1)}, "title: longer than"},
		{contract.CreateArticleRequest{Title: "a\x00b"}, "title: contains control"},
		{contract.CreateArticleRequest{Title: "T", Slug: "Not A Slug"}, `slug "Not A Slug"`},
		{contract.CreateArticleRequest{Title: "T", Excerpt: strings.Repeat("e", maxExcerptLen+1)}, "excerpt: longer than"},
		{contract.CreateArticleRequest{Title: "T", BodyMarkdown: strings.Repeat("b", contract.MaxArticleBody+1)}, "body_markdown:"},
		{contract.CreateArticleRequest{Title: "T", BodyMarkdown: "a\x07b"}, "body_markdown: contains control"},
		{contract.CreateArticleRequest{Title: "T", Cover: &contract.Image{URL: "javascript:alert(1)"}}, "cover.url"},
		{contract.CreateArticleRequest{Title: "T", Cover: &contract.Image{Alt: "no url"}}, "cover.url: required"},
		{contract.CreateArticleRequest{Title: "T", Tags: []string{"ok", "!!!"}}, "tags[1]"},
		{contract.CreateArticleRequest{Title: "T", Tags: []string{""}}, "tags[0]: required"},
		{contract.CreateArticleRequest{Title: "T", Tags: make([]string, contract.MaxArticleTags+1)}, "tags: 21 given"},
		{contract.CreateArticleRequest{Title: "T", AuthorName: strings.Repeat("a", maxAuthorLen+1)}, "author_name"},
		{contract.CreateArticleRequest{Title: "T", Status: "live"}, `status "live"`},
		{contract.CreateArticleRequest{Title: "T", Status: contract.ArticleScheduled}, "publish_at: required"},
		{contract.CreateArticleRequest{Title: "T", PublishAt: &future}, "publish_at: a draft has none"},
	} {
		callErr(t, h.Bus, contract.CreateArticle, c.req, bus.CodeInvalid, c.mention)
	}
	// A publish_at that has passed publishes at once.
	if a := call(t, h.Bus, contract.CreateArticle, contract.CreateArticleRequest{Title: "Late", Status: contract.ArticleScheduled, PublishAt: &past}); a.Status != contract.ArticlePublished || !a.Public {
		t.Fatalf("scheduled in the past: %+v", a)
	}
	a := call(t, h.Bus, contract.CreateArticle, contract.CreateArticleRequest{Title: "Kept", BodyMarkdown: "body"})
	for _, c := range []struct {
		req     contract.UpdateArticleRequest
		mention string
	}{
		{contract.UpdateArticleRequest{ID: "x", Version: 1, Title: ptr("a")}, `id "x": not a UUID`},
		{contract.UpdateArticleRequest{ID: a.ID, Version: 1}, "nothing to update"},
		{contract.UpdateArticleRequest{ID: a.ID, Version: -1, Title: ptr("a")}, "version -1"},
		{contract.UpdateArticleRequest{ID: a.ID, Version: 1, Title: ptr(" ")}, "title: required"},
		{contract.UpdateArticleRequest{ID: a.ID, Version: 1, Slug: ptr("-x")}, `slug "-x"`},
		{contract.UpdateArticleRequest{ID: a.ID, Version: 1, Cover: &contract.Image{URL: "ftp://x/y"}}, "cover.url"},
		{contract.UpdateArticleRequest{ID: a.ID, Version: 1, Tags: &[]string{"ok", "  "}}, "tags[1]: required"},
		{contract.UpdateArticleRequest{ID: a.ID, Version: 1, BodyMarkdown: ptr("\x01")}, "body_markdown: contains control"},
	} {
		callErr(t, h.Bus, contract.UpdateArticle, c.req, bus.CodeInvalid, c.mention)
	}
	for _, c := range []struct {
		req     contract.ListArticlesRequest
		mention string
	}{
		{contract.ListArticlesRequest{Limit: -1}, "limit -1"},
		{contract.ListArticlesRequest{Limit: contract.MaxArticlesPage + 1}, "limit 101"},
		{contract.ListArticlesRequest{Tag: "Bad Tag"}, "tag:"},
		{contract.ListArticlesRequest{Status: "gone"}, `status "gone"`},
		{contract.ListArticlesRequest{Cursor: "!!"}, "cursor"},
		{contract.ListArticlesRequest{Cursor: "eyJ0IjoxLCJpZCI6IngifQ"}, "cursor"}, // {"t":1,"id":"x"}
	} {
		callErr(t, h.Bus, contract.ListArticles, c.req, bus.CodeInvalid, c.mention)
	}
	callErr(t, h.Bus, contract.GetArticleBySlug, contract.ArticleSlug{Slug: `{"$gt":""}`}, bus.CodeInvalid, "slug")
	callErr(t, h.Bus, contract.PublishArticle, contract.PublishArticleRequest{ID: a.ID, Version: -2}, bus.CodeInvalid, "version -2")
	callErr(t, h.Bus, contract.DeleteArticle, contract.DeleteArticleRequest{ID: ""}, bus.CodeInvalid, "id: required")

	// Nothing changed: the article is as created, and the only events are
	// those of the two creates.
	if got := call(t, h.Bus, contract.GetArticle, contract.ArticleID{ID: a.ID}); got.Version != 1 || got.Title != "Kept" || got.BodyMarkdown != "body" {
		t.Fatalf("after bad input %+v", got)
	}
	if n := len(moduletest.Settle(t, h.Outbox, events)); n != 2 {
		t.Fatalf("%d events, want the 2 creates", n)
	}
	if all := call(t, h.Bus, contract.ListArticles, contract.ListArticlesRequest{}); all.Total != 2 {
		t.Fatalf("%d articles, want 2", all.Total)
	}
}
