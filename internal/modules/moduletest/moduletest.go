// Package moduletest starts a module under test as the shop runs it: its
// store opened through the module's own OpenStore on a real backend, on an
// in-process bus, and stopped with the bus when the test ends. It also
// serves stubs of the other modules it talks to, so that a module's tests,
// like its code, reach other modules only through internal/contract and
// the bus (TestModulesDoNotImportEachOther holds for _test.go files too),
// and it stands between the module's store and its outbox relay, so that a
// test can see what is pending, hold the relay back and wait for it.
//
// It is the part every module's test harness repeated. A module's tests
// declare the module once (Spec), then start it per backend:
//
//	var module = moduletest.Spec[Store, *Module]{Open: OpenStore, New: New,
//		Relay: func(m *Module, r *outbox.Relay) { m.relay = r }}
//
//	moduletest.ForEach(t, module, func(t *testing.T, h *moduletest.Harness[*Module]) {
//		products := moduletest.NewStub(t, h.Bus, contract.ProductQueue)
//		moduletest.Handle(products, contract.GetProducts, fakeProducts)
//		events := bustest.Record[contract.CartEvent](t, h.Bus, "cart.*")
//		got := bustest.Call(t, h.Bus, contract.AddLine, req)
//		evs := moduletest.Settle(t, h.Outbox, events) // the relay has published
//		...
//	})
//
// A module's outbox test is its writes and the events they announce, with
// the relay held back (HoldOutbox) until the test has seen them pending:
// see Outbox.
//
// Like storetest (which it uses for the backends: SQLite always, an
// embedded FerretDB, MongoDB at SHOP_TEST_MONGO_URI), it is for tests
// only. It imports no module package.
package moduletest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/bus/memory"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

// Module is what every module is to its tests: it starts and stops.
type Module interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// Store is what moduletest needs of a module's store: the outbox its
// writes leave their events in, which every module's Store interface has
// (DESIGN.md, Events and read models).
type Store interface {
	Outbox() outbox.Source
}

// Spec is a module as its tests start it, declared once in the module's
// package:
//
//	var module = moduletest.Spec[Store, *Module]{Open: OpenStore, New: New,
//		Relay: func(m *Module, r *outbox.Relay) { m.relay = r }}
type Spec[S Store, M Module] struct {
	// Open opens the module's store on a database: its OpenStore.
	Open func(context.Context, *store.DB) (S, error)
	// New builds the module on a bus with a store, not started: its New
	// (or a closure over it, for a module that takes more).
	New func(bus.Bus, S, *slog.Logger) M
	// Relay hands the module built by New the relay to run in place of
	// the one New made. moduletest makes it as every module's New does
	// (outbox.NewRelay on the module's bus and logger), but over the
	// store's Outbox seen through Harness.Outbox, which then knows what
	// the relay has claimed and can hold it back. The relay is the only
	// reader of a module's outbox, so this is the one seam a test needs:
	// moduletest cannot wrap a store whose type it does not know, and
	// reading the outbox's tables and collections would tie the tests to
	// their layout.
	Relay func(m M, r *outbox.Relay)
}

// StopTimeout bounds a module's Stop and the bus's Close at the end of a
// test, so a handler that hangs fails the test instead of the test binary;
// it also bounds the waits for the relay.
const StopTimeout = 5 * time.Second

// Harness is one running module under test.
type Harness[M Module] struct {
	// Bus is the bus the module serves on: an in-process one from
	// NewBus unless OnBus gave another. Call the module's endpoints
	// through it (bustest.Call), record its events (bustest.Record), and
	// stub its peers on it (NewStub).
	Bus bus.Bus
	// Module is the started module, for a test that calls its methods.
	Module M
	// DB is the store the module's data is in, for storetest.BackendOf,
	// storetest.Require or a second instance.
	DB *store.DB
	// Outbox is the module's outbox as its relay reads it: what is
	// pending, a wait until the relay has published it (Wait, Settle)
	// and, with HoldOutbox, the relay held until Publish.
	Outbox *Outbox
}

// Option changes how Start runs the module.
type Option func(*config)

type config struct {
	bus  bus.Bus
	log  *slog.Logger
	hold bool
}

// OnBus starts the module on b (from NewBus, another Harness's Bus, or a
// RabbitMQ connection) instead of a bus of its own: for stubs that must be
// in place before the module starts, and for a second instance competing
// for the same queue. The bus then belongs to whoever made it and is not
// closed by this harness.
func OnBus(b bus.Bus) Option { return func(c *config) { c.bus = b } }

// WithLogger gives the module log instead of the test's log (the default,
// which is shown with -v or when the test fails).
func WithLogger(log *slog.Logger) Option { return func(c *config) { c.log = log } }

// HoldOutbox starts the module with its relay held back: the module
// serves requests and its writes commit their events, but nothing is
// published until the test calls Outbox.Publish (or Outbox.Let). It is
// how an outbox test sees each write's events waiting in the store, and
// that a failed write left none.
func HoldOutbox() Option { return func(c *config) { c.hold = true } }

// TestLogger is a logger writing to t's output: shown with -v or when the
// test fails, and attributed to the test that logged.
func TestLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// NewBus returns an in-process bus that is closed when t ends.
func NewBus(t testing.TB) *memory.Bus {
	t.Helper()
	b := memory.New(TestLogger(t))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), StopTimeout)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			t.Errorf("moduletest: close bus: %v", err)
		}
	})
	return b
}

// Start opens the module's store on db with spec.Open, builds the module
// with spec.New on a memory bus, gives it a relay through the harness's
// Outbox (spec.Relay), and starts it. When t ends the module is stopped, then the bus closed; a
// failing Stop fails the test.
func Start[S Store, M Module](t testing.TB, db *store.DB, spec Spec[S, M], opts ...Option) *Harness[M] {
	t.Helper()
	cfg := config{}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.bus == nil {
		cfg.bus = NewBus(t)
	}
	if cfg.log == nil {
		cfg.log = TestLogger(t)
	}
	if spec.Open == nil || spec.New == nil || spec.Relay == nil {
		t.Fatal("moduletest: a Spec needs Open, New and Relay")
	}
	st, err := spec.Open(context.Background(), db)
	if err != nil {
		t.Fatalf("moduletest: open store: %v", err)
	}
	ob := newOutbox(t, cfg.bus, st.Outbox(), cfg.hold)
	m := spec.New(cfg.bus, st, cfg.log)
	spec.Relay(m, outbox.NewRelay(cfg.bus, ob.source(), cfg.log))
	run(t, m)
	return &Harness[M]{Bus: cfg.bus, Module: m, DB: db, Outbox: ob}
}

// ForEach runs fn as a subtest per backend storetest reaches, each with the
// module started by Start on a fresh store and a fresh bus (OnBus is
// ignored here: a bus is never shared between backends).
func ForEach[S Store, M Module](t *testing.T, spec Spec[S, M], fn func(t *testing.T, h *Harness[M]), opts ...Option) {
	t.Helper()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		fn(t, Start(t, db, spec, append(opts[:len(opts):len(opts)], func(c *config) { c.bus = nil })...))
	})
}

// run starts m and stops it when t ends; a failing Stop fails the test.
func run(t testing.TB, m Module) {
	t.Helper()
	if err := m.Start(context.Background()); err != nil {
		t.Fatalf("moduletest: start %T: %v", m, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), StopTimeout)
		defer cancel()
		if err := m.Stop(ctx); err != nil {
			t.Errorf("moduletest: stop %T: %v", m, err)
		}
	})
}
