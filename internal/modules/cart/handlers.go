package cart

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/validate"
)

func invalid(format string, args ...any) error { return bus.Errorf(bus.CodeInvalid, format, args...) }

func conflict(format string, args ...any) error { return bus.Errorf(bus.CodeConflict, format, args...) }

// errNoCart is a change's answer when the owner has no cart to change.
var errNoCart = errors.New("no cart")

func noLine(id string) func() error {
	return func() error { return bus.Errorf(bus.CodeNotFound, "line %s is not in your cart", id) }
}

// emptyCart is the reply for an owner without a cart.
func emptyCart(o owner) contract.Cart {
	return contract.Cart{Owner: o.display, Lines: []contract.CartLine{}}
}

// getCart answers the cart repriced. When the reply shows a price change
// or a notice for the first time, it records that as seen with one
// version-checked write, not retried: a write that came first answered
// its shopper with the same news.
func (m *Module) getCart(ctx context.Context, ref contract.CartRef) (contract.Cart, error) {
	o, err := ownerOf(ctx, ref)
	if err != nil {
		return contract.Cart{}, err
	}
	return m.read(ctx, o, !ref.Peek)
}

// read answers o's cart repriced; shown records what the reply shows as
// seen (see getCart).
func (m *Module) read(ctx context.Context, o owner, shown bool) (contract.Cart, error) {
	c, found, err := m.load(ctx, o)
	if err != nil || !found {
		return emptyCart(o), err
	}
	info := catalog{}
	if err := m.ask(ctx, info, variantsOf(c)); err != nil {
		return contract.Cart{}, err
	}
	reply := m.view(c, info)
	if !shown || !needsSeen(c, info) {
		return reply, nil
	}
	markSeen(&c, info)
	c.Version++
	c.UpdatedAt = m.now()
	if o.guest {
		c.ExpiresAt = c.UpdatedAt.Add(m.cfg.GuestTTL)
	}
	switch err := m.store.Save(ctx, c); {
	case err == nil:
		reply.Version, reply.UpdatedAt, reply.ExpiresAt = c.Version, c.UpdatedAt, c.ExpiresAt
	case errors.Is(err, store.ErrStale), errors.Is(err, store.ErrNotFound):
	default:
		m.log.Warn("recording a cart as seen failed", "cart", c.ID, "err", err)
	}
	return reply, nil
}

// checkQuantity checks a requested quantity: min to the line limit.
func (m *Module) checkQuantity(q, min int64) error {
	if q < min || q > m.cfg.LineLimit {
		return invalid("quantity %d: want %d to %d", q, min, m.cfg.LineLimit)
	}
	return nil
}

func (m *Module) addLine(ctx context.Context, req contract.AddLineRequest) (contract.Cart, error) {
	if err := validate.ID("variant_id", req.VariantID); err != nil {
		return contract.Cart{}, err
	}
	if err := m.checkQuantity(req.Quantity, 1); err != nil {
		return contract.Cart{}, err
	}
	o, err := ownerOf(ctx, req.CartRef)
	if err != nil {
		return contract.Cart{}, err
	}
	return m.write(ctx, o, change{create: true, need: []string{req.VariantID}, shown: true, apply: func(c *Stored, info catalog) error {
		v, ok := info.available(req.VariantID)
		if !ok {
			return bus.Errorf(bus.CodeNotFound, "variant %s is not for sale", req.VariantID)
		}
		if len(c.Lines) > 0 && v.Currency != c.Currency {
			return conflict("this cart is in %s and %s is priced in %s: one currency per cart", c.Currency, v.SKU, v.Currency)
		}
		i := lineOf(*c, req.VariantID)
		q, had := req.Quantity, int64(0)
		if i >= 0 {
			had = c.Lines[i].Quantity
			q += had
		}
		if err := m.checkLine(v, q, had); err != nil {
			return err
		}
		if i >= 0 {
			c.Lines[i].Quantity = q
			return nil
		}
		if len(c.Lines) >= contract.MaxCartLines {
			return conflict("a cart holds at most %d lines", contract.MaxCartLines)
		}
		c.Currency = v.Currency
		c.Lines = append(c.Lines, newLine(v, q))
		return nil
	}})
}

// checkLine checks that a line of variant v may hold q, of which had are
// already in the cart.
func (m *Module) checkLine(v contract.VariantInfo, q, had int64) error {
	inCart := ""
	if had > 0 {
		inCart = fmt.Sprintf(" (%d already in the cart)", had)
	}
	if q > m.cfg.LineLimit {
		return conflict("quantity %d of %s: at most %d per line%s", q, v.SKU, m.cfg.LineLimit, inCart)
	}
	if q > v.Stock {
		return conflict("quantity %d of %s: only %d available%s", q, v.SKU, v.Stock, inCart)
	}
	return nil
}

func newLine(v contract.VariantInfo, q int64) Line {
	return Line{ID: uuid.Must(uuid.NewV7()).String(), ProductID: v.ProductID, VariantID: v.VariantID, SKU: v.SKU,
		ProductName: v.ProductName, Slug: v.Slug, Options: labels(v), Image: v.Image, Quantity: q, PriceAdded: v.Price, PriceSeen: v.Price}
}

