package attribute

import (
	"context"
	"errors"
	"testing"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

// TestStoreGroupKey: the definition → group key holds in the store itself
// on every backend (SQLite's foreign key; on MongoDB the guarded counter),
// not only in the handlers' check-then-act: a definition cannot enter a
// missing group, and a group with definitions cannot be deleted, however
// the definitions got there (created, moved by update or by reorder).
func TestStoreGroupKey(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		s, err := OpenStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		g1, g2 := newGroup("One", "one", 0), newGroup("Two", "two", 1)
		for _, g := range []contract.AttributeGroup{g1, g2} {
			if err := s.InsertGroup(ctx, g); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.InsertDefinition(ctx, newDefinition("lost", newGroup("X", "x", 2).ID, contract.AttributeText, 0)); !errors.Is(err, errNoGroup) {
			t.Fatalf("definition in a missing group: %v, want errNoGroup", err)
		}
		d := newDefinition("color", g1.ID, contract.AttributeText, 0)
		if err := s.InsertDefinition(ctx, d); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteGroup(ctx, g1.ID, 0, nil); !errors.Is(err, errGroupInUse) {
			t.Fatalf("delete of a group with a definition: %v, want errGroupInUse", err)
		}
		moved := d
		moved.GroupID = g2.ID
		if err := s.UpdateDefinition(ctx, moved, 1); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteGroup(ctx, g2.ID, 0, nil); !errors.Is(err, errGroupInUse) {
			t.Fatalf("delete of the group a definition moved into: %v, want errGroupInUse", err)
		}
		if err := s.ReorderDefinitions(ctx, g1.ID, []string{d.ID}, storeTime, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteGroup(ctx, g1.ID, 0, nil); !errors.Is(err, errGroupInUse) {
			t.Fatalf("delete of the group a definition was reordered into: %v, want errGroupInUse", err)
		}
		if err := s.DeleteGroup(ctx, g2.ID, 0, nil); err != nil {
			t.Fatalf("delete of the group the definition left: %v", err)
		}
		if err := s.ReorderDefinitions(ctx, g2.ID, []string{d.ID}, storeTime, nil); !errors.Is(err, errNoGroup) {
			t.Fatalf("reorder into a deleted group: %v, want errNoGroup", err)
		}
		if err := s.DeleteDefinition(ctx, d.ID, 0, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteGroup(ctx, g1.ID, 0, nil); err != nil {
			t.Fatalf("delete of a group left empty: %v", err)
		}
	})
}

// TestMongoGroupDeletedDuringCreate replays the race the handlers' check
// cannot close: a group is deleted after a definition's create checked it
// and before the definition is written. The counter makes the delete fail,
// so the definition is not left in a deleted group.
func TestMongoGroupDeletedDuringCreate(t *testing.T) {
	storetest.ForEachMongo(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		st, err := OpenStore(ctx, b.Open(t))
		if err != nil {
			t.Fatal(err)
		}
		s := st.(*mongoStore)
		s.tx = false
		g := newGroup("One", "one", 0)
		if err := s.InsertGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		var delErr error
		s.hook = func(_ context.Context, step string) error {
			if step == "definition:entered" {
				delErr = s.DeleteGroup(t.Context(), g.ID, 0, nil)
			}
			return nil
		}
		d := newDefinition("color", g.ID, contract.AttributeText, 0)
		if err := s.InsertDefinition(ctx, d); err != nil {
			t.Fatal(err)
		}
		s.hook = nil
		if !errors.Is(delErr, errGroupInUse) {
			t.Fatalf("delete during the create = %v, want errGroupInUse", delErr)
		}
		if _, err := s.Group(ctx, g.ID); err != nil {
			t.Fatalf("the definition's group: %v", err)
		}
	})
}
