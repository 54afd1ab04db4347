package article

import (
	"testing"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/moduletest"
)

// TestArticleOutbox: a write and its event commit together. With the
// relay held back, each successful write leaves its one event in the
// store and publishes nothing, a failing one (slug taken, stale version)
// leaves none, and a publish that changes nothing announces nothing; once
// let, the relay publishes exactly the pending events, in commit order
// per article.
func TestArticleOutbox(t *testing.T) {
	moduletest.ForEach(t, module, func(t *testing.T, h *harness) {
		a := call(t, h.Bus, contract.CreateArticle, contract.CreateArticleRequest{Title: "First", BodyMarkdown: "one"})
		b := call(t, h.Bus, contract.CreateArticle, contract.CreateArticleRequest{Title: "Second", Status: contract.ArticlePublished})
		callErr(t, h.Bus, contract.CreateArticle, contract.CreateArticleRequest{Title: "X", Slug: "first"}, bus.CodeConflict, "taken")
		callErr(t, h.Bus, contract.UpdateArticle, contract.UpdateArticleRequest{ID: b.ID, Version: 1, Slug: ptr("first")}, bus.CodeConflict, "taken")
		callErr(t, h.Bus, contract.UpdateArticle, contract.UpdateArticleRequest{ID: a.ID, Version: 3, Title: ptr("Stale")}, bus.CodeConflict, "version")
		call(t, h.Bus, contract.UpdateArticle, contract.UpdateArticleRequest{ID: a.ID, Version: 1, Title: ptr("First, edited")})
		call(t, h.Bus, contract.PublishArticle, contract.PublishArticleRequest{ID: a.ID})
		call(t, h.Bus, contract.PublishArticle, contract.PublishArticleRequest{ID: a.ID}) // published already: no write
		later := time.Now().Add(time.Hour)
		call(t, h.Bus, contract.PublishArticle, contract.PublishArticleRequest{ID: b.ID, PublishAt: &later}) // hidden until later
		call(t, h.Bus, contract.UnpublishArticle, contract.UnpublishArticleRequest{ID: b.ID})                // not public: updated
		callErr(t, h.Bus, contract.DeleteArticle, contract.DeleteArticleRequest{ID: a.ID, Version: 1}, bus.CodeConflict, "version")
		call(t, h.Bus, contract.DeleteArticle, contract.DeleteArticleRequest{ID: a.ID, Version: 3})

		h.Outbox.WantPending(t,
			moduletest.Announced(contract.ArticleCreated.Topic, a.ID, 1),
			moduletest.Announced(contract.ArticleUpdated.Topic, a.ID, 2),
			moduletest.Announced(contract.ArticleMadePublic.Topic, a.ID, 3),
			moduletest.Announced(contract.ArticleDeleted.Topic, a.ID, 4),
			moduletest.Announced(contract.ArticleCreated.Topic, b.ID, 1),
			moduletest.Announced(contract.ArticleMadePrivate.Topic, b.ID, 2),
			moduletest.Announced(contract.ArticleUpdated.Topic, b.ID, 3),
		)
		h.Outbox.WantPublished(t)
	}, moduletest.HoldOutbox())
}
