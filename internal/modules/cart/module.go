// Package cart is the cart module: shoppers' carts, a guest's addressed
// by a secret token and a signed-in user's by the user's principal. It
// serves the "cart" queue (internal/contract's cart endpoints) and asks
// the product module, over the bus, for every variant's price, stock and
// status (contract.GetVariants): the client never sends a price.
//
// The cart policy (the same text as DESIGN.md's, in short):
//
//   - Every reply is repriced: one get_variants call for all the cart's
//     variants. A line shows the price now (unit_price, line_total) and
//     the price when it was added (unit_price_added); price_changed is
//     true when the price moved since the shopper was last shown the
//     cart, and that reply counts as shown, so the flag appears once
//     (the next read records it as seen).
//   - A line whose variant is gone or whose product is not published
//     (draft, archived, deleted) is available: false, keeps the name and
//     price it last showed, has line_total 0 and counts in neither the
//     subtotal nor the item count; it stays until the shopper removes it
//     and comes back as it was if the product is published again.
//   - Quantities are 1 to the line limit (99 by default) and at most the
//     stock at the time of the write: more is a conflict naming what is
//     available. A read of a line above today's stock says so in its
//     notice. Adding a variant already in the cart increases its line.
//   - One currency per cart, set by its first line (and free again when
//     the cart is empty): a product in another is a conflict.
//   - Concurrency: a cart is one record, changed by one version-checked
//     write (Store); a write whose version moved is re-applied to the
//     cart as it now is, up to maxAttempts times, for the ops that commute
//     (add, set, remove, clear, merge). A request naming a version (HTTP
//     If-Match) is checked against it and not retried. Writers of one cart
//     in one process queue on a lock first, so retries happen only
//     between processes.
//   - Guest carts are created at the first add with a fresh 128-bit
//     token (returned once, in Cart.Token), found by the token's SHA-256
//     only, and deleted when idle (not written) for the guest TTL (30
//     days by default) by a sweep in every instance.
//   - Merge at login (merge_carts, MergeSum): the guest's lines join the
//     user's cart, quantities of one variant summed and capped at the
//     stock and the line limit (a capped line gets a notice); the user's
//     cart records the guest cart's id, so a retried or racing merge adds
//     nothing twice, and the guest cart is then deleted.
//
// The package has the shape of every module (see package category):
// module.go (wiring, the sweep), handlers.go (one method per endpoint),
// change.go (the version-checked write loop), view.go (repricing),
// merge.go, store.go (the interface), store_sqlite.go with its schema in
// schema/*.sql, store_mongo.go, and their tests.
package cart

import (
	"context"
	"log/slog"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
)

// Config tunes the module; the zero value is the defaults.
type Config struct {
	// LineLimit is the most of one variant a line holds
	// (contract.DefaultLineLimit).
	LineLimit int64
	// GuestTTL is how long an idle guest cart lives
	// (contract.DefaultGuestCartTTL).
	GuestTTL time.Duration
	// SweepEvery is how often expired guest carts are deleted (an hour).
	SweepEvery time.Duration
}

func (c Config) withDefaults() Config {
	if c.LineLimit <= 0 {
		c.LineLimit = contract.DefaultLineLimit
	}
	if c.GuestTTL <= 0 {
		c.GuestTTL = contract.DefaultGuestCartTTL
	}
	if c.SweepEvery <= 0 {
		c.SweepEvery = time.Hour
	}
	return c
}

// Module is one instance of the cart module.
type Module struct {
	bus.Server // the queue, its handlers, Start and Stop
	store      Store
	log        *slog.Logger
	now        func() time.Time
	cfg        Config
	locks      cartLocks
	// relay publishes what the store's outbox holds (nothing yet: see
	// Store.Outbox).
	relay *outbox.Relay
}

// New returns the module with the default configuration.
func New(b bus.Bus, st Store, log *slog.Logger) *Module { return NewWithConfig(b, st, Config{}, log) }

// NewWithConfig returns the module with its handlers registered; Start
// serves them.
func NewWithConfig(b bus.Bus, st Store, cfg Config, log *slog.Logger) *Module {
	m := &Module{Server: bus.NewServer(b, contract.CartQueue, log), store: st, log: log, now: store.Now,
		cfg: cfg.withDefaults(), relay: outbox.NewRelay(b, st.Outbox(), log)}
	bus.Handle(m.Service, contract.GetCart, m.getCart)
	bus.Handle(m.Service, contract.AddLine, m.addLine)
	bus.Handle(m.Service, contract.SetQuantity, m.setQuantity)
	bus.Handle(m.Service, contract.RemoveLine, m.removeLine)
	bus.Handle(m.Service, contract.ClearCart, m.clearCart)
	bus.Handle(m.Service, contract.MergeCarts, m.mergeCarts)
	bus.Handle(m.Service, contract.ListCarts, contract.AdminOnly(m.listCarts))
	return m
}

// Start serves the cart queue, runs the relay and the sweep of idle
// guest carts (every instance sweeps: the deletes are idempotent).
func (m *Module) Start(ctx context.Context) error {
	if err := m.Server.Start(ctx); err != nil {
		return err
	}
	m.Go("outbox relay", m.relay.Run)
	m.Go("guest cart sweep", m.sweepLoop)
	return nil
}

// sweepLoop deletes expired guest carts now and every SweepEvery. A
// failed sweep is logged and tried again next time: carts that live a
// little longer harm nobody.
func (m *Module) sweepLoop(ctx context.Context) error {
	t := time.NewTicker(m.cfg.SweepEvery)
	defer t.Stop()
	for {
		if _, err := m.Sweep(ctx); err != nil && ctx.Err() == nil {
			m.log.Warn("guest cart sweep failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Sweep deletes the guest carts idle past the guest TTL and returns how
// many.
func (m *Module) Sweep(ctx context.Context) (int, error) {
	n, err := m.store.DeleteExpired(ctx, m.now())
	if n > 0 {
		m.log.Info("swept idle guest carts", "deleted", n)
	}
	return n, err
}
