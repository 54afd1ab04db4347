package web

import (
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/validate"
)

// productRoutes mounts the product API: public reads, which show published
// products only (anything else is not found), and admin reads and writes.
func (m *Module) productRoutes(public, admin chi.Router) {
	public.Get("/products", endpoint(m, contract.ListProducts, http.StatusOK,
		func(_ http.ResponseWriter, r *http.Request) (contract.ListProductsRequest, error) {
			req, err := listProductsRequest(r.URL.Query(), false)
			req.Status = contract.ProductPublished
			return req, err
		}))
	public.Get("/products/by-slug/{slug}", endpoint(m, contract.GetProductBySlug, http.StatusOK,
		fromPath(func(req *contract.ProductSlug) []binder {
			req.PublishedOnly = true
			return []binder{pathID("slug", "slug", &req.Slug)}
		})))
	public.Get("/products/{id}", endpoint(m, contract.GetProduct, http.StatusOK,
		fromPath(func(req *contract.ProductID) []binder {
			req.PublishedOnly = true
			return []binder{pathID("id", "id", &req.ID)}
		})))

	admin.Get("/products", endpoint(m, contract.ListProducts, http.StatusOK,
		func(_ http.ResponseWriter, r *http.Request) (contract.ListProductsRequest, error) {
			return listProductsRequest(r.URL.Query(), true)
		}))
	admin.Get("/products/{id}", endpoint(m, contract.GetProduct, http.StatusOK,
		fromPath(func(req *contract.ProductID) []binder { return []binder{pathID("id", "id", &req.ID)} })))
	admin.Post("/products", endpoint(m, contract.CreateProduct, http.StatusCreated,
		fromBody(func(*contract.CreateProductRequest) []binder { return nil })))
	// Bodies are the contract's requests as they are, the id taken from
	// the path and the expected version from If-Match (see endpoint): a
	// field added to a request works over HTTP without a change here.
	admin.Patch("/products/{id}", endpoint(m, contract.UpdateProduct, http.StatusOK,
		fromBody(func(q *contract.UpdateProductRequest) []binder {
			return []binder{pathID("id", "id", &q.ID), ifMatch(&q.Version)}
		})))
	admin.Post("/products/{id}/status", endpoint(m, contract.SetProductStatus, http.StatusOK,
		fromBody(func(q *contract.SetProductStatusRequest) []binder {
			return []binder{pathID("id", "id", &q.ID), ifMatch(&q.Version)}
		})))
	admin.Delete("/products/{id}", endpoint(m, contract.DeleteProduct, http.StatusOK,
		fromOptionalBody(func(q *contract.DeleteProductRequest) []binder {
			return []binder{pathID("id", "id", &q.ID), ifMatch(&q.Version)}
		})))
	admin.Post("/products/{id}/regenerate-variants", endpoint(m, contract.RegenerateVariants, http.StatusOK,
		fromBody(func(q *contract.RegenerateVariantsRequest) []binder {
			return []binder{pathID("id", "id", &q.ID), ifMatch(&q.Version)}
		})))
	admin.Post("/variants/{id}/adjust-stock", endpoint(m, contract.AdjustStock, http.StatusOK,
		fromBody(func(q *contract.AdjustStockRequest) []binder {
			return []binder{pathID("id", "variant_id", &q.VariantID)}
		})))
}

// listProductsRequest reads the list query parameters: category,
// include_descendants, sort, order, cursor (the next_cursor of the page
// before), page, page_size and, for admins, status. Unknown or repeated
// parameters and malformed values are refused.
func listProductsRequest(q url.Values, admin bool) (contract.ListProductsRequest, error) {
	var req contract.ListProductsRequest
	known := []string{"category", "include_descendants", "sort", "order", "cursor", "page", "page_size"}
	if admin {
		known = append(known, "status")
	}
	if err := onlyQuery(q, known...); err != nil {
		return req, err
	}
	if c := q.Get("category"); c != "" {
		if err := validate.ID("query category", c); err != nil {
			return req, err
		}
		req.CategoryID = c
	}
	var err error
	switch v := q.Get("include_descendants"); v {
	case "", "false", "0":
	case "true", "1":
		req.IncludeDescendants = true
	default:
		return req, bus.Errorf(bus.CodeInvalid, "query include_descendants=%q: want true or false", v)
	}
	if req.IncludeDescendants && req.CategoryID == "" {
		return req, bus.Errorf(bus.CodeInvalid, "query include_descendants: needs a category")
	}
	req.Sort, req.Order, req.Status, req.Cursor = q.Get("sort"), q.Get("order"), contract.ProductStatus(q.Get("status")), q.Get("cursor")
	if req.Page, err = intQuery(q, "page", 1); err != nil {
		return req, err
	}
	if req.Cursor != "" && q.Has("page") {
		return req, bus.Errorf(bus.CodeInvalid, "query cursor: give a cursor or a page, not both")
	}
	if req.PageSize, err = intQuery(q, "page_size", contract.DefaultPageSize); err != nil {
		return req, err
	}
	if req.Page < 1 {
		return req, bus.Errorf(bus.CodeInvalid, "query page=%d: want 1 or more", req.Page)
	}
	if req.PageSize < 1 || req.PageSize > contract.MaxPageSize {
		return req, bus.Errorf(bus.CodeInvalid, "query page_size=%d: want 1 to %d", req.PageSize, contract.MaxPageSize)
	}
	return req, nil
}
