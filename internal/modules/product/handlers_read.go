package product

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"

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

// publishedOnly is whether a read shows published products only: when the
// request asks, and always for a caller who is not an admin — whom the
// caller's principal says, not the request's published_only field, so a
// draft is never shown to the public by a body that leaves the flag out.
func publishedOnly(ctx context.Context, asked bool) bool {
	return asked || !contract.CallerIsAdmin(ctx)
}

func (m *Module) get(ctx context.Context, req contract.ProductID) (contract.Product, error) {
	req.PublishedOnly = publishedOnly(ctx, req.PublishedOnly)
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

func (m *Module) getBySlug(ctx context.Context, req contract.ProductSlug) (contract.Product, error) {
	req.PublishedOnly = publishedOnly(ctx, req.PublishedOnly)
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
	req.PublishedOnly = publishedOnly(ctx, req.PublishedOnly)
	if err := checkIDs(req.IDs); err != nil {
		return contract.ProductList{}, err
	}
	found, err := m.store.GetMany(ctx, req.IDs)
	if err != nil {
		return contract.ProductList{}, err
	}
	return ordered(req.IDs, found, func(p contract.Product) string { return p.ID }, req.PublishedOnly), nil
}

// getVariants answers the variants asked, each with its product's
// name, status, price and stock: one lookup of the variants' products,
// then one read of those products.
func (m *Module) getVariants(ctx context.Context, req contract.VariantIDs) (contract.VariantList, error) {
	req.PublishedOnly = publishedOnly(ctx, req.PublishedOnly)
	if err := checkIDs(req.IDs); err != nil {
		return contract.VariantList{}, err
	}
	owners, err := m.store.ProductsOfVariants(ctx, req.IDs)
	if err != nil {
		return contract.VariantList{}, err
	}
	var productIDs []string
	for _, pid := range owners {
		if !slices.Contains(productIDs, pid) {
			productIDs = append(productIDs, pid)
		}
	}
	found, err := m.store.GetMany(ctx, productIDs)
	if err != nil {
		return contract.VariantList{}, err
	}
	variants := map[string]contract.VariantInfo{}
	for _, p := range found {
		if req.PublishedOnly && p.Status != contract.ProductPublished {
			continue
		}
		p = normal(p)
		var image *contract.Image
		if len(p.Images) > 0 {
			image = &p.Images[0]
		}
		for _, v := range p.Variants {
			variants[v.ID] = contract.VariantInfo{VariantID: v.ID, ProductID: p.ID, ProductName: p.Name, Slug: p.Slug, Status: p.Status,
				SKU: v.SKU, Options: v.Options, Image: image, Currency: p.Currency, Price: v.Price, Stock: v.Stock}
		}
	}
	list := contract.VariantList{Items: []contract.VariantInfo{}, Missing: []string{}}
	for _, id := range req.IDs {
		if v, ok := variants[id]; ok {
			list.Items = append(list.Items, v)
		} else {
			list.Missing = append(list.Missing, id)
		}
	}
	return list, nil
}

func (m *Module) getManyBySlugs(ctx context.Context, req contract.ProductSlugs) (contract.ProductList, error) {
	req.PublishedOnly = publishedOnly(ctx, req.PublishedOnly)
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

// listQuery checks a list request and turns it into a store query for
// one row more than the page, which tells whether there is a next page.
func listQuery(req contract.ListProductsRequest) (Query, error) {
	page, size := req.Page, req.PageSize
	if page == 0 {
		page = 1
	}
	if size == 0 {
		size = contract.DefaultPageSize
	}
	if page < 1 || page > maxPage {
		return Query{}, invalid("page %d: want 1 to %d", req.Page, maxPage)
	}
	if size < 1 || size > contract.MaxPageSize {
		return Query{}, invalid("page_size %d: want 1 to %d", req.PageSize, contract.MaxPageSize)
	}
	if req.CategoryID != "" {
		if err := validate.ID("category_id", req.CategoryID); err != nil {
			return Query{}, err
		}
	}
	if req.Status != "" {
		if err := checkStatus("status", req.Status); err != nil {
			return Query{}, err
		}
	}
	sortBy := req.Sort
	switch sortBy {
	case "":
		sortBy = contract.SortCreated
	case contract.SortCreated, contract.SortName, contract.SortPrice:
	default:
		return Query{}, invalid("sort %q: want created, name or price", req.Sort)
	}
	desc := sortBy == contract.SortCreated
	switch req.Order {
	case "":
	case contract.OrderAsc:
		desc = false
	case contract.OrderDesc:
		desc = true
	default:
		return Query{}, invalid("order %q: want asc or desc", req.Order)
	}
	q := Query{
		CategoryID: req.CategoryID, Direct: req.CategoryID != "" && !req.IncludeDescendants, Status: req.Status,
		Sort: sortBy, Desc: desc, Offset: (page - 1) * size, Limit: size + 1,
	}
	if req.Cursor != "" {
		if page > 1 {
			return Query{}, invalid("cursor: give a cursor or a page, not both")
		}
		after, err := decodeCursor(req.Cursor, sortBy, desc)
		if err != nil {
			return Query{}, err
		}
		q.After = &after
	}
	return q, nil
}

// list answers from the store's list index: the category filter, with
// descendants, is one lookup because products are indexed under their
// categories' ancestors (resolved from the category tree at write time,
// and again when the tree changes; see onCategoryChanged).
func (m *Module) list(ctx context.Context, req contract.ListProductsRequest) (contract.Page[contract.ProductSummary], error) {
	page := contract.Page[contract.ProductSummary]{Items: []contract.ProductSummary{}}
	if publishedOnly(ctx, false) {
		switch req.Status {
		case "":
			req.Status = contract.ProductPublished
		case contract.ProductPublished:
		default:
			return page, bus.Errorf(bus.CodeForbidden, "status %q: only admins list products that are not published", req.Status)
		}
	}
	q, err := listQuery(req)
	if err != nil {
		return page, err
	}
	items, total, err := m.store.List(ctx, q)
	if err != nil {
		return page, err
	}
	if len(items) == q.Limit {
		items = items[:q.Limit-1]
		page.NextCursor = encodeCursor(q.Sort, q.Desc, positionOf(items[len(items)-1]))
	}
	for i := range items {
		if items[i].CategoryIDs == nil {
			items[i].CategoryIDs = []string{}
		}
	}
	if items != nil {
		page.Items = items
	}
	page.Total = total
	return page, nil
}

// cursor is a list position as it travels: opaque to clients (base64url
// of this JSON), and bound to the sort it was made for, so that a cursor
// from one order is refused by another instead of starting at a
// meaningless place.
type cursor struct {
	Sort     string `json:"s"`
	Desc     bool   `json:"d,omitempty"`
	ID       string `json:"id"`
	NameKey  string `json:"n,omitempty"`
	PriceMin int64  `json:"p,omitempty"`
}

// maxCursorLen bounds a cursor: a name key of maxNameLen runes and an id
// fit in well under it.
const maxCursorLen = 2048

func encodeCursor(sortBy string, desc bool, at Position) string {
	c := cursor{Sort: sortBy, Desc: desc, ID: at.ID}
	switch sortBy {
	case contract.SortName:
		c.NameKey = at.NameKey
	case contract.SortPrice:
		c.PriceMin = at.PriceMin
	}
	return base64.RawURLEncoding.EncodeToString([]byte(mustJSON(c)))
}

func decodeCursor(s, sortBy string, desc bool) (Position, error) {
	bad := invalid("cursor: not a cursor of this list; use the next_cursor of the page before, or none for the first page")
	if len(s) > maxCursorLen {
		return Position{}, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Position{}, bad
	}
	var c cursor
	if bus.DecodeStrict(b, &c) != nil || validate.ID("cursor", c.ID) != nil || c.PriceMin < 0 {
		return Position{}, bad
	}
	if c.Sort != sortBy || c.Desc != desc {
		return Position{}, invalid("cursor: made for another sort or order; start again without it")
	}
	return Position{ID: c.ID, NameKey: c.NameKey, PriceMin: c.PriceMin}, nil
}

func (m *Module) countUsingAttribute(ctx context.Context, req contract.AttributeUsageRequest) (contract.AttributeUsage, error) {
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
