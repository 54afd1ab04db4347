package seo

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

// The store suite, on every backend storetest reaches.
func TestStore(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		st, err := OpenStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		t.Run("overrides", func(t *testing.T) { testOverrides(t, ctx, st) })
		t.Run("registry", func(t *testing.T) { testRegistryFeed(t, ctx, st) })
		// A second open (another process, a restart) sees the same data.
		again, err := OpenStore(ctx, storetest.Another(t, db))
		if err != nil {
			t.Fatal(err)
		}
		if o, err := again.Override(ctx, "path:/"); err != nil || o.Title != "Home, renamed" {
			t.Fatalf("reopened: %+v, %v", o, err)
		}
	})
}

func testOverrides(t *testing.T, ctx context.Context, st Store) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	home := contract.SEOOverride{SEOOverrideKey: contract.SEOOverrideKey{Path: "/"}, Title: "Home", Robots: contract.RobotsIndex, Version: 1, UpdatedAt: now}
	if _, err := st.Override(ctx, "path:/"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing override: %v", err)
	}
	if err := st.PutOverride(ctx, "path:/", home, 0); err != nil {
		t.Fatal(err)
	}
	if err := st.PutOverride(ctx, "path:/", home, 0); !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("second create: %v, want ErrDuplicate", err)
	}
	got, err := st.Override(ctx, "path:/")
	if err != nil || got.Path != "/" || got.Title != "Home" || got.Version != 1 || !got.UpdatedAt.Equal(now) {
		t.Fatalf("read back %+v, %v", got, err)
	}
	next := home
	next.Title, next.Version = "Home, renamed", 2
	if err := st.PutOverride(ctx, "path:/", next, 3); !errors.Is(err, store.ErrStale) {
		t.Fatalf("update at a wrong version: %v, want ErrStale", err)
	}
	if err := st.PutOverride(ctx, "path:/missing", next, 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of a missing override: %v, want ErrNotFound", err)
	}
	if err := st.PutOverride(ctx, "path:/", next, 1); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Override(ctx, "path:/"); got.Title != "Home, renamed" || got.Version != 2 {
		t.Fatalf("after update %+v", got)
	}
	// An entity's override, and deletes checked by version.
	id := newID()
	k := key(contract.SEOProduct, id)
	p := contract.SEOOverride{Title: "Shoe", Version: 1, UpdatedAt: now}
	if err := st.PutOverride(ctx, k, p, 0); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Override(ctx, k); got.Type != contract.SEOProduct || got.ID != id {
		t.Fatalf("entity override key %+v", got.SEOOverrideKey)
	}
	if err := st.DeleteOverride(ctx, k, 2); !errors.Is(err, store.ErrStale) {
		t.Fatalf("delete at a wrong version: %v", err)
	}
	if err := st.DeleteOverride(ctx, k, 1); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteOverride(ctx, k, 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete of a deleted override: %v", err)
	}
}

// The registry feed holds one entry per entity and refuses versions that
// are not newer: what makes a redelivered event harmless.
func testRegistryFeed(t *testing.T, ctx context.Context, st Store) {
	reg := st.Registry()
	k := key(contract.SEOProduct, newID())
	for _, w := range []struct {
		version int64
		body    string
		applied bool
	}{{1, `{"slug":"a"}`, true}, {2, `{"slug":"b"}`, true}, {2, `{"slug":"c"}`, false}, {1, `{"slug":"d"}`, false}} {
		ok, err := reg.Put(ctx, k, w.version, []byte(w.body))
		if err != nil || ok != w.applied {
			t.Fatalf("put v%d: applied %v, %v; want %v", w.version, ok, err, w.applied)
		}
	}
	c, err := reg.Get(ctx, k)
	if err != nil || c.Version != 2 || string(c.Body) != `{"slug":"b"}` {
		t.Fatalf("entry %+v, %v", c, err)
	}
}
