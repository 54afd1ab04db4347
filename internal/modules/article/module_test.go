package article

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/bus/amqp/amqptest"
	"github.com/shopengine/shop/internal/bus/bustest"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/moduletest"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store/storetest"
)

// module is the article module as moduletest starts it.
var module = moduletest.Spec[Store, *Module]{Open: OpenStore, New: New,
	Relay: func(m *Module, r *outbox.Relay) { m.relay = r }}

type harness = moduletest.Harness[*Module]

func call[Req, Resp any](t *testing.T, b bus.Bus, e bus.Endpoint[Req, Resp], req Req) Resp {
	t.Helper()
	return bustest.CallAs(t, moduletest.AdminMeta, b, e, req)
}

func callErr[Req, Resp any](t *testing.T, b bus.Bus, e bus.Endpoint[Req, Resp], req Req, code bus.Code, mention string) {
	t.Helper()
	bustest.CallErrAs(t, moduletest.AdminMeta, b, e, req, code, mention)
}

func ptr[T any](v T) *T { return &v }

func summarySlugs(p contract.Page[contract.ArticleSummary]) []string { return slugsOf(p.Items) }

func TestArticleModule(t *testing.T) {
	moduletest.ForEach(t, module, func(t *testing.T, h *harness) {
		exercise(t, h.Bus, func() { h.Outbox.Wait(t) })
	})
}

// TestArticleModuleAMQP runs the same behaviour with the module and its
// caller on two RabbitMQ connections.
func TestArticleModuleAMQP(t *testing.T) {
	url := amqptest.URL(t)
	opts := amqptest.Options(t, url)
	server, client := amqptest.Dial(t, url, opts), amqptest.Dial(t, url, opts)
	h := moduletest.Start(t, storetest.SQLite(t), module, moduletest.OnBus(server))
	exercise(t, client, func() { h.Outbox.Wait(t) })
}

