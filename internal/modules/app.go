package modules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/bus/amqp"
	"github.com/shopengine/shop/internal/bus/memory"
	"github.com/shopengine/shop/internal/metrics"
	"github.com/shopengine/shop/internal/modules/attribute"
	"github.com/shopengine/shop/internal/modules/auth"
	"github.com/shopengine/shop/internal/modules/category"
	"github.com/shopengine/shop/internal/modules/option"
	"github.com/shopengine/shop/internal/modules/product"
	"github.com/shopengine/shop/internal/modules/web"
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
	// SecureCookies marks the session cookie Secure on plain HTTP too.
	SecureCookies bool
	// Dev serves development pages (/dev/mail).
	Dev bool
	// Worker is this process's worker index, or -1 without a supervisor.
	Worker int
	Log    *slog.Logger
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
	cfg     Config
	log     *slog.Logger
	metrics *metrics.Metrics
	bus     bus.Bus // instrumented
	db      *store.DB
	router  chi.Router
	ready   atomic.Bool
	fatal   chan error // a module that fails while running reports here
	running []started  // started modules, in start order
}

// inits builds each module; the dependency table says in which order.
var inits = map[string]func(a *App) (Service, error){
	BusConn:   (*App).initBus,
	Store:     (*App).initStore,
	Server:    (*App).initServer,
	Category:  (*App).initCategory,
	Attribute: (*App).initAttribute,
	Option:    (*App).initOption,
	Product:   (*App).initProduct,
	Auth:      (*App).initAuth,
	Web:       (*App).initWeb,
}

// New checks the configuration; Run does the work.
func New(cfg Config) (*App, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if len(cfg.Targets) == 0 {
		cfg.Targets = []string{All}
	}
	if _, err := Order(cfg.Targets); err != nil {
		return nil, err
	}
	if _, err := parseBusURL(cfg.BusURL); err != nil {
		return nil, err
	}
	if err := store.CheckURL(cfg.DatabaseURL); err != nil {
		return nil, err
	}
	return &App{cfg: cfg, log: cfg.Log, metrics: metrics.New(cfg.Worker), fatal: make(chan error, 1)}, nil
}

type started struct {
	name string
	svc  Service
}

// Start builds the selected modules in dependency order, then starts them
// in the same order (like dskit: every route and handler exists before
// anything serves). On failure it stops what it started.
func (a *App) Start(ctx context.Context) error {
	order, err := Order(a.cfg.Targets)
	if err != nil {
		return err
	}
	var built []started
	fail := func(err error) error {
		a.running = built
		return errors.Join(err, a.Stop(10*time.Second))
	}
	for _, name := range order {
		svc, err := inits[name](a)
		if err != nil {
			return fail(fmt.Errorf("init %s: %w", name, err))
		}
		built = append(built, started{name, svc})
	}
	for i, m := range built {
		if err := m.svc.Start(ctx); err != nil {
			built = built[:i+1] // Stop is safe on the one that failed
			return fail(fmt.Errorf("start %s: %w", m.name, err))
		}
		a.log.Debug("module started", "module", m.name)
	}
	a.running = built
	a.ready.Store(true)
	a.log.Info("shop running", "modules", order, "bus", redact(a.cfg.BusURL), "worker", a.cfg.Worker)
	return nil
}

// Stop stops the started modules in reverse order, the whole drain bounded
// by timeout.
func (a *App) Stop(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
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

// Bus is the process's bus connection, once Start has run.
func (a *App) Bus() bus.Bus { return a.bus }

// Ready reports whether every module has started and the bus is usable.
func (a *App) Ready() error {
	if !a.ready.Load() {
		return errors.New("starting or stopping")
	}
	if a.bus != nil {
		if err := a.bus.Healthy(); err != nil {
			return fmt.Errorf("bus: %w", err)
		}
	}
	return nil
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

func (a *App) initAttribute() (Service, error) {
	st, err := attribute.OpenStore(context.Background(), a.db)
	if err != nil {
		return nil, fmt.Errorf("attribute store: %w", err)
	}
	return attribute.New(a.bus, st, a.log.With("module", Attribute)), nil
}

func (a *App) initCategory() (Service, error) {
	st, err := category.OpenStore(context.Background(), a.db)
	if err != nil {
		return nil, fmt.Errorf("category store: %w", err)
	}
	return category.New(a.bus, st, a.log.With("module", Category)), nil
}

func (a *App) initOption() (Service, error) {
	st, err := option.OpenStore(context.Background(), a.db)
	if err != nil {
		return nil, fmt.Errorf("option store: %w", err)
	}
	return option.New(a.bus, st, a.log.With("module", Option)), nil
}

func (a *App) initProduct() (Service, error) {
	st, err := product.OpenStore(context.Background(), a.db)
	if err != nil {
		return nil, fmt.Errorf("product store: %w", err)
	}
	return product.New(a.bus, st, a.log.With("module", Product)), nil
}

func (a *App) initAuth() (Service, error) {
	st, err := auth.OpenStore(context.Background(), a.db)
	if err != nil {
		return nil, fmt.Errorf("auth store: %w", err)
	}
	return auth.New(a.bus, st, a.cfg.Auth, a.log.With("module", Auth))
}

func (a *App) initServer() (Service, error) {
	a.router = chi.NewRouter()
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

func (a *App) initWeb() (Service, error) {
	m := web.New(web.Config{Bus: a.bus, Metrics: a.metrics.Registry, Ready: a.Ready, AdminToken: a.cfg.AdminToken, SecureCookies: a.cfg.SecureCookies, Dev: a.cfg.Dev, Worker: a.cfg.Worker, Log: a.log.With("module", Web)})
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
			return nil, fmt.Errorf("connect to bus %s: %w", redact(rawURL), err)
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
			return nil, fmt.Errorf("bus url %s: no host", redact(rawURL))
		}
		return u, nil
	}
	return nil, fmt.Errorf("bus url %q: unknown scheme %q; use memory:// or amqp://user:pass@host:5672/", redact(rawURL), u.Scheme)
}

// redact hides a URL's password for logs and errors.
func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparseable url)"
	}
	return u.Redacted()
}
