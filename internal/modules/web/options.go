package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/shopengine/shop/internal/contract"
)

// optionRoutes mounts the option API: public reads and admin writes. The
// value routes answer with the whole group after the change. Writes decode
// into the contract's request types (see fromBody); ids are the path's and
// If-Match gives the group's expected version.
func (m *Module) optionRoutes(public, admin chi.Router) {
	public.Get("/options", endpoint(m, contract.ListOptionGroups, http.StatusOK,
		fromPath(func(q *contract.ListOptionGroupsRequest) []binder {
			return []binder{queryInt("limit", &q.Limit), queryString("cursor", &q.Cursor)}
		})))
	public.Get("/options/by-code/{code}", endpoint(m, contract.GetOptionGroupByCode, http.StatusOK,
		fromPath(func(q *contract.OptionGroupCode) []binder { return []binder{pathID("code", "code", &q.Code)} })))
	public.Get("/options/{id}", endpoint(m, contract.GetOptionGroup, http.StatusOK,
		fromPath(func(q *contract.OptionGroupID) []binder { return []binder{pathID("id", "id", &q.ID)} })))

	admin.Post("/options", endpoint(m, contract.CreateOptionGroup, http.StatusCreated,
		fromBody(func(*contract.CreateOptionGroupRequest) []binder { return nil })))
	admin.Post("/options/generate-variants", endpoint(m, contract.GenerateVariants, http.StatusOK,
		fromBody(func(*contract.GenerateVariantsRequest) []binder { return nil })))
	admin.Patch("/options/{id}", endpoint(m, contract.UpdateOptionGroup, http.StatusOK,
		fromBody(func(q *contract.UpdateOptionGroupRequest) []binder {
			return []binder{pathID("id", "id", &q.ID), ifMatch(&q.Version)}
		})))
	admin.Delete("/options/{id}", endpoint(m, contract.DeleteOptionGroup, http.StatusOK,
		fromOptionalBody(func(q *contract.DeleteOptionGroupRequest) []binder {
			return []binder{pathID("id", "id", &q.ID), ifMatch(&q.Version)}
		})))
	admin.Post("/options/{id}/values", endpoint(m, contract.AddOptionValue, http.StatusCreated,
		fromBody(func(q *contract.AddOptionValueRequest) []binder {
			return []binder{pathID("id", "group_id", &q.GroupID), ifMatch(&q.Version)}
		})))
	admin.Patch("/options/{id}/values/{value_id}", endpoint(m, contract.UpdateOptionValue, http.StatusOK,
		fromBody(func(q *contract.UpdateOptionValueRequest) []binder {
			return []binder{pathID("id", "group_id", &q.GroupID), pathID("value_id", "value_id", &q.ValueID), ifMatch(&q.Version)}
		})))
	admin.Delete("/options/{id}/values/{value_id}", endpoint(m, contract.RemoveOptionValue, http.StatusOK,
		fromOptionalBody(func(q *contract.RemoveOptionValueRequest) []binder {
			return []binder{pathID("id", "group_id", &q.GroupID), pathID("value_id", "value_id", &q.ValueID), ifMatch(&q.Version)}
		})))
}
