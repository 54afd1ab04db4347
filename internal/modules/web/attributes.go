package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/shopengine/shop/internal/contract"
)

// attributeRoutes mounts the attribute API: the public catalog of
// attribute definitions, and admin writes of groups and definitions.
// Writes decode into the contract's request types (see fromBody); the id
// is the path's and If-Match gives the expected version.
func (m *Module) attributeRoutes(public, admin chi.Router) {
	public.Get("/attributes", endpoint(m, contract.ListAttributes, http.StatusOK,
		fromPath(func(*contract.Empty) []binder { return nil })))
	public.Get("/attributes/{code}", endpoint(m, contract.GetAttributeByCode, http.StatusOK,
		fromPath(func(q *contract.AttributeCode) []binder { return []binder{pathID("code", "code", &q.Code)} })))
	public.Get("/attribute-groups", endpoint(m, contract.ListAttributeGroups, http.StatusOK,
		fromPath(func(*contract.Empty) []binder { return nil })))
	public.Get("/attribute-groups/{id}", endpoint(m, contract.GetAttributeGroup, http.StatusOK,
		fromPath(func(q *contract.AttributeGroupID) []binder { return []binder{pathID("id", "id", &q.ID)} })))

	admin.Post("/attribute-groups", endpoint(m, contract.CreateAttributeGroup, http.StatusCreated,
		fromBody(func(*contract.CreateAttributeGroupRequest) []binder { return nil })))
	admin.Patch("/attribute-groups/{id}", endpoint(m, contract.UpdateAttributeGroup, http.StatusOK,
		fromBody(func(q *contract.UpdateAttributeGroupRequest) []binder {
			return []binder{pathID("id", "id", &q.ID), ifMatch(&q.Version)}
		})))
	admin.Delete("/attribute-groups/{id}", endpoint(m, contract.DeleteAttributeGroup, http.StatusOK,
		fromOptionalBody(func(q *contract.DeleteAttributeGroupRequest) []binder {
			return []binder{pathID("id", "id", &q.ID), ifMatch(&q.Version)}
		})))

	admin.Post("/attributes", endpoint(m, contract.CreateAttributeDefinition, http.StatusCreated,
		fromBody(func(*contract.CreateAttributeDefinitionRequest) []binder { return nil })))
	admin.Get("/attributes/{id}", endpoint(m, contract.GetAttributeDefinition, http.StatusOK,
		fromPath(func(q *contract.AttributeDefinitionID) []binder { return []binder{pathID("id", "id", &q.ID)} })))
	admin.Patch("/attributes/{id}", endpoint(m, contract.UpdateAttributeDefinition, http.StatusOK,
		fromBody(func(q *contract.UpdateAttributeDefinitionRequest) []binder {
			return []binder{pathID("id", "id", &q.ID), ifMatch(&q.Version)}
		})))
	admin.Delete("/attributes/{id}", endpoint(m, contract.DeleteAttributeDefinition, http.StatusOK,
		fromOptionalBody(func(q *contract.DeleteAttributeDefinitionRequest) []binder {
			return []binder{pathID("id", "id", &q.ID), ifMatch(&q.Version)}
		})))
}
