package modules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/bus/amqp"
	"github.com/shopengine/shop/internal/bus/memory"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/metrics"
	"github.com/shopengine/shop/internal/modules/auth"
	"github.com/shopengine/shop/internal/modules/cart"
	"github.com/shopengine/shop/internal/modules/seeder"
	"github.com/shopengine/shop/internal/modules/web"
	"github.com/shopengine/shop/internal/redact"
	"github.com/shopengine/shop/internal/store"
)

// Config is what `shop serve` hands the registry.
type Config struct {
	Targets     []string // from ParseOnly
	BusURL      string   // memory:// or amqp://…
	BusPrefix   string   // names on a shared broker: "<prefix>shop.<module>"
	DatabaseURL string
	HTTPAddr    string
	// Listener, when set, is the HTTP socket inherited from the supervisor;
	// otherwise the server listens on HTTPAddr.
	Listener net.Listener
	// AdminToken opens the admin HTTP API (empty: closed).
	AdminToken string
	// Auth configures the auth module (bcrypt cost, session lifetimes, SMTP).
	Auth auth.Config
	// Cart configures the cart module (line limit, guest cart lifetime).
	Cart cart.Config
	// SecureCookies marks the session cookie Secure on plain HTTP too.
	SecureCookies bool
	// Dev serves development pages (/dev/mail).
	Dev bool
	// DevAssets, when set, is a directory laid out like the repository's
	// web/ (templates/, static/) that the storefront reads per request
	// instead of the embedded copy: live editing.
	DevAssets string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For the
	// web module believes (web.ParseTrustedProxies).
	TrustedProxies []netip.Prefix
	// Worker is this process's worker index, or -1 without a supervisor.
	Worker int
	Log    *slog.Logger
	// NoServer hosts the modules without the internal server module: no
	// HTTP port, no /healthz. It is for a command that hosts modules
	// in-process for its own use (shop seed on the memory bus); every
	// serving process has the server, which is why the zero value does.
	// Targets that need the server (web) are then refused.
	NoServer bool
}

// Service is a running module: started after its dependencies, stopped
// before them.
type Service interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// App holds what the modules of one process share. Init functions read
// and fill it, like the fields of Mimir's App.
type App struct {
	cfg      Config
	log      *slog.Logger
	metrics  *metrics.Metrics
	bus      bus.Bus // instrumented
	db       *store.DB
	router   chi.Router
	ready    atomic.Bool
	stopping atomic.Bool // tells /readyz's "stopping" from "starting"
	fatal    chan error  // a module that fails while running reports here
	running  []started   // started modules, in start order
	services map[string]Service
	initing  string // the module being built, for its logger
}

// New checks the configuration; Run does the work.
func New(cfg Config) (*App, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if len(cfg.Targets) == 0 {
		cfg.Targets = []string{All}
	}
	order, err := processOrder(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := parseBusURL(cfg.BusURL); err != nil {
		return nil, err
	}
	if err := store.CheckURL(cfg.DatabaseURL); err != nil {
		return nil, err
	}
	// The auth module's flags (--smtp-url, --mail-from, costs, lifetimes)
	// fail here, before anything starts, not when the module is built.
	if slices.Contains(order, contract.AuthQueue) {
		if err := cfg.Auth.Validate(); err != nil {
			return nil, err
		}
	}
	return &App{cfg: cfg, log: cfg.Log, metrics: metrics.New(cfg.Worker), fatal: make(chan error, 1), services: map[string]Service{}}, nil
}

type started struct {
	name string
	svc  Service
}

// Start builds the selected modules in dependency order, then starts them
// in the same order (like dskit: every route and handler exists before
// anything serves). On failure it stops what it started.
func (a *App) Start(ctx context.Context) error {
	order, err := processOrder(a.cfg)
	if err != nil {
		return err
	}
	var built []started
	fail := func(err error) error {
		a.running = built
		return errors.Join(err, a.Stop(10*time.Second))
	}
	for _, name := range order {
		a.initing = name
		svc, err := table[name].init(a)
		if err != nil {
			return fail(fmt.Errorf("init %s: %w", name, err))
		}
		built = append(built, started{name, svc})
		a.services[name] = svc
	}
	for i, m := range built {
		if err := m.svc.Start(ctx); err != nil {
			built = built[:i+1] // Stop is safe on the one that failed
			return fail(fmt.Errorf("start %s: %w", m.name, err))
		}
		a.log.Debug("module started", "module", m.name)
		if f, ok := m.svc.(failer); ok {
			go a.watch(m.name, f)
		}
	}
	a.running = built
	a.ready.Store(true)
	a.log.Info("shop running", "modules", order, "bus", redact.URL(a.cfg.BusURL), "worker", a.cfg.Worker)
	return nil
}

// Stop stops the started modules in reverse order, the whole drain bounded
// by timeout.
func (a *App) Stop(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	a.stopping.Store(true)
	a.ready.Store(false)
	var errs []error
	for i := len(a.running) - 1; i >= 0; i-- {
		m := a.running[i]
		a.log.Debug("stopping module", "module", m.name)
		if err := m.svc.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", m.name, err))
		}
	}
	a.running = nil
	return errors.Join(errs...)
}

