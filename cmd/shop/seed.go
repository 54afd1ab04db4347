package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/shopengine/shop/internal/modules"
	"github.com/shopengine/shop/internal/modules/seeder"
)

// maxSeedProducts bounds --products.
const maxSeedProducts = 1_000_000

func newSeedCmd() *cobra.Command {
	var (
		bf          busFlags
		databaseURL string
		cpuProfile  string
		opts        seeder.Options
	)
	cmd := &cobra.Command{
		Use:   "seed",
		Short: "Fill the modules with a consistent sample catalogue",
		Long: `Create, through the bus, a sample shop: a three-level category tree,
attribute groups and definitions, option groups and --products products with
attribute values, variants, prices and stock; an admin and three customers
with demo passwords (printed at the end); articles, published, scheduled and
a draft; the home page's seo override; and a cart for every sample customer.
The same --seed gives the same data; a second run creates nothing new;
--reset first removes what a run with these flags creates (the sample users
stay: their carts are emptied).

With --bus-url=memory:// (the default) the command hosts the modules it
needs in this process against --database-url; with an amqp:// URL it talks
to running services.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Products < 0 || opts.Products > maxSeedProducts {
				return usageError{fmt.Errorf("--products %d: must be 0 to %d", opts.Products, maxSeedProducts)}
			}
			ctx := cmd.Context()
			if cpuProfile != "" {
				stopProfile, err := startCPUProfile(cpuProfile)
				if err != nil {
					return err
				}
				defer stopProfile()
			}
			sd, stop, err := startSeeder(ctx, bf, databaseURL)
			if err != nil {
				return err
			}
			defer stop()
			out := cmd.OutOrStdout()
			sum, err := sd.Seed(ctx, opts, newProgress(out))
			if err != nil {
				return fmt.Errorf("seed: %w", err)
			}
			printSummary(out, sum)
			return nil
		},
	}
	cmd.Flags().IntVar(&opts.Products, "products", 200, "how many sample products")
	cmd.Flags().Uint64Var(&opts.Seed, "seed", 42, "random seed: the same seed gives the same catalogue")
	cmd.Flags().BoolVar(&opts.Reset, "reset", false, "first remove what a run with these flags creates")
	// --cpuprofile is for measuring the seeder (go tool pprof), not for users.
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file")
	_ = cmd.Flags().MarkHidden("cpuprofile")
	addBusFlags(cmd, &bf)
	addDatabaseFlag(cmd, &databaseURL)
	return cmd
}

// startCPUProfile profiles the process into path until the returned
// function is called.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cpu profile %s: %w", path, err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			slog.Error("write the cpu profile", "path", path, "err", err)
		}
	}, nil
}

// startSeeder returns the seeder on the bus to seed through: the running
// services' on RabbitMQ, or an in-process one hosting the modules the
// seeder depends on (the registry's table says which).
func startSeeder(ctx context.Context, bf busFlags, databaseURL string) (*seeder.Module, func(), error) {
	if bf.url != "memory://" {
		b, err := modules.DialBus(ctx, bf.url, bf.prefix, slog.Default())
		if err != nil {
			return nil, nil, err
		}
		return seeder.New(b, slog.Default()), func() { _ = b.Close(context.Background()) }, nil
	}
	// The hosted modules log only warnings: the progress is the output.
	// They serve this command alone: no HTTP server, no port to collide
	// with a running shop.
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	app, err := modules.New(modules.Config{Targets: []string{modules.Seeder}, BusURL: bf.url, DatabaseURL: databaseURL, Worker: -1, Log: quiet, NoServer: true})
	if err != nil {
		return nil, nil, usageError{err}
	}
	if err := app.Start(ctx); err != nil {
		return nil, nil, err
	}
	return app.Seeder(), func() {
		if err := app.Stop(30 * time.Second); err != nil {
			slog.Error("stop seeded modules", "err", err)
		}
	}, nil
}

// progress shows a bar on a terminal and plain lines otherwise.
type progress struct {
	out      io.Writer
	terminal bool
	bar      *progressbar.ProgressBar
	stage    string
	total    int
	done     int
	last     time.Time
}

func newProgress(out io.Writer) *progress {
	f, ok := out.(*os.File)
	terminal := false
	if ok {
		if st, err := f.Stat(); err == nil {
			terminal = st.Mode()&os.ModeCharDevice != 0
		}
	}
	return &progress{out: out, terminal: terminal}
}

func (p *progress) Start(stage string, total int) {
	p.stage, p.total, p.done, p.last = stage, total, 0, time.Now()
	if p.terminal {
		p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(p.out), progressbar.OptionSetDescription(stage),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionFullWidth())
		return
	}
	fmt.Fprintf(p.out, "%s: 0/%d\n", stage, total)
}

func (p *progress) Add(n int) {
	p.done += n
	if p.bar != nil {
		_ = p.bar.Add(n)
		return
	}
	if time.Since(p.last) >= 2*time.Second {
		p.last = time.Now()
		fmt.Fprintf(p.out, "%s: %d/%d\n", p.stage, p.done, p.total)
	}
}

func (p *progress) End() {
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintln(p.out)
		p.bar = nil
		return
	}
	fmt.Fprintf(p.out, "%s: %d/%d done\n", p.stage, p.done, p.total)
}

func printSummary(out io.Writer, s seeder.Summary) {
	fmt.Fprintf(out, "\nseeded in %v\n", s.Elapsed.Round(time.Millisecond))
	row := func(kind string, c seeder.Counts) {
		fmt.Fprintf(out, "  %-17s %7d created %7d existing %7d updated %7d deleted\n", kind, c.Created, c.Existing, c.Updated, c.Deleted)
	}
	row("categories", s.Categories)
	row("attribute groups", s.AttributeGroups)
	row("attributes", s.Attributes)
	row("option groups", s.OptionGroups)
	row("products", s.Products)
	row("users", s.Users)
	row("articles", s.Articles)
	row("seo overrides", s.SEOOverrides)
	row("carts", s.Carts)
	fmt.Fprintln(out, "\nstages:")
	for _, st := range s.Stages {
		fmt.Fprintf(out, "  %-17s %7d items in %9v  %9.1f items/s\n", st.Name, st.Items, st.Elapsed.Round(time.Millisecond), st.Rate())
	}
	if len(s.Logins) > 0 {
		fmt.Fprintln(out, "\ndemo logins (public sample accounts: never seed a real shop):")
		for _, l := range s.Logins {
			note := ""
			if !l.Created {
				note = "  (existed: the password is the seeder's unless changed since)"
			}
			fmt.Fprintf(out, "  %-8s %-20s %s%s\n", l.Role, l.Email, l.Password, note)
		}
	}
}
