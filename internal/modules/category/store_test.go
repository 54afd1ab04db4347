package category

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

func newCategory(name, slug, parent string, pos int) contract.Category {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	return contract.Category{ID: uuid.Must(uuid.NewV7()).String(), Name: name, Slug: slug, Description: "about " + name,
		ParentID: parent, Position: pos, CreatedAt: at, UpdatedAt: at}
}

// TestStore is the store suite, run on every backend this machine reaches.
func TestStore(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		s, err := OpenStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		root := newCategory("Shoes", "shoes", "", 0)
		if err := s.Insert(ctx, root); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, root.ID)
		if err != nil || got != root {
			t.Fatalf("Get = %+v, %v; want %+v", got, err, root)
		}
		if got, err := s.BySlug(ctx, "shoes"); err != nil || got != root {
			t.Fatalf("BySlug = %+v, %v", got, err)
		}
		if _, err := s.Get(ctx, uuid.NewString()); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get missing: %v", err)
		}
		if _, err := s.BySlug(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("BySlug missing: %v", err)
		}
		if err := s.Insert(ctx, newCategory("Other", "shoes", "", 1)); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("duplicate slug: %v", err)
		}

		a, b, c := newCategory("A", "a", root.ID, 0), newCategory("B", "b", root.ID, 1), newCategory("C", "c", root.ID, 2)
		for _, x := range []contract.Category{c, a, b} {
			if err := s.Insert(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
		kids, err := s.Children(ctx, root.ID)
		if err != nil || !slices.Equal(ids(kids), []string{a.ID, b.ID, c.ID}) {
			t.Fatalf("Children = %v, %v", ids(kids), err)
		}
		roots, err := s.Children(ctx, "")
		if err != nil || !slices.Equal(ids(roots), []string{root.ID}) {
			t.Fatalf("roots = %v, %v", ids(roots), err)
		}

		// Reorder: c first; only changed rows get the new updated_at.
		later := root.UpdatedAt.Add(time.Hour)
		if err := s.Reorder(ctx, root.ID, []string{c.ID, a.ID, b.ID}, later); err != nil {
			t.Fatal(err)
		}
		kids, _ = s.Children(ctx, root.ID)
		if !slices.Equal(ids(kids), []string{c.ID, a.ID, b.ID}) {
			t.Fatalf("after reorder: %v", ids(kids))
		}
		for i, k := range kids {
			if k.Position != i || !k.UpdatedAt.Equal(later) {
				t.Fatalf("after reorder %s: position %d updated %v", k.Name, k.Position, k.UpdatedAt)
			}
		}
		if err := s.Reorder(ctx, root.ID, []string{c.ID, a.ID, b.ID}, later.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if k, _ := s.Get(ctx, a.ID); !k.UpdatedAt.Equal(later) {
			t.Fatalf("unchanged row touched: %v", k.UpdatedAt)
		}
		// Reorder under a new parent moves.
		if err := s.Reorder(ctx, "", []string{root.ID, b.ID}, later); err != nil {
			t.Fatal(err)
		}
		if moved, _ := s.Get(ctx, b.ID); moved.ParentID != "" || moved.Position != 1 {
			t.Fatalf("moved: %+v", moved)
		}

		nodes, err := s.Nodes(ctx)
		if err != nil || len(nodes) != 4 || nodes[0] != (Node{ID: root.ID, Name: "Shoes", Slug: "shoes", Position: 0}) {
			t.Fatalf("Nodes = %+v, %v", nodes, err)
		}
		rev, err := s.Revision(ctx)
		if err != nil {
			t.Fatal(err)
		}

		upd := a
		upd.Name, upd.Slug, upd.Description, upd.UpdatedAt = "A2", "a2", "new", later
		if err := s.Update(ctx, upd); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Get(ctx, a.ID); got.Name != "A2" || got.Slug != "a2" || got.Description != "new" {
			t.Fatalf("after update: %+v", got)
		}
		upd.Slug = "shoes"
		if err := s.Update(ctx, upd); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("update to a taken slug: %v", err)
		}
		if err := s.Update(ctx, newCategory("X", "x", "", 0)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update missing: %v", err)
		}

		if err := s.Delete(ctx, []string{a.ID, c.ID}); err != nil {
			t.Fatal(err)
		}
		if nodes, _ := s.Nodes(ctx); len(nodes) != 2 {
			t.Fatalf("after delete: %d left", len(nodes))
		}
		if after, err := s.Revision(ctx); err != nil || after <= rev {
			t.Fatalf("revision %d after writes, was %d (%v)", after, rev, err)
		}
		same, _ := s.Revision(ctx)
		if _, err := s.Children(ctx, ""); err != nil {
			t.Fatal(err)
		}
		if again, _ := s.Revision(ctx); again != same {
			t.Fatalf("a read moved the revision: %d → %d", same, again)
		}
		if err := s.Delete(ctx, nil); err != nil {
			t.Fatal(err)
		}
	})
}