// Run starts the modules, runs until ctx ends or a module fails, then stops
// them, draining in-flight work for at most shutdownTimeout. A clean
// shutdown returns nil.
func (a *App) Run(ctx context.Context, shutdownTimeout time.Duration) error {
	if err := a.Start(ctx); err != nil {
		return err
	}
	var runErr error
	select {
	case <-ctx.Done():
		a.log.Info("shutting down: draining")
	case runErr = <-a.fatal:
		a.log.Error("module failed, shutting down", "err", runErr)
	}
	return errors.Join(runErr, a.Stop(shutdownTimeout))
}

// failer is a module with background work (an event relay, a feed
// tailer): Failed yields the error that ended it. The process cannot do its
// work without it, so, as with dskit's module services, the process stops
// and says which module failed; nothing fails silently.
type failer interface {
	Failed() <-chan error
}

func (a *App) watch(name string, f failer) {
	err, ok := <-f.Failed()
	if !ok || err == nil {
		return
	}
	select {
	case a.fatal <- fmt.Errorf("module %s: %w", name, err):
	default: // another module failed first; the process is stopping
	}
}

// Bus is the process's bus connection, once Start has run.
func (a *App) Bus() bus.Bus { return a.bus }

// initFunc builds one module of the table for an App.
type initFunc func(a *App) (Service, error)

// domain is the init of every domain module: open the module's store on
// the process's database, then build the module on the bus with it. The
// store and the module are the package's OpenStore and New, so a new
// module needs no init code of its own.
func domain[S any, M Service](open func(context.Context, *store.DB) (S, error), build func(bus.Bus, S, *slog.Logger) M) initFunc {
	return func(a *App) (Service, error) {
		st, err := open(context.Background(), a.db)
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		return build(a.bus, st, a.log.With("module", a.initing)), nil
	}
}

// svcFuncs adapts two functions to Service.
type svcFuncs struct{ start, stop func(context.Context) error }

func (s svcFuncs) Start(ctx context.Context) error { return s.start(ctx) }
func (s svcFuncs) Stop(ctx context.Context) error  { return s.stop(ctx) }

func nop(context.Context) error { return nil }

func (a *App) initBus() (Service, error) {
	ctx, cancel := context.WithTimeout(context.Background(), busDialTimeout)
	defer cancel()
	b, err := DialBus(ctx, a.cfg.BusURL, a.cfg.BusPrefix, a.log)
	if err != nil {
		return nil, err
	}
	a.bus = a.metrics.Bus(b)
	return svcFuncs{start: nop, stop: b.Close}, nil
}

// busDialTimeout bounds the first connection to the bus at start.
const busDialTimeout = 10 * time.Second

