package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/shopengine/shop/internal/contract"
)

// categoryRoutes mounts the category API: public reads and admin writes.
// Writes decode into the contract's request types (see fromBody); the id
// is the path's and If-Match gives the expected version.
func (m *Module) categoryRoutes(public, admin chi.Router) {
	byID := fromPath(func(q *contract.CategoryID) []binder { return []binder{pathID("id", "id", &q.ID)} })
	public.Get("/categories/tree", endpoint(m, contract.GetCategoryTree, http.StatusOK,
		fromPath(func(*contract.Empty) []binder { return nil })))
	public.Get("/categories/by-slug/{slug}", endpoint(m, contract.GetCategoryBySlug, http.StatusOK,
		fromPath(func(q *contract.CategorySlug) []binder { return []binder{pathID("slug", "slug", &q.Slug)} })))
	public.Get("/categories/{id}", endpoint(m, contract.GetCategory, http.StatusOK, byID))
	public.Get("/categories/{id}/breadcrumbs", endpoint(m, contract.GetBreadcrumbs, http.StatusOK, byID))
	public.Get("/categories/{id}/children", endpoint(m, contract.ListChildren, http.StatusOK,
		fromPath(func(q *contract.ListChildrenRequest) []binder {
			return []binder{pathID("id", "parent_id", &q.ParentID)}
		})))

	admin.Post("/categories", endpoint(m, contract.CreateCategory, http.StatusCreated,
		fromBody(func(*contract.CreateCategoryRequest) []binder { return nil })))
	admin.Patch("/categories/{id}", endpoint(m, contract.UpdateCategory, http.StatusOK,
		fromBody(func(q *contract.UpdateCategoryRequest) []binder {
			return []binder{pathID("id", "id", &q.ID), ifMatch(&q.Version)}
		})))
	admin.Post("/categories/{id}/move", endpoint(m, contract.MoveCategory, http.StatusOK,
		fromBody(func(q *contract.MoveCategoryRequest) []binder {
			return []binder{pathID("id", "id", &q.ID), ifMatch(&q.Version)}
		})))
	admin.Delete("/categories/{id}", endpoint(m, contract.DeleteCategory, http.StatusOK,
		fromOptionalBody(func(q *contract.DeleteCategoryRequest) []binder {
			return []binder{pathID("id", "id", &q.ID), ifMatch(&q.Version), queryFlag("cascade", &q.Cascade)}
		})))
}
