package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
)

// searchRoutes mounts the faceted search (the filter module):
//
//	GET /api/v1/search?category=…&q=…&f.<facet>=<value>&price=10-50&in_stock=1&sort=price_asc&page=2&page_size=20
//
// f.<facet> may be repeated or comma-separated (OR within a facet); price
// is a range of minor units, "lo-hi", "lo-" or "-hi". page_size defaults
// to contract.DefaultPageSize.
func (m *Module) searchRoutes(public chi.Router) {
	public.Get("/search", endpoint(m, contract.Search, http.StatusOK,
		func(_ http.ResponseWriter, r *http.Request) (contract.SearchRequest, error) {
			return searchRequest(r.URL.Query())
		}))
}

// facetParam starts the query parameters of facet selections.
const facetParam = "f."

// searchRequest reads the search query parameters; unknown or repeated
// ones (but f.*) and malformed values are refused.
func searchRequest(q url.Values) (contract.SearchRequest, error) {
	req := contract.SearchRequest{PageSize: contract.DefaultPageSize}
	plain := url.Values{}
	for k, vs := range q {
		code, ok := strings.CutPrefix(k, facetParam)
		if !ok {
			plain[k] = vs
			continue
		}
		if code == "" {
			return req, bus.Errorf(bus.CodeInvalid, "query parameter %q: name the facet, as in f.colour=red", k)
		}
		if req.Facets == nil {
			req.Facets = map[string][]string{}
		}
		for _, v := range vs {
			for _, one := range strings.Split(v, ",") {
				if one = strings.TrimSpace(one); one != "" {
					req.Facets[code] = append(req.Facets[code], one)
				}
			}
		}
	}
	if err := onlyQuery(plain, "category", "q", "price", "in_stock", "sort", "page", "page_size"); err != nil {
		return req, err
	}
	req.Category, req.Q, req.Sort = plain.Get("category"), plain.Get("q"), plain.Get("sort")
	var err error
	if req.Page, err = intQuery(plain, "page", 0); err != nil {
		return req, err
	}
	if req.PageSize, err = intQuery(plain, "page_size", req.PageSize); err != nil {
		return req, err
	}
	switch v := plain.Get("in_stock"); v {
	case "", "0", "false":
	case "1", "true":
		req.InStock = true
	default:
		return req, bus.Errorf(bus.CodeInvalid, "query in_stock=%.20q: want 1 or 0", v)
	}
	if p := plain.Get("price"); p != "" {
		if req.PriceMin, req.PriceMax, err = parsePriceRange(p); err != nil {
			return req, err
		}
	}
	return req, nil
}

// parsePriceRange reads "lo-hi", "lo-" or "-hi" in minor units.
func parsePriceRange(s string) (lo, hi *int64, err error) {
	bad := bus.Errorf(bus.CodeInvalid, "query price=%.30q: want a range of minor units such as 1000-5000, 1000- or -5000", s)
	a, b, ok := strings.Cut(s, "-")
	if !ok || a == "" && b == "" {
		return nil, nil, bad
	}
	end := func(v string) (*int64, error) {
		if v == "" {
			return nil, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > contract.MaxPrice {
			return nil, bad
		}
		return &n, nil
	}
	if lo, err = end(a); err != nil {
		return nil, nil, err
	}
	if hi, err = end(b); err != nil {
		return nil, nil, err
	}
	return lo, hi, nil
}
