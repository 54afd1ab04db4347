package contract

import (
	"time"

	"github.com/shopengine/shop/internal/bus"
)

// Limits of the cart module.
const (
	// DefaultLineLimit is the most of one variant a line holds unless the
	// module is configured otherwise.
	DefaultLineLimit = 99
	// MaxCartLines bounds a cart's lines: every read reprices them all in
	// one get_variants call, which takes at most MaxBatch ids.
	MaxCartLines = MaxBatch
	// DefaultGuestCartTTL is how long an idle guest cart lives.
	DefaultGuestCartTTL = 30 * 24 * time.Hour
	// CartTokenCookie is the HttpOnly cookie that carries a guest cart's
	// token.
	CartTokenCookie = "shop_cart"
)

// Cart is a shopper's cart as every reply shows it, repriced from the
// product module at the time of the reply:
//
//   - each line's UnitPrice is the variant's price now and LineTotal is
//     UnitPrice × Quantity; UnitPriceAdded is the price when the line was
//     added, and PriceChanged is true when the price moved since the
//     shopper last saw the cart (the reply that shows it counts as seen,
//     so the flag shows once);
//   - a line whose variant is gone or whose product is not published is
//     Available false, keeps what it showed when added (name, price) and
//     counts in neither Subtotal nor ItemCount;
//   - Subtotal and ItemCount are over the available lines, in minor units
//     of Currency (one currency per cart; "" while the cart is empty).
//
// Owner is "user:<id>" or "guest". Token is set only on the reply of the
// write that created a guest cart: the cart's secret address, which the
// caller keeps (web: in the CartTokenCookie) and which the module stores
// only hashed; no request takes a cart id.
type Cart struct {
	ID        string     `json:"id"`
	Owner     string     `json:"owner"`
	Lines     []CartLine `json:"lines"`
	Subtotal  int64      `json:"subtotal"`
	ItemCount int64      `json:"item_count"`
	Currency  string     `json:"currency"`
	Version   int64      `json:"version"`
	UpdatedAt time.Time  `json:"updated_at"`
	// ExpiresAt is when an idle guest cart is swept (zero for a user's).
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	Token     string    `json:"token,omitempty"`
}

// ETagVersion implements Versioned.
func (c Cart) ETagVersion() int64 { return c.Version }

// CartLine is one variant in a cart.
type CartLine struct {
	ID             string   `json:"id"`
	ProductID      string   `json:"product_id"`
	VariantID      string   `json:"variant_id"`
	SKU            string   `json:"sku"`
	ProductName    string   `json:"product_name"`
	Slug           string   `json:"slug"`
	Options        []string `json:"options"` // the option labels ("M", "Red")
	Image          *Image   `json:"image,omitempty"`
	Quantity       int64    `json:"quantity"`
	UnitPrice      int64    `json:"unit_price"`
	UnitPriceAdded int64    `json:"unit_price_added"`
	LineTotal      int64    `json:"line_total"`
	Available      bool     `json:"available"`
	PriceChanged   bool     `json:"price_changed"`
	// Notice says why the cart changed the line on its own (a merge that
	// capped its quantity at the stock or the line limit); shown once,
	// like PriceChanged.
	Notice string `json:"notice,omitempty"`
}

// CartRef says which cart a request is about: the caller's user's cart
// when the caller's principal (never a body field) is a signed-in user,
// else the guest cart whose token this is. A guest without a token has
// no cart yet: reads show an empty one and the first add creates it.
//
// Peek (get_cart only) reads without recording what the reply shows as
// seen: the storefront's header badge reads the cart on every page, and
// must not use up the price-changed flags and notices that the cart page
// is there to show.
type CartRef struct {
	Token string `json:"token,omitempty"`
	Peek  bool   `json:"peek,omitempty"`
}

// AddLineRequest adds Quantity (1 to the line limit) of a variant; a
// variant already in the cart increases its line. The price comes from
// the product module, never from the request.
type AddLineRequest struct {
	CartRef
	VariantID string `json:"variant_id"`
	Quantity  int64  `json:"quantity"`
}

// SetQuantityRequest sets a line's quantity; 0 removes the line. With
// Version > 0 only if the cart is still at that version; without, it
// applies to whatever the cart is at (retried on a concurrent write).
type SetQuantityRequest struct {
	CartRef
	LineID   string `json:"line_id"`
	Quantity int64  `json:"quantity"`
	Version  int64  `json:"version,omitempty"`
}

// RemoveLineRequest removes a line (Version as in SetQuantityRequest).
type RemoveLineRequest struct {
	CartRef
	LineID  string `json:"line_id"`
	Version int64  `json:"version,omitempty"`
}

// ClearCartRequest removes every line (Version as in SetQuantityRequest).
type ClearCartRequest struct {
	CartRef
	Version int64 `json:"version,omitempty"`
}

// MergeStrategy is how merge_carts combines a guest cart with the user's.
type MergeStrategy string

// Merge strategies.
const (
	// MergeSum adds the guest's lines to the user's cart: quantities of
	// the same variant are summed, then capped at the stock and the line
	// limit (a capped line carries a Notice); the guest cart is deleted.
	MergeSum MergeStrategy = "sum"
)

// MergeCartsRequest merges the guest cart of GuestToken into the cart of
// the caller's user (the principal), at login. Strategy defaults to
// MergeSum. Merging is idempotent: once a guest cart is merged, a retry or
// a racing second merge changes nothing; a token without a cart (already
// merged, expired) leaves the user's cart as it is.
type MergeCartsRequest struct {
	GuestToken string        `json:"guest_token"`
	Strategy   MergeStrategy `json:"strategy,omitempty"`
}

// ListCartsRequest asks admins for a page of carts, least recently
// updated first (abandoned carts first); Cursor is the NextCursor of the
// page before.
type ListCartsRequest struct {
	Cursor string `json:"cursor,omitempty"`
	Limit  int    `json:"limit,omitempty"`
}

// CartSummary is a cart in the admin list: without repricing (that is one
// product call per cart), as last written.
type CartSummary struct {
	ID        string    `json:"id"`
	Owner     string    `json:"owner"`
	Lines     int       `json:"lines"`
	ItemCount int64     `json:"item_count"`
	Currency  string    `json:"currency"`
	Version   int64     `json:"version"`
	UpdatedAt time.Time `json:"updated_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// Page sizes of list_carts.
const (
	DefaultCartPage = 20
	MaxCartPage     = 100
)

// Cart endpoints. The cart is chosen by the caller's principal (a user)
// or the request's token (a guest), never by an id; list_carts is for
// admins.
var (
	GetCart     = bus.Endpoint[CartRef, Cart]{Queue: CartQueue, Op: "get_cart"}
	AddLine     = bus.Endpoint[AddLineRequest, Cart]{Queue: CartQueue, Op: "add_line"}
	SetQuantity = bus.Endpoint[SetQuantityRequest, Cart]{Queue: CartQueue, Op: "set_quantity"}
	RemoveLine  = bus.Endpoint[RemoveLineRequest, Cart]{Queue: CartQueue, Op: "remove_line"}
	ClearCart   = bus.Endpoint[ClearCartRequest, Cart]{Queue: CartQueue, Op: "clear_cart"}
	MergeCarts  = bus.Endpoint[MergeCartsRequest, Cart]{Queue: CartQueue, Op: "merge_carts"}
	ListCarts   = bus.Endpoint[ListCartsRequest, Page[CartSummary]]{Queue: CartQueue, Op: "list_carts"}
)
