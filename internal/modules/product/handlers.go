package product

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/slugs"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/validate"
)

const (
	maxNameLen        = 200
	maxDescriptionLen = 20_000
	maxSKULen         = 150
	maxURLLen         = 2000
	maxAltLen         = 500
	maxOptionGroups   = 10
	maxPage           = 100_000
	// maxProductSize keeps a product (with up to
	// contract.MaxVariantCombinations variants) well within a bus message.
	maxProductSize = bus.MaxBodySize / 2
	// statusAttempts bounds the re-reads of a write without an expected
	// version that lost a race.
	statusAttempts = 5
)

var (
	skuRE      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
)

func invalid(format string, args ...any) error { return bus.Errorf(bus.CodeInvalid, format, args...) }

func checkStatus(field string, s contract.ProductStatus) error {
	switch s {
	case contract.ProductDraft, contract.ProductPublished, contract.ProductArchived:
		return nil
	}
	return invalid("%s %q: want draft, published or archived", field, s)
}

func checkSKU(field, sku string) error {
	if sku == "" {
		return invalid("%s: required", field)
	}
	if len(sku) > maxSKULen || !skuRE.MatchString(sku) {
		return invalid("%s %.40q: use letters, digits, '.', '_' and '-', starting with a letter or digit, at most %d", field, sku, maxSKULen)
	}
	return nil
}

func checkCurrency(field, c string) error {
	if !currencyRE.MatchString(c) {
		return invalid("%s %q: want an ISO 4217 code of 3 upper-case letters (EUR)", field, c)
	}
	return nil
}

func checkPrice(field string, v int64) error {
	if v < 0 || v > contract.MaxPrice {
		return invalid("%s %d: want 0 to %d minor units", field, v, contract.MaxPrice)
	}
	return nil
}

func checkCompareAt(field string, v, price int64) error {
	if v == 0 {
		return nil
	}
	if err := checkPrice(field, v); err != nil {
		return err
	}
	if v < price {
		return invalid("%s %d: must not be below the price %d", field, v, price)
	}
	return nil
}

func checkCategoryIDs(ids []string) error {
	if len(ids) == 0 {
		return invalid("category_ids: at least one category is required")
	}
	if len(ids) > contract.MaxProductCategories {
		return invalid("category_ids: %d given, at most %d", len(ids), contract.MaxProductCategories)
	}
	for i, id := range ids {
		if err := validate.ID(fmt.Sprintf("category_ids[%d]", i), id); err != nil {
			return err
		}
		if j := slices.Index(ids[:i], id); j >= 0 {
			return invalid("category_ids[%d] %s: already given as category_ids[%d]", i, id, j)
		}
	}
	return nil
}

