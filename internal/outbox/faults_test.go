package outbox_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"

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
	brokerURL := amqptest.URL(t)
	opts := amqptest.Options(t, brokerURL)
	px := amqptest.NewProxy(t, brokerURL)
	ctx := t.Context()

	// The consumer has its own connection, straight to the broker.
	got := collect(t, amqptest.Dial(t, brokerURL, opts), "consumer")
	relayOpts := opts
	relayOpts.OnDeclare = nil
	pub := amqptest.Dial(t, px.URL(), relayOpts)

	db, err := store.Open(ctx, store.SQLiteURL(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(context.Background()) })
	s := openThings(t, db)
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
