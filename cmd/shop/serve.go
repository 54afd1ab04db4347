package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules"
	"github.com/shopengine/shop/internal/modules/auth"
	"github.com/shopengine/shop/internal/modules/cart"
	"github.com/shopengine/shop/internal/modules/web"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/supervisor"
)

// serveFlags are the flags of `shop serve`.
type serveFlags struct {
	only            string
	bus             busFlags
	databaseURL     string
	httpAddr        string
	adminToken      string
	workers         int
	maxRestarts     int
	restartWindow   time.Duration
	shutdownTimeout time.Duration
	auth            auth.Config
	cart            cart.Config
	secureCookies   bool
	trustedProxies  string
	dev             bool
	devAssets       string
	demo            bool
	demoProducts    int
	pprofAddr       string
}

// busFlags select the bus; every command that talks to modules has them.
type busFlags struct{ url, prefix string }

func addBusFlags(cmd *cobra.Command, f *busFlags) {
	cmd.Flags().StringVar(&f.url, "bus-url", "memory://", "bus to use: memory:// (in-process) or amqp://user:pass@host:5672/ (RabbitMQ)")
	cmd.Flags().StringVar(&f.prefix, "bus-prefix", "", "prefix of every queue and exchange name on RabbitMQ, to share a broker between shops")
}

func addDatabaseFlag(cmd *cobra.Command, dst *string) {
	cmd.Flags().StringVar(dst, "database-url", store.DefaultURL, "database: sqlite://<dir> (one file per module) or mongodb://host1,host2/?replicaSet=rs0")
}

func newServeCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the selected modules until SIGINT/SIGTERM, then drain and exit",
		Long: `Run the shop's modules (all by default, or the subset named by --only) until
SIGINT or SIGTERM, then stop taking work, finish what is in flight and exit 0.

A primary process opens the HTTP socket and runs --workers worker processes
that share it; a worker that dies is restarted, at most --max-restarts times
within --restart-window, after which serve stops with an error.
--workers=0 runs everything in this one process.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.config()
			if err != nil {
				return usageError{err}
			}
			// New validates the whole configuration before anything starts.
			if _, err := modules.New(cfg); err != nil {
				return usageError{err}
			}
			// The demo is seeded once, by the process that starts the
			// shop, before any worker opens the database.
			if f.demo && !supervisor.IsWorker() {
				if err := seedDemo(cmd.Context(), &f, cmd.OutOrStdout()); err != nil {
					return err
				}
			}
			if f.pprofAddr != "" && (supervisor.IsWorker() || f.workers == 0) {
				if err := servePprof(cmd.Context(), f.pprofAddr, supervisor.WorkerIndex()); err != nil {
					return usageError{err}
				}
			}
			switch {
			case supervisor.IsWorker():
				return f.runWorker(cmd.Context(), cfg)
			case f.workers == 0:
				return runApp(cmd.Context(), cfg, f.shutdownTimeout)
			default:
				return f.runPrimary(cmd.Context())
			}
		},
	}
	cmd.Flags().StringVar(&f.only, "only", "", "comma-separated modules to run (default: all); see 'shop modules'")
	addBusFlags(cmd, &f.bus)
	addDatabaseFlag(cmd, &f.databaseURL)
	cmd.Flags().StringVar(&f.httpAddr, "http-addr", "127.0.0.1:8080", "address the HTTP server listens on")
	cmd.Flags().StringVar(&f.adminToken, "admin-token", "", "bearer token that opens the admin API; unset keeps it closed (prefer the environment variable)")
	cmd.Flags().IntVar(&f.workers, "workers", runtime.NumCPU(), "worker processes; 0 runs everything in one process without a supervisor")
	cmd.Flags().IntVar(&f.maxRestarts, "max-restarts", supervisor.DefaultMaxRestarts, "worker restarts allowed within --restart-window before serve gives up (0: none)")
	cmd.Flags().DurationVar(&f.restartWindow, "restart-window", supervisor.DefaultRestartWindow, "sliding window for --max-restarts")
	cmd.Flags().DurationVar(&f.shutdownTimeout, "shutdown-timeout", supervisor.DefaultShutdownTimeout, "how long to drain in-flight work on SIGTERM")
	cmd.Flags().IntVar(&f.auth.BcryptCost, "bcrypt-cost", auth.DefaultCost, fmt.Sprintf("bcrypt cost of new password hashes (at least %d); older hashes are upgraded at login", auth.MinCost))
	cmd.Flags().DurationVar(&f.auth.IdleTimeout, "session-idle-timeout", auth.DefaultIdleTimeout, "a session unused this long ends (sliding)")
	cmd.Flags().DurationVar(&f.auth.MaxLifetime, "session-lifetime", auth.DefaultMaxLifetime, "a session this old ends, however used")
	cmd.Flags().DurationVar(&f.cart.GuestTTL, "cart-guest-ttl", contract.DefaultGuestCartTTL, "a guest cart not written this long is deleted")
	cmd.Flags().Int64Var(&f.cart.LineLimit, "cart-line-limit", contract.DefaultLineLimit, "the most of one variant a cart line holds")
	cmd.Flags().BoolVar(&f.secureCookies, "secure-cookies", false, "mark the session cookie Secure on plain HTTP too (behind a TLS proxy)")
	cmd.Flags().StringVar(&f.trustedProxies, "trusted-proxies", "", "comma list of CIDR ranges of reverse proxies whose X-Forwarded-For gives the client address (rightmost untrusted entry); unset trusts none")
	cmd.Flags().StringVar(&f.auth.SMTPURL, "smtp-url", "", "send mail through smtp://user:pass@host:587 or smtps://…:465; unset logs mail instead")
	cmd.Flags().StringVar(&f.auth.MailFrom, "mail-from", "shop <no-reply@localhost>", "sender of the shop's mail")
	cmd.Flags().StringVar(&f.auth.PublicURL, "public-url", "http://127.0.0.1:8080", "the shop's address as users reach it, for links in mail and feeds")
	cmd.Flags().StringVar(&f.devAssets, "dev-assets", "", "read the storefront's templates and static files from this directory (laid out like the repository's web/) on every request, for live editing; unset uses the embedded copy")
	cmd.Flags().BoolVar(&f.demo, "demo", false, "on an empty shop, first seed a sample catalogue (--demo-products) and a demo customer, whose login is printed; plain serve never seeds")
	cmd.Flags().IntVar(&f.demoProducts, "demo-products", defaultDemoProducts, "how many sample products --demo seeds")
	// --pprof-addr is for profiling under load (bench/web.sh), not for users.
	cmd.Flags().StringVar(&f.pprofAddr, "pprof-addr", "", "serve net/http/pprof on this address (a worker: the port plus its index)")
	_ = cmd.Flags().MarkHidden("pprof-addr")
	cmd.Flags().BoolVar(&f.dev, "dev", false, "development mode: /dev/mail shows the mail logged instead of sent (without --smtp-url)")
	return cmd
}

// config checks the flags and returns the registry's configuration.
func (f *serveFlags) config() (modules.Config, error) {
	targets, err := modules.ParseOnly(f.only)
	if err != nil {
		return modules.Config{}, err
	}
	switch {
	case f.workers < 0:
		return modules.Config{}, fmt.Errorf("--workers %d: must be 0 or more", f.workers)
	case f.workers > 256:
		return modules.Config{}, fmt.Errorf("--workers %d: at most 256", f.workers)
	case f.maxRestarts < 0:
		return modules.Config{}, fmt.Errorf("--max-restarts %d: must be 0 or more", f.maxRestarts)
	case f.restartWindow <= 0:
		return modules.Config{}, fmt.Errorf("--restart-window %v: must be positive", f.restartWindow)
	case f.shutdownTimeout <= 0:
		return modules.Config{}, fmt.Errorf("--shutdown-timeout %v: must be positive", f.shutdownTimeout)
	case f.cart.GuestTTL < time.Hour:
		return modules.Config{}, fmt.Errorf("--cart-guest-ttl %v: at least 1h", f.cart.GuestTTL)
	case f.cart.LineLimit < 1 || f.cart.LineLimit > contract.MaxStock:
		return modules.Config{}, fmt.Errorf("--cart-line-limit %d: want 1 to %d", f.cart.LineLimit, contract.MaxStock)
	case f.auth.BcryptCost < auth.MinCost:
		return modules.Config{}, fmt.Errorf("--bcrypt-cost %d: at least %d", f.auth.BcryptCost, auth.MinCost)
	}
	if f.demoProducts < 1 || f.demoProducts > maxSeedProducts {
		return modules.Config{}, fmt.Errorf("--demo-products %d: must be 1 to %d", f.demoProducts, maxSeedProducts)
	}
	if f.devAssets != "" {
		if st, err := os.Stat(f.devAssets + "/templates"); err != nil || !st.IsDir() {
			return modules.Config{}, fmt.Errorf("--dev-assets %q: want a directory with templates/ and static/ (the repository's web/)", f.devAssets)
		}
	}
	if err := checkPprofAddr(f.pprofAddr); err != nil {
		return modules.Config{}, err
	}
	proxies, err := web.ParseTrustedProxies(f.trustedProxies)
	if err != nil {
		return modules.Config{}, fmt.Errorf("--trusted-proxies: %w", err)
	}
	return modules.Config{
		Targets:        targets,
		BusURL:         f.bus.url,
		BusPrefix:      f.bus.prefix,
		DatabaseURL:    f.databaseURL,
		HTTPAddr:       f.httpAddr,
		AdminToken:     f.adminToken,
		Auth:           f.auth,
		Cart:           f.cart,
		SecureCookies:  f.secureCookies,
		TrustedProxies: proxies,
		Dev:            f.dev,
		DevAssets:      f.devAssets,
		Worker:         -1,
		Log:            slog.Default(),
	}, nil
}

func runApp(ctx context.Context, cfg modules.Config, shutdownTimeout time.Duration) error {
	app, err := modules.New(cfg)
	if err != nil {
		return err
	}
	return app.Run(ctx, shutdownTimeout)
}

// runPrimary opens the HTTP socket once and supervises the workers, which
// re-execute this binary with the same arguments and environment.
func (f *serveFlags) runPrimary(ctx context.Context) error {
	ln, err := net.Listen("tcp", f.httpAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", f.httpAddr, err)
	}
	defer ln.Close()
	log := slog.Default().With("role", "primary")
	log.Info("http listening", "addr", ln.Addr().String(), "workers", f.workers, "primary_pid", os.Getpid())
	maxRestarts := f.maxRestarts
	if maxRestarts == 0 {
		maxRestarts = -1 // the supervisor reads 0 as "default"
	}
	return supervisor.Run(ctx, supervisor.Config{
		Workers:         f.workers,
		Listeners:       []net.Listener{ln},
		MaxRestarts:     maxRestarts,
		RestartWindow:   f.restartWindow,
		ShutdownTimeout: f.shutdownTimeout,
		Logger:          log,
	})
}

// runWorker serves on the primary's socket until told to stop, or until
// the primary is gone.
func (f *serveFlags) runWorker(ctx context.Context, cfg modules.Config) error {
	ctx, cancel := supervisor.WatchParent(ctx)
	defer cancel()
	ls, err := supervisor.InheritedListeners()
	if err != nil {
		return err
	}
	if len(ls) != 1 {
		return fmt.Errorf("worker: inherited %d listeners, want 1", len(ls))
	}
	cfg.Listener, cfg.Worker = ls[0], supervisor.WorkerIndex()
	cfg.Log = slog.Default().With("worker", cfg.Worker, "pid", os.Getpid())
	slog.SetDefault(cfg.Log)
	cfg.Log.Info("worker starting")
	return runApp(ctx, cfg, f.shutdownTimeout)
}
