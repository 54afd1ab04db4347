package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules"
	"github.com/shopengine/shop/internal/modules/seeder"
)

// The demo shop of `shop serve --demo` (and `make run`).
const (
	defaultDemoProducts = 2000
	demoSeed            = 42
	demoEmail           = "demo@example.com"
	// demoPassword is printed at start: a demo login is public by design.
	demoPassword = "plum-kettle-orbit-42"
	demoName     = "Demo Customer"
)

// seedDemo fills an empty shop before serving it: a sample catalogue of
// --demo-products products and a demo customer, whose login it prints. A
// shop that already has products is left as it is (the login is printed
// all the same: the customer was made with it). It hosts the modules it
// needs in this process on the in-process bus, and stops them before the
// shop starts, so that the database files are free for the workers.
func seedDemo(ctx context.Context, f *serveFlags, out io.Writer) error {
	if f.bus.url != "memory://" {
		return usageError{errors.New("--demo seeds through the in-process bus against --database-url: leave --bus-url at memory://")}
	}
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	app, err := modules.New(modules.Config{Targets: []string{modules.Seeder, contract.AuthQueue}, BusURL: f.bus.url,
		DatabaseURL: f.databaseURL, Auth: f.auth, Worker: -1, Log: quiet, NoServer: true})
	if err != nil {
		return usageError{err}
	}
	if err := app.Start(ctx); err != nil {
		return err
	}
	defer func() {
		if err := app.Stop(30 * time.Second); err != nil {
			slog.Error("stop the demo seeding modules", "err", err)
		}
	}()
	ctx = contract.WithPrincipal(ctx, contract.Principal{Machine: contract.MachineCLI})
	page, err := bus.Call(ctx, app.Bus(), contract.ListProducts, contract.ListProductsRequest{PageSize: 1})
	if err != nil {
		return fmt.Errorf("demo: count products: %w", err)
	}
	if page.Total > 0 {
		fmt.Fprintf(out, "demo: the shop has %d products already; not seeding\n", page.Total)
	} else {
		fmt.Fprintf(out, "demo: seeding a sample shop of %d products\n", f.demoProducts)
		sum, err := app.Seeder().Seed(ctx, seeder.Options{Products: f.demoProducts, Seed: demoSeed}, newProgress(out))
		if err != nil {
			return fmt.Errorf("demo: seed: %w", err)
		}
		printSummary(out, sum)
		_, err = bus.Call(ctx, app.Bus(), contract.CreateUser, contract.CreateUserRequest{Email: demoEmail, Password: demoPassword, Name: demoName, Role: contract.RoleCustomer})
		if err != nil && bus.CodeOf(err) != bus.CodeConflict {
			return fmt.Errorf("demo: create the demo customer: %w", err)
		}
	}
	fmt.Fprintf(out, "\ndemo shop: http://%s/  sign in as %s with password %s\n\n", f.httpAddr, demoEmail, demoPassword)
	slog.Info("demo shop ready", "email", demoEmail, "password", demoPassword, "products", max(page.Total, f.demoProducts))
	return nil
}
