package moduletest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/bus/bustest"
	"github.com/shopengine/shop/internal/outbox"
)

// Outbox is a module's outbox (package outbox) as its relay reads it, in
// a test. Start puts it between the module's store and the module's
// relay (Spec.Relay), so every claim of the relay goes through it: it knows which events the relay holds, and with HoldOutbox it keeps
// the relay from claiming any until the test lets it. It reads the store
// only through the outbox.Source every store has (a Claim given back at
// once), never its tables or collections, so it works alike on every
// backend and whatever a store's layout.
//
// It answers the three questions module tests ask of the outbox. What
// is pending? Pending and WantPending. Has the relay published everything
// committed so far? Wait, and Settle, which then waits for the
// deliveries: events arrive after the write that commits them has
// answered, so a test that counts the events of a write settles first.
// Did the writes and their events commit together? That is a module's
// outbox test, its writes and the events they announce with the relay
// held back: each successful write leaves its events pending and
// publishes nothing, a failing one leaves none, and once the relay runs
// it publishes exactly the pending events, each entity's in commit order:
//
//	moduletest.ForEach(t, module, func(t *testing.T, h *moduletest.Harness[*Module]) {
//		c := bustest.Call(t, h.Bus, contract.CreateCategory, req) // its event waits in the store
//		bustest.CallErr(t, h.Bus, contract.UpdateCategory, stale, bus.CodeConflict, "version") // no event
//		h.Outbox.WantPending(t, moduletest.Announced(contract.CategoryCreated.Topic, c.ID, 1))
//		h.Outbox.WantPublished(t) // the relay runs, and publishes exactly those
//	}, moduletest.HoldOutbox())
//
// Events are told apart by their payload's "id" and "version", which
// every event payload carries (DESIGN.md, Conventions), and matched by
// their event ids.
type Outbox struct {
	src  outbox.Source // the store's own
	gate chan struct{} // closed once the relay may claim
	let  sync.Once

	// mu serialises the relay's claims with the test's reads, so that a
	// read never takes the events the relay was about to claim, and the
	// relay never finds them leased by the read.
	mu       sync.Mutex
	inflight []outbox.Claimed // claimed by the relay, neither done nor given back

	watched bool // events published on the bus are recorded (HoldOutbox)
	seenMu  sync.Mutex
	seen    []*bus.Event // in arrival order
}

// probeLease is how long a read of the outbox leases its events: it gives
// them back at once, so only a read that dies between the two holds them
// this long.
const probeLease = 5 * time.Second

// watchers numbers the event subscriptions of held outboxes: each has a
// group of its own, so two harnesses on one bus both see every event.
var watchers atomic.Int64

// newOutbox stands between src and a relay publishing onto b; held, it
// keeps the relay from claiming until Let, and records every event
// published on b from now on.
func newOutbox(t testing.TB, b bus.Bus, src outbox.Source, held bool) *Outbox {
	t.Helper()
	o := &Outbox{src: src, gate: make(chan struct{})}
	if !held {
		o.Let()
		return o
	}
	o.watched = true
	c, err := b.Subscribe("#", fmt.Sprintf("moduletest-outbox-%d", watchers.Add(1)), func(_ context.Context, ev *bus.Event) error {
		o.seenMu.Lock()
		defer o.seenMu.Unlock()
		o.seen = append(o.seen, ev)
		return nil
	})
	if err != nil {
		t.Fatalf("moduletest: watch events: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), StopTimeout)
		defer cancel()
		_ = c.Stop(ctx) // the bus may be closed already
	})
	return o
}

// Let lets a held relay claim and publish from now on. Publish and
// WantPublished let it themselves, after checking that nothing was
// published before; Let is for a test that only needs the relay running
// again.
func (o *Outbox) Let() { o.let.Do(func() { close(o.gate) }) }

func (o *Outbox) held() bool {
	select {
	case <-o.gate:
		return false
	default:
		return true
	}
}

// source is the outbox.Source the relay reads: o's store's, through o.
func (o *Outbox) source() outbox.Source { return relaySource{o} }

