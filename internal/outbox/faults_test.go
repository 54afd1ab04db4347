package outbox_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/bus/amqp"
	"github.com/shopengine/shop/internal/bus/amqp/amqptest"
	"github.com/shopengine/shop/internal/bus/memory"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
)

// TestEventsWrittenWhileTheBrokerIsDownArriveAfterItReturns: the relay
// publishes through a connection to the real RabbitMQ that is cut; the
// writes go on and commit; when the connection is back, every event is
// delivered, in order.
func TestEventsWrittenWhileTheBrokerIsDownArriveAfterItReturns(t *testing.T) {
	ctx := t.Context()
	px, got, pub, s := outageRig(t)
	relay := runRelay(t, pub, s.source())

	if err := s.save(ctx, "t", 1, false); err != nil {
		t.Fatal(err)
	}
	relay.Notify()
	eventually(t, 10*time.Second, "the first event, broker up", func() bool { return len(got.of("t")) == 1 })

	px.Down()
	eventually(t, 10*time.Second, "the relay's bus notices the outage", func() bool { return pub.Healthy() != nil })
	for v := int64(2); v <= 5; v++ {
		if err := s.save(ctx, "t", v, false); err != nil {
			t.Fatalf("a write while the broker is unreachable: %v", err)
		}
		relay.Notify()
	}
	time.Sleep(300 * time.Millisecond)
	if n := s.pending(ctx); n != 4 {
		t.Fatalf("%d events pending during the outage, want 4", n)
	}
	px.Up()
	want := []string{"thing.saved@1", "thing.saved@2", "thing.saved@3", "thing.saved@4", "thing.saved@5"}
	eventually(t, 20*time.Second, "events of the outage delivered after it", func() bool { return len(got.of("t")) == len(want) })
	if e := got.of("t"); !slices.Equal(e, want) {
		t.Fatalf("events %v, want %v", e, want)
	}
	eventually(t, 5*time.Second, "outbox empty", func() bool { return s.pending(ctx) == 0 })
}

// outageRig is a relay's side of a broker outage: a proxy to the real
// RabbitMQ the test can cut, a consumer connected straight to the broker,
// the bus a relay publishes on through the proxy, and a store of things.
func outageRig(t *testing.T) (*amqptest.Proxy, *received, *amqp.Bus, things) {
	t.Helper()
	brokerURL := amqptest.URL(t)
	opts := amqptest.Options(t, brokerURL)
	px := amqptest.NewProxy(t, brokerURL)
	got := collect(t, amqptest.Dial(t, brokerURL, opts), "consumer")
	relayOpts := opts
	relayOpts.OnDeclare = nil
	pub := amqptest.Dial(t, px.URL(), relayOpts)
	db, err := store.Open(t.Context(), store.SQLiteURL(t.TempDir()), store.WithLogger(quiet()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(context.Background()) })
	return px, got, pub, openThings(t, db)
}

// childEnv marks the re-executed test binary that plays the process that
// dies between its commit and its publish.
const childEnv = "OUTBOX_TEST_CHILD_DIR"

// TestKilledBeforePublishTheNextProcessPublishes runs a real child process
// that commits a write and its event and is killed with SIGKILL by the
// fault hook just before its relay publishes; the next process's relay
// finds the event and publishes it.
func TestKilledBeforePublishTheNextProcessPublishes(t *testing.T) {
	if dir := os.Getenv(childEnv); dir != "" {
		crashingWriter(t, dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledBeforePublishTheNextProcessPublishes$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+dir, outbox.FaultEnv+"=outbox-kill")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the child was not killed by SIGKILL: %v\n%s", err, out)
	}

	ctx := t.Context()
	db, err := store.Open(ctx, store.SQLiteURL(dir), store.WithLogger(quiet()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(context.Background()) })
	s := openThings(t, db)
	if n := s.pending(ctx); n != 1 {
		t.Fatalf("%d events pending after the crash, want the committed one\n%s", n, out)
	}
	b := memory.New(quiet())
	got := collect(t, b, "consumer")
	runRelay(t, b, s.source()).Notify()
	eventually(t, 5*time.Second, "the dead process's event published by the next", func() bool {
		return slices.Equal(got.of("crash"), []string{"thing.saved@1"})
	})
}

func crashingWriter(t *testing.T, dir string) {
	ctx := context.Background()
	db, err := store.Open(ctx, store.SQLiteURL(dir), store.WithLogger(quiet()))
	if err != nil {
		t.Fatal(err)
	}
	s := openThings(t, db)
	r := outbox.NewRelay(memory.New(quiet()), s.source(), quiet())
	go func() { _ = r.Run(ctx) }()
	time.Sleep(100 * time.Millisecond) // the relay is idle, waiting for commits
	if err := s.save(ctx, "crash", 1, false); err != nil {
		t.Fatal(err)
	}
	r.Notify() // the fault hook kills the process here
	time.Sleep(5 * time.Second)
	t.Fatal("the fault hook did not fire")
}

// TestRelayPublishesAsSoonAsTheBrokerIsBack: an outage long enough for
// the relay's backoff to reach its cap; once the connection is back, the
// event written during the outage goes out at once, not when the capped
// backoff (at least half of maxBackoff, 2.5 s) runs out.
func TestRelayPublishesAsSoonAsTheBrokerIsBack(t *testing.T) {
	ctx := t.Context()
	px, got, pub, s := outageRig(t)
	retries := &retryLog{}
	relay := outbox.NewRelay(pub, s.source(), slog.New(retries))
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = relay.Run(rctx) }()
	t.Cleanup(func() { cancel(); <-done })

	px.Down()
	eventually(t, 10*time.Second, "the relay's bus notices the outage", func() bool { return pub.Healthy() != nil })
	if err := s.save(ctx, "late", 1, false); err != nil {
		t.Fatal(err)
	}
	relay.Notify()
	const capped = 5 * time.Second // the relay's maxBackoff
	eventually(t, 30*time.Second, "the relay backs off at its cap", func() bool { return !retries.at(capped).IsZero() })
	cappedAt := retries.at(capped)
	px.Up()
	eventually(t, 10*time.Second, "the event of the outage delivered", func() bool { return len(got.of("late")) == 1 })
	if lag := time.Since(cappedAt); lag >= capped/2 {
		t.Fatalf("delivered %v after the relay began a %v backoff: it slept the backoff out instead of publishing when the bus came back", lag, capped)
	}
	eventually(t, 5*time.Second, "outbox empty", func() bool { return s.pending(ctx) == 0 })
}

// retryLog is a slog handler that notes when the relay logged each
// backoff ("will retry" with its "in").
type retryLog struct {
	mu sync.Mutex
	by map[time.Duration]time.Time // backoff → first logged
}

func (l *retryLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *retryLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *retryLog) WithGroup(string) slog.Handler            { return l }

func (l *retryLog) Handle(_ context.Context, r slog.Record) error {
	if !strings.Contains(r.Message, "will retry") {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "in" {
			l.mu.Lock()
			if l.by == nil {
				l.by = map[time.Duration]time.Time{}
			}
			if _, ok := l.by[a.Value.Duration()]; !ok {
				l.by[a.Value.Duration()] = time.Now()
			}
			l.mu.Unlock()
		}
		return true
	})
	return nil
}

func (l *retryLog) at(backoff time.Duration) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.by[backoff]
}
