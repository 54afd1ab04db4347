package product

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/slugs"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/validate"
)

// Writes to existing products: update, set_status, regenerate_variants,
// delete, delete_many and adjust_stock.

// checkVersionGiven checks an expected version: required (> 0) or
// optional (0: any).
func checkVersionGiven(v int64, required bool) error {
	if v < 0 || v == 0 && required {
		return invalid("version %d: give the version you read (1 or more)", v)
	}
	return nil
}

// write stores p as the next version of the product, with the event ev
// (prev: the status it had, for status_changed) in the same commit.
func (m *Module) write(ctx context.Context, p contract.Product, closure []string, ev bus.EventType[contract.ProductEvent], prev contract.ProductStatus) (contract.Product, error) {
	p.UpdatedAt = m.now()
	err := m.store.Update(ctx, p, closure, announce(ev, func(p contract.Product, closure []string) contract.ProductEvent {
		e := event(p, closure)
		e.PreviousStatus = prev
		return e
	}))
	if err != nil {
		return contract.Product{}, m.insertError(ctx, p, err)
	}
	m.relay.Notify()
	return normal(p), nil
}

func (m *Module) update(ctx context.Context, req contract.UpdateProductRequest) (contract.Product, error) {
	if err := validate.ID("id", req.ID); err != nil {
		return contract.Product{}, err
	}
	if err := checkVersionGiven(req.Version, true); err != nil {
		return contract.Product{}, err
	}
	if req.Name == nil && req.Slug == nil && req.Description == nil && req.CategoryIDs == nil && req.Attributes == nil &&
		req.Options == nil && req.SKU == nil && req.Currency == nil && req.Price == nil && req.Images == nil && len(req.Variants) == 0 {
		return contract.Product{}, invalid("nothing to update: give at least one field")
	}
	var name string
	var err error
	if req.Name != nil {
		if name, err = validate.Name("name", *req.Name, maxNameLen); err != nil {
			return contract.Product{}, err
		}
	}
	if req.Slug != nil {
		if err := slugs.Validate(*req.Slug); err != nil {
			return contract.Product{}, invalid("%v", err)
		}
	}
	if req.Description != nil {
		if err := validate.Text("description", *req.Description, maxDescriptionLen); err != nil {
			return contract.Product{}, err
		}
	}
	if req.CategoryIDs != nil {
		if err := checkCategoryIDs(*req.CategoryIDs); err != nil {
			return contract.Product{}, err
		}
	}
	if req.Options != nil {
		if err := checkOptions(*req.Options); err != nil {
			return contract.Product{}, err
		}
	}
	if req.SKU != nil {
		if err := checkSKU("sku", *req.SKU); err != nil {
			return contract.Product{}, err
		}
	}
	if req.Currency != nil {
		if err := checkCurrency("currency", *req.Currency); err != nil {
			return contract.Product{}, err
		}
	}
	if req.Price != nil {
		if err := checkPrice("price", *req.Price); err != nil {
			return contract.Product{}, err
		}
	}
	if req.Images != nil {
		if err := checkImages(*req.Images); err != nil {
			return contract.Product{}, err
		}
	}
	seen := map[string]int{}
	for i, vp := range req.Variants {
		if err := validate.ID(fmt.Sprintf("variants[%d].id", i), vp.ID); err != nil {
			return contract.Product{}, err
		}
		if j, dup := seen[vp.ID]; dup {
			return contract.Product{}, invalid("variants[%d].id %s: already given as variants[%d]", i, vp.ID, j)
		}
		seen[vp.ID] = i
		if vp.SKU != nil {
			if err := checkSKU(fmt.Sprintf("variants[%d].sku", i), *vp.SKU); err != nil {
				return contract.Product{}, err
			}
		}
		if vp.Price != nil {
			if err := checkPrice(fmt.Sprintf("variants[%d].price", i), *vp.Price); err != nil {
				return contract.Product{}, err
			}
		}
		if vp.CompareAtPrice != nil {
			if err := checkPrice(fmt.Sprintf("variants[%d].compare_at_price", i), *vp.CompareAtPrice); err != nil {
				return contract.Product{}, err
			}
		}
	}
	p, err := m.load(ctx, req.ID)
	if err != nil {
		return p, err
	}
	if p.Version != req.Version {
		return contract.Product{}, bus.Errorf(bus.CodeConflict, "version: product %s is at version %d, not %d; reload it", p.ID, p.Version, req.Version)
	}
	var closure []string
	if req.CategoryIDs != nil {
		cats, err := m.categories(ctx)
		if err != nil {
			return contract.Product{}, err
		}
		if closure, err = cats.closure(*req.CategoryIDs, true); err != nil {
			return contract.Product{}, err
		}
		p.CategoryIDs = slices.Clone(*req.CategoryIDs)
	}
	if req.Attributes != nil {
		if p.Attributes, err = m.attributes(ctx, *req.Attributes); err != nil {
			return contract.Product{}, err
		}
	}
	if req.Options != nil {
		// Checked now (the groups and values must exist); the variants
		// follow at the next regenerate_variants.
		if _, err := m.combinations(ctx, *req.Options); err != nil {
			return contract.Product{}, err
		}
		p.Options = *req.Options
	}
	if req.Name != nil {
		p.Name = name
	}
	if req.Slug != nil {
		p.Slug = *req.Slug
	}
	if req.Description != nil {
		p.Description = *req.Description
	}
	if req.SKU != nil {
		p.SKU = *req.SKU
	}
	if req.Currency != nil {
		p.Currency = *req.Currency
	}
	if req.Price != nil {
		p.Price = *req.Price
	}
	if req.Images != nil {
		p.Images = *req.Images
	}
	p.Variants = slices.Clone(p.Variants)
	for i, vp := range req.Variants {
		k := slices.IndexFunc(p.Variants, func(v contract.Variant) bool { return v.ID == vp.ID })
		if k < 0 {
			return contract.Product{}, invalid("variants[%d].id %s: not a variant of product %s", i, vp.ID, p.ID)
		}
		v := &p.Variants[k]
		if vp.SKU != nil {
			v.SKU = *vp.SKU
		}
		if vp.Price != nil {
			v.Price = *vp.Price
		}
		if vp.CompareAtPrice != nil {
			v.CompareAtPrice = *vp.CompareAtPrice
		}
	}
	priceRange(&p)
	if err := checkVariants(p); err != nil {
		return contract.Product{}, err
	}
	p.Version++
	return m.write(ctx, p, closure, contract.ProductUpdated, "")
}

