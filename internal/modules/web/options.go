package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/shopengine/shop/internal/contract"
)

// optionRoutes mounts the option API: public reads and admin writes. The
// value routes answer with the whole group after the change.
func (m *Module) optionRoutes(public, admin chi.Router) {
	public.Get("/options", endpoint(m, contract.ListOptionGroups, http.StatusOK,
		func(http.ResponseWriter, *http.Request) (contract.Empty, error) { return contract.Empty{}, nil }))
	public.Get("/options/by-code/{code}", endpoint(m, contract.GetOptionGroupByCode, http.StatusOK,
		func(_ http.ResponseWriter, r *http.Request) (contract.OptionGroupCode, error) {
			return contract.OptionGroupCode{Code: pathParam(r, "code")}, nil
		}))
	public.Get("/options/{id}", endpoint(m, contract.GetOptionGroup, http.StatusOK,
		func(_ http.ResponseWriter, r *http.Request) (contract.OptionGroupID, error) {
			return contract.OptionGroupID{ID: pathParam(r, "id")}, nil
		}))

	admin.Post("/options", endpoint(m, contract.CreateOptionGroup, http.StatusCreated,
		func(w http.ResponseWriter, r *http.Request) (req contract.CreateOptionGroupRequest, err error) {
			return req, decodeBody(w, r, &req)
		}))
	admin.Post("/options/generate-variants", endpoint(m, contract.GenerateVariants, http.StatusOK,
		func(w http.ResponseWriter, r *http.Request) (req contract.GenerateVariantsRequest, err error) {
			return req, decodeBody(w, r, &req)
		}))
	admin.Patch("/options/{id}", endpoint(m, contract.UpdateOptionGroup, http.StatusOK,
		func(w http.ResponseWriter, r *http.Request) (contract.UpdateOptionGroupRequest, error) {
			var body struct {
				Code *string `json:"code"`
				Name *string `json:"name"`
			}
			err := decodeBody(w, r, &body)
			return contract.UpdateOptionGroupRequest{ID: pathParam(r, "id"), Code: body.Code, Name: body.Name}, err
		}))
	admin.Delete("/options/{id}", endpoint(m, contract.DeleteOptionGroup, http.StatusOK,
		func(_ http.ResponseWriter, r *http.Request) (contract.OptionGroupID, error) {
			return contract.OptionGroupID{ID: pathParam(r, "id")}, nil
		}))
	admin.Post("/options/{id}/values", endpoint(m, contract.AddOptionValue, http.StatusCreated,
		func(w http.ResponseWriter, r *http.Request) (contract.AddOptionValueRequest, error) {
			var body struct {
				Code     string `json:"code"`
				Label    string `json:"label"`
				Position *int   `json:"position"`
			}
			err := decodeBody(w, r, &body)
			return contract.AddOptionValueRequest{GroupID: pathParam(r, "id"), Code: body.Code, Label: body.Label, Position: body.Position}, err
		}))
	admin.Patch("/options/{id}/values/{value_id}", endpoint(m, contract.UpdateOptionValue, http.StatusOK,
		func(w http.ResponseWriter, r *http.Request) (contract.UpdateOptionValueRequest, error) {
			var body struct {
				Code     *string `json:"code"`
				Label    *string `json:"label"`
				Position *int    `json:"position"`
			}
			err := decodeBody(w, r, &body)
			return contract.UpdateOptionValueRequest{GroupID: pathParam(r, "id"), ValueID: pathParam(r, "value_id"),
				Code: body.Code, Label: body.Label, Position: body.Position}, err
		}))
	admin.Delete("/options/{id}/values/{value_id}", endpoint(m, contract.RemoveOptionValue, http.StatusOK,
		func(_ http.ResponseWriter, r *http.Request) (contract.RemoveOptionValueRequest, error) {
			return contract.RemoveOptionValueRequest{GroupID: pathParam(r, "id"), ValueID: pathParam(r, "value_id")}, nil
		}))
}
