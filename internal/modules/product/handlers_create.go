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

// create and create_many: a request is checked and turned into a draft,
// which the store inserts under the next free slug.

// draft is a checked new product and how to retry it under the next slug.
type draft struct {
	p           contract.Product
	closure     []string
	base        string // slug base
	slugGiven   bool
	skuGiven    bool
	explicitSKU []bool
}

// candidate returns the product under the n-th slug candidate, with the
// SKUs derived from the slug following it.
func (d *draft) candidate(n int) (contract.Product, bool) {
	if d.slugGiven || n > slugs.Attempts {
		return contract.Product{}, false
	}
	p := d.p
	p.Slug = slugs.Nth(d.base, n)
	if !d.skuGiven {
		p.SKU = skuOf(p.Slug)
		p.Variants = slices.Clone(p.Variants)
		for i := range p.Variants {
			if !d.explicitSKU[i] {
				p.Variants[i].SKU = joinSKU(p.SKU, p.Variants[i].SKUSuffix)
			}
		}
	}
	return p, true
}

// item is the draft for Insert, announced by product.created.
func (d *draft) item(skip bool) NewProduct {
	return NewProduct{Product: d.p, Closure: d.closure, SkipExisting: skip, Next: d.candidate, RetrySKU: !d.skuGiven && !d.slugGiven,
		Events: announce(contract.ProductCreated, event)}
}