func checkOptions(sels []contract.VariantSelection) error {
	if len(sels) > maxOptionGroups {
		return invalid("options: %d groups given, at most %d", len(sels), maxOptionGroups)
	}
	for i, s := range sels {
		if err := validate.ID(fmt.Sprintf("options[%d].group_id", i), s.GroupID); err != nil {
			return err
		}
		for k, v := range s.ValueIDs {
			if err := validate.ID(fmt.Sprintf("options[%d].value_ids[%d]", i, k), v); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkImages(images []contract.Image) error {
	if len(images) > contract.MaxProductImages {
		return invalid("images: %d given, at most %d", len(images), contract.MaxProductImages)
	}
	for i, im := range images {
		field := fmt.Sprintf("images[%d].url", i)
		if im.URL == "" {
			return invalid("%s: required", field)
		}
		if len(im.URL) > maxURLLen || !utf8.ValidString(im.URL) || strings.ContainsAny(im.URL, " \t\r\n") {
			return invalid("%s: not a URL of at most %d characters without spaces", field, maxURLLen)
		}
		u, err := url.Parse(im.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return invalid("%s %.60q: want an absolute http or https URL", field, im.URL)
		}
		if len(im.Alt) > 0 {
			if _, err := validate.Name(fmt.Sprintf("images[%d].alt", i), im.Alt, maxAltLen); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkStock(field string, v int64) error {
	if v < 0 || v > contract.MaxStock {
		return invalid("%s %d: want 0 to %d", field, v, contract.MaxStock)
	}
	return nil
}

// joinSKU is a generated variant's SKU: the base and the option suffix.
func joinSKU(base, suffix string) string {
	if suffix == "" {
		return base
	}
	return base + "-" + suffix
}

// skuOf is the base SKU generated from a slug.
func skuOf(slug string) string { return strings.ToUpper(slug) }

// priceRange sets the product's price range from its variants.
func priceRange(p *contract.Product) {
	p.PriceMin, p.PriceMax, p.TotalStock = 0, 0, 0
	for i, v := range p.Variants {
		if i == 0 || v.Price < p.PriceMin {
			p.PriceMin = v.Price
		}
		if v.Price > p.PriceMax {
			p.PriceMax = v.Price
		}
		p.TotalStock += v.Stock
	}
}

// checkVariants checks what every write must leave true of the variants.
func checkVariants(p contract.Product) error {
	if len(p.Variants) == 0 {
		return invalid("variants: a product needs at least one")
	}
	seen := make(map[string]int, len(p.Variants))
	for i, v := range p.Variants {
		if err := checkSKU(fmt.Sprintf("variants[%d].sku", i), v.SKU); err != nil {
			return err
		}
		if j, dup := seen[v.SKU]; dup {
			return invalid("variants[%d].sku %q: also the SKU of variants[%d]", i, v.SKU, j)
		}
		seen[v.SKU] = i
		if err := checkPrice(fmt.Sprintf("variants[%d].price", i), v.Price); err != nil {
			return err
		}
		if err := checkCompareAt(fmt.Sprintf("variants[%d].compare_at_price", i), v.CompareAtPrice, v.Price); err != nil {
			return err
		}
	}
	if b, err := json.Marshal(p); err != nil || len(b) > maxProductSize {
		return invalid("variants: the product would be %d bytes, over the limit of %d; use fewer options", len(b), maxProductSize)
	}
	return nil
}

// normal gives a product's empty lists and maps as [] and {} on the wire.
func normal(p contract.Product) contract.Product {
	if p.CategoryIDs == nil {
		p.CategoryIDs = []string{}
	}
	if p.Attributes == nil {
		p.Attributes = contract.AttributeValues{}
	}
	if p.Options == nil {
		p.Options = []contract.VariantSelection{}
	}
	if p.Images == nil {
		p.Images = []contract.Image{}
	}
	if p.Variants == nil {
		p.Variants = []contract.Variant{}
	}
	for i := range p.Variants {
		if p.Variants[i].Options == nil {
			p.Variants[i].Options = []contract.VariantOption{}
		}
	}
	return p
}

// --- other modules, over the bus ---

// categoryIndex is the category tree as child → parent.
type categoryIndex map[string]string

// categories reads the category tree from the category module (one call,
// cached there).
func (m *Module) categories(ctx context.Context) (categoryIndex, error) {
	tree, err := bus.Call(ctx, m.Bus, contract.GetCategoryTree, contract.Empty{})
	if err != nil {
		return nil, fmt.Errorf("category tree: %w", err)
	}
	ix := make(categoryIndex, tree.Count)
	var walk func(parent string, nodes []contract.CategoryNode)
	walk = func(parent string, nodes []contract.CategoryNode) {
		for _, n := range nodes {
			ix[n.ID] = parent
			walk(n.ID, n.Children)
		}
	}
	walk("", tree.Roots)
	return ix, nil
}

// closure returns ids and all their ancestors, sorted. With strict, an id
// not in the tree is invalid; without, it stands for itself.
func (ix categoryIndex) closure(ids []string, strict bool) ([]string, error) {
	seen := map[string]bool{}
	for i, id := range ids {
		if _, ok := ix[id]; !ok && strict {
			return nil, invalid("category_ids[%d] %s: no such category", i, id)
		}
		for c, depth := id, 0; c != "" && !seen[c] && depth <= 100; c, depth = ix[c], depth+1 {
			seen[c] = true
		}
	}
	out := make([]string, 0, len(seen))
	for c := range seen {
		out = append(out, c)
	}
	sort.Strings(out)
	return out, nil
}

// attributes checks values with the attribute module and returns them
// normalised.
func (m *Module) attributes(ctx context.Context, values contract.AttributeValues) (contract.AttributeValues, error) {
	if values == nil {
		values = contract.AttributeValues{}
	}
	reply, err := bus.Call(ctx, m.Bus, contract.ValidateAttributes, contract.ValidateAttributesRequest{Values: values})
	if err != nil {
		if be := bus.AsError(err); be.Code == bus.CodeInvalid {
			return nil, invalid("attributes: %s", be.Message)
		}
		return nil, fmt.Errorf("validate attributes: %w", err)
	}
	if !reply.Valid || len(reply.Problems) > 0 {
		msgs := make([]string, len(reply.Problems))
		for i, p := range reply.Problems {
			msgs[i] = fmt.Sprintf("%s: %s (%s)", p.Code, p.Message, p.Problem)
		}
		if len(msgs) == 0 {
			msgs = []string{"refused by the attribute module"}
		}
		return nil, invalid("attributes: %s", strings.Join(msgs, "; "))
	}
	if reply.Values != nil {
		return reply.Values, nil
	}
	return values, nil
}

// combinations asks the option module for the variants of sels; a product
// without options has one combination, with no options and no suffix.
type combinations func(ctx context.Context, sels []contract.VariantSelection) ([]contract.VariantCombination, error)

func (m *Module) combinations(ctx context.Context, sels []contract.VariantSelection) ([]contract.VariantCombination, error) {
	if len(sels) == 0 {
		return []contract.VariantCombination{{Options: []contract.VariantOption{}}}, nil
	}
	reply, err := bus.Call(ctx, m.Bus, contract.GenerateVariants, contract.GenerateVariantsRequest{Groups: sels})
	if err != nil {
		if be := bus.AsError(err); be.Code == bus.CodeInvalid {
			return nil, invalid("options: %s", be.Message)
		}
		return nil, fmt.Errorf("generate variants: %w", err)
	}
	return reply.Variants, nil
}

// cachedCombinations answers repeated selections (a batch of products
// sharing their options) from one call each.
func (m *Module) cachedCombinations() combinations {
	cache := map[string][]contract.VariantCombination{}
	return func(ctx context.Context, sels []contract.VariantSelection) ([]contract.VariantCombination, error) {
		key := mustJSON(sels)
		if c, ok := cache[key]; ok {
			return c, nil
		}
		c, err := m.combinations(ctx, sels)
		if err == nil {
			cache[key] = c
		}
		return c, err
	}
}

// --- create ---

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

func (d *draft) item(skip bool) NewProduct {
	return NewProduct{Product: d.p, Closure: d.closure, SkipExisting: skip, Next: d.candidate, RetrySKU: !d.skuGiven && !d.slugGiven}
}

// prepare checks a create request and builds the product.
func (m *Module) prepare(ctx context.Context, req contract.CreateProductRequest, cats categoryIndex, combos combinations) (*draft, error) {
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
	attrs, err := m.attributes(ctx, req.Attributes)
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
	d, err := m.prepare(ctx, req, cats, m.combinations)
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
	p := res[0].Product
	m.publish(ctx, contract.ProductCreated, event(p, d.closure))
	return normal(p), nil
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
	reply.Results = make([]contract.CreateProductResult, len(req.Items))
	var items []NewProduct
	var drafts []*draft
	var at []int
	for i, in := range req.Items {
		d, err := m.prepare(ctx, in, cats, combos)
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
		if err != nil {
			return reply, err
		}
		for k, r := range res {
			i := at[k]
			switch {
			case r.Skipped:
				reply.Results[i] = contract.CreateProductResult{Result: contract.ItemSkipped, ID: r.ID, Slug: r.Slug}
			case r.Err != nil:
				p := drafts[k].p
				p.Slug = r.Slug
				be := bus.AsError(m.insertError(ctx, p, r.Err))
				reply.Results[i] = contract.CreateProductResult{Result: contract.ItemFailed, Code: be.Code, Message: fmt.Sprintf("items[%d]: %s", i, be.Message)}
			default:
				reply.Results[i] = contract.CreateProductResult{Result: contract.ItemCreated, ID: r.ID, Slug: r.Slug}
				m.publish(ctx, contract.ProductCreated, event(r.Product, drafts[k].closure))
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

// --- reads ---

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

// --- writes to existing products ---

// checkVersionGiven checks an expected version: required (> 0) or
// optional (0: any).
func checkVersionGiven(v int64, required bool) error {
	if v < 0 || v == 0 && required {
		return invalid("version %d: give the version you read (1 or more)", v)
	}
	return nil
}

// write stores p as the next version of old and publishes ev.
func (m *Module) write(ctx context.Context, p contract.Product, closure []string, ev bus.EventType[contract.ProductEvent], prev contract.ProductStatus) (contract.Product, error) {
	p.UpdatedAt = m.now()
	if err := m.store.Update(ctx, p, closure); err != nil {
		return contract.Product{}, m.insertError(ctx, p, err)
	}
	if closure == nil {
		var err error
		if closure, err = m.store.Closure(ctx, p.ID); err != nil {
			m.log.Error("product event not published", "topic", ev.Topic, "id", p.ID, "err", err)
			return normal(p), nil
		}
	}
	e := event(p, closure)
	e.PreviousStatus = prev
	m.publish(ctx, ev, e)
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
	p, err := m.load(ctx, req.ID)
	if err != nil {
		return reply, err
	}
	closure, err := m.store.Closure(ctx, p.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return reply, err
	}
	switch err := m.store.Delete(ctx, req.ID, req.Version); {
	case errors.Is(err, store.ErrNotFound):
		return reply, bus.Errorf(bus.CodeNotFound, "product %s not found", req.ID)
	case errors.Is(err, errVersion):
		return reply, bus.Errorf(bus.CodeConflict, "version: product %s is not at version %d; reload it", req.ID, req.Version)
	case err != nil:
		return reply, err
	}
	m.publish(ctx, contract.ProductDeleted, event(p, closure))
	return contract.DeleteProductsReply{Deleted: []string{p.ID}}, nil
}

func (m *Module) deleteMany(ctx context.Context, req contract.ProductIDs) (contract.DeleteProductsReply, error) {
	reply := contract.DeleteProductsReply{Deleted: []string{}}
	if err := checkIDs(req.IDs); err != nil {
		return reply, err
	}
	found, err := m.store.GetMany(ctx, req.IDs)
	if err != nil {
		return reply, err
	}
	closures := make(map[string][]string, len(found))
	for _, p := range found {
		if closures[p.ID], err = m.store.Closure(ctx, p.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return reply, err
		}
	}
	deleted, err := m.store.DeleteMany(ctx, req.IDs)
	if err != nil {
		return reply, err
	}
	for _, p := range found {
		if slices.Contains(deleted, p.ID) {
			m.publish(ctx, contract.ProductDeleted, event(p, closures[p.ID]))
		}
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
	l, err := m.store.AdjustStock(ctx, req.VariantID, req.Delta)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return l, bus.Errorf(bus.CodeNotFound, "variant %s not found", req.VariantID)
	case errors.Is(err, errStock):
		return l, bus.Errorf(bus.CodeConflict, "stock of variant %s cannot change by %d: it would fall below 0 (or exceed %d)", req.VariantID, req.Delta, contract.MaxStock)
	case err != nil:
		return l, err
	}
	p, err := m.store.Get(ctx, l.ProductID)
	if err != nil {
		m.log.Error("product event not published", "topic", contract.ProductStockChanged.Topic, "variant", l.VariantID, "err", err)
		return l, nil
	}
	for _, v := range p.Variants {
		if v.ID == l.VariantID {
			l.SKU = v.SKU
		}
	}
	closure, err := m.store.Closure(ctx, p.ID)
	if err != nil {
		m.log.Error("product event not published", "topic", contract.ProductStockChanged.Topic, "variant", l.VariantID, "err", err)
		return l, nil
	}
	e := event(p, closure)
	e.Variants = []contract.VariantStock{{VariantID: l.VariantID, SKU: l.SKU, Stock: l.Stock, Delta: req.Delta}}
	m.publish(ctx, contract.ProductStockChanged, e)
	return l, nil
}

// onCategoryChanged re-indexes the products under a category that moved
// (their ancestors changed) or was deleted. Products keep their category
// ids; a deleted one stands for itself, with no ancestors.
func (m *Module) onCategoryChanged(ctx context.Context, ev contract.CategoryEvent, _ *bus.Event) error {
	affected, err := m.store.InCategory(ctx, ev.ID)
	if err != nil || len(affected) == 0 {
		return err
	}
	cats, err := m.categories(ctx)
	if err != nil {
		return err
	}
	closures := make(map[string][]string, len(affected))
	for id, direct := range affected {
		closures[id], _ = cats.closure(direct, false)
	}
	return m.store.SetClosures(ctx, closures)
}

// --- events ---

func event(p contract.Product, closure []string) contract.ProductEvent {
	p = normal(p)
	if closure == nil {
		closure = []string{}
	}
	var total int64
	for _, v := range p.Variants {
		total += v.Stock
	}
	return contract.ProductEvent{
		ID: p.ID, Slug: p.Slug, Name: p.Name, Status: p.Status, CategoryIDs: p.CategoryIDs, AllCategoryIDs: closure,
		Attributes: p.Attributes, Currency: p.Currency, PriceMin: p.PriceMin, PriceMax: p.PriceMax, TotalStock: total, Version: p.Version,
	}
}

// publish sends an event after the write it reports. The write stands if
// publishing fails; the failure is logged for the operator (there is no
// outbox yet, so such an event is lost).
func (m *Module) publish(ctx context.Context, ev bus.EventType[contract.ProductEvent], payload contract.ProductEvent) {
	if err := bus.Emit(ctx, m.Bus, ev, payload); err != nil {
		m.log.Error("product event not published", "topic", ev.Topic, "id", payload.ID, "err", err)
	}
}
