package product

import (
	"context"
	"errors"
	"fmt"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/slugs"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/validate"
)

// The reads: get, get_by_slug, get_many, get_many_by_slugs, list and the
// attribute usage count.

func (m *Module) load(ctx context.Context, id string) (contract.Product, error) {
	p, err := m.store.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return p, bus.Errorf(bus.CodeNotFound, "product %s not found", id)
	}
	if err != nil {
		return p, fmt.Errorf("load product %s: %w", id, err)
	}
	return p, nil
}

func (m *Module) get(ctx context.Context, req contract.ProductID) (contract.Product, error) {
	if err := validate.ID("id", req.ID); err != nil {
		return contract.Product{}, err
	}
	p, err := m.load(ctx, req.ID)
	if err != nil {
		return p, err
	}
	if req.PublishedOnly && p.Status != contract.ProductPublished {
		return contract.Product{}, bus.Errorf(bus.CodeNotFound, "product %s not found", req.ID)
	}
	return normal(p), nil
}

func (m *Module) bySlug(ctx context.Context, req contract.ProductSlug) (contract.Product, error) {
	if err := slugs.Validate(req.Slug); err != nil {
		return contract.Product{}, invalid("%v", err)
	}
	p, err := m.store.BySlug(ctx, req.Slug)
	if errors.Is(err, store.ErrNotFound) || err == nil && req.PublishedOnly && p.Status != contract.ProductPublished {
		return contract.Product{}, bus.Errorf(bus.CodeNotFound, "no product with slug %q", req.Slug)
	}
	if err != nil {
		return p, err
	}
	return normal(p), nil
}

// ordered returns the visible products of found in the order of keys, and
// the keys missing.
func ordered(keys []string, found []contract.Product, key func(contract.Product) string, publishedOnly bool) contract.ProductList {
	by := make(map[string]contract.Product, len(found))
	for _, p := range found {
		if !publishedOnly || p.Status == contract.ProductPublished {
			by[key(p)] = p
		}
	}
	list := contract.ProductList{Items: []contract.Product{}, Missing: []string{}}
	for _, k := range keys {
		if p, ok := by[k]; ok {
			list.Items = append(list.Items, normal(p))
		} else {
			list.Missing = append(list.Missing, k)
		}
	}
	return list
}

func checkBatch(field string, n int) error {
	if n == 0 || n > contract.MaxBatch {
		return invalid("%s: %d given, want 1 to %d", field, n, contract.MaxBatch)
	}
	return nil
}

func checkIDs(ids []string) error {
	if err := checkBatch("ids", len(ids)); err != nil {
		return err
	}
	for i, id := range ids {
		if err := validate.ID(fmt.Sprintf("ids[%d]", i), id); err != nil {
			return err
		}
	}
	return nil
}

func (m *Module) getMany(ctx context.Context, req contract.ProductIDs) (contract.ProductList, error) {
	if err := checkIDs(req.IDs); err != nil {
		return contract.ProductList{}, err
	}
	found, err := m.store.GetMany(ctx, req.IDs)
	if err != nil {
		return contract.ProductList{}, err
	}
	return ordered(req.IDs, found, func(p contract.Product) string { return p.ID }, req.PublishedOnly), nil
}

func (m *Module) bySlugs(ctx context.Context, req contract.ProductSlugs) (contract.ProductList, error) {
	if err := checkBatch("slugs", len(req.Slugs)); err != nil {
		return contract.ProductList{}, err
	}
	for i, s := range req.Slugs {
		if err := slugs.Validate(s); err != nil {
			return contract.ProductList{}, invalid("slugs[%d]: %v", i, err)
		}
	}
	found, err := m.store.BySlugs(ctx, req.Slugs)
	if err != nil {
		return contract.ProductList{}, err
	}
	return ordered(req.Slugs, found, func(p contract.Product) string { return p.Slug }, req.PublishedOnly), nil
}

// listQuery checks a list request and turns it into a store query.
func listQuery(req contract.ListProductsRequest) (Query, contract.ProductPage, error) {
	page := contract.ProductPage{Page: req.Page, PageSize: req.PageSize}
	if page.Page == 0 {
		page.Page = 1
	}
	if page.PageSize == 0 {
		page.PageSize = contract.DefaultPageSize
	}
	if page.Page < 1 || page.Page > maxPage {
		return Query{}, page, invalid("page %d: want 1 to %d", req.Page, maxPage)
	}
	if page.PageSize < 1 || page.PageSize > contract.MaxPageSize {
		return Query{}, page, invalid("page_size %d: want 1 to %d", req.PageSize, contract.MaxPageSize)
	}
	if req.CategoryID != "" {
		if err := validate.ID("category_id", req.CategoryID); err != nil {
			return Query{}, page, err
		}
	}
	if req.Status != "" {
		if err := checkStatus("status", req.Status); err != nil {
			return Query{}, page, err
		}
	}
	sortBy := req.Sort
	switch sortBy {
	case "":
		sortBy = contract.SortCreated
	case contract.SortCreated, contract.SortName, contract.SortPrice:
	default:
		return Query{}, page, invalid("sort %q: want created, name or price", req.Sort)
	}
	desc := sortBy == contract.SortCreated
	switch req.Order {
	case "":
	case contract.OrderAsc:
		desc = false
	case contract.OrderDesc:
		desc = true
	default:
		return Query{}, page, invalid("order %q: want asc or desc", req.Order)
	}
	return Query{
		CategoryID: req.CategoryID, Direct: req.CategoryID != "" && !req.IncludeDescendants, Status: req.Status,
		Sort: sortBy, Desc: desc, Offset: (page.Page - 1) * page.PageSize, Limit: page.PageSize,
	}, page, nil
}

// list answers from the store's list index: the category filter, with
// descendants, is one lookup because products are indexed under their
// categories' ancestors (resolved from the category tree at write time,
// and again when the tree changes; see onCategoryChanged).
func (m *Module) list(ctx context.Context, req contract.ListProductsRequest) (contract.ProductPage, error) {
	q, page, err := listQuery(req)
	if err != nil {
		return page, err
	}
	items, total, err := m.store.List(ctx, q)
	if err != nil {
		return page, err
	}
	for i := range items {
		if items[i].CategoryIDs == nil {
			items[i].CategoryIDs = []string{}
		}
	}
	page.Items, page.Total = items, total
	if page.Items == nil {
		page.Items = []contract.ProductSummary{}
	}
	return page, nil
}

func (m *Module) attributeUsage(ctx context.Context, req contract.AttributeUsageRequest) (contract.AttributeUsage, error) {
	if err := validate.Code("code", req.Code); err != nil {
		return contract.AttributeUsage{}, err
	}
	key := req.Code
	if req.Value != "" {
		if err := validate.Code("value", req.Value); err != nil {
			return contract.AttributeUsage{}, err
		}
		key += "=" + req.Value
	}
	n, err := m.store.CountAttribute(ctx, key)
	return contract.AttributeUsage{Count: n}, err
}
