package auth

import (
	"errors"

	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)

func newUser(email string) UserRecord {
	return UserRecord{User: contract.User{ID: uuid.Must(uuid.NewV7()).String(), Email: email, Name: "N " + email,
		Role: contract.RoleCustomer, Version: 1, CreatedAt: t0, UpdatedAt: t0}, PasswordHash: "$2a$04$hash-of-" + email}
}

func newSession(userID, token string) SessionRecord {
	return SessionRecord{ID: uuid.Must(uuid.NewV7()).String(), TokenHash: hashToken(token), UserID: userID, CreatedAt: t0, LastSeenAt: t0,
		IdleExpiresAt: t0.Add(24 * time.Hour), ExpiresAt: t0.Add(30 * 24 * time.Hour), IP: "192.0.2.1", UserAgent: "test"}
}

// TestStore is the store suite, run on every backend this machine reaches.
func TestStore(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		s, err := OpenStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}

		// Users: unique emails, case-insensitively, enforced by the store.
		ann := newUser("ann@example.com")
		if err := s.InsertUser(ctx, ann); err != nil {
			t.Fatal(err)
		}
		for _, email := range []string{"ann@example.com", "Ann@Example.COM"} {
			if err := s.InsertUser(ctx, newUser(email)); !errors.Is(err, store.ErrDuplicate) {
				t.Fatalf("duplicate %s: %v", email, err)
			}
		}
		if got, err := s.UserByEmail(ctx, "ANN@example.com"); err != nil || got != ann {
			t.Fatalf("UserByEmail = %+v, %v", got, err)
		}
		if got, err := s.UserByID(ctx, ann.ID); err != nil || got != ann {
			t.Fatalf("UserByID = %+v, %v", got, err)
		}
		if _, err := s.UserByID(ctx, uuid.NewString()); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing user: %v", err)
		}
		if _, err := s.UserByEmail(ctx, "nobody@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing email: %v", err)
		}
		bob := newUser("bob@example.com")
		if err := s.InsertUser(ctx, bob); err != nil {
			t.Fatal(err)
		}

		// UpdateUser: versioned.
		upd := ann
		upd.Role, upd.Name, upd.Version, upd.UpdatedAt = contract.RoleAdmin, "Ann A.", 2, t0.Add(time.Hour)
		if err := s.UpdateUser(ctx, upd, 1); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.UserByID(ctx, ann.ID); got != upd {
			t.Fatalf("after update %+v", got)
		}
		if err := s.UpdateUser(ctx, upd, 1); !errors.Is(err, store.ErrStale) {
			t.Fatalf("stale update: %v", err)
		}
		if err := s.UpdateUser(ctx, newUser("ghost@example.com"), 1); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update missing: %v", err)
		}
		taken := bob
		taken.Email, taken.Version = "ANN@example.com", 2
		if err := s.UpdateUser(ctx, taken, 1); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("update to a taken email: %v", err)
		}

		// ListUsers: keyset pages in creation order.
		page, total, err := s.ListUsers(ctx, "", 1)
		if err != nil || total != 2 || len(page) != 1 || page[0].ID != ann.ID {
			t.Fatalf("page 1 = %+v, %d, %v", page, total, err)
		}
		page, _, err = s.ListUsers(ctx, page[0].ID, 5)
		if err != nil || len(page) != 1 || page[0].ID != bob.ID {
			t.Fatalf("page 2 = %+v, %v", page, err)
		}

		// Sessions: by token hash while live; the role is the user's now.
		sa := newSession(ann.ID, "token-a")
		sb := newSession(ann.ID, "token-b")
		sb.CreatedAt = t0.Add(time.Second)
		for _, x := range []SessionRecord{sa, sb, newSession(bob.ID, "token-c")} {
			if err := s.InsertSession(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.InsertSession(ctx, newSession(bob.ID, "token-a")); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("duplicate token: %v", err)
		}
		got, role, err := s.SessionByToken(ctx, sa.TokenHash, t0.Add(time.Minute))
		if err != nil || got != sa || role != contract.RoleAdmin {
			t.Fatalf("SessionByToken = %+v %s, %v", got, role, err)
		}
		if _, _, err := s.SessionByToken(ctx, sa.TokenHash, t0.Add(25*time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("idle-expired session resolved: %v", err)
		}
		if err := s.TouchSession(ctx, sa.ID, t0.Add(23*time.Hour), t0.Add(47*time.Hour)); err != nil {
			t.Fatal(err)
		}
		// Touching backwards is a no-op.
		if err := s.TouchSession(ctx, sa.ID, t0.Add(time.Hour), t0.Add(25*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, _, err := s.SessionByToken(ctx, sa.TokenHash, t0.Add(46*time.Hour)); err != nil || !got.IdleExpiresAt.Equal(t0.Add(47*time.Hour)) {
			t.Fatalf("after touch: %+v, %v", got, err)
		}
		if _, _, err := s.SessionByToken(ctx, sa.TokenHash, t0.Add(31*24*time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("session past its absolute lifetime resolved: %v", err)
		}
		list, err := s.Sessions(ctx, ann.ID, t0.Add(time.Minute))
		if err != nil || len(list) != 2 || list[0].ID != sa.ID || list[1].ID != sb.ID {
			t.Fatalf("Sessions = %+v, %v", list, err)
		}
		if err := s.DeleteSession(ctx, bob.ID, sa.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleting another user's session: %v", err)
		}
		if n, err := s.DeleteUserSessions(ctx, ann.ID, sb.ID); err != nil || n != 1 {
			t.Fatalf("DeleteUserSessions = %d, %v", n, err)
		}
		if _, _, err := s.SessionByToken(ctx, sa.TokenHash, t0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("revoked session resolved: %v", err)
		}
		if err := s.DeleteSession(ctx, ann.ID, sb.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSessionByToken(ctx, hashToken("token-c")); err != nil {
			t.Fatal(err)
		}
		if list, _ := s.Sessions(ctx, bob.ID, t0); len(list) != 0 {
			t.Fatalf("after delete by token: %+v", list)
		}

		// Throttle counters: atomic increments, raised never lowered.
		key := "pair:abc:1"
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				if _, err := s.AddFailure(ctx, key, t0.Add(time.Hour)); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n, err := s.AddFailure(ctx, key, t0.Add(time.Hour)); err != nil || n != 11 {
			t.Fatalf("11th failure counted as %d, %v", n, err)
		}
		if err := s.BlockUntil(ctx, key, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.BlockUntil(ctx, key, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		th, err := s.Throttles(ctx, []string{key, "ip:none:1"})
		if err != nil || len(th) != 1 || th[key].Failures != 11 || !th[key].BlockedUntil.Equal(t0.Add(time.Minute)) {
			t.Fatalf("Throttles = %+v, %v", th, err)
		}
		if err := s.ClearThrottles(ctx, []string{key}); err != nil {
			t.Fatal(err)
		}
		if th, _ := s.Throttles(ctx, []string{key}); len(th) != 0 {
			t.Fatalf("after clear: %+v", th)
		}

		// Reset tokens: the newest only, single use, until expiry.
		r1 := ResetToken{TokenHash: hashToken("r1"), UserID: bob.ID, CreatedAt: t0, ExpiresAt: t0.Add(30 * time.Minute)}
		r2 := ResetToken{TokenHash: hashToken("r2"), UserID: bob.ID, CreatedAt: t0, ExpiresAt: t0.Add(30 * time.Minute)}
		for _, r := range []ResetToken{r1, r2} {
			if err := s.InsertResetToken(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.TakeResetToken(ctx, r1.TokenHash, t0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("replaced token taken: %v", err)
		}
		if _, err := s.TakeResetToken(ctx, r2.TokenHash, t0.Add(31*time.Minute)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired token taken: %v", err)
		}
		if got, err := s.TakeResetToken(ctx, r2.TokenHash, t0.Add(time.Minute)); err != nil || got != r2 {
			t.Fatalf("TakeResetToken = %+v, %v", got, err)
		}
		if _, err := s.TakeResetToken(ctx, r2.TokenHash, t0.Add(time.Minute)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("token taken twice: %v", err)
		}

		// Sweep removes what expired, and only that.
		old := newSession(bob.ID, "old")
		if err := s.InsertSession(ctx, old); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertSession(ctx, newSession(bob.ID, "young")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddFailure(ctx, "ip:x:1", t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertResetToken(ctx, r1); err != nil {
			t.Fatal(err)
		}
		if err := s.TouchSession(ctx, old.ID, t0.Add(time.Hour), t0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		n, err := s.Sweep(ctx, t0.Add(90*time.Minute))
		if err != nil || n != 2 { // the throttle counter and the reset token
			t.Fatalf("first sweep: %d, %v", n, err)
		}
		n, err = s.Sweep(ctx, t0.Add(3*time.Hour))
		if err != nil || n != 1 { // the old session, idle since 1h
			t.Fatalf("second sweep: %d, %v", n, err)
		}
		if list, _ := s.Sessions(ctx, bob.ID, t0.Add(3*time.Hour)); len(list) != 1 {
			t.Fatalf("after sweep: %+v", list)
		}
	})
}

// TestStoreFailuresAcrossInstances counts failures from two independent
// handles on the same data, as two worker processes would.
func TestStoreFailuresAcrossInstances(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		storetest.Require(t, db, storetest.MultiClient)
		ctx := t.Context()
		var stores []Store
		for _, d := range []*store.DB{db, storetest.Another(t, db)} {
			s, err := OpenStore(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			stores = append(stores, s)
		}
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Go(func() {
				if _, err := stores[i%2].AddFailure(ctx, "ip:shared:1", t0.Add(time.Hour)); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		th, err := stores[1].Throttles(ctx, []string{"ip:shared:1"})
		if err != nil || th["ip:shared:1"].Failures != 40 {
			t.Fatalf("40 failures from two instances counted as %+v, %v", th, err)
		}
	})
}
