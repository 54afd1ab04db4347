package category

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store/storetest"
)

// forMongo runs fn on a fresh MongoDB store of every MongoDB backend, on
// the path without transactions (FerretDB's; forced on a replica set).
func forMongo(t *testing.T, fn func(t *testing.T, s *mongoStore)) {
	storetest.ForEachMongo(t, func(t *testing.T, b storetest.Backend) {
		st, err := OpenStore(t.Context(), b.Open(t))
		if err != nil {
			t.Fatal(err)
		}
		s := st.(*mongoStore)
		s.tx = false
		fn(t, s)
	})
}

// TestMongoRevisionOutlivesRequest: the request's context ends right
// after the insert committed, before the revision bump. The insert must
// answer success (an error makes the client retry, and the retry creates
// a "-2" duplicate) and the revision must still move (or other processes
// serve the old tree). The bump used to run on the request's context and
// fail the insert.
func TestMongoRevisionOutlivesRequest(t *testing.T) {
	forMongo(t, func(t *testing.T, s *mongoStore) {
		before, err := s.Revision(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		s.hook = func(_ context.Context, step string) error {
			if step == "bump" {
				cancel()
			}
			return nil
		}
		c := newCategory("Shoes", "shoes", "", 0)
		if err := s.Insert(ctx, c); err != nil {
			t.Fatalf("insert whose context ended after its commit = %v, want success", err)
		}
		after, err := s.Revision(t.Context())
		if err != nil || after <= before {
			t.Fatalf("revision %d → %d (%v): the bump was lost with the request", before, after, err)
		}
		// A write that fails half-way still bumps: a move whose
		// renumbering runs on a context that ended.
		ctx, cancel = context.WithCancel(t.Context())
		defer cancel()
		cancel()
		if err := s.Update(ctx, c, 1); err == nil {
			t.Fatal("update on a cancelled context succeeded")
		}
		if again, err := s.Revision(t.Context()); err != nil || again <= after {
			t.Fatalf("revision %d → %d (%v) after a failed write: not bumped on the error path", after, again, err)
		}
	})
}

// TestMongoSubtreeDeleteHalfWay: a subtree delete that stops after its
// first document (a failover, here an injected crash) leaves a tree (no
// category whose parent is gone) and the deleted event of exactly the
// category it removed, which the relay may publish; before, one guard
// named every id, so the events of the categories that did go were
// dropped with those of the ones that stayed.
func TestMongoSubtreeDeleteHalfWay(t *testing.T) {
	forMongo(t, func(t *testing.T, s *mongoStore) {
		ctx := t.Context()
		root := newCategory("Root", "root", "", 0)
		mid := newCategory("Mid", "mid", root.ID, 0)
		leaf := newCategory("Leaf", "leaf", mid.ID, 0)
		for _, c := range []contract.Category{root, mid, leaf} {
			if err := s.Insert(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		crash := errors.New("crash (test)")
		s.hook = func(_ context.Context, step string) error {
			if step == "delete:one" {
				return crash
			}
			return nil
		}
		err := s.Delete(ctx, []string{mid.ID, leaf.ID}, 0, func(c contract.Category) ([]outbox.Event, error) {
			e, err := outbox.New(contract.CategoryDeleted, c.ID, contract.CategoryEvent{ID: c.ID, Version: c.Version})
			return []outbox.Event{e}, err
		})
		s.hook = nil
		if !errors.Is(err, crash) {
			t.Fatalf("delete = %v, want the injected crash", err)
		}
		nodes, err := s.Nodes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, n := range nodes {
			have[n.ID] = true
		}
		for _, n := range nodes {
			if n.ParentID != "" && !have[n.ParentID] {
				t.Fatalf("category %s is left under %s, which is gone", n.ID, n.ParentID)
			}
		}
		if have[leaf.ID] || !have[mid.ID] {
			t.Fatalf("after one step: %v; want the leaf gone first, its parent still there", have)
		}
		claimed, err := s.Outbox().Claim(ctx, 10, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, c := range claimed {
			if c.Event.Topic == contract.CategoryDeleted.Topic {
				keys = append(keys, c.Event.Key)
			}
		}
		if len(keys) != 1 || keys[0] != leaf.ID {
			t.Fatalf("publishable deleted events about %v, want exactly the leaf %s", keys, leaf.ID)
		}
	})
}
