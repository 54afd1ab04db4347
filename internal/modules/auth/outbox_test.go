package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/bus/memory"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

// gatedSource is a relay's source that yields nothing until opened: the
// module's relay runs, but publishes only once the test lets it, so the
// test sees what each write left in the store in the meantime.
type gatedSource struct {
	outbox.Source
	open atomic.Bool
}

func (g *gatedSource) Claim(ctx context.Context, n int, lease time.Duration) ([]outbox.Claimed, error) {
	if !g.open.Load() {
		return nil, nil
	}
	return g.Source.Claim(ctx, n, lease)
}

// pendingEvent is one user event as pending or as published: its bus id,
// topic and payload.
type pendingEvent struct {
	ID, Topic string
	Event     contract.UserEvent
}

// label names an event by what a consumer reads: topic, user, version
// and role.
func (p pendingEvent) label() string {
	return fmt.Sprintf("%s %s@%d %s", p.Topic, p.Event.Email, p.Event.Version, p.Event.Role)
}

func eventLabels(evs []pendingEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.label()
	}
	return out
}

// pending returns the events waiting in st's outbox, in the order a relay
// would claim them, leaving them unclaimed; each must be keyed by its user
// and name its own bus id in its payload.
func pending(t *testing.T, st Store) []pendingEvent {
	t.Helper()
	ctx := t.Context()
	src := st.Outbox()
	claimed, err := src.Claim(ctx, 10_000, time.Minute)
	if err != nil {
		t.Fatalf("claim pending events: %v", err)
	}
	if err := src.Release(ctx, claimed); err != nil {
		t.Fatalf("release pending events: %v", err)
	}
	out := make([]pendingEvent, len(claimed))
	for i, c := range claimed {
		out[i] = pendingEvent{ID: c.ID, Topic: c.Topic}
		if err := bus.DecodeStrict(c.Body, &out[i].Event); err != nil {
			t.Fatalf("pending event %s %s: %v", c.Topic, c.ID, err)
		}
		if c.Key != out[i].Event.ID || c.ID != out[i].Event.EventID {
			t.Fatalf("pending event %s: key %s, id %s; payload %+v", c.Topic, c.Key, c.ID, out[i].Event)
		}
	}
	return out
}

// publishedEvents records user events with their bus ids, as a consumer
// sees them.
type publishedEvents struct {
	mu  sync.Mutex
	evs []pendingEvent
}

