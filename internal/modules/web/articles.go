package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/shopengine/shop/internal/contract"
)

// articleRoutes mounts the article API: public reads, which show public
// articles only (published, or scheduled with publish_at passed; anything
// else is not found, even to an admin: the admin reads are under /admin),
// and admin reads and writes. Feeds are served by feedRoutes.
func (m *Module) articleRoutes(public, admin chi.Router) {
	public.Get("/articles", endpoint(m, contract.ListArticles, http.StatusOK,
		fromPath(func(q *contract.ListArticlesRequest) []binder {
			q.PublicOnly = true
			return []binder{queryString("tag", &q.Tag), queryOptionalFlag("featured", &q.Featured),
				queryString("cursor", &q.Cursor), queryInt("limit", &q.Limit)}
		})))
	public.Get("/articles/tags", endpoint(m, contract.ListArticleTags, http.StatusOK,
		fromPath(func(q *contract.ListArticleTagsRequest) []binder { q.PublicOnly = true; return nil })))
	public.Get("/articles/by-slug/{slug}", endpoint(m, contract.GetArticleBySlug, http.StatusOK,
		fromPath(func(q *contract.ArticleSlug) []binder {
			q.PublicOnly = true
			return []binder{pathID("slug", "slug", &q.Slug)}
		})))
	public.Get("/articles/{id}", endpoint(m, contract.GetArticle, http.StatusOK,
		fromPath(func(q *contract.ArticleID) []binder {
			q.PublicOnly = true
			return []binder{pathID("id", "id", &q.ID)}
		})))

	admin.Get("/articles", endpoint(m, contract.ListArticles, http.StatusOK,
		fromPath(func(q *contract.ListArticlesRequest) []binder {
			return []binder{queryString("tag", &q.Tag), queryOptionalFlag("featured", &q.Featured),
				queryString("status", (*string)(&q.Status)), queryString("cursor", &q.Cursor), queryInt("limit", &q.Limit)}
		})))
	admin.Get("/articles/tags", endpoint(m, contract.ListArticleTags, http.StatusOK,
		fromPath(func(*contract.ListArticleTagsRequest) []binder { return nil })))
	admin.Get("/articles/{id}", endpoint(m, contract.GetArticle, http.StatusOK,
		fromPath(func(q *contract.ArticleID) []binder { return []binder{pathID("id", "id", &q.ID)} })))
	admin.Post("/articles", endpoint(m, contract.CreateArticle, http.StatusCreated,
		fromBody(func(*contract.CreateArticleRequest) []binder { return nil })))
	admin.Patch("/articles/{id}", endpoint(m, contract.UpdateArticle, http.StatusOK,
		fromBody(func(q *contract.UpdateArticleRequest) []binder {
			return []binder{pathID("id", "id", &q.ID), ifMatch(&q.Version)}
		})))
	admin.Delete("/articles/{id}", endpoint(m, contract.DeleteArticle, http.StatusOK,
		fromOptionalBody(func(q *contract.DeleteArticleRequest) []binder {
			return []binder{pathID("id", "id", &q.ID), ifMatch(&q.Version)}
		})))
	// Publish takes an optional body ({"publish_at": …} schedules it).
	admin.Post("/articles/{id}/publish", endpoint(m, contract.PublishArticle, http.StatusOK,
		fromOptionalBody(func(q *contract.PublishArticleRequest) []binder {
			return []binder{pathID("id", "id", &q.ID), ifMatch(&q.Version)}
		})))
	admin.Post("/articles/{id}/unpublish", endpoint(m, contract.UnpublishArticle, http.StatusOK,
		fromOptionalBody(func(q *contract.UnpublishArticleRequest) []binder {
			return []binder{pathID("id", "id", &q.ID), ifMatch(&q.Version)}
		})))
}
