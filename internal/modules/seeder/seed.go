package seeder

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
)

// callTimeout bounds each bus call of a run.
const callTimeout = 60 * time.Second

// principal is who the seeder's writes act for: a trusted machine, since
// modules authorise their writes from the caller's principal.
var principal = contract.Principal{Machine: "seeder"}

// callerKey holds, in a context, the principal the seeder's calls act for
// instead (a sample customer, for the cart's calls).
type callerKey struct{}

func withCaller(ctx context.Context, p contract.Principal) context.Context {
	return context.WithValue(ctx, callerKey{}, p)
}

func call[Req, Resp any](ctx context.Context, b bus.Bus, e bus.Endpoint[Req, Resp], req Req) (Resp, error) {
	caller, ok := ctx.Value(callerKey{}).(contract.Principal)
	if !ok {
		caller = principal
	}
	ctx = contract.WithPrincipal(ctx, caller)
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	resp, err := bus.Call(ctx, b, e, req)
	if err != nil {
		return resp, fmt.Errorf("%s/%s: %w", e.Queue, e.Op, err)
	}
	return resp, nil
}

func isNotFound(err error) bool { return errors.Is(err, bus.ErrNotFound) }

// Seed runs the seeder: optionally reset, then categories, attributes,
// options, products, users, articles, the home page's seo override and
// the customers' carts (last: they hold products).
func (m *Module) Seed(ctx context.Context, opts Options, progress Progress) (Summary, error) {
	start := time.Now()
	var sum Summary
	p := &timed{Progress: progress, sum: &sum}
	if opts.Products < 0 {
		return sum, bus.Errorf(bus.CodeInvalid, "products %d: must be 0 or more", opts.Products)
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.Reset {
		if err := m.reset(ctx, opts, p, &sum); err != nil {
			return sum, fmt.Errorf("reset: %w", err)
		}
	}
	cat := &catalogue{options: map[string]contract.OptionGroup{}}
	steps := []func(context.Context, *catalogue, Progress, *Summary) error{m.seedCategories, m.seedAttributes, m.seedOptions}
	for _, step := range steps {
		if err := step(ctx, cat, p, &sum); err != nil {
			return sum, err
		}
	}
	last, err := m.seedProducts(ctx, opts, cat, p, &sum)
	if err != nil {
		return sum, err
	}
	if opts.CatalogueOnly {
		if err := m.awaitReadModels(ctx, last, p); err != nil {
			return sum, err
		}
		sum.Elapsed = time.Since(start)
		return sum, nil
	}
	if err := m.seedUsers(ctx, cat, p, &sum); err != nil {
		return sum, err
	}
	if err := m.seedArticles(ctx, opts, p, &sum); err != nil {
		return sum, err
	}
	if err := m.seedSEO(ctx, p, &sum); err != nil {
		return sum, err
	}
	if err := m.seedCarts(ctx, opts, cat, p, &sum); err != nil {
		return sum, err
	}
	if err := m.awaitReadModels(ctx, last, p); err != nil {
		return sum, err
	}
	sum.Elapsed = time.Since(start)
	return sum, nil
}

// seedCategories creates the tree, parents first, reusing what exists.
func (m *Module) seedCategories(ctx context.Context, cat *catalogue, p Progress, sum *Summary) error {
	plan := categories()
	total := 0
	var count func([]categoryPlan)
	count = func(cs []categoryPlan) {
		for _, c := range cs {
			total++
			count(c.Children)
		}
	}
	count(plan)
	p.Start("categories", total)
	defer p.End()
	var walk func(cs []categoryPlan, parentID string) error
	walk = func(cs []categoryPlan, parentID string) error {
		for _, c := range cs {
			got, err := call(ctx, m.bus, contract.GetCategoryBySlug, contract.CategorySlug{Slug: c.Slug})
			switch {
			case err == nil:
				sum.Categories.Existing++
			case isNotFound(err):
				if got, err = call(ctx, m.bus, contract.CreateCategory, contract.CreateCategoryRequest{Name: c.Name, Slug: c.Slug, ParentID: parentID}); err != nil {
					return fmt.Errorf("category %s: %w", c.Slug, err)
				}
				sum.Categories.Created++
			default:
				return fmt.Errorf("category %s: %w", c.Slug, err)
			}
			p.Add(1)
			if len(c.Children) == 0 {
				cat.leaves = append(cat.leaves, got.ID)
			}
			if err := walk(c.Children, got.ID); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(plan, "")
}

// seedAttributes creates the groups and definitions, reusing what exists.
func (m *Module) seedAttributes(ctx context.Context, _ *catalogue, p Progress, sum *Summary) error {
	plan := attributeGroups()
	p.Start("attributes", len(plan))
	defer p.End()
	groups, err := call(ctx, m.bus, contract.ListAttributeGroups, contract.Empty{})
	if err != nil {
		return err
	}
	for _, g := range plan {
		groupID := ""
		for _, have := range groups.Items {
			if have.Slug == g.Slug {
				groupID = have.ID
			}
		}
		if groupID == "" {
			created, err := call(ctx, m.bus, contract.CreateAttributeGroup, contract.CreateAttributeGroupRequest{Name: g.Name, Slug: g.Slug})
			if err != nil {
				return fmt.Errorf("attribute group %s: %w", g.Slug, err)
			}
			groupID = created.ID
			sum.AttributeGroups.Created++
		} else {
			sum.AttributeGroups.Existing++
		}
		for _, d := range g.Definitions {
			_, err := call(ctx, m.bus, contract.GetAttributeByCode, contract.AttributeCode{Code: d.Code})
			switch {
			case err == nil:
				sum.Attributes.Existing++
			case isNotFound(err):
				d.GroupID = groupID
				if _, err := call(ctx, m.bus, contract.CreateAttributeDefinition, d); err != nil {
					return fmt.Errorf("attribute %s: %w", d.Code, err)
				}
				sum.Attributes.Created++
			default:
				return fmt.Errorf("attribute %s: %w", d.Code, err)
			}
		}
		p.Add(1)
	}
	return nil
}

// seedOptions creates the option groups, reusing what exists.
func (m *Module) seedOptions(ctx context.Context, cat *catalogue, p Progress, sum *Summary) error {
	plan := optionGroups()
	p.Start("option groups", len(plan))
	defer p.End()
	for _, g := range plan {
		got, err := call(ctx, m.bus, contract.GetOptionGroupByCode, contract.OptionGroupCode{Code: g.Code})
		switch {
		case err == nil:
			sum.OptionGroups.Existing++
		case isNotFound(err):
			if got, err = call(ctx, m.bus, contract.CreateOptionGroup, g); err != nil {
				return fmt.Errorf("option group %s: %w", g.Code, err)
			}
			sum.OptionGroups.Created++
		default:
			return fmt.Errorf("option group %s: %w", g.Code, err)
		}
		if len(got.Values) != len(g.Values) {
			return fmt.Errorf("option group %s has %d values, the sample needs %d: reset it first", g.Code, len(got.Values), len(g.Values))
		}
		cat.options[g.Code] = got
		p.Add(1)
	}
	return nil
}

// seedProducts creates the products in batches of contract.MaxBatch,
// several batches in flight, skipping slugs that exist. It returns the
// slug of the last published product each batch created, for
// awaitReadModels.
func (m *Module) seedProducts(ctx context.Context, opts Options, cat *catalogue, p Progress, sum *Summary) ([]string, error) {
	p.Start("products", opts.Products)
	defer p.End()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		slot = make(chan struct{}, opts.Concurrency)
		last []string
	)
	batch := func(lo, hi int) error {
		req := contract.CreateProductsRequest{SkipExisting: true, Items: make([]contract.CreateProductRequest, 0, hi-lo)}
		for i := lo; i < hi; i++ {
			req.Items = append(req.Items, productPlan(opts.Seed, i, cat))
		}
		reply, err := call(ctx, m.bus, contract.CreateProducts, req)
		if err != nil {
			return fmt.Errorf("products %d-%d: %w", lo+1, hi, err)
		}
		for k, r := range reply.Results {
			if r.Result == contract.ItemFailed {
				return fmt.Errorf("product %d (%s): %s: %s", lo+k+1, req.Items[k].Slug, r.Code, r.Message)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		sum.Products.Created += reply.Created
		sum.Products.Existing += reply.Skipped
		p.Add(len(reply.Results))
		for k := len(reply.Results) - 1; k >= 0; k-- {
			if reply.Results[k].Result == contract.ItemCreated && req.Items[k].Status == contract.ProductPublished {
				last = append(last, reply.Results[k].Slug)
				break
			}
		}
		return nil
	}
	for lo := 0; lo < opts.Products && ctx.Err() == nil; lo += contract.MaxBatch {
		hi := min(lo+contract.MaxBatch, opts.Products)
		slot <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slot; wg.Done() }()
			if err := batch(lo, hi); err != nil {
				cancel(err)
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return nil, err
	}
	return last, ctx.Err()
}

// reset deletes what a run with opts creates: the customers' carts, the
// articles and the seo override, then products, options, attributes and
// categories (products first: attributes in use cannot go). The sample
// users stay (auth cannot delete a user); the next run finds them.
func (m *Module) reset(ctx context.Context, opts Options, p Progress, sum *Summary) error {
	if !opts.CatalogueOnly {
		if err := m.resetContent(ctx, p, sum); err != nil {
			return err
		}
	}
	return m.resetCatalogue(ctx, opts, p, sum)
}

// resetContent empties the sample customers' carts and deletes the
// sample articles and the home page's override.
func (m *Module) resetContent(ctx context.Context, p Progress, sum *Summary) error {
	p.Start("reset content", 3)
	defer p.End()
	customers, err := m.sampleCustomers(ctx)
	if err != nil {
		return err
	}
	if err := m.resetCarts(ctx, customers, sum); err != nil {
		return err
	}
	p.Add(1)
	if err := m.resetArticles(ctx, sum); err != nil {
		return err
	}
	p.Add(1)
	if err := m.resetSEO(ctx, sum); err != nil {
		return err
	}
	p.Add(1)
	return nil
}

// resetCatalogue deletes the products, option groups, attributes and
// categories.
func (m *Module) resetCatalogue(ctx context.Context, opts Options, p Progress, sum *Summary) error {
	p.Start("reset products", opts.Products)
	for lo := 0; lo < opts.Products; lo += contract.MaxBatch {
		hi := min(lo+contract.MaxBatch, opts.Products)
		slugs := make([]string, 0, hi-lo)
		for i := lo; i < hi; i++ {
			slugs = append(slugs, productSlug(opts.Seed, i))
		}
		found, err := call(ctx, m.bus, contract.GetProductsBySlugs, contract.ProductSlugs{Slugs: slugs})
		if err != nil {
			return err
		}
		if len(found.Items) > 0 {
			ids := make([]string, len(found.Items))
			for k, it := range found.Items {
				ids[k] = it.ID
			}
			del, err := call(ctx, m.bus, contract.DeleteProducts, contract.ProductIDs{IDs: ids})
			if err != nil {
				return err
			}
			sum.Products.Deleted += len(del.Deleted)
		}
		p.Add(hi - lo)
	}
	p.End()

	p.Start("reset catalogue", 3)
	defer p.End()
	for _, g := range optionGroups() {
		got, err := call(ctx, m.bus, contract.GetOptionGroupByCode, contract.OptionGroupCode{Code: g.Code})
		if isNotFound(err) {
			continue
		} else if err != nil {
			return err
		}
		if _, err := call(ctx, m.bus, contract.DeleteOptionGroup, contract.DeleteOptionGroupRequest{ID: got.ID, Version: got.Version}); err != nil {
			return err
		}
		sum.OptionGroups.Deleted++
	}
	p.Add(1)
	groups, err := call(ctx, m.bus, contract.ListAttributeGroups, contract.Empty{})
	if err != nil {
		return err
	}
	for _, g := range attributeGroups() {
		for _, d := range g.Definitions {
			got, err := call(ctx, m.bus, contract.GetAttributeByCode, contract.AttributeCode{Code: d.Code})
			if isNotFound(err) {
				continue
			} else if err != nil {
				return err
			}
			if _, err := call(ctx, m.bus, contract.DeleteAttributeDefinition, contract.DeleteAttributeDefinitionRequest{ID: got.ID, Version: got.Version}); err != nil {
				return fmt.Errorf("attribute %s: %w", d.Code, err)
			}
			sum.Attributes.Deleted++
		}
		for _, have := range groups.Items {
			if have.Slug == g.Slug {
				// Read again: deleting a group renumbers (and so versions)
				// the ones after it.
				cur, err := call(ctx, m.bus, contract.GetAttributeGroup, contract.AttributeGroupID{ID: have.ID})
				if err != nil {
					return fmt.Errorf("attribute group %s: %w", g.Slug, err)
				}
				if _, err := call(ctx, m.bus, contract.DeleteAttributeGroup, contract.DeleteAttributeGroupRequest{ID: cur.ID, Version: cur.Version}); err != nil {
					return fmt.Errorf("attribute group %s: %w", g.Slug, err)
				}
				sum.AttributeGroups.Deleted++
			}
		}
	}
	p.Add(1)
	for _, root := range categories() {
		got, err := call(ctx, m.bus, contract.GetCategoryBySlug, contract.CategorySlug{Slug: root.Slug})
		if isNotFound(err) {
			continue
		} else if err != nil {
			return err
		}
		del, err := call(ctx, m.bus, contract.DeleteCategory, contract.DeleteCategoryRequest{ID: got.ID, Version: got.Version, Cascade: true})
		if err != nil {
			return fmt.Errorf("category %s: %w", root.Slug, err)
		}
		sum.Categories.Deleted += len(del.Deleted)
	}
	p.Add(1)
	return nil
}