// exercise is the module's behaviour through bus b; settle waits until
// the module's relay has published what was committed.
func exercise(t *testing.T, b bus.Bus, settle func()) {
	events := bustest.Record[contract.ArticleEvent](t, b, "article.*")
	body := "# Why Go\n\nGo is <script>alert(1)</script> simple. " + strings.Repeat("Words to read. ", 200)
	first := call(t, b, contract.CreateArticle, contract.CreateArticleRequest{Title: "  Why Go? ", BodyMarkdown: body,
		Tags: []string{"Go Tips", "news", "go tips"}, AuthorName: "Ann", Cover: &contract.Image{URL: "https://img.example/go.png", Alt: "Gopher"}})
	if first.Slug != "why-go" || first.Title != "Why Go?" || first.Status != contract.ArticleDraft || first.Public || first.Version != 1 ||
		!slices.Equal(first.Tags, []string{"go-tips", "news"}) || first.PublishedAt != nil || first.CustomExcerpt {
		t.Fatalf("created %+v", first)
	}
	if strings.Contains(first.BodyHTML, "<script") || !strings.Contains(first.BodyHTML, `<h1 id="why-go">Why Go</h1>`) {
		t.Fatalf("html %s", first.BodyHTML)
	}
	if !strings.HasPrefix(first.Excerpt, "Why Go Go is simple. Words to read.") || !strings.HasSuffix(first.Excerpt, "…") || first.ReadingMinutes != 3 {
		t.Fatalf("excerpt %q, %d min", first.Excerpt, first.ReadingMinutes)
	}
	// A second "Why Go?" gets a suffix; a given slug that is taken is a conflict.
	second := call(t, b, contract.CreateArticle, contract.CreateArticleRequest{Title: "Why Go?", BodyMarkdown: "Short.",
		Excerpt: "Mine.", Tags: []string{"news"}, Featured: true, Status: contract.ArticlePublished})
	if second.Slug != "why-go-2" || second.Status != contract.ArticlePublished || !second.Public || second.PublishedAt == nil ||
		second.Excerpt != "Mine." || !second.CustomExcerpt {
		t.Fatalf("second %+v", second)
	}
	callErr(t, b, contract.CreateArticle, contract.CreateArticleRequest{Title: "X", Slug: "why-go"}, bus.CodeConflict, "taken")

	// The public sees the published one only; writes are for admins.
	bustest.CallErr(t, b, contract.GetArticle, contract.ArticleID{ID: first.ID}, bus.CodeNotFound, first.ID)
	bustest.CallErr(t, b, contract.GetArticleBySlug, contract.ArticleSlug{Slug: "why-go"}, bus.CodeNotFound, "why-go")
	if got := bustest.Call(t, b, contract.GetArticleBySlug, contract.ArticleSlug{Slug: "why-go-2"}); got.ID != second.ID || !got.Public {
		t.Fatalf("public by slug %+v", got)
	}
	callErr(t, b, contract.GetArticle, contract.ArticleID{ID: first.ID, PublicOnly: true}, bus.CodeNotFound, first.ID)
	if got := call(t, b, contract.GetArticle, contract.ArticleID{ID: first.ID}); got.ID != first.ID || got.BodyHTML != first.BodyHTML {
		t.Fatalf("admin get %+v", got)
	}
	bustest.CallErr(t, b, contract.CreateArticle, contract.CreateArticleRequest{Title: "Anon"}, bus.CodeUnauthorized, "sign in")
	bustest.CallErr(t, b, contract.PublishArticle, contract.PublishArticleRequest{ID: first.ID}, bus.CodeUnauthorized, "sign in")
	if got := bustest.Call(t, b, contract.ListArticles, contract.ListArticlesRequest{}); !slices.Equal(summarySlugs(got), []string{"why-go-2"}) || got.Total != 1 {
		t.Fatalf("public list %+v", got)
	}
	bustest.CallErr(t, b, contract.ListArticles, contract.ListArticlesRequest{Status: contract.ArticleDraft}, bus.CodeForbidden, "admins")

	// Update: version-checked; a new body regenerates a generated excerpt
	// and leaves a custom one.
	callErr(t, b, contract.UpdateArticle, contract.UpdateArticleRequest{ID: first.ID, Title: ptr("No version")}, bus.CodeInvalid, "version is required")
	callErr(t, b, contract.UpdateArticle, contract.UpdateArticleRequest{ID: first.ID, Version: 7, Title: ptr("Stale")}, bus.CodeConflict, "version 1, not 7")
	upd := call(t, b, contract.UpdateArticle, contract.UpdateArticleRequest{ID: first.ID, Version: 1, Title: ptr("Why Go, really"),
		BodyMarkdown: ptr("New **body**."), Cover: &contract.Image{}})
	if upd.Version != 2 || upd.Title != "Why Go, really" || upd.Slug != "why-go" || upd.Excerpt != "New body." || upd.Cover != nil ||
		upd.BodyHTML != "<p>New <strong>body</strong>.</p>\n" || upd.ReadingMinutes != 1 {
		t.Fatalf("updated %+v", upd)
	}
	upd2 := call(t, b, contract.UpdateArticle, contract.UpdateArticleRequest{ID: second.ID, Version: 1, BodyMarkdown: ptr("Other.")})
	if upd2.Excerpt != "Mine." || upd2.Version != 2 {
		t.Fatalf("custom excerpt after a body change %+v", upd2)
	}
	callErr(t, b, contract.UpdateArticle, contract.UpdateArticleRequest{ID: second.ID, Version: 2, Slug: ptr("why-go")}, bus.CodeConflict, "taken")

	// Publish: public at once; publishing again changes nothing.
	pub := call(t, b, contract.PublishArticle, contract.PublishArticleRequest{ID: first.ID, Version: 2})
	if pub.Status != contract.ArticlePublished || !pub.Public || pub.PublishedAt == nil || pub.Version != 3 {
		t.Fatalf("published %+v", pub)
	}
	if again := call(t, b, contract.PublishArticle, contract.PublishArticleRequest{ID: first.ID}); again.Version != 3 || !again.PublishedAt.Equal(*pub.PublishedAt) {
		t.Fatalf("published again %+v", again)
	}

	// Lists: newest first, by tag, featured, in keyset pages.
	third := call(t, b, contract.CreateArticle, contract.CreateArticleRequest{Title: "Third", BodyMarkdown: "3", Tags: []string{"go-tips"}, Status: contract.ArticlePublished})
	draft := call(t, b, contract.CreateArticle, contract.CreateArticleRequest{Title: "Unfinished", BodyMarkdown: "…", Tags: []string{"go-tips"}})
	list := bustest.Call(t, b, contract.ListArticles, contract.ListArticlesRequest{})
	if !slices.Equal(summarySlugs(list), []string{"third", "why-go", "why-go-2"}) || list.Total != 3 || list.NextCursor != "" {
		t.Fatalf("public list %+v", list)
	}
	if list.Items[1].Excerpt != "New body." || !list.Items[1].Public {
		t.Fatalf("summary %+v", list.Items[1])
	}
	if got := bustest.Call(t, b, contract.ListArticles, contract.ListArticlesRequest{Tag: "go-tips"}); !slices.Equal(summarySlugs(got), []string{"third", "why-go"}) {
		t.Fatalf("by tag %+v", got)
	}
	if got := bustest.Call(t, b, contract.ListArticles, contract.ListArticlesRequest{Featured: ptr(true)}); !slices.Equal(summarySlugs(got), []string{"why-go-2"}) {
		t.Fatalf("featured %+v", got)
	}
	if got := call(t, b, contract.ListArticles, contract.ListArticlesRequest{Status: contract.ArticleDraft}); !slices.Equal(summarySlugs(got), []string{"unfinished"}) {
		t.Fatalf("admin drafts %+v", got)
	}
	var paged []string
	req := contract.ListArticlesRequest{Limit: 2}
	for range 3 {
		p := call(t, b, contract.ListArticles, req)
		paged = append(paged, summarySlugs(p)...)
		if p.Total != 4 {
			t.Fatalf("page total %d", p.Total)
		}
		if req.Cursor = p.NextCursor; req.Cursor == "" {
			break
		}
	}
	if !slices.Equal(paged, []string{"unfinished", "third", "why-go", "why-go-2"}) {
		t.Fatalf("admin pages %v", paged)
	}
	tags := bustest.Call(t, b, contract.ListArticleTags, contract.ListArticleTagsRequest{})
	if want := []contract.ArticleTag{{Tag: "go-tips", Count: 2}, {Tag: "news", Count: 2}}; !slices.Equal(tags.Items, want) || tags.Total != 2 {
		t.Fatalf("public tags %+v", tags)
	}
	if all := call(t, b, contract.ListArticleTags, contract.ListArticleTagsRequest{}); all.Items[0] != (contract.ArticleTag{Tag: "go-tips", Count: 3}) {
		t.Fatalf("admin tags %+v", all)
	}

	// Unpublish, delete.
	un := call(t, b, contract.UnpublishArticle, contract.UnpublishArticleRequest{ID: first.ID})
	if un.Status != contract.ArticleDraft || un.Public || un.PublishedAt != nil || un.Version != 4 {
		t.Fatalf("unpublished %+v", un)
	}
	callErr(t, b, contract.DeleteArticle, contract.DeleteArticleRequest{ID: third.ID, Version: 9}, bus.CodeConflict, "not 9")
	if del := call(t, b, contract.DeleteArticle, contract.DeleteArticleRequest{ID: third.ID}); del.Deleted != third.ID {
		t.Fatalf("deleted %+v", del)
	}
	callErr(t, b, contract.GetArticle, contract.ArticleID{ID: third.ID}, bus.CodeNotFound, third.ID)
	callErr(t, b, contract.DeleteArticle, contract.DeleteArticleRequest{ID: third.ID}, bus.CodeNotFound, third.ID)

	// One event per write, with slug, status and whether it is public.
	settle()
	events.Wait(t, 9)
	evs := events.Settle() // and no more
	var got []string
	for _, e := range evs {
		got = append(got, fmt.Sprintf("%s %s v%d %s public=%t", e.Topic, e.Event.Slug, e.Event.Version, e.Event.Status, e.Event.Public))
	}
	want := []string{
		"article.created why-go v1 draft public=false",
		"article.created why-go-2 v1 published public=true",
		"article.updated why-go v2 draft public=false",
		"article.updated why-go-2 v2 published public=true",
		"article.published why-go v3 published public=true",
		"article.created third v1 published public=true",
		"article.created unfinished v1 draft public=false",
		"article.unpublished why-go v4 draft public=false",
		"article.deleted third v2 published public=false",
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("events\n got %q\nwant %q", got, want)
	}
	_ = draft
}
