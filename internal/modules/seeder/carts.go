package seeder

import (
	"context"
	"fmt"

	"github.com/shopengine/shop/internal/contract"
)

// cartCandidates is how many of the first sample products carts draw
// from: enough that every customer's lines differ, few enough for one
// get_many_by_slugs.
const cartCandidates = 40

// cartVariants returns the variants carts may hold: those of the first
// sample products that are published and have stock for two.
func (m *Module) cartVariants(ctx context.Context, opts Options) ([]contract.Variant, error) {
	n := min(opts.Products, cartCandidates)
	slugs := make([]string, n)
	for i := range n {
		slugs[i] = productSlug(opts.Seed, i)
	}
	if n == 0 {
		return nil, nil
	}
	found, err := call(ctx, m.bus, contract.GetProductsBySlugs, contract.ProductSlugs{Slugs: slugs, PublishedOnly: true})
	if err != nil {
		return nil, fmt.Errorf("cart products: %w", err)
	}
	var out []contract.Variant
	for _, p := range found.Items {
		for _, v := range p.Variants {
			if v.Stock >= 2 {
				out = append(out, v)
			}
		}
	}
	return out, nil
}

// seedCarts gives every sample customer a cart of one to three lines
// drawn from the seed, acting as the customer (the cart module takes the
// user from the caller principal). A cart that has lines already is left
// as it is: the customer may have shopped since.
func (m *Module) seedCarts(ctx context.Context, opts Options, cat *catalogue, p Progress, sum *Summary) error {
	var customers []contract.User
	for _, u := range cat.users {
		if u.Role == contract.RoleCustomer {
			customers = append(customers, u)
		}
	}
	p.Start("carts", len(customers))
	defer p.End()
	variants, err := m.cartVariants(ctx, opts)
	if err != nil || len(variants) == 0 {
		return err // no products, no carts
	}
	for k, u := range customers {
		uctx := asUser(ctx, u)
		cart, err := call(uctx, m.bus, contract.GetCart, contract.CartRef{})
		if err != nil {
			return fmt.Errorf("cart of %s: %w", u.Email, err)
		}
		if len(cart.Lines) > 0 {
			sum.Carts.Existing++
			p.Add(1)
			continue
		}
		r := rng(opts.Seed, -100-k)
		for _, j := range r.Perm(len(variants))[:min(len(variants), 1+r.IntN(3))] {
			v := variants[j]
			if _, err := call(uctx, m.bus, contract.AddLine, contract.AddLineRequest{VariantID: v.ID, Quantity: 1 + r.Int64N(2)}); err != nil {
				return fmt.Errorf("cart of %s: add %s: %w", u.Email, v.SKU, err)
			}
		}
		sum.Carts.Created++
		p.Add(1)
	}
	return nil
}

// resetCarts empties the sample customers' carts. Their accounts stay:
// auth has no way to delete a user, and a next run finds them by email.
func (m *Module) resetCarts(ctx context.Context, users []contract.User, sum *Summary) error {
	for _, u := range users {
		uctx := asUser(ctx, u)
		cart, err := call(uctx, m.bus, contract.GetCart, contract.CartRef{})
		if err != nil {
			return fmt.Errorf("cart of %s: %w", u.Email, err)
		}
		if len(cart.Lines) == 0 {
			continue
		}
		if _, err := call(uctx, m.bus, contract.ClearCart, contract.ClearCartRequest{Version: cart.Version}); err != nil {
			return fmt.Errorf("cart of %s: %w", u.Email, err)
		}
		sum.Carts.Deleted++
	}
	return nil
}
