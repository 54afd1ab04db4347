package web

import (
	"net/http"
	"slices"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
)

// The cart API. The cart is the session's user's, or else the guest's
// whose token is in the shop_cart cookie (HttpOnly: scripts never see
// it); no route takes a cart id or a token in the body. The cart module
// issues the token with the first add, and web keeps it in the cookie.
// A signed-in shopper who still has a guest cookie (a merge at login
// that failed) gets the guest cart merged at the next cart request.

// cartBuild makes a cart request from the HTTP request and the cart
// reference the cookie gives.
type cartBuild[Req any] func(w http.ResponseWriter, r *http.Request, ref contract.CartRef) (Req, error)

// cartEndpoint serves one cart endpoint: the reply's token, when the call
// created a guest cart, goes into the cookie and never into the body.
func cartEndpoint[Req any](m *Module, e bus.Endpoint[Req, contract.Cart], build cartBuild[Req]) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ref := m.cartRef(w, r)
		req, err := build(w, r, ref)
		if err != nil {
			m.writeError(w, r, err)
			return
		}
		c, err := call(m, r, e, req)
		if err != nil {
			m.writeError(w, r, err)
			return
		}
		m.keepCartCookie(w, r, ref, &c)
		if c.Version > 0 {
			w.Header().Set("ETag", entityTag(c.Version))
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, c)
	}
}

// keepCartCookie updates the cookie after a cart reply: the token of a
// cart the call created goes into it (and out of the reply, which the
// caller may show), a token without a cart any more is dropped, and the
// cookie's life slides with the cart's.
func (m *Module) keepCartCookie(w http.ResponseWriter, r *http.Request, ref contract.CartRef, c *contract.Cart) {
	switch {
	case c.Token != "":
		m.setCartCookie(w, r, c.Token, c.ExpiresAt)
	case ref.Token != "" && c.ID == "": // no cart at that token (swept, merged)
		m.clearCartCookie(w, r)
	case ref.Token != "" && !c.ExpiresAt.IsZero(): // the cart's life slid with a write
		m.setCartCookie(w, r, ref.Token, c.ExpiresAt)
	}
	c.Token = ""
}

// cartRef is the guest token of r's cookie, for a guest; for a user,
// nothing (the principal chooses the cart), after merging the guest cart
// of a cookie still there.
func (m *Module) cartRef(w http.ResponseWriter, r *http.Request) contract.CartRef {
	ck, err := r.Cookie(contract.CartTokenCookie)
	if err != nil || ck.Value == "" {
		return contract.CartRef{}
	}
	if p := callerOf(r.Context()).p; p.IsUser() {
		m.mergeGuestCart(w, r, p, ck.Value)
		return contract.CartRef{}
	}
	return contract.CartRef{Token: ck.Value}
}

// mergeGuestCart merges the guest cart of token into p's cart (the login
// handler's call, and cartRef's for a cookie left over) and drops the
// cookie once merged; capped reports whether the merge capped a line's
// quantity (at the stock or the line limit), which the login page says.
// A merge that fails is logged, and the cookie kept for another try: the
// login, or the cart request, goes on with the user's cart.
func (m *Module) mergeGuestCart(w http.ResponseWriter, r *http.Request, p contract.Principal, token string) (capped bool) {
	c, err := callAs(m, r, p.String(), contract.MergeCarts, contract.MergeCartsRequest{GuestToken: token, Strategy: contract.MergeSum})
	switch bus.CodeOf(err) {
	case "":
		m.clearCartCookie(w, r)
	case bus.CodeInvalid: // not a token at all: nothing to merge, ever
		m.clearCartCookie(w, r)
	default:
		m.cfg.Log.Warn("guest cart not merged", "request_id", middleware.GetReqID(r.Context()), "user", p.UserID, "err", err)
	}
	return slices.ContainsFunc(c.Lines, func(l contract.CartLine) bool { return l.Notice != "" })
}

