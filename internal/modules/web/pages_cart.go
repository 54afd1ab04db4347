package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
)

// The cart pages: /cart, and its forms, each a POST that redirects to
// /cart (POST-redirect-GET) or shows the cart again with the error:
//
//	POST /cart/lines              add (variant_id, quantity): the product page's form
//	POST /cart/lines/{id}         set the quantity (0 removes)
//	POST /cart/lines/{id}/remove  remove the line
//
// They share the API's cookie handling (cartRef, keepCartCookie). An add
// sent by shop.js with Accept: application/json is answered with the
// badge's count instead of a redirect, so the page need not reload.

// cartView is the cart page.
type cartView struct {
	Cart contract.Cart
	// LineErrors are the errors of a line's quantity form, by line id;
	// Error is about the cart as a whole (a refused add).
	LineErrors map[string]string
	Error      string
	// Changed says some line's price moved or a line is unavailable.
	Changed bool
}

// cartUnavailable is what the cart pages say when the cart module does
// not answer.
const cartUnavailable = "The cart is unavailable right now. Please try again in a moment."

func (m *Module) cartPageRoutes(r chi.Router) {
	r.Get("/cart", m.cartPage)
	r.Post("/cart/lines", m.addLinePost)
	r.Post("/cart/lines/{id}", m.setQuantityPost)
	r.Post("/cart/lines/{id}/remove", m.removeLinePost)
}

// cartBadge is the header's count: the cart peeked at (a badge must not
// use up the price-changed flags and notices the cart page shows).
func (m *Module) cartBadge(r *http.Request) (cartBadge, error) {
	ref := contract.CartRef{Peek: true}
	if ck, err := r.Cookie(contract.CartTokenCookie); err == nil && !callerOf(r.Context()).p.IsUser() {
		ref.Token = ck.Value
	}
	c, err := call(m, r, contract.GetCart, ref)
	return cartBadge{Items: int(c.ItemCount)}, err
}

func (m *Module) cartPage(w http.ResponseWriter, r *http.Request) {
	m.showCart(w, r, http.StatusOK, &cartView{})
}

// showCart renders the cart page with status, cv carrying a failed form's
// errors (a GET has none).
func (m *Module) showCart(w http.ResponseWriter, r *http.Request, status int, cv *cartView) {
	g := m.gather(r)
	v := m.layout(g, r)
	v.Page = cv
	v.Meta = PageMeta{Title: "Your cart", Robots: "noindex"}
	ref := m.cartRef(w, r)
	g.Required("cart", func(r *http.Request) (err error) {
		cv.Cart, err = call(m, r, contract.GetCart, ref)
		return err
	})
	w.Header().Set("Cache-Control", "no-store")
	if err := g.Wait(); err != nil {
		m.cartError(w, r, err)
		return
	}
	m.keepCartCookie(w, r, ref, &cv.Cart)
	v.Header.Cart = &cartBadge{Items: int(cv.Cart.ItemCount)} // the page's own read is the newest
	for _, l := range cv.Cart.Lines {
		cv.Changed = cv.Changed || l.PriceChanged || !l.Available
	}
	m.finishStatus(w, r, g, v, status, "cart")
}

// cartError is the page of a cart call that failed for another reason
// than the shopper's input: the cart module down is a 503 that says so.
func (m *Module) cartError(w http.ResponseWriter, r *http.Request, err error) {
	if unavailable(err) {
		m.unavailablePage(w, r, cartUnavailable)
		return
	}
	m.pageError(w, r, err)
}

// cartWrite runs one cart form: the call, then the redirect (or, for
// shop.js, the count); a refused input shows the cart again with the
// error, beside line lineID's form when there is one.
func cartWrite[Req any](m *Module, w http.ResponseWriter, r *http.Request, e bus.Endpoint[Req, contract.Cart], lineID, done string,
	build func(values url.Values, ref contract.CartRef) (Req, error)) {
	values, err := readForm(w, r)
	if err != nil {
		m.pageError(w, r, err)
		return
	}
	ref := m.cartRef(w, r)
	req, err := build(values, ref)
	var c contract.Cart
	if err == nil {
		c, err = call(m, r, e, req)
	}
	if err != nil {
		code := bus.CodeOf(err)
		if code != bus.CodeInvalid && code != bus.CodeConflict && code != bus.CodeNotFound {
			m.cartError(w, r, err)
			return
		}
		if wantsJSON(r) {
			m.writeError(w, r, err)
			return
		}
		msg := bus.AsError(err).Message
		if field, rest := fieldOfMessage(msg); field == "quantity" {
			msg = rest // "quantity: only 3 available" beside the quantity
		}
		cv := &cartView{LineErrors: map[string]string{}}
		if lineID != "" && code != bus.CodeNotFound {
			cv.LineErrors[lineID] = sentence(msg)
		} else {
			cv.Error = sentence(msg)
		}
		status := statusOf[code]
		m.showCart(w, r, status, cv)
		return
	}
	m.keepCartCookie(w, r, ref, &c)
	if wantsJSON(r) {
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, cartCount{Items: c.ItemCount})
		return
	}
	seeOther(w, r, "/cart?done="+done)
}

// cartCount is shop.js's answer to an add.
type cartCount struct {
	Items int64 `json:"item_count"`
}

// wantsJSON reports whether a form post came from shop.js, which asks
// for the count instead of a page.
func wantsJSON(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Accept"), "application/json")
}

// formQuantity reads a form's quantity: a whole number.
func formQuantity(values url.Values) (int64, error) {
	raw := strings.TrimSpace(values.Get("quantity"))
	if raw == "" {
		return 0, bus.Errorf(bus.CodeInvalid, "quantity: required")
	}
	q, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return 0, bus.Errorf(bus.CodeInvalid, "quantity: want a whole number, got %.20q", raw)
	}
	return q, nil
}

func (m *Module) addLinePost(w http.ResponseWriter, r *http.Request) {
	cartWrite(m, w, r, contract.AddLine, "", "added", func(values url.Values, ref contract.CartRef) (contract.AddLineRequest, error) {
		q, err := formQuantity(values)
		return contract.AddLineRequest{CartRef: ref, VariantID: values.Get("variant_id"), Quantity: q}, err
	})
}

func (m *Module) setQuantityPost(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	cartWrite(m, w, r, contract.SetQuantity, id, "updated", func(values url.Values, ref contract.CartRef) (contract.SetQuantityRequest, error) {
		q, err := formQuantity(values)
		return contract.SetQuantityRequest{CartRef: ref, LineID: id, Quantity: q}, err
	})
}

func (m *Module) removeLinePost(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	cartWrite(m, w, r, contract.RemoveLine, "", "removed", func(_ url.Values, ref contract.CartRef) (contract.RemoveLineRequest, error) {
		return contract.RemoveLineRequest{CartRef: ref, LineID: id}, nil
	})
}
