package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/shopengine/shop/internal/modules"
)

// serveFlags are the flags of `shop serve`.
type serveFlags struct {
	only            string
	busURL          string
	databaseURL     string
	httpAddr        string
	shutdownTimeout time.Duration
}

func addBusFlag(cmd *cobra.Command, dst *string) {
	cmd.Flags().StringVar(dst, "bus-url", "memory://", "bus to use: memory:// (in-process) or amqp://user:pass@host:5672/ (RabbitMQ)")
}

func newServeCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the selected modules until SIGINT/SIGTERM, then drain and exit",
		Long: `Run the shop's modules (all by default, or the subset named by --only) until
SIGINT or SIGTERM, then stop taking work, finish what is in flight and exit 0.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			targets, err := modules.ParseOnly(f.only)
			if err != nil {
				return usageError{err}
			}
			if f.shutdownTimeout <= 0 {
				return usageError{fmt.Errorf("--shutdown-timeout %v: must be positive", f.shutdownTimeout)}
			}
			app, err := modules.New(modules.Config{
				Targets:     targets,
				BusURL:      f.busURL,
				DatabaseURL: f.databaseURL,
				HTTPAddr:    f.httpAddr,
				Worker:      -1,
				Log:         slog.Default(),
			})
			if err != nil {
				return usageError{err}
			}
			return app.Run(cmd.Context(), f.shutdownTimeout)
		},
	}
	cmd.Flags().StringVar(&f.only, "only", "", "comma-separated modules to run (default: all); see 'shop modules'")
	addBusFlag(cmd, &f.busURL)
	cmd.Flags().StringVar(&f.databaseURL, "database-url", "sqlite://./shop-data", "database: sqlite://<dir> (one file per module) or mongodb://host1,host2/?replicaSet=rs0")
	cmd.Flags().StringVar(&f.httpAddr, "http-addr", "127.0.0.1:8080", "address the HTTP server listens on")
	cmd.Flags().DurationVar(&f.shutdownTimeout, "shutdown-timeout", 30*time.Second, "how long to drain in-flight work on SIGTERM")
	return cmd
}