func (a *App) initStore() (Service, error) {
	db, err := store.Open(context.Background(), a.cfg.DatabaseURL, store.WithLogger(a.log))
	if err != nil {
		return nil, err
	}
	a.db = db
	return svcFuncs{start: nop, stop: db.Close}, nil
}

// initAuth builds the auth module, which takes its configuration (bcrypt
// cost, session lifetimes, mail) besides its store.
func (a *App) initAuth() (Service, error) {
	st, err := auth.OpenStore(context.Background(), a.db)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return auth.New(a.bus, st, a.cfg.Auth, a.log.With("module", a.initing))
}

// initCart builds the cart module with its configuration (the line
// limit, how long idle guest carts live).
func (a *App) initCart() (Service, error) {
	return domain(cart.OpenStore, func(b bus.Bus, st cart.Store, log *slog.Logger) *cart.Module {
		return cart.NewWithConfig(b, st, a.cfg.Cart, log)
	})(a)
}

func (a *App) initServer() (Service, error) {
	a.router = a.newRouter()
	srv := &http.Server{
		Handler:           a.router,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	return svcFuncs{
		start: func(context.Context) error {
			l := a.cfg.Listener
			if l == nil {
				var err error
				if l, err = net.Listen("tcp", a.cfg.HTTPAddr); err != nil {
					return fmt.Errorf("listen on %s: %w", a.cfg.HTTPAddr, err)
				}
			}
			a.log.Info("http listening", "addr", l.Addr().String())
			go func() {
				if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
					select {
					case a.fatal <- fmt.Errorf("http server: %w", err):
					default:
					}
				}
			}()
			return nil
		},
		// Shutdown stops accepting and waits for in-flight requests.
		stop: srv.Shutdown,
	}, nil
}

func (a *App) initSeeder() (Service, error) {
	return seeder.New(a.bus, a.log.With("module", Seeder)), nil
}

// Seeder is the started seeder, when the App's targets include it.
func (a *App) Seeder() *seeder.Module {
	m, _ := a.services[Seeder].(*seeder.Module)
	return m
}

func (a *App) initWeb() (Service, error) {
	var assets web.Assets
	if a.cfg.DevAssets != "" {
		assets = web.Assets{FS: os.DirFS(a.cfg.DevAssets), Live: true}
	}
	m, err := web.New(web.Config{Bus: a.bus, AdminToken: a.cfg.AdminToken, SecureCookies: a.cfg.SecureCookies, Dev: a.cfg.Dev,
		TrustedProxies: a.cfg.TrustedProxies, PublicURL: a.cfg.Auth.PublicURL, Assets: assets,
		PartsTTL: web.DefaultPartsTTL, Log: a.log.With("module", Web)})
	if err != nil {
		return nil, err
	}
	m.Routes(a.router)
	return m, nil
}

// DialBus connects to the bus named by rawURL: memory:// (in-process) or
// amqp://user:pass@host:port/vhost (RabbitMQ). On RabbitMQ, prefix is put
// before every queue and exchange name, so several shops (or test runs)
// can share one broker.
func DialBus(ctx context.Context, rawURL, prefix string, log *slog.Logger) (bus.Bus, error) {
	u, err := parseBusURL(rawURL)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "memory":
		return memory.New(log), nil
	default:
		b, err := amqp.Dial(ctx, rawURL, amqp.Options{Logger: log, Prefix: prefix})
		if err != nil {
			return nil, fmt.Errorf("connect to bus %s: %w", redact.URL(rawURL), err)
		}
		return b, nil
	}
}

func parseBusURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("bus url: %w", err)
	}
	switch u.Scheme {
	case "memory":
		return u, nil
	case "amqp", "amqps":
		if u.Host == "" {
			return nil, fmt.Errorf("bus url %s: no host", redact.URL(rawURL))
		}
		return u, nil
	}
	return nil, fmt.Errorf("bus url %q: unknown scheme %q; use memory:// or amqp://user:pass@host:5672/", redact.URL(rawURL), u.Scheme)
}