// relaySource is the relay's side of an Outbox. A held relay waits in
// Claim until Let (or until it stops), so it claims the moment it may,
// not at its next poll.
type relaySource struct{ o *Outbox }

func (s relaySource) Claim(ctx context.Context, n int, lease time.Duration) ([]outbox.Claimed, error) {
	o := s.o
	select {
	case <-o.gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	claimed, err := o.src.Claim(ctx, n, lease)
	for _, c := range claimed {
		if !slices.ContainsFunc(o.inflight, func(x outbox.Claimed) bool { return x.ID == c.ID }) {
			o.inflight = append(o.inflight, c)
		}
	}
	return claimed, err
}

func (s relaySource) Done(ctx context.Context, events []outbox.Claimed) error {
	err := s.o.src.Done(ctx, events)
	if err == nil {
		s.o.settled(events)
	}
	return err
}

func (s relaySource) Release(ctx context.Context, events []outbox.Claimed) error {
	err := s.o.src.Release(ctx, events)
	if err == nil {
		s.o.settled(events)
	}
	return err
}

func (s relaySource) String() string { return s.o.src.String() }

// settled drops events the relay is done with (published and removed, or
// given back) from those it holds. Events whose removal failed stay held:
// they are still in the store, under the relay's lease.
func (o *Outbox) settled(events []outbox.Claimed) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.inflight = slices.DeleteFunc(o.inflight, func(x outbox.Claimed) bool {
		return slices.ContainsFunc(events, func(e outbox.Claimed) bool { return e.ID == x.ID })
	})
}

// Pending returns the events the store holds: those the relay has claimed
// and not yet published, then those waiting for it, each entity's in
// commit order. Exact while the relay is held or idle; while it runs, a
// snapshot.
func (o *Outbox) Pending(t testing.TB) []outbox.Event {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]outbox.Event, 0, len(o.inflight))
	for _, c := range o.inflight {
		out = append(out, c.Event)
	}
	for _, e := range Pending(t, o.src) {
		if !slices.ContainsFunc(out, func(x outbox.Event) bool { return x.ID == e.ID }) {
			out = append(out, e)
		}
	}
	return out
}

// Pending returns the events src (a store's Outbox) holds that no relay
// has claimed, each entity's in commit order: for a store test with no
// module and no relay. It claims them and gives them back at once, so a
// relay started later finds them as they were.
func Pending(t testing.TB, src outbox.Source) []outbox.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), StopTimeout)
	defer cancel()
	claimed, err := src.Claim(ctx, 100_000, probeLease)
	if err != nil {
		t.Fatalf("moduletest: read the outbox of %s: %v", src, err)
	}
	if err := src.Release(ctx, claimed); err != nil {
		t.Fatalf("moduletest: release the outbox of %s: %v", src, err)
	}
	out := make([]outbox.Event, len(claimed))
	for i, c := range claimed {
		out[i] = c.Event
	}
	return out
}

