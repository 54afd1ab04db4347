package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/moduletest"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

// pendingEvent is one user event as pending or as published.
type pendingEvent = moduletest.Decoded[contract.UserEvent]

// label names an event by what a consumer reads: topic, user, version
// and role.
func label(p pendingEvent) string {
	return fmt.Sprintf("%s %s@%d %s", p.Topic, p.Event.Email, p.Event.Version, p.Event.Role)
}

func eventLabels(evs []pendingEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = label(e)
	}
	return out
}

// decode reads user events from the outbox (moduletest.Decode); each
// must also name its own bus id in its payload.
func decode(t *testing.T, evs []outbox.Event) []pendingEvent {
	t.Helper()
	out := moduletest.Decode[contract.UserEvent](t, evs)
	for _, e := range out {
		if e.ID != e.Event.EventID {
			t.Fatalf("event %s: id %s; payload %+v", e.Topic, e.ID, e.Event)
		}
	}
	return out
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
		h := start(t, db, testConfig(), moduletest.HoldOutbox())
		var want []string
		step := func(what string, add ...string) {
			t.Helper()
			want = append(want, add...)
			// In commit order per user (per document on MongoDB), so
			// compared as sets, with each user's in version order.
			if evs := decode(t, h.Outbox.Pending(t)); !sameMultiset(eventLabels(evs), want) || !versionOrdered(evs) {
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

		// The relay, let run, publishes exactly the pending events (nothing
		// before), each once, and empties the outbox.
		got := decode(t, h.Outbox.Publish(t))
		if !sameMultiset(eventLabels(got), want) || !versionOrdered(got) {
			t.Fatalf("published %q, want %q, each user's in version order", eventLabels(got), want)
		}
		// The users read as written: the outbox is no part of a user.
		if u, err := h.Module.store.UserByID(t.Context(), reg.User.ID); err != nil || u.Role != contract.RoleAdmin || u.Version != 3 {
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
		relay := moduletest.Relay(t, st.Outbox())
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
			if evs := decode(t, relay.Pending(t)); !sameMultiset(eventLabels(evs), want) || !versionOrdered(evs) {
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
		got := decode(t, relay.Publish(t))
		if labels := eventLabels(got); !sameMultiset(labels, want) || !versionOrdered(got) {
			t.Fatalf("published %q, want %q, each user's in version order", labels, want)
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
