// Package moduletest starts a module under test as the shop runs it: its
// store opened through the module's own OpenStore on a real backend, on an
// in-process bus, and stopped with the bus when the test ends. It also
// serves stubs of the other modules it talks to, so that a module's tests,
// like its code, reach other modules only through internal/contract and
// the bus (TestModulesDoNotImportEachOther holds for _test.go files too).
//
// It is the part every module's test harness repeated:
//
//	moduletest.ForEach(t, cart.OpenStore, cart.New, func(t *testing.T, h *moduletest.Harness[*cart.Module]) {
//		products := moduletest.NewStub(t, h.Bus, contract.ProductQueue)
//		moduletest.Handle(products, contract.GetProducts, fakeProducts)
//		got := bustest.Call(t, h.Bus, contract.AddLine, req)
//		...
//	})
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
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

// Module is what every module is to its tests: it starts and stops.
type Module interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// StopTimeout bounds a module's Stop and the bus's Close at the end of a
// test, so a handler that hangs fails the test instead of the test binary.
const StopTimeout = 5 * time.Second

// Harness is one running module under test.
type Harness[M Module] struct {
	// Bus is the in-process bus the module serves on: call its endpoints
	// through it (bustest.Call), record its events (bustest.Record), and
	// stub its peers on it (NewStub). Bus.Peer() is a second "process".
	Bus *memory.Bus
	// Module is the started module, for a test that calls its methods.
	Module M
	// DB is the store the module's data is in, for storetest.BackendOf,
	// storetest.Require or a second instance.
	DB *store.DB
}

// Option changes how Start runs the module.
type Option func(*config)

type config struct {
	bus *memory.Bus
	log *slog.Logger
}

// OnBus starts the module on b (from NewBus, or another Harness's Bus)
// instead of a bus of its own: for stubs that must be in place before the
// module starts, and for a second instance competing for the same queue.
// The bus then belongs to whoever made it and is not closed by this
// harness.
func OnBus(b *memory.Bus) Option { return func(c *config) { c.bus = b } }

// WithLogger gives the module log instead of the test's log (the default,
// which is shown with -v or when the test fails).
func WithLogger(log *slog.Logger) Option { return func(c *config) { c.log = log } }

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

// Start opens the module's store on db with open (the module's OpenStore),
// builds the module with build (its New) on a memory bus, and starts it.
// When t ends the module is stopped, then the bus closed; a failing Stop
// fails the test.
func Start[S any, M Module](t testing.TB, db *store.DB,
	open func(context.Context, *store.DB) (S, error), build func(bus.Bus, S, *slog.Logger) M, opts ...Option,
) *Harness[M] {
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
	ctx := context.Background()
	st, err := open(ctx, db)
	if err != nil {
		t.Fatalf("moduletest: open store: %v", err)
	}
	m := build(cfg.bus, st, cfg.log)
	if err := m.Start(ctx); err != nil {
		t.Fatalf("moduletest: start %T: %v", m, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), StopTimeout)
		defer cancel()
		if err := m.Stop(ctx); err != nil {
			t.Errorf("moduletest: stop %T: %v", m, err)
		}
	})
	return &Harness[M]{Bus: cfg.bus, Module: m, DB: db}
}

// ForEach runs fn as a subtest per backend storetest reaches, each with the
// module started by Start on a fresh store and a fresh bus (OnBus is
// ignored here: a bus is never shared between backends).
func ForEach[S any, M Module](t *testing.T,
	open func(context.Context, *store.DB) (S, error), build func(bus.Bus, S, *slog.Logger) M,
	fn func(t *testing.T, h *Harness[M]), opts ...Option,
) {
	t.Helper()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		fn(t, Start(t, db, open, build, append(opts[:len(opts):len(opts)], func(c *config) { c.bus = nil })...))
	})
}
