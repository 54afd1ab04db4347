package cart

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

func newStored(key string, at time.Time, expires time.Time) Stored {
	return Stored{ID: uuid.Must(uuid.NewV7()).String(), Key: key, Owner: "guest", Currency: "EUR", Version: 1, UpdatedAt: at, ExpiresAt: expires,
		Lines: []Line{{ID: uuid.Must(uuid.NewV7()).String(), ProductID: uuid.NewString(), VariantID: uuid.NewString(), SKU: "S-1",
			ProductName: "Boot", Slug: "boot", Options: []string{"M"}, Quantity: 2, PriceAdded: 1_000, PriceSeen: 1_200, Notice: "n"}}}
}

// TestStore is the store suite, run on every backend this machine reaches.
func TestStore(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		s, err := OpenStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
		guest := newStored("guest:abc", at, at.Add(time.Hour))
		if err := s.Insert(ctx, guest); err != nil {
			t.Fatal(err)
		}
		got, err := s.ByOwner(ctx, "guest:abc")
		if err != nil || got.ID != guest.ID || got.Key != guest.Key || got.Version != 1 || !got.UpdatedAt.Equal(at) || got.UpdatedAt.Location() != time.UTC ||
			!got.ExpiresAt.Equal(guest.ExpiresAt) || len(got.Lines) != 1 || got.Lines[0].Notice != "n" || got.Lines[0].PriceSeen != 1_200 ||
			got.Lines[0].Options[0] != "M" || got.Currency != "EUR" {
			t.Fatalf("ByOwner = %+v, %v; want %+v", got, err, guest)
		}
		if _, err := s.ByOwner(ctx, "guest:nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("ByOwner missing: %v", err)
		}
		// One cart per owner.
		if err := s.Insert(ctx, newStored("guest:abc", at, time.Time{})); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("second cart of an owner: %v", err)
		}

		// Save is a compare-and-set on the version.
		next := got
		next.Version, next.Lines[0].Quantity, next.Merged = 2, 3, []string{"g1"}
		if err := s.Save(ctx, next); err != nil {
			t.Fatal(err)
		}
		stale := got
		stale.Version = 2
		if err := s.Save(ctx, stale); !errors.Is(err, store.ErrStale) {
			t.Fatalf("stale save: %v", err)
		}
		if got, _ := s.ByOwner(ctx, "guest:abc"); got.Version != 2 || got.Lines[0].Quantity != 3 || len(got.Merged) != 1 {
			t.Fatalf("after save %+v", got)
		}
		gone := newStored("guest:gone", at, time.Time{})
		gone.Version = 2
		if err := s.Save(ctx, gone); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("save of a missing cart: %v", err)
		}

		// Concurrent compare-and-set with re-reads: no increment is lost.
		user := newStored("user:1", at, time.Time{})
		user.Owner = "user:1"
		if err := s.Insert(ctx, user); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for range 20 {
			wg.Go(func() {
				for {
					c, err := s.ByOwner(ctx, "user:1")
					if err != nil {
						errs <- err
						return
					}
					c.Version++
					c.Lines[0].Quantity++
					err = s.Save(ctx, c)
					if errors.Is(err, store.ErrStale) {
						continue
					}
					if err != nil {
						errs <- err
					}
					return
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if c, _ := s.ByOwner(ctx, "user:1"); c.Lines[0].Quantity != 22 || c.Version != 21 || !c.ExpiresAt.IsZero() {
			t.Fatalf("after 20 concurrent increments: quantity %d, version %d, expires %v", c.Lines[0].Quantity, c.Version, c.ExpiresAt)
		}

		// List: by updated_at, then id, keyset-paged.
		later := newStored("guest:later", at.Add(2*time.Hour), at.Add(3*time.Hour))
		if err := s.Insert(ctx, later); err != nil {
			t.Fatal(err)
		}
		page, total, err := s.List(ctx, nil, 2)
		if err != nil || total != 3 || len(page) != 2 || page[0].UpdatedAt.After(page[1].UpdatedAt) {
			t.Fatalf("List = %d of %d, %v", len(page), total, err)
		}
		rest, _, err := s.List(ctx, &Position{UpdatedAt: page[1].UpdatedAt, ID: page[1].ID}, 2)
		if err != nil || len(rest) != 1 || rest[0].ID != later.ID {
			t.Fatalf("List after = %+v, %v", rest, err)
		}

		// The sweep deletes guest carts past their expiry, never users'.
		n, err := s.DeleteExpired(ctx, at.Add(2*time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("DeleteExpired = %d, %v", n, err)
		}
		if _, err := s.ByOwner(ctx, "guest:abc"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired guest cart: %v", err)
		}
		for _, key := range []string{"user:1", "guest:later"} {
			if _, err := s.ByOwner(ctx, key); err != nil {
				t.Fatalf("%s after the sweep: %v", key, err)
			}
		}
		if err := s.Delete(ctx, later.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, later.ID); err != nil {
			t.Fatalf("delete twice: %v", err)
		}
		if _, err := s.ByOwner(ctx, "guest:later"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted: %v", err)
		}
	})
}
