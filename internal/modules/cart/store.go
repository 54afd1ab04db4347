package cart

import (
	"context"
	"time"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
)

// Store is the cart module's narrow view of its database. A cart is one
// record (an SQLite row holding its lines as JSON, a MongoDB document
// with its lines embedded), so every change of a cart is one atomic,
// version-checked write of that record: Save replaces the record only
// while it is still at the version read (never read, compare, write),
// and a concurrent change makes it fail with store.ErrStale, which the
// module answers by reading again and re-applying the change (operations
// on a cart commute: "one more of X" means the same on any version).
// That is the single-document atomic update MongoDB (and FerretDB) do
// without transactions, and one UPDATE on SQLite.
//
// Carts are found by their owner key only ("user:<id>", or "guest:" and
// the SHA-256 of the guest's token), never by an id a client could
// guess or enumerate; the key is unique, so two first adds racing for
// one owner create one cart (the second gets store.ErrDuplicate).
type Store interface {
	// ByOwner returns the cart of an owner key, or store.ErrNotFound.
	ByOwner(ctx context.Context, key string) (Stored, error)
	// Insert stores a new cart (at version 1); store.ErrDuplicate when
	// its owner already has one.
	Insert(ctx context.Context, c Stored) error
	// Save replaces the cart c.ID with c if it is still at version
	// c.Version-1: store.ErrStale when it moved, store.ErrNotFound when
	// it is gone.
	Save(ctx context.Context, c Stored) error
	// Delete deletes a cart; a cart already gone is no error.
	Delete(ctx context.Context, id string) error
	// DeleteExpired deletes the carts whose ExpiresAt (set on guest carts
	// only) is before now, and returns how many.
	DeleteExpired(ctx context.Context, now time.Time) (int, error)
	// List returns up to limit carts in (UpdatedAt, ID) order, after the
	// position after (nil: from the start), and the number of all carts.
	List(ctx context.Context, after *Position, limit int) ([]Stored, int, error)
	// Outbox is where the writes' events would wait for the relay. The
	// cart announces nothing yet (no module follows carts); the outbox is
	// in place so that an event (an abandoned-cart mail, say) commits with
	// its write when one is added.
	Outbox() outbox.Source
}

// Position is a cart's place in the list order.
type Position struct {
	UpdatedAt time.Time
	ID        string
}

// Stored is a cart as the store keeps it: what the shopper put in, with
// what each line showed then. Prices are repriced on every read (see
// reprice); the stored prices are the last ones the shopper was shown.
type Stored struct {
	ID string `json:"-" bson:"_id"`
	// Key is the owner key ByOwner finds the cart by.
	Key string `json:"-" bson:"key"`
	// Owner is what replies show: "user:<id>" or "guest".
	Owner    string `json:"owner" bson:"owner"`
	Currency string `json:"currency" bson:"currency"`
	Lines    []Line `json:"lines" bson:"lines"`
	// Merged are the ids of the guest carts merged into this one (the
	// latest maxMerged), so that a retried or racing merge of the same
	// guest cart adds nothing twice.
	Merged []string `json:"merged,omitempty" bson:"merged,omitempty"`
	// Requests are the bus request ids of the latest maxRequests writes
	// applied to the cart, committed with them: a request delivered
	// again after the instance that applied it died before answering
	// (AMQP redelivers what was not acknowledged) is answered with the
	// cart as it is instead of being applied twice.
	Requests  []string  `json:"requests,omitempty" bson:"requests,omitempty"`
	Version   int64     `json:"-" bson:"version"`
	UpdatedAt time.Time `json:"-" bson:"updated_at"`
	// ExpiresAt is when an idle guest cart is swept; zero for users'.
	ExpiresAt time.Time `json:"-" bson:"expires_at,omitempty"`
}

// Line is one stored line.
type Line struct {
	ID          string          `json:"id" bson:"id"`
	ProductID   string          `json:"product_id" bson:"product_id"`
	VariantID   string          `json:"variant_id" bson:"variant_id"`
	SKU         string          `json:"sku" bson:"sku"`
	ProductName string          `json:"product_name" bson:"product_name"`
	Slug        string          `json:"slug" bson:"slug"`
	Options     []string        `json:"options" bson:"options"`
	Image       *contract.Image `json:"image,omitempty" bson:"image,omitempty"`
	Quantity    int64           `json:"quantity" bson:"quantity"`
	// PriceAdded is the unit price when the line was added; PriceSeen the
	// one the shopper was last shown (PriceChanged compares the price now
	// with it).
	PriceAdded int64 `json:"price_added" bson:"price_added"`
	PriceSeen  int64 `json:"price_seen" bson:"price_seen"`
	// Notice is why the cart changed the line on its own, until shown.
	Notice string `json:"notice,omitempty" bson:"notice,omitempty"`
}

// OpenStore returns the Store for db's backend, with its schema or indexes
// in place.
func OpenStore(ctx context.Context, db *store.DB) (Store, error) {
	return store.OpenModule[Store](ctx, db, contract.CartQueue, openSQLStore, openMongoStore)
}