func (m *Module) setStatus(ctx context.Context, req contract.SetProductStatusRequest) (contract.Product, error) {
	if err := validate.ID("id", req.ID); err != nil {
		return contract.Product{}, err
	}
	if err := checkStatus("status", req.Status); err != nil {
		return contract.Product{}, err
	}
	if err := checkVersionGiven(req.Version, false); err != nil {
		return contract.Product{}, err
	}
	for attempt := 1; ; attempt++ {
		p, err := m.load(ctx, req.ID)
		if err != nil {
			return p, err
		}
		if req.Version > 0 && p.Version != req.Version {
			return contract.Product{}, bus.Errorf(bus.CodeConflict, "version: product %s is at version %d, not %d; reload it", p.ID, p.Version, req.Version)
		}
		if p.Status == req.Status {
			return normal(p), nil
		}
		prev := p.Status
		p.Status = req.Status
		p.Version++
		out, err := m.write(ctx, p, nil, contract.ProductStatusChanged, prev)
		// Without an expected version, a concurrent write is no reason to
		// fail: read again and apply the status to what is there.
		if bus.CodeOf(err) == bus.CodeConflict && req.Version == 0 && attempt < statusAttempts {
			continue
		}
		return out, err
	}
}

func (m *Module) regenerate(ctx context.Context, req contract.RegenerateVariantsRequest) (contract.Product, error) {
	if err := validate.ID("id", req.ID); err != nil {
		return contract.Product{}, err
	}
	if err := checkVersionGiven(req.Version, false); err != nil {
		return contract.Product{}, err
	}
	p, err := m.load(ctx, req.ID)
	if err != nil {
		return p, err
	}
	if req.Version > 0 && p.Version != req.Version {
		return contract.Product{}, bus.Errorf(bus.CodeConflict, "version: product %s is at version %d, not %d; reload it", p.ID, p.Version, req.Version)
	}
	all, err := m.combinations(ctx, p.Options)
	if err != nil {
		return contract.Product{}, err
	}
	bySuffix := make(map[string]contract.Variant, len(p.Variants))
	for _, v := range p.Variants {
		bySuffix[v.SKUSuffix] = v
	}
	variants := make([]contract.Variant, len(all))
	for i, c := range all {
		if v, ok := bySuffix[c.SKUSuffix]; ok {
			v.Options = c.Options // labels may have changed
			variants[i] = v
			continue
		}
		variants[i] = contract.Variant{ID: uuid.Must(uuid.NewV7()).String(), SKU: joinSKU(p.SKU, c.SKUSuffix), SKUSuffix: c.SKUSuffix, Options: c.Options, Price: p.Price}
	}
	p.Variants = variants
	priceRange(&p)
	if err := checkVariants(p); err != nil {
		if bus.CodeOf(err) == bus.CodeInvalid && strings.Contains(err.Error(), "also the SKU") {
			return contract.Product{}, bus.Errorf(bus.CodeConflict, "%s: a kept variant's SKU collides with a new one; change it first", bus.AsError(err).Message)
		}
		return contract.Product{}, err
	}
	p.Version++
	return m.write(ctx, p, nil, contract.ProductUpdated, "")
}