// removeAt removes line i; an empty cart takes any currency again.
func removeAt(c *Stored, i int) {
	c.Lines = slices.Delete(c.Lines, i, i+1)
	if len(c.Lines) == 0 {
		c.Currency = ""
	}
}

func lineIndex(c Stored, id string) int {
	return slices.IndexFunc(c.Lines, func(l Line) bool { return l.ID == id })
}

func (m *Module) setQuantity(ctx context.Context, req contract.SetQuantityRequest) (contract.Cart, error) {
	if err := m.checkQuantity(req.Quantity, 0); err != nil {
		return contract.Cart{}, err
	}
	return m.writeLine(ctx, req.CartRef, req.LineID, req.Version, func(c *Stored, i int, info catalog) error {
		if req.Quantity == 0 {
			removeAt(c, i)
			return nil
		}
		v, ok := info.available(c.Lines[i].VariantID)
		if !ok || v.Currency != c.Currency {
			return conflict("%s is no longer for sale: remove the line", c.Lines[i].ProductName)
		}
		if err := m.checkLine(v, req.Quantity, 0); err != nil {
			return err
		}
		c.Lines[i].Quantity = req.Quantity
		return nil
	})
}

func (m *Module) removeLine(ctx context.Context, req contract.RemoveLineRequest) (contract.Cart, error) {
	return m.writeLine(ctx, req.CartRef, req.LineID, req.Version, func(c *Stored, i int, _ catalog) error {
		removeAt(c, i)
		return nil
	})
}

// writeLine is a write the shopper sees to line lineID of ref's cart,
// checked against version when one is given: apply gets the line's
// index; a line that is not there is not_found.
func (m *Module) writeLine(ctx context.Context, ref contract.CartRef, lineID string, version int64, apply func(c *Stored, i int, info catalog) error) (contract.Cart, error) {
	if err := validate.ID("line_id", lineID); err != nil {
		return contract.Cart{}, err
	}
	if err := validate.Version(version, false); err != nil {
		return contract.Cart{}, err
	}
	o, err := ownerOf(ctx, ref)
	if err != nil {
		return contract.Cart{}, err
	}
	return m.write(ctx, o, change{missing: noLine(lineID), expected: version, shown: true, apply: func(c *Stored, info catalog) error {
		i := lineIndex(*c, lineID)
		if i < 0 {
			return noLine(lineID)()
		}
		return apply(c, i, info)
	}})
}

func (m *Module) clearCart(ctx context.Context, req contract.ClearCartRequest) (contract.Cart, error) {
	if err := validate.Version(req.Version, false); err != nil {
		return contract.Cart{}, err
	}
	o, err := ownerOf(ctx, req.CartRef)
	if err != nil {
		return contract.Cart{}, err
	}
	c, err := m.write(ctx, o, change{missing: func() error { return errNoCart }, expected: req.Version, shown: true, apply: func(c *Stored, _ catalog) error {
		if len(c.Lines) == 0 {
			return errUnchanged
		}
		c.Lines, c.Currency = []Line{}, ""
		return nil
	}})
	if errors.Is(err, errNoCart) {
		return emptyCart(o), nil
	}
	return c, err
}

func (m *Module) listCarts(ctx context.Context, req contract.ListCartsRequest) (contract.Page[contract.CartSummary], error) {
	page := contract.Page[contract.CartSummary]{Items: []contract.CartSummary{}}
	limit := req.Limit
	if limit == 0 {
		limit = contract.DefaultCartPage
	}
	if limit < 1 || limit > contract.MaxCartPage {
		return page, invalid("limit %d: want 1 to %d", req.Limit, contract.MaxCartPage)
	}
	var after *Position
	if req.Cursor != "" {
		p, err := decodeCursor(req.Cursor)
		if err != nil {
			return page, err
		}
		after = &p
	}
	carts, total, err := m.store.List(ctx, after, limit+1)
	if err != nil {
		return page, err
	}
	if len(carts) > limit {
		carts = carts[:limit]
		last := carts[limit-1]
		page.NextCursor = encodeCursor(Position{UpdatedAt: last.UpdatedAt, ID: last.ID})
	}
	for _, c := range carts {
		s := contract.CartSummary{ID: c.ID, Owner: c.Owner, Lines: len(c.Lines), Currency: c.Currency, Version: c.Version,
			UpdatedAt: c.UpdatedAt, ExpiresAt: c.ExpiresAt}
		for _, l := range c.Lines {
			s.ItemCount += l.Quantity
		}
		page.Items = append(page.Items, s)
	}
	page.Total = total
	return page, nil
}

// A list cursor is opaque to clients: base64url of "<unix ms>.<id>".
func encodeCursor(p Position) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(p.UpdatedAt.UnixMilli(), 10) + "." + p.ID))
}

func decodeCursor(s string) (Position, error) {
	bad := invalid("cursor: not a cursor of this list; use the next_cursor of the page before, or none for the first page")
	if len(s) > 128 {
		return Position{}, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Position{}, bad
	}
	ms, id, ok := strings.Cut(string(b), ".")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || validate.ID("cursor", id) != nil {
		return Position{}, bad
	}
	return Position{UpdatedAt: time.UnixMilli(n).UTC(), ID: id}, nil
}
