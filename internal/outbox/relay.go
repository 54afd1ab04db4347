package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"syscall"
	"time"

	"github.com/shopengine/shop/internal/bus"
)

// Source is where a relay finds the pending events of one module's store.
type Source interface {
	// Claim leases up to n pending events for the relay, a key's events in
	// commit order; events leased by another relay are skipped until their
	// lease runs out.
	Claim(ctx context.Context, n int, lease time.Duration) ([]Claimed, error)
	// Done removes events whose publish was confirmed.
	Done(ctx context.Context, events []Claimed) error
	// Release gives up the lease on events that were not published.
	Release(ctx context.Context, events []Claimed) error
	String() string
}

// Claimed is a pending event leased by a relay.
type Claimed struct {
	Event
	handle any // where the source keeps it
}

// Relay defaults.
const (
	// DefaultPoll is how often a relay looks for events it was not told
	// about: those of another process sharing the store, or of one that
	// died between its commit and its publish.
	DefaultPoll = 250 * time.Millisecond
	// lease is how long a claim keeps other relays off a batch. A relay
	// that dies holding one delays those events by at most this much.
	lease = 10 * time.Second
	// batch is how many events one claim takes.
	batch = 256
	// publishTimeout bounds one publish (with its confirm).
	publishTimeout = 5 * time.Second
	// maxBackoff caps the wait between failed drains.
	maxBackoff = 5 * time.Second
	// healthPoll is how often a backing-off relay asks whether the bus
	// is back.
	healthPoll = 50 * time.Millisecond
)

// FaultEnv names a test-only fault hook: with SHOP_TEST_FAULT=outbox-kill
// in its environment a process kills itself with SIGKILL when its relay
// is first told of a commit, before it claims or publishes the events —
// the crash the outbox exists for. Tests of real processes set it; nothing
// else may.
const FaultEnv = bus.FaultEnv

// Relay publishes a module instance's pending events.
type Relay struct {
	bus  bus.Bus
	src  Source
	log  *slog.Logger
	poll time.Duration
	wake chan struct{}
	kill bool // the fault hook
}

// NewRelay returns a relay of src's events onto b. Run it in the module's
// background work (bus.Server.Go) and call Notify after each commit.
func NewRelay(b bus.Bus, src Source, log *slog.Logger) *Relay {
	if log == nil {
		log = slog.Default()
	}
	return &Relay{
		bus:  b,
		src:  src,
		log:  log.With("outbox", src.String()),
		poll: DefaultPoll,
		wake: make(chan struct{}, 1),
		kill: os.Getenv(FaultEnv) == "outbox-kill",
	}
}

// Notify wakes the relay: a write has committed events. It never blocks.
func (r *Relay) Notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run publishes pending events until ctx ends. Failures to reach the
// store or the broker are retried with capped, jittered backoff — a
// broker outage delays events, it loses none — so Run returns only when
// ctx ends. A backoff ends early when the bus, unhealthy during it, is
// healthy again: events held back by an outage go out as soon as the
// connection is back, not up to a full backoff later.
func (r *Relay) Run(ctx context.Context) error {
	backoff := r.poll
	for {
		err := r.drain(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			r.log.Warn("outbox relay: will retry", "err", err, "in", backoff)
			if !r.backOff(ctx, backoff/2+rand.N(backoff/2+1)) {
				return nil
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		backoff = r.poll
		t := time.NewTimer(r.poll/2 + rand.N(r.poll/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-r.wake:
			t.Stop()
			r.faultHook()
		case <-t.C:
		}
	}
}

// backOff waits d after a failed drain, or less once the bus is back: it
// ends early when the bus, unhealthy at some point of the wait, is
// healthy again. A commit does not end a broker outage, so Notify does
// not end the wait. It returns false when ctx ends.
func (r *Relay) backOff(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	tick := time.NewTicker(healthPoll)
	defer tick.Stop()
	down := r.bus.Healthy() != nil
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		case <-r.wake:
			r.faultHook()
		case <-tick.C:
			switch healthy := r.bus.Healthy() == nil; {
			case !healthy:
				down = true
			case down:
				r.log.Info("outbox relay: the bus is back; publishing")
				return true
			}
		}
	}
}

// faultHook is the test fault of FaultEnv, fired when the relay is told
// of a commit.
func (r *Relay) faultHook() {
	if !r.kill {
		return
	}
	r.log.Warn("outbox relay: test fault hook: SIGKILL after a commit, before its publish")
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal arrives
}

// drain publishes batches until none is left.
func (r *Relay) drain(ctx context.Context) error {
	for ctx.Err() == nil {
		claimed, err := r.src.Claim(ctx, batch, lease)
		if err != nil {
			return errors.Join(err, r.release(claimed))
		}
		if len(claimed) == 0 {
			return nil
		}
		n, err := r.publish(ctx, claimed)
		// Done is best effort on the way out: an event published but not
		// removed is published again (at least once), never lost.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
		derr := r.src.Done(dctx, claimed[:n])
		cancel()
		if err != nil || derr != nil {
			return errors.Join(err, derr, r.release(claimed[n:]))
		}
	}
	return nil
}

// publish publishes claimed in order, each under its own id, and returns
// how many were confirmed before the first failure.
func (r *Relay) publish(ctx context.Context, claimed []Claimed) (int, error) {
	for i, c := range claimed {
		pctx, cancel := context.WithTimeout(bus.WithEventID(ctx, c.ID), publishTimeout)
		err := r.bus.Publish(pctx, c.Topic, c.Body)
		cancel()
		if err != nil {
			return i, fmt.Errorf("publish %s %s (event %s): %w", c.Topic, c.Key, c.ID, err)
		}
	}
	return len(claimed), nil
}

func (r *Relay) release(events []Claimed) error {
	if len(events) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
	defer cancel()
	return r.src.Release(ctx, events)
}