func (m *Module) delete(ctx context.Context, req contract.DeleteProductRequest) (contract.DeleteProductsReply, error) {
	var reply contract.DeleteProductsReply
	if err := validate.ID("id", req.ID); err != nil {
		return reply, err
	}
	if err := checkVersionGiven(req.Version, false); err != nil {
		return reply, err
	}
	switch err := m.store.Delete(ctx, req.ID, req.Version, announce(contract.ProductDeleted, deletedEvent)); {
	case errors.Is(err, store.ErrNotFound):
		return reply, bus.Errorf(bus.CodeNotFound, "product %s not found", req.ID)
	case errors.Is(err, errVersion):
		return reply, bus.Errorf(bus.CodeConflict, "version: product %s is not at version %d; reload it", req.ID, req.Version)
	case err != nil:
		return reply, fmt.Errorf("delete product %s: %w", req.ID, err)
	}
	m.relay.Notify()
	return contract.DeleteProductsReply{Deleted: []string{req.ID}}, nil
}

func (m *Module) deleteMany(ctx context.Context, req contract.ProductIDs) (contract.DeleteProductsReply, error) {
	reply := contract.DeleteProductsReply{Deleted: []string{}}
	if err := checkIDs(req.IDs); err != nil {
		return reply, err
	}
	deleted, err := m.store.DeleteMany(ctx, req.IDs, announce(contract.ProductDeleted, deletedEvent))
	if err != nil {
		return reply, fmt.Errorf("delete %d products: %w", len(req.IDs), err)
	}
	if len(deleted) > 0 {
		m.relay.Notify()
	}
	for _, id := range req.IDs {
		if slices.Contains(deleted, id) && !slices.Contains(reply.Deleted, id) {
			reply.Deleted = append(reply.Deleted, id)
		}
	}
	return reply, nil
}

func (m *Module) adjustStock(ctx context.Context, req contract.AdjustStockRequest) (contract.StockLevel, error) {
	if err := validate.ID("variant_id", req.VariantID); err != nil {
		return contract.StockLevel{}, err
	}
	if req.Delta == 0 || req.Delta < -contract.MaxStock || req.Delta > contract.MaxStock {
		return contract.StockLevel{}, invalid("delta %d: want a non-zero change of at most %d either way", req.Delta, contract.MaxStock)
	}
	l, err := m.store.AdjustStock(ctx, req.VariantID, req.Delta, stockChanged(req.Delta))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return l, bus.Errorf(bus.CodeNotFound, "variant %s not found", req.VariantID)
	case errors.Is(err, errStock):
		return l, bus.Errorf(bus.CodeConflict, "stock of variant %s cannot change by %d: it would fall below 0 (or exceed %d)", req.VariantID, req.Delta, contract.MaxStock)
	case errors.Is(err, errContended):
		return l, bus.Errorf(bus.CodeUnavailable, "stock of variant %s: too many concurrent changes; try again", req.VariantID)
	case err != nil:
		return l, err
	}
	m.relay.Notify()
	return l, nil
}
