package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/shopengine/shop/internal/contract"
)

// attributeRoutes mounts the attribute API: the public catalog of
// attribute definitions, and admin writes of groups and definitions.
func (m *Module) attributeRoutes(public, admin chi.Router) {
	public.Get("/attributes", endpoint(m, contract.ListAttributes, http.StatusOK,
		func(http.ResponseWriter, *http.Request) (contract.Empty, error) { return contract.Empty{}, nil }))
	public.Get("/attributes/{code}", endpoint(m, contract.GetAttributeByCode, http.StatusOK,
		func(_ http.ResponseWriter, r *http.Request) (contract.AttributeCode, error) {
			return contract.AttributeCode{Code: pathParam(r, "code")}, nil
		}))

	admin.Post("/attribute-groups", endpoint(m, contract.CreateAttributeGroup, http.StatusCreated,
		func(w http.ResponseWriter, r *http.Request) (req contract.CreateAttributeGroupRequest, err error) {
			return req, decodeBody(w, r, &req)
		}))
	admin.Patch("/attribute-groups/{id}", endpoint(m, contract.UpdateAttributeGroup, http.StatusOK,
		func(w http.ResponseWriter, r *http.Request) (contract.UpdateAttributeGroupRequest, error) {
			var body struct {
				Name     *string `json:"name"`
				Slug     *string `json:"slug"`
				Position *int    `json:"position"`
			}
			err := decodeBody(w, r, &body)
			return contract.UpdateAttributeGroupRequest{ID: pathParam(r, "id"), Name: body.Name, Slug: body.Slug, Position: body.Position}, err
		}))
	admin.Delete("/attribute-groups/{id}", endpoint(m, contract.DeleteAttributeGroup, http.StatusOK,
		func(_ http.ResponseWriter, r *http.Request) (contract.AttributeGroupID, error) {
			return contract.AttributeGroupID{ID: pathParam(r, "id")}, nil
		}))

	admin.Post("/attributes", endpoint(m, contract.CreateAttributeDefinition, http.StatusCreated,
		func(w http.ResponseWriter, r *http.Request) (req contract.CreateAttributeDefinitionRequest, err error) {
			return req, decodeBody(w, r, &req)
		}))
	admin.Patch("/attributes/{id}", endpoint(m, contract.UpdateAttributeDefinition, http.StatusOK,
		func(w http.ResponseWriter, r *http.Request) (contract.UpdateAttributeDefinitionRequest, error) {
			var body struct {
				Code       *string                  `json:"code"`
				Name       *string                  `json:"name"`
				GroupID    *string                  `json:"group_id"`
				Type       *contract.AttributeType  `json:"type"`
				Values     *[]contract.AllowedValue `json:"values"`
				Unit       *string                  `json:"unit"`
				Filterable *bool                    `json:"filterable"`
				Required   *bool                    `json:"required"`
				Position   *int                     `json:"position"`
			}
			err := decodeBody(w, r, &body)
			return contract.UpdateAttributeDefinitionRequest{
				ID: pathParam(r, "id"), Code: body.Code, Name: body.Name, GroupID: body.GroupID, Type: body.Type, Values: body.Values,
				Unit: body.Unit, Filterable: body.Filterable, Required: body.Required, Position: body.Position,
			}, err
		}))
	admin.Delete("/attributes/{id}", endpoint(m, contract.DeleteAttributeDefinition, http.StatusOK,
		func(_ http.ResponseWriter, r *http.Request) (contract.AttributeDefinitionID, error) {
			return contract.AttributeDefinitionID{ID: pathParam(r, "id")}, nil
		}))
}