// Wait waits until the store holds no event, pending or claimed by the
// relay: until the relay has published all that was committed so far.
// It knows of this harness's relay only: events a second instance's
// relay (OnBus) has claimed are that harness's to wait for.
func (o *Outbox) Wait(t testing.TB) {
	t.Helper()
	if o.held() {
		t.Fatal("moduletest: Wait on a held outbox: Publish or Let first")
	}
	deadline := time.Now().Add(StopTimeout)
	for {
		n := o.pendingCount(t)
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("moduletest: %d events still pending in %s after %v", n, o.src, StopTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pendingCount is len(Pending) without reading the store while the relay
// holds events: they are pending anyway.
func (o *Outbox) pendingCount(t testing.TB) int {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if n := len(o.inflight); n > 0 {
		return n
	}
	return len(Pending(t, o.src))
}

// Settle waits until the relay has published every event committed so far
// (Wait), then until their deliveries to rec have stopped, and returns all
// rec holds.
func Settle[E any](t testing.TB, o *Outbox, rec *bustest.Recorder[E]) []bustest.Recorded[E] {
	t.Helper()
	o.Wait(t)
	return rec.Settle()
}

// Decoded is an outbox event, pending or published, with its payload
// decoded: for a module's test that checks more of its events than
// Announced tells (a stock level, a role).
type Decoded[E any] struct {
	ID    string // the event id, the same pending and published
	Topic string
	Key   string // the entity it is filed under
	Event E      // the payload
}

// Decode decodes the payloads of evs (from Pending, Outbox.Pending or
// Outbox.Publish) strictly as E, and fails the test on one that does not
// decode, or that is filed under another key than its payload's "id":
// every event is about the entity its payload names, whose events are
// published in commit order.
func Decode[E any](t testing.TB, evs []outbox.Event) []Decoded[E] {
	t.Helper()
	out := make([]Decoded[E], len(evs))
	for i, e := range evs {
		out[i] = Decoded[E]{ID: e.ID, Topic: e.Topic, Key: e.Key}
		if err := bus.DecodeStrict(e.Body, &out[i].Event); err != nil {
			t.Fatalf("moduletest: event %s %s: %v", e.Topic, e.ID, err)
		}
		var about struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(e.Body, &about); err != nil || about.ID != e.Key {
			t.Fatalf("moduletest: event %s %s filed under %q, about %q (%v)", e.Topic, e.ID, e.Key, about.ID, err)
		}
	}
	return out
}

// Announced describes an event as WantPending and WantPublished compare
// them: its topic, and its payload's id and version.
func Announced(topic, id string, version int64) string {
	return fmt.Sprintf("%s %s@%d", topic, id, version)
}

// describe is Announced of a pending event, from its payload; an event
// filed under another key than its payload's id says so.
func describe(e outbox.Event) string {
	var p struct {
		ID      string `json:"id"`
		Version int64  `json:"version"`
	}
	if err := json.Unmarshal(e.Body, &p); err != nil {
		return fmt.Sprintf("%s %s@?: undecodable payload (%v)", e.Topic, e.Key, err)
	}
	d := Announced(e.Topic, p.ID, p.Version)
	if e.Key != "" && e.Key != p.ID {
		d += " (filed under " + e.Key + ")"
	}
	return d
}

// entityOf is the entity id of a description from Announced.
func entityOf(desc string) string {
	f := strings.Fields(desc)
	if len(f) < 2 {
		return desc
	}
	id, _, _ := strings.Cut(f[1], "@")
	return id
}

// WantPending fails the test unless the store holds exactly the events
// want describes (see Announced), each entity's in the order given, and
// (with HoldOutbox) nothing has been published. Events of different
// entities may come in any order: a relay keeps only each entity's.
func (o *Outbox) WantPending(t testing.TB, want ...string) {
	t.Helper()
	got := o.Pending(t)
	if pub := o.arrived(); len(pub) > 0 {
		t.Fatalf("published before the relay ran (so not through the outbox): %v", describeAll(pub, nil))
	}
	descs := make([]string, len(got))
	for i, e := range got {
		descs[i] = describe(e)
	}
	if !samePerEntity(descs, want, entityOf) {
		t.Fatalf("pending events\n\t%s\nwant, in this order per entity\n\t%s", strings.Join(descs, "\n\t"), strings.Join(want, "\n\t"))
	}
}

// Publish checks that a held relay (HoldOutbox) has published nothing,
// lets it run, waits until it has published every event pending and the
// store holds none, and fails the test unless what was published is
// exactly those events (by event id: none lost, none made up, none
// twice). It returns them as published, in arrival order, each under the
// key it was pending under, for a test that checks their order and
// payloads itself.
func (o *Outbox) Publish(t testing.TB) []outbox.Event {
	t.Helper()
	_, got := o.publish(t)
	return got
}

// WantPublished is Publish, failing the test also unless each entity's
// events were published in the order they were pending in: commit order.
func (o *Outbox) WantPublished(t testing.TB) {
	t.Helper()
	pending, got := o.publish(t)
	key := make(map[string]string, len(pending))
	want := make([]string, len(pending))
	for i, e := range pending {
		key[e.ID] = e.Key
		want[i] = e.ID + " " + describe(e)
	}
	descs := make([]string, len(got))
	for i, e := range got {
		descs[i] = e.ID + " " + describe(e)
	}
	if !samePerEntity(descs, want, func(d string) string { id, _, _ := strings.Cut(d, " "); return key[id] }) {
		t.Fatalf("published (event id, event)\n\t%s\nwant the pending events, in this order per entity\n\t%s", strings.Join(descs, "\n\t"), strings.Join(want, "\n\t"))
	}
}

func (o *Outbox) publish(t testing.TB) (pending, published []outbox.Event) {
	t.Helper()
	if !o.watched || !o.held() {
		t.Fatal("moduletest: Publish needs an outbox held since the module started (HoldOutbox)")
	}
	time.Sleep(50 * time.Millisecond) // time for an event published around the outbox to show
	if pub := o.arrived(); len(pub) > 0 {
		t.Fatalf("published before the relay ran (so not through the outbox): %v", describeAll(pub, nil))
	}
	pending = o.Pending(t)
	o.Let()
	deadline := time.Now().Add(StopTimeout)
	// Arrivals first, then the store: reading it holds the relay up.
	for len(o.arrived()) < len(pending) {
		if time.Now().After(deadline) {
			t.Fatalf("not published within %v: %d of %d events", StopTimeout, len(o.arrived()), len(pending))
		}
		time.Sleep(10 * time.Millisecond)
	}
	o.Wait(t)
	time.Sleep(50 * time.Millisecond) // time for a stray extra event to show
	key := make(map[string]string, len(pending))
	for _, e := range pending {
		key[e.ID] = e.Key
	}
	arrived := o.arrived()
	seen := make(map[string]bool, len(arrived))
	for _, ev := range arrived {
		if _, ok := key[ev.ID]; !ok {
			t.Fatalf("published %s (event %q), which was not pending", ev.Topic, ev.ID)
		}
		if seen[ev.ID] {
			t.Fatalf("published %s (event %q) twice", ev.Topic, ev.ID)
		}
		seen[ev.ID] = true
		published = append(published, outbox.Event{ID: ev.ID, Topic: ev.Topic, Key: key[ev.ID], Body: ev.Body})
	}
	if len(published) != len(pending) {
		t.Fatalf("published %d of the %d pending events:\n\t%s", len(published), len(pending), strings.Join(describeAll(arrived, key), "\n\t"))
	}
	return pending, published
}

// arrived returns the events published on the bus so far (HoldOutbox).
func (o *Outbox) arrived() []*bus.Event {
	o.seenMu.Lock()
	defer o.seenMu.Unlock()
	return slices.Clone(o.seen)
}

// describeAll describes published events, with the keys they were
// pending under where known.
func describeAll(evs []*bus.Event, key map[string]string) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = describe(outbox.Event{Topic: ev.Topic, Key: key[ev.ID], Body: ev.Body})
	}
	return out
}

// samePerEntity reports whether a and b hold the same items, in the same
// order for each entity (as entity tells it).
func samePerEntity(a, b []string, entity func(string) string) bool {
	if len(a) != len(b) {
		return false
	}
	group := func(items []string) map[string][]string {
		out := map[string][]string{}
		for _, x := range items {
			out[entity(x)] = append(out[entity(x)], x)
		}
		return out
	}
	ga, gb := group(a), group(b)
	if len(ga) != len(gb) {
		return false
	}
	for k, v := range ga {
		if !slices.Equal(v, gb[k]) {
			return false
		}
	}
	return true
}

// Relay runs a relay over src, a store's outbox, publishing onto a bus of
// its own until t ends, held as by HoldOutbox: for a store test with no
// module, which commits events, checks them pending, then calls Publish.
func Relay(t testing.TB, src outbox.Source) *Outbox {
	t.Helper()
	b := NewBus(t)
	o := newOutbox(t, b, src, true)
	r := outbox.NewRelay(b, o.source(), TestLogger(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("moduletest: relay: %v", err)
		}
	})
	return o
}
