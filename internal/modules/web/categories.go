package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/shopengine/shop/internal/contract"
)

// categoryRoutes mounts the category API: public reads and admin writes.
func (m *Module) categoryRoutes(public, admin chi.Router) {
	byID := func(_ http.ResponseWriter, r *http.Request) (contract.CategoryID, error) {
		return contract.CategoryID{ID: pathParam(r, "id")}, nil
	}
	public.Get("/categories/tree", endpoint(m, contract.GetCategoryTree, http.StatusOK,
		func(http.ResponseWriter, *http.Request) (contract.Empty, error) { return contract.Empty{}, nil }))
	public.Get("/categories/by-slug/{slug}", endpoint(m, contract.GetCategoryBySlug, http.StatusOK,
		func(_ http.ResponseWriter, r *http.Request) (contract.CategorySlug, error) {
			return contract.CategorySlug{Slug: pathParam(r, "slug")}, nil
		}))
	public.Get("/categories/{id}", endpoint(m, contract.GetCategory, http.StatusOK, byID))
	public.Get("/categories/{id}/breadcrumbs", endpoint(m, contract.GetBreadcrumbs, http.StatusOK, byID))
	public.Get("/categories/{id}/children", endpoint(m, contract.ListChildren, http.StatusOK,
		func(_ http.ResponseWriter, r *http.Request) (contract.ListChildrenRequest, error) {
			return contract.ListChildrenRequest{ParentID: pathParam(r, "id")}, nil
		}))

	admin.Post("/categories", endpoint(m, contract.CreateCategory, http.StatusCreated,
		func(w http.ResponseWriter, r *http.Request) (req contract.CreateCategoryRequest, err error) {
			return req, decodeBody(w, r, &req)
		}))
	admin.Patch("/categories/{id}", endpoint(m, contract.UpdateCategory, http.StatusOK,
		func(w http.ResponseWriter, r *http.Request) (contract.UpdateCategoryRequest, error) {
			var body struct {
				Name        *string `json:"name"`
				Slug        *string `json:"slug"`
				Description *string `json:"description"`
			}
			err := decodeBody(w, r, &body)
			return contract.UpdateCategoryRequest{ID: pathParam(r, "id"), Name: body.Name, Slug: body.Slug, Description: body.Description}, err
		}))
	admin.Post("/categories/{id}/move", endpoint(m, contract.MoveCategory, http.StatusOK,
		func(w http.ResponseWriter, r *http.Request) (contract.MoveCategoryRequest, error) {
			var body struct {
				ParentID string `json:"parent_id"`
				Position *int   `json:"position"`
			}
			err := decodeBody(w, r, &body)
			return contract.MoveCategoryRequest{ID: pathParam(r, "id"), ParentID: body.ParentID, Position: body.Position}, err
		}))
	admin.Delete("/categories/{id}", endpoint(m, contract.DeleteCategory, http.StatusOK,
		func(_ http.ResponseWriter, r *http.Request) (contract.DeleteCategoryRequest, error) {
			cascade, err := boolQuery(r, "cascade")
			return contract.DeleteCategoryRequest{ID: pathParam(r, "id"), Cascade: cascade}, err
		}))
}