func recordUserEvents(t *testing.T, b bus.Bus) *publishedEvents {
	t.Helper()
	p := &publishedEvents{}
	c, err := b.Subscribe("auth.*", "outbox-test", func(_ context.Context, ev *bus.Event) error {
		e := pendingEvent{ID: ev.ID, Topic: ev.Topic}
		if err := bus.DecodeStrict(ev.Body, &e.Event); err != nil {
			t.Errorf("event %s: %v", ev.Topic, err)
		}
		p.mu.Lock()
		p.evs = append(p.evs, e)
		p.mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	return p
}

// wait returns the events once there are n, failing after 10 s; it then
// waits a little longer to catch any extra (a duplicate publish).
func (p *publishedEvents) wait(t *testing.T, n int) []pendingEvent {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p.mu.Lock()
		got := slices.Clone(p.evs)
		p.mu.Unlock()
		if len(got) >= n {
			time.Sleep(300 * time.Millisecond)
			p.mu.Lock()
			defer p.mu.Unlock()
			return slices.Clone(p.evs)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events published, want %d: %q", len(got), n, eventLabels(got))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestUserWritesCommitTheirEvents: register, create_user and set_role
// leave their event in the store, committed with the write, before any
// relay has published; a write that fails (a taken email, a stale
// version) and one that announces nothing (a name change) leave none; the
// relay, once it runs, publishes exactly the pending events, each once,
// in commit order, under the id the payload names; the outbox is empty
// after.
func TestUserWritesCommitTheirEvents(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := memory.New(slog.Default())
		t.Cleanup(func() { _ = b.Close(context.Background()) })
		var gate *gatedSource
		h := startPrepared(t, b, b, testConfig(), db, func(m *Module) {
			gate = &gatedSource{Source: m.store.Outbox()}
			m.relay = outbox.NewRelay(b, gate, slog.Default())
		})
		st := h.m.store
		pub := recordUserEvents(t, b)
		var want []string
		step := func(what string, add ...string) {
			t.Helper()
			want = append(want, add...)
			// In commit order per user (per document on MongoDB), so
			// compared as sets, with each user's in version order.
			if evs := pending(t, st); !sameMultiset(eventLabels(evs), want) || !versionOrdered(evs) {
				t.Fatalf("after %s: pending %q, want %q", what, eventLabels(evs), want)
			}
		}
		bg := context.Background()
		machine := as(contract.Principal{Machine: contract.MachineCLI})

		reg := call(t, bg, h, contract.Register, contract.RegisterRequest{Email: "ann@example.com", Password: pw1, Client: client})
		step("register", "auth.user_created ann@example.com@1 customer")
		callErr(t, bg, h, contract.Register, contract.RegisterRequest{Email: "ANN@example.com", Password: pw2, Client: client}, bus.CodeConflict, "cannot be registered")
		step("a register with a taken email")

		boss := call(t, machine, h, contract.CreateUser, contract.CreateUserRequest{Email: "boss@example.com", Password: pw1, Role: contract.RoleAdmin})
		step("create_user", "auth.user_created boss@example.com@1 admin")
		callErr(t, machine, h, contract.CreateUser, contract.CreateUserRequest{Email: "Boss@example.com", Password: pw1, Role: contract.RoleAdmin}, bus.CodeConflict, "already")
		step("a create_user with a taken email")

		ann := h.principal(t, reg.Token)
		call(t, as(ann), h, contract.ChangeName, contract.ChangeNameRequest{Name: "Ann", Version: 1})
		step("change_name (announces nothing)")

		callErr(t, machine, h, contract.SetRole, contract.SetRoleRequest{ID: reg.User.ID, Role: contract.RoleAdmin, Version: 1}, bus.CodeConflict, "version")
		step("a stale set_role")
		call(t, machine, h, contract.SetRole, contract.SetRoleRequest{ID: reg.User.ID, Role: contract.RoleAdmin, Version: 2})
		step("set_role", "auth.user_role_changed ann@example.com@3 admin")
		call(t, machine, h, contract.SetRole, contract.SetRoleRequest{ID: boss.ID, Role: contract.RoleAdmin})
		step("a set_role to the role it has (no write)")

		time.Sleep(50 * time.Millisecond) // a relay that ignored the gate would have published by now
		pub.mu.Lock()
		early := slices.Clone(pub.evs)
		pub.mu.Unlock()
		if len(early) != 0 {
			t.Fatalf("published before the relay ran: %q", eventLabels(early))
		}
		pend := pending(t, st)
		gate.open.Store(true)
		h.m.relay.Notify()
		got := pub.wait(t, len(want))
		if !sameMultiset(eventLabels(got), want) || !versionOrdered(got) {
			t.Fatalf("published %q, want %q, each user's in version order", eventLabels(got), want)
		}
		ids := func(evs []pendingEvent) []string {
			out := make([]string, len(evs))
			for i, e := range evs {
				if e.ID != e.Event.EventID {
					t.Fatalf("%s under id %s names %s", e.Topic, e.ID, e.Event.EventID)
				}
				out[i] = e.ID
			}
			return out
		}
		if !sameMultiset(ids(got), ids(pend)) {
			t.Fatalf("published ids %q, pending %q", ids(got), ids(pend))
		}
		if left := pending(t, st); len(left) != 0 {
			t.Fatalf("left in the outbox after the relay: %q", eventLabels(left))
		}
		// The users read as written: the outbox is no part of a user.
		if u, err := st.UserByID(t.Context(), reg.User.ID); err != nil || u.Role != contract.RoleAdmin || u.Version != 3 {
			t.Fatalf("ann after the relay: %+v, %v", u, err)
		}
	})
}

// TestStoreUserEvents is the store's half of the outbox, on every backend:
// InsertUser and UpdateUser commit their events with the write or not at
// all, an update without events keeps those still pending, reads never
// show them, and a relay over Outbox publishes them in commit order and
// empties it.
func TestStoreUserEvents(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		st, err := OpenStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		event := func(et bus.EventType[contract.UserEvent], u UserRecord) outbox.Event {
			t.Helper()
			ev, err := userEvent(et, u.User)
			if err != nil {
				t.Fatal(err)
			}
			return ev
		}
		var want []string
		step := func(what string, add ...string) {
			t.Helper()
			want = append(want, add...)
			// In commit order per user (per document on MongoDB), so
			// compared as sets, with each user's in version order.
			if evs := pending(t, st); !sameMultiset(eventLabels(evs), want) || !versionOrdered(evs) {
				t.Fatalf("after %s: pending %q, want %q", what, eventLabels(evs), want)
			}
		}

		ann := newUser("ann@example.com")
		if err := st.InsertUser(ctx, ann, event(contract.UserCreated, ann)); err != nil {
			t.Fatal(err)
		}
		step("insert", "auth.user_created ann@example.com@1 customer")
		dup := newUser("Ann@Example.com")
		if err := st.InsertUser(ctx, dup, event(contract.UserCreated, dup)); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("insert of a taken email: %v", err)
		}
		step("an insert of a taken email")

		// An update without events keeps the pending ones.
		renamed := ann
		renamed.Name, renamed.Version = "Ann A.", 2
		if err := st.UpdateUser(ctx, renamed, 1); err != nil {
			t.Fatal(err)
		}
		step("an update announcing nothing")
		promoted := renamed
		promoted.Role, promoted.Version = contract.RoleAdmin, 3
		if err := st.UpdateUser(ctx, promoted, 1, event(contract.UserRoleChanged, promoted)); !errors.Is(err, store.ErrStale) {
			t.Fatalf("stale update: %v", err)
		}
		step("a stale update")
		ghost := newUser("ghost@example.com")
		if err := st.UpdateUser(ctx, ghost, 1, event(contract.UserRoleChanged, ghost)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update of a missing user: %v", err)
		}
		step("an update of a missing user")
		bob := newUser("bob@example.com")
		if err := st.InsertUser(ctx, bob, event(contract.UserCreated, bob)); err != nil {
			t.Fatal(err)
		}
		taken := bob
		taken.Email, taken.Version = "ann@example.com", 2
		if err := st.UpdateUser(ctx, taken, 1, event(contract.UserRoleChanged, taken)); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("update to a taken email: %v", err)
		}
		step("an insert, and an update to a taken email", "auth.user_created bob@example.com@1 customer")
		if err := st.UpdateUser(ctx, promoted, 2, event(contract.UserRoleChanged, promoted)); err != nil {
			t.Fatal(err)
		}
		step("an update", "auth.user_role_changed ann@example.com@3 admin")

		if got, err := st.UserByID(ctx, ann.ID); err != nil || got != promoted {
			t.Fatalf("UserByID = %+v, %v; want %+v", got, err, promoted)
		}
		if got, err := st.UserByEmail(ctx, "ann@example.com"); err != nil || got != promoted {
			t.Fatalf("UserByEmail = %+v, %v", got, err)
		}
		if list, total, err := st.ListUsers(ctx, "", 10); err != nil || total != 2 || len(list) != 2 || list[0] != promoted.User {
			t.Fatalf("ListUsers = %+v, %d, %v", list, total, err)
		}

		// The relay publishes them all, in commit order per user, and
		// empties the outbox.
		b := memory.New(slog.Default())
		t.Cleanup(func() { _ = b.Close(context.Background()) })
		pub := recordUserEvents(t, b)
		rctx, cancel := context.WithCancel(context.Background())
		relay := outbox.NewRelay(b, st.Outbox(), slog.Default())
		done := make(chan error, 1)
		go func() { done <- relay.Run(rctx) }()
		relay.Notify()
		got := pub.wait(t, len(want))
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("relay: %v", err)
		}
		if labels := eventLabels(got); !sameMultiset(labels, want) || !versionOrdered(got) {
			t.Fatalf("published %q, want %q, each user's in version order", labels, want)
		}
		if left := pending(t, st); len(left) != 0 {
			t.Fatalf("left in the outbox after the relay: %q", eventLabels(left))
		}
	})
}

func sameMultiset(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// versionOrdered reports whether each user's events come in version
// order: commit order per entity, which is all the outbox promises.
func versionOrdered(evs []pendingEvent) bool {
	last := map[string]int64{}
	for _, e := range evs {
		if e.Event.Version <= last[e.Event.ID] {
			return false
		}
		last[e.Event.ID] = e.Event.Version
	}
	return true
}
