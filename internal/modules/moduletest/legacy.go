package moduletest

// This file keeps, until every module's tests have moved to Harness.Outbox,
// the outbox helpers they used before: WatchOutbox, and AwaitOutbox, which
// reads each backend's outbox storage directly. It goes with the last of
// them.

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/outbox"
)

// Outbox checks, in a module's tests, that its writes and their events
// commit together (the transactional outbox, package outbox): with the
// module built but not started, so that its relay does not run, a write
// that succeeds leaves its events pending in the store and publishes
// nothing, a write that fails leaves none; once the module runs, its relay
// publishes exactly the pending events, each entity's in commit order.
// Every module's outbox test has this shape:
//
//	st, _ := OpenStore(ctx, db)
//	b := moduletest.NewBus(t)
//	m := New(b, st, moduletest.TestLogger(t)) // not started: no relay
//	ob := moduletest.WatchOutbox(t, b, st.Outbox())
//	c, _ := m.create(ctx, req)               // its event waits in the store
//	_, err := m.update(ctx, stale)           // fails: no event
//	ob.WantPending(moduletest.Announced(contract.CategoryCreated.Topic, c.ID, 1))
//	moduletest.Run(t, m)                     // the relay starts
//	ob.WantPublished()
//
// Events are told apart by their payload's "id" and "version", which
// every event payload carries (DESIGN.md, Conventions), and matched by
// their event ids.
type Watched struct {
	t   testing.TB
	src outbox.Source

	mu   sync.Mutex
	seen []*bus.Event // in arrival order

	want []outbox.Event // the pending events WantPending found
}

// WatchOutbox records, from now on, every event published on b, and reads
// what src (the module store's Outbox) holds.
func WatchOutbox(t testing.TB, b bus.Bus, src outbox.Source) *Watched {
	t.Helper()
	o := &Watched{t: t, src: src}
	c, err := b.Subscribe("#", "moduletest-outbox", func(_ context.Context, ev *bus.Event) error {
		o.mu.Lock()
		defer o.mu.Unlock()
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

// Pending returns the events src holds, each entity's in commit order.
// It claims them and gives them back at once, so a relay started later
// finds them as they were.
func (o *Watched) Pending() []outbox.Event {
	o.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), StopTimeout)
	defer cancel()
	claimed, err := o.src.Claim(ctx, 100_000, time.Minute)
	if err != nil {
		o.t.Fatalf("moduletest: read the outbox of %s: %v", o.src, err)
	}
	if err := o.src.Release(ctx, claimed); err != nil {
		o.t.Fatalf("moduletest: release the outbox of %s: %v", o.src, err)
	}
	out := make([]outbox.Event, len(claimed))
	for i, c := range claimed {
		out[i] = c.Event
	}
	return out
}

// WantPending fails the test unless the store holds exactly the events
// want describes (see Announced), each entity's in the order given, and
// nothing has been published. Events of different entities may come in
// any order: a relay keeps only each entity's.
func (o *Watched) WantPending(want ...string) {
	o.t.Helper()
	got := o.Pending()
	if pub := o.Published(); len(pub) > 0 {
		o.t.Fatalf("published before the relay ran (so not through the outbox): %v", pub)
	}
	descs := make([]string, len(got))
	for i, e := range got {
		descs[i] = describe(e)
	}
	if !samePerEntity(descs, want, entityOf) {
		o.t.Fatalf("pending events\n\t%s\nwant, in this order per entity\n\t%s", strings.Join(descs, "\n\t"), strings.Join(want, "\n\t"))
	}
	o.want = got
}

// WantPublished waits until the relay has published every event
// WantPending found and the store holds none, then fails the test unless
// what was published is exactly those events (by event id: none lost,
// none made up, none twice), each entity's in commit order.
func (o *Watched) WantPublished() {
	o.t.Helper()
	deadline := time.Now().Add(StopTimeout)
	// Arrivals first, then the outbox: reading it leases its events for a
	// moment, which would only hold the relay up.
	for len(o.arrived()) < len(o.want) {
		if time.Now().After(deadline) {
			o.t.Fatalf("not published within %v: %d of %d events", StopTimeout, len(o.arrived()), len(o.want))
		}
		time.Sleep(10 * time.Millisecond)
	}
	for left := o.Pending(); len(left) > 0; left = o.Pending() {
		if time.Now().After(deadline) {
			o.t.Fatalf("%d events still pending %v after all were published", len(left), StopTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // time for a stray extra event to show
	key := make(map[string]string, len(o.want))
	want := make([]string, len(o.want))
	for i, e := range o.want {
		key[e.ID] = e.Key
		want[i] = e.ID + " " + describe(e)
	}
	var got []string
	for _, ev := range o.arrived() {
		if _, ok := key[ev.ID]; !ok {
			o.t.Fatalf("published %s (event %q), which was not pending", ev.Topic, ev.ID)
		}
		got = append(got, ev.ID+" "+describe(outbox.Event{Topic: ev.Topic, Key: key[ev.ID], Body: ev.Body}))
	}
	if len(got) != len(want) || !samePerEntity(got, want, func(d string) string { id, _, _ := strings.Cut(d, " "); return key[id] }) {
		o.t.Fatalf("published (event id, event)\n\t%s\nwant the pending events, in this order per entity\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

func (o *Watched) arrived() []*bus.Event {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.seen)
}

// Published describes the events published so far, in order (see
// Announced).
func (o *Watched) Published() []string {
	var out []string
	for _, ev := range o.arrived() {
		out = append(out, describe(outbox.Event{Topic: ev.Topic, Body: ev.Body}))
	}
	return out
}

// AwaitOutbox waits until the outbox in db — a module store's *sql.DB (its
// SQLite file) or *mongo.Database — holds no event, pending or claimed by
// a relay: until the module's relay has published all that was committed
// so far. Events arrive after the write that commits them has answered,
// so a test that counts the events of a write first lets the earlier ones
// out with AwaitOutbox, then takes what arrived (bustest's Recorder.Settle
// waits for deliveries in flight). It reads the outbox's storage directly
// (the outbox table; the outbox field of every collection and the outbox
// collection), because a relay's claim hides events from another relay.
func AwaitOutbox(t testing.TB, db any) {
	t.Helper()
	deadline := time.Now().Add(StopTimeout)
	for {
		n, err := outboxLen(db)
		if err != nil {
			t.Fatalf("moduletest: read the outbox: %v", err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("moduletest: the outbox still holds events after %v (%d rows or documents)", StopTimeout, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func outboxLen(db any) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), StopTimeout)
	defer cancel()
	switch db := db.(type) {
	case *sql.DB:
		var n int64
		err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox`).Scan(&n)
		return n, err
	case *mongo.Database:
		colls, err := db.ListCollectionNames(ctx, bson.D{})
		if err != nil {
			return 0, err
		}
		var total int64
		for _, c := range colls {
			filter := bson.D{{Key: outbox.Field + ".0", Value: bson.D{{Key: "$exists", Value: true}}}}
			if c == outbox.Collection {
				filter = bson.D{}
			}
			n, err := db.Collection(c).CountDocuments(ctx, filter)
			if err != nil {
				return 0, fmt.Errorf("count pending events in %s: %w", c, err)
			}
			total += n
		}
		return total, nil
	}
	return 0, fmt.Errorf("%T: not a SQLite or MongoDB database", db)
}