// mergeAtLogin merges the guest cart of r's cookie, if any, into the
// cart of the user a login or registration just signed in; capped as in
// mergeGuestCart.
func (m *Module) mergeAtLogin(w http.ResponseWriter, r *http.Request, g contract.SessionGrant) (capped bool) {
	ck, err := r.Cookie(contract.CartTokenCookie)
	if err != nil || ck.Value == "" {
		return false
	}
	return m.mergeGuestCart(w, r, contract.Principal{UserID: g.User.ID, Role: g.User.Role, SessionID: g.SessionID}, ck.Value)
}

func (m *Module) setCartCookie(w http.ResponseWriter, r *http.Request, token string, expires time.Time) {
	m.setCookie(w, r, contract.CartTokenCookie, token, expires)
}

func (m *Module) clearCartCookie(w http.ResponseWriter, r *http.Request) {
	m.clearCookie(w, r, contract.CartTokenCookie)
}

// lineBody is the body of POST /cart/lines; quantityBody of PATCH
// /cart/lines/{id}. Neither takes a price, a token or a cart id: unknown
// fields are refused.
type lineBody struct {
	VariantID string `json:"variant_id"`
	Quantity  int64  `json:"quantity"`
}

type quantityBody struct {
	Quantity *int64 `json:"quantity"`
	Version  int64  `json:"version,omitempty"`
}

// versionBody is the optional body of the DELETE routes.
type versionBody struct {
	Version int64 `json:"version,omitempty"`
}

// cartRoutes mounts the shopper's cart and the admins' list of carts.
func (m *Module) cartRoutes(public, admin chi.Router) {
	public.Get("/cart", cartEndpoint(m, contract.GetCart, func(_ http.ResponseWriter, r *http.Request, ref contract.CartRef) (contract.CartRef, error) {
		return ref, bind(r, nil)
	}))
	public.Post("/cart/lines", cartEndpoint(m, contract.AddLine, func(w http.ResponseWriter, r *http.Request, ref contract.CartRef) (contract.AddLineRequest, error) {
		b, err := fromBody(func(*lineBody) []binder { return nil })(w, r)
		return contract.AddLineRequest{CartRef: ref, VariantID: b.VariantID, Quantity: b.Quantity}, err
	}))
	public.Patch("/cart/lines/{id}", cartEndpoint(m, contract.SetQuantity, func(w http.ResponseWriter, r *http.Request, ref contract.CartRef) (contract.SetQuantityRequest, error) {
		out := contract.SetQuantityRequest{CartRef: ref, LineID: pathParam(r, "id")}
		b, err := fromBody(func(b *quantityBody) []binder { return []binder{ifMatch(&b.Version)} })(w, r)
		if err != nil {
			return out, err
		}
		if b.Quantity == nil {
			return out, bus.Errorf(bus.CodeInvalid, "quantity: required (0 removes the line)")
		}
		out.Quantity, out.Version = *b.Quantity, b.Version
		return out, nil
	}))
	public.Delete("/cart/lines/{id}", cartEndpoint(m, contract.RemoveLine, func(w http.ResponseWriter, r *http.Request, ref contract.CartRef) (contract.RemoveLineRequest, error) {
		b, err := fromOptionalBody(func(b *versionBody) []binder { return []binder{ifMatch(&b.Version)} })(w, r)
		return contract.RemoveLineRequest{CartRef: ref, LineID: pathParam(r, "id"), Version: b.Version}, err
	}))
	public.Delete("/cart", cartEndpoint(m, contract.ClearCart, func(w http.ResponseWriter, r *http.Request, ref contract.CartRef) (contract.ClearCartRequest, error) {
		b, err := fromOptionalBody(func(b *versionBody) []binder { return []binder{ifMatch(&b.Version)} })(w, r)
		return contract.ClearCartRequest{CartRef: ref, Version: b.Version}, err
	}))

	admin.Get("/carts", endpoint(m, contract.ListCarts, http.StatusOK,
		func(_ http.ResponseWriter, r *http.Request) (contract.ListCartsRequest, error) {
			var req contract.ListCartsRequest
			return req, bind(r, []binder{queryString("cursor", &req.Cursor), queryInt("limit", &req.Limit)})
		}))
}