// prepare checks a create request and builds the product.
func (m *Module) prepare(ctx context.Context, req contract.CreateProductRequest, cats categoryIndex, combos combinations, check attributeCheck) (*draft, error) {
	name, err := validate.Name("name", req.Name, maxNameLen)
	if err != nil {
		return nil, err
	}
	if err := validate.Text("description", req.Description, maxDescriptionLen); err != nil {
		return nil, err
	}
	d := &draft{base: req.Slug, slugGiven: req.Slug != "", skuGiven: req.SKU != ""}
	if d.slugGiven {
		if err := slugs.Validate(req.Slug); err != nil {
			return nil, invalid("%v", err)
		}
	} else {
		d.base = slugs.Make(name, "product")
	}
	status := req.Status
	if status == "" {
		status = contract.ProductDraft
	}
	if err := checkStatus("status", status); err != nil {
		return nil, err
	}
	if err := checkCategoryIDs(req.CategoryIDs); err != nil {
		return nil, err
	}
	if d.closure, err = cats.closure(req.CategoryIDs, true); err != nil {
		return nil, err
	}
	if err := checkOptions(req.Options); err != nil {
		return nil, err
	}
	if d.skuGiven {
		if err := checkSKU("sku", req.SKU); err != nil {
			return nil, err
		}
	}
	if err := checkCurrency("currency", req.Currency); err != nil {
		return nil, err
	}
	if err := checkPrice("price", req.Price); err != nil {
		return nil, err
	}
	if err := checkImages(req.Images); err != nil {
		return nil, err
	}
	for i, v := range req.Variants {
		if v.SKU != "" {
			if err := checkSKU(fmt.Sprintf("variants[%d].sku", i), v.SKU); err != nil {
				return nil, err
			}
		}
		if err := checkStock(fmt.Sprintf("variants[%d].stock", i), v.Stock); err != nil {
			return nil, err
		}
		for k, id := range v.OptionValueIDs {
			if err := validate.ID(fmt.Sprintf("variants[%d].option_value_ids[%d]", i, k), id); err != nil {
				return nil, err
			}
		}
	}
	if len(req.Options) == 0 && len(req.Variants) > 1 {
		return nil, invalid("variants: a product without options has one variant; %d given", len(req.Variants))
	}
	attrs, err := check(ctx, req.Attributes)
	if err != nil {
		return nil, err
	}
	all, err := combos(ctx, req.Options)
	if err != nil {
		return nil, err
	}
	now := m.now()
	p := contract.Product{
		ID: uuid.Must(uuid.NewV7()).String(), Name: name, Slug: d.base, Description: req.Description, Status: status,
		CategoryIDs: slices.Clone(req.CategoryIDs), Attributes: attrs, Options: req.Options, SKU: req.SKU,
		Currency: req.Currency, Price: req.Price, Images: req.Images, Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	if !d.skuGiven {
		p.SKU = skuOf(p.Slug)
		if err := checkSKU("sku (generated from the slug; give one)", p.SKU); err != nil {
			return nil, err
		}
	}
	newVariant := func(c contract.VariantCombination) contract.Variant {
		return contract.Variant{ID: uuid.Must(uuid.NewV7()).String(), SKU: joinSKU(p.SKU, c.SKUSuffix), SKUSuffix: c.SKUSuffix, Options: c.Options, Price: p.Price}
	}
	if len(req.Variants) == 0 {
		for _, c := range all {
			p.Variants = append(p.Variants, newVariant(c))
			d.explicitSKU = append(d.explicitSKU, false)
		}
	}
	used := map[int]int{} // combination → variant input
	for i, in := range req.Variants {
		k := slices.IndexFunc(all, func(c contract.VariantCombination) bool { return sameValues(c.Options, in.OptionValueIDs) })
		if k < 0 {
			return nil, invalid("variants[%d].option_value_ids: %v is not a combination of the product's options (one value id per option group)", i, in.OptionValueIDs)
		}
		if j, dup := used[k]; dup {
			return nil, invalid("variants[%d].option_value_ids: the same combination as variants[%d]", i, j)
		}
		used[k] = i
		v := newVariant(all[k])
		if in.SKU != "" {
			v.SKU = in.SKU
		}
		if in.Price != nil {
			if err := checkPrice(fmt.Sprintf("variants[%d].price", i), *in.Price); err != nil {
				return nil, err
			}
			v.Price = *in.Price
		}
		v.CompareAtPrice, v.Stock = in.CompareAtPrice, in.Stock
		p.Variants = append(p.Variants, v)
		d.explicitSKU = append(d.explicitSKU, in.SKU != "")
	}
	priceRange(&p)
	if err := checkVariants(p); err != nil {
		return nil, err
	}
	d.p = p
	return d, nil
}

// sameValues reports whether a combination is the one picked by value ids.
func sameValues(opts []contract.VariantOption, valueIDs []string) bool {
	if len(opts) != len(valueIDs) {
		return false
	}
	for _, o := range opts {
		if !slices.Contains(valueIDs, o.ValueID) {
			return false
		}
	}
	return true
}

// insertError turns a failed insert or update into the bus error.
func (m *Module) insertError(ctx context.Context, p contract.Product, err error) error {
	switch {
	case errors.Is(err, errSlugTaken):
		return bus.Errorf(bus.CodeConflict, "slug %q is taken", p.Slug)
	case errors.Is(err, errSKUTaken):
		taken, ferr := m.store.SKUsTaken(ctx, skus(p.Variants), p.ID)
		if ferr != nil || len(taken) == 0 {
			return bus.Errorf(bus.CodeConflict, "sku: a SKU of the product is taken by another product")
		}
		return bus.Errorf(bus.CodeConflict, "sku: %s taken by another product", strings.Join(taken, ", "))
	case errors.Is(err, errVersion):
		return bus.Errorf(bus.CodeConflict, "version: product %s was changed since version %d; reload it", p.ID, p.Version-1)
	case errors.Is(err, store.ErrNotFound):
		return bus.Errorf(bus.CodeNotFound, "product %s not found", p.ID)
	}
	return err
}

func (m *Module) create(ctx context.Context, req contract.CreateProductRequest) (contract.Product, error) {
	cats, err := m.categories(ctx)
	if err != nil {
		return contract.Product{}, err
	}
	d, err := m.prepare(ctx, req, cats, m.combinations, m.attributes)
	if err != nil {
		return contract.Product{}, err
	}
	res, err := m.store.Insert(ctx, []NewProduct{d.item(false)})
	if err != nil {
		return contract.Product{}, err
	}
	if res[0].Err != nil {
		p := d.p
		if res[0].Slug != "" {
			p.Slug = res[0].Slug
		}
		return contract.Product{}, m.insertError(ctx, p, res[0].Err)
	}
	m.relay.Notify()
	return normal(res[0].Product), nil
}

func (m *Module) createMany(ctx context.Context, req contract.CreateProductsRequest) (contract.CreateProductsReply, error) {
	var reply contract.CreateProductsReply
	if len(req.Items) == 0 || len(req.Items) > contract.MaxBatch {
		return reply, invalid("items: %d given, want 1 to %d", len(req.Items), contract.MaxBatch)
	}
	cats, err := m.categories(ctx)
	if err != nil {
		return reply, err
	}
	combos := m.cachedCombinations()
	checks := m.attributesOf(ctx, req.Items)
	reply.Results = make([]contract.CreateProductResult, len(req.Items))
	var items []NewProduct
	var drafts []*draft
	var at []int
	for i, in := range req.Items {
		d, err := m.prepare(ctx, in, cats, combos, checks[i])
		if err != nil {
			be := bus.AsError(err)
			if be.Code == bus.CodeInternal {
				return reply, err
			}
			reply.Results[i] = contract.CreateProductResult{Result: contract.ItemFailed, Code: be.Code, Message: fmt.Sprintf("items[%d]: %s", i, be.Message)}
			continue
		}
		items, drafts, at = append(items, d.item(req.SkipExisting)), append(drafts, d), append(at, i)
	}
	if len(items) > 0 {
		res, err := m.store.Insert(ctx, items)
		m.relay.Notify() // a no-op if nothing was created
		if err != nil {
			if res == nil {
				return reply, err
			}
			// Some were created before a hard error (MongoDB without a
			// transaction): answer them as created, the rest as failed.
			m.log.ErrorContext(ctx, "create_many stopped part-way", "err", err)
		}
		for k, r := range res {
			i := at[k]
			switch {
			case r.Err != nil && !errors.Is(r.Err, store.ErrDuplicate):
				reply.Results[i] = contract.CreateProductResult{Result: contract.ItemFailed, Code: bus.CodeInternal, Message: fmt.Sprintf("items[%d]: not created: %v", i, r.Err)}
			case r.Skipped:
				reply.Results[i] = contract.CreateProductResult{Result: contract.ItemSkipped, ID: r.ID, Slug: r.Slug}
			case r.Err != nil:
				p := drafts[k].p
				p.Slug = r.Slug
				be := bus.AsError(m.insertError(ctx, p, r.Err))
				reply.Results[i] = contract.CreateProductResult{Result: contract.ItemFailed, Code: be.Code, Message: fmt.Sprintf("items[%d]: %s", i, be.Message)}
			default:
				reply.Results[i] = contract.CreateProductResult{Result: contract.ItemCreated, ID: r.ID, Slug: r.Slug}
			}
		}
	}
	for _, r := range reply.Results {
		switch r.Result {
		case contract.ItemCreated:
			reply.Created++
		case contract.ItemSkipped:
			reply.Skipped++
		default:
			reply.Failed++
		}
	}
	return reply, nil
}
