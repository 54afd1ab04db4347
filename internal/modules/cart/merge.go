package cart

import (
	"context"
	"fmt"
	"slices"

	"github.com/shopengine/shop/internal/contract"
)

// maxMerged is how many merged guest cart ids a user's cart remembers:
// enough for any retry or race of one login, bounded so the record stays
// small.
const maxMerged = 16

// mergeCarts merges a guest cart into the caller's user's cart (see
// contract.MergeCartsRequest). The user's cart is changed by one
// version-checked write that also records the guest cart's id; a merge
// that finds the id recorded changes nothing. Then the guest cart is
// deleted. Without transactions across documents that order is what
// makes it safe: a crash between the two leaves a guest cart that the
// next merge only deletes, never one merged twice or lost.
func (m *Module) mergeCarts(ctx context.Context, req contract.MergeCartsRequest) (contract.Cart, error) {
	p, err := contract.RequireUser(ctx)
	if err != nil {
		return contract.Cart{}, err
	}
	switch req.Strategy {
	case "", contract.MergeSum:
	default:
		return contract.Cart{}, invalid("strategy %.40q: want %q", req.Strategy, contract.MergeSum)
	}
	if err := checkToken("guest_token", req.GuestToken); err != nil {
		return contract.Cart{}, err
	}
	user := userOwner(p)
	guest, found, err := m.load(ctx, owner{key: guestKey(req.GuestToken), guest: true})
	if err != nil {
		return contract.Cart{}, err
	}
	if !found || len(guest.Lines) == 0 {
		if guest.ID != "" {
			if err := m.store.Delete(ctx, guest.ID); err != nil {
				return contract.Cart{}, err
			}
		}
		return m.read(ctx, user, false)
	}
	merged, err := m.write(ctx, user, change{create: true, need: variantsOf(guest), apply: func(c *Stored, info catalog) error {
		if slices.Contains(c.Merged, guest.ID) {
			return errUnchanged
		}
		return m.sum(c, guest, info)
	}})
	if err != nil {
		return contract.Cart{}, err
	}
	if err := m.store.Delete(ctx, guest.ID); err != nil {
		return contract.Cart{}, fmt.Errorf("delete merged guest cart %s: %w", guest.ID, err)
	}
	return merged, nil
}

// sum is MergeSum: guest's lines added to c, quantities of one variant
// summed and capped at the stock and the line limit, a capped line
// noticed. Unavailable guest lines come along as they are (the shopper
// sees them unavailable, as in the guest cart). A guest cart in another
// currency than a user's cart that has lines cannot be merged: a
// conflict, and both carts stay as they are.
func (m *Module) sum(c *Stored, guest Stored, info catalog) error {
	if len(c.Lines) > 0 && guest.Currency != c.Currency {
		return conflict("your cart is in %s and the cart you filled before signing in is in %s: one currency per cart", c.Currency, guest.Currency)
	}
	if len(c.Lines) == 0 {
		c.Currency = guest.Currency
	}
	for _, g := range guest.Lines {
		i := lineOf(*c, g.VariantID)
		if i < 0 {
			if len(c.Lines) >= contract.MaxCartLines {
				return conflict("merging the carts would make more than %d lines", contract.MaxCartLines)
			}
			c.Lines = append(c.Lines, g)
			i = len(c.Lines) - 1
			c.Lines[i].Quantity = 0
		}
		l := &c.Lines[i]
		want := l.Quantity + g.Quantity
		l.Quantity = want
		v, ok := info.available(g.VariantID)
		if !ok {
			continue
		}
		if limit := min(m.cfg.LineLimit, v.Stock); want > limit {
			why := fmt.Sprintf("at most %d per line", m.cfg.LineLimit)
			if v.Stock < m.cfg.LineLimit {
				why = fmt.Sprintf("only %d in stock", v.Stock)
			}
			l.Quantity = max(limit, 1)
			l.Notice = fmt.Sprintf("quantity reduced from %d to %d when your carts were merged: %s", want, l.Quantity, why)
		}
	}
	c.Merged = remember(c.Merged, guest.ID, maxMerged)
	return nil
}
