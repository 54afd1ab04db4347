package modules

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/bus"
)

// failing is a module whose background work dies after a moment, as a
// relay whose store went away would.
type failing struct {
	bus.Server
}

func (f *failing) Start(ctx context.Context) error {
	if err := f.Server.Start(ctx); err != nil {
		return err
	}
	f.Go("event relay", func(ctx context.Context) error {
		select {
		case <-time.After(50 * time.Millisecond):
			return errors.New("store closed")
		case <-ctx.Done():
			return nil
		}
	})
	return nil
}

func TestBackgroundFailureStopsTheProcessNamingTheModule(t *testing.T) {
	saved := table
	t.Cleanup(func() { table = saved })
	table = map[string]module{}
	for k, v := range saved {
		table[k] = v
	}
	table["broken"] = module{deps: []string{BusConn}, init: func(a *App) (Service, error) {
		return &failing{Server: bus.NewServer(a.bus, "broken", a.log)}, nil
	}}
	app, err := New(Config{Targets: []string{"broken"}, BusURL: "memory://", DatabaseURL: "sqlite://" + t.TempDir(), Worker: -1, NoServer: true,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err = app.Run(ctx, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "module broken: event relay: store closed") {
		t.Fatalf("Run = %v, want the failure naming module and work", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Run returned only at the test's deadline: the failure did not stop the process")
	}
}

func TestCleanStopIsNotAFailure(t *testing.T) {
	saved := table
	t.Cleanup(func() { table = saved })
	table = map[string]module{}
	for k, v := range saved {
		table[k] = v
	}
	table["idle"] = module{deps: []string{BusConn}, init: func(a *App) (Service, error) {
		s := &idle{Server: bus.NewServer(a.bus, "idle", a.log)}
		return s, nil
	}}
	app, err := New(Config{Targets: []string{"idle"}, BusURL: "memory://", DatabaseURL: "sqlite://" + t.TempDir(), Worker: -1, NoServer: true,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if err := app.Run(ctx, 5*time.Second); err != nil {
		t.Fatalf("Run after a clean shutdown = %v", err)
	}
}

type idle struct{ bus.Server }

func (s *idle) Start(ctx context.Context) error {
	if err := s.Server.Start(ctx); err != nil {
		return err
	}
	s.Go("waiting", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	return nil
}
