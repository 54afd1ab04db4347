package cart

import (
	"context"
	"fmt"
	"slices"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
)

// catalog is what the product module said of the variants asked: those
// that exist and whose product is published. A variant not in it is
// unavailable.
type catalog map[string]contract.VariantInfo

// asked marks a variant asked about and missing (so it is not asked
// again within one request).
var asked = contract.VariantInfo{}

// ask fills info with what product says now of those of ids not in it
// yet: one get_variants call per contract.MaxBatch variants, as an
// anonymous caller, so that only published products count (an admin's
// cart gets no drafts). Missing ones are recorded as missing.
func (m *Module) ask(ctx context.Context, info catalog, ids []string) error {
	var todo []string
	for _, id := range ids {
		if _, ok := info[id]; !ok && !slices.Contains(todo, id) {
			todo = append(todo, id)
		}
	}
	ctx = contract.WithPrincipal(ctx, contract.Principal{})
	for chunk := range slices.Chunk(todo, contract.MaxBatch) {
		list, err := bus.Call(ctx, m.Bus, contract.GetVariants, contract.VariantIDs{IDs: chunk, PublishedOnly: true})
		if err != nil {
			if bus.CodeOf(err) == bus.CodeInvalid { // a bug of ours, not the client's
				return fmt.Errorf("ask product for %d variants: %w", len(chunk), err)
			}
			return err
		}
		for _, v := range list.Items {
			info[v.VariantID] = v
		}
		for _, id := range list.Missing {
			info[id] = asked
		}
	}
	return nil
}

// available returns what product said of a variant, if it is for sale.
func (info catalog) available(variantID string) (contract.VariantInfo, bool) {
	v, ok := info[variantID]
	return v, ok && v.VariantID != ""
}

func variantsOf(c Stored) []string {
	out := make([]string, len(c.Lines))
	for i, l := range c.Lines {
		out[i] = l.VariantID
	}
	return out
}

// lineOf returns the index of the line of variantID, or -1.
func lineOf(c Stored, variantID string) int {
	return slices.IndexFunc(c.Lines, func(l Line) bool { return l.VariantID == variantID })
}

// view is the cart as a reply shows it, repriced from info (see the
// package's policy). A line of another currency than the cart's (its
// product changed currency since) cannot be summed: it shows as
// unavailable.
func (m *Module) view(c Stored, info catalog) contract.Cart {
	out := contract.Cart{ID: c.ID, Owner: c.Owner, Lines: make([]contract.CartLine, 0, len(c.Lines)), Currency: c.Currency,
		Version: c.Version, UpdatedAt: c.UpdatedAt, ExpiresAt: c.ExpiresAt}
	for _, l := range c.Lines {
		line := contract.CartLine{ID: l.ID, ProductID: l.ProductID, VariantID: l.VariantID, SKU: l.SKU, ProductName: l.ProductName,
			Slug: l.Slug, Options: l.Options, Image: l.Image, Quantity: l.Quantity, UnitPrice: l.PriceSeen, UnitPriceAdded: l.PriceAdded,
			Notice: l.Notice}
		if line.Options == nil {
			line.Options = []string{}
		}
		if v, ok := info.available(l.VariantID); ok && v.Currency == c.Currency {
			line.ProductName, line.Slug, line.SKU, line.Image, line.Options = v.ProductName, v.Slug, v.SKU, v.Image, labels(v)
			line.UnitPrice = v.Price
			line.PriceChanged = v.Price != l.PriceSeen
			line.LineTotal = v.Price * l.Quantity
			line.Available = true
			if l.Quantity > v.Stock && line.Notice == "" {
				line.Notice = fmt.Sprintf("only %d in stock", v.Stock)
			}
			out.Subtotal += line.LineTotal
			out.ItemCount += l.Quantity
		}
		out.Lines = append(out.Lines, line)
	}
	return out
}

// markSeen records what a reply showed: the prices now, as the ones the
// shopper was last shown, with the product's current name and picture;
// notices are dropped. Unavailable lines keep what they had.
func markSeen(c *Stored, info catalog) {
	for i := range c.Lines {
		l := &c.Lines[i]
		l.Notice = ""
		if v, ok := info.available(l.VariantID); ok && v.Currency == c.Currency {
			l.PriceSeen, l.ProductName, l.Slug, l.SKU, l.Image, l.Options = v.Price, v.ProductName, v.Slug, v.SKU, v.Image, labels(v)
		}
	}
}

// needsSeen reports whether showing c would change what it records as
// seen: a read then writes it (see getCart).
func needsSeen(c Stored, info catalog) bool {
	for _, l := range c.Lines {
		if l.Notice != "" {
			return true
		}
		if v, ok := info.available(l.VariantID); ok && v.Currency == c.Currency && v.Price != l.PriceSeen {
			return true
		}
	}
	return false
}

// labels are a variant's option labels, in the product's option order.
func labels(v contract.VariantInfo) []string {
	out := make([]string, len(v.Options))
	for i, o := range v.Options {
		out[i] = o.Label
	}
	return out
}
