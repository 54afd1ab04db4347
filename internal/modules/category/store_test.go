package category

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

func newCategory(name, slug, parent string, pos int) contract.Category {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	return contract.Category{ID: uuid.Must(uuid.NewV7()).String(), Name: name, Slug: slug, Description: "about " + name,
		ParentID: parent, Position: pos, Version: 1, CreatedAt: at, UpdatedAt: at}
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
			if k.Position != i || !k.UpdatedAt.Equal(later) || k.Version != 2 {
				t.Fatalf("after reorder %s: position %d version %d updated %v", k.Name, k.Position, k.Version, k.UpdatedAt)
			}
		}
		if err := s.Reorder(ctx, root.ID, []string{c.ID, a.ID, b.ID}, later.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if k, _ := s.Get(ctx, a.ID); !k.UpdatedAt.Equal(later) || k.Version != 2 {
			t.Fatalf("unchanged row touched: %v, version %d", k.UpdatedAt, k.Version)
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
		if err := s.Update(ctx, upd, 2); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Get(ctx, a.ID); got.Name != "A2" || got.Slug != "a2" || got.Description != "new" || got.Version != 3 {
			t.Fatalf("after update: %+v", got)
		}
		upd.Slug = "shoes"
		if err := s.Update(ctx, upd, 3); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("update to a taken slug: %v", err)
		}
		if err := s.Update(ctx, newCategory("X", "x", "", 0), 1); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update missing: %v", err)
		}

		if err := s.Delete(ctx, []string{a.ID, c.ID}, 0, nil); err != nil {
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
		if err := s.Delete(ctx, nil, 0, nil); err != nil {
			t.Fatal(err)
		}
	})
}

// TestStoreVersions checks the optimistic concurrency of every write: a
// stale expected version fails with store.ErrStale and changes nothing, the
// right one (or 0 where allowed) applies the write and bumps the version.
func TestStoreVersions(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		s, err := OpenStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		later := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
		tests := []struct {
			name     string
			expected int64
			write    func(s Store, c contract.Category, sib contract.Category, expected int64) error
			stale    bool
			check    func(t *testing.T, c, sib contract.Category) // after a successful write
		}{
			{"update stale", 1, func(s Store, c, _ contract.Category, v int64) error {
				c.Name = "Changed"
				return s.Update(ctx, c, v)
			}, true, nil},
			{"update", 2, func(s Store, c, _ contract.Category, v int64) error {
				c.Name, c.UpdatedAt = "Changed", later
				return s.Update(ctx, c, v)
			}, false, func(t *testing.T, c, sib contract.Category) {
				if c.Name != "Changed" || c.Version != 3 || !c.UpdatedAt.Equal(later) || sib.Version != 1 {
					t.Fatalf("after update: %+v, sibling at %d", c, sib.Version)
				}
			}},
			{"move stale", 3, func(s Store, c, sib contract.Category, v int64) error {
				c.Position = 0
				return s.Move(ctx, c, v, c.ParentID, []string{c.ID, sib.ID}, nil)
			}, true, nil},
			{"move", 2, func(s Store, c, sib contract.Category, v int64) error {
				c.Position, c.UpdatedAt = 0, later
				return s.Move(ctx, c, v, c.ParentID, []string{c.ID, sib.ID}, nil)
			}, false, func(t *testing.T, c, sib contract.Category) {
				// The sibling moved from 0 to 1 without a check, with a bump.
				if c.Position != 0 || c.Version != 3 || sib.Position != 1 || sib.Version != 2 {
					t.Fatalf("after move: %+v, sibling %+v", c, sib)
				}
			}},
			{"move any version", 0, func(s Store, c, sib contract.Category, v int64) error {
				c.Position, c.UpdatedAt = 0, later
				return s.Move(ctx, c, v, c.ParentID, []string{c.ID, sib.ID}, nil)
			}, false, func(t *testing.T, c, sib contract.Category) {
				if c.Version != 3 || sib.Version != 2 {
					t.Fatalf("after unconditional move: %+v, sibling %+v", c, sib)
				}
			}},
			{"delete stale", 3, func(s Store, c, _ contract.Category, v int64) error {
				return s.Delete(ctx, []string{c.ID}, v, nil)
			}, true, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				// A parent with sib at 0 and c at 1; c written once (version 2).
				parent := newCategory("P", "p-"+uuid.NewString()[:8], "", 0)
				sib := newCategory("S", "s-"+uuid.NewString()[:8], parent.ID, 0)
				c := newCategory("C", "c-"+uuid.NewString()[:8], parent.ID, 1)
				for _, x := range []contract.Category{parent, sib, c} {
					if err := s.Insert(ctx, x); err != nil {
						t.Fatal(err)
					}
				}
				if err := s.Update(ctx, c, 1); err != nil {
					t.Fatal(err)
				}
				before, _ := s.Get(ctx, c.ID)
				err := tt.write(s, before, sib, tt.expected)
				after, aerr := s.Get(ctx, c.ID)
				sibAfter, _ := s.Get(ctx, sib.ID)
				if tt.stale {
					if !errors.Is(err, store.ErrStale) {
						t.Fatalf("stale write: %v, want store.ErrStale", err)
					}
					if aerr != nil || after != before || sibAfter.Version != 1 || sibAfter.Position != 0 {
						t.Fatalf("a stale write changed data: %+v → %+v (%v), sibling %+v", before, after, aerr, sibAfter)
					}
					return
				}
				if err != nil || aerr != nil {
					t.Fatalf("write: %v; get: %v", err, aerr)
				}
				tt.check(t, after, sibAfter)
			})
		}
		t.Run("delete", func(t *testing.T) {
			c := newCategory("D", "d", "", 9)
			kid := newCategory("K", "k", c.ID, 0)
			for _, x := range []contract.Category{c, kid} {
				if err := s.Insert(ctx, x); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Delete(ctx, []string{c.ID, kid.ID}, 1, nil); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{c.ID, kid.ID} {
				if _, err := s.Get(ctx, id); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("after delete %s: %v", id, err)
				}
			}
			if err := s.Delete(ctx, []string{c.ID}, 1, nil); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("delete again: %v", err)
			}
		})
	})
}

// TestStoreLegacyVersion checks data from before versions existed: a
// SQLite row migrated by 002_version.sql and a MongoDB document without a
// version field both read as version 1 and take a checked write at 1.
func TestStoreLegacyVersion(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		old := newCategory("Old", "old", "", 0)
		if db.Kind() == store.KindSQLite {
			migrations, err := store.MigrationsFrom(schema, "schema")
			if err != nil {
				t.Fatal(err)
			}
			raw, err := db.SQLite(ctx, "category", migrations[:1])
			if err != nil {
				t.Fatal(err)
			}
			if _, err := raw.ExecContext(ctx, `INSERT INTO categories (id, name, slug, description, parent_id, position, created_at, updated_at)
				VALUES (?, 'Old', 'old', '', '', 0, 0, 0)`, old.ID); err != nil {
				t.Fatal(err)
			}
		}
		s, err := OpenStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if ms, ok := s.(*mongoStore); ok {
			if _, err := ms.coll.InsertOne(ctx, bson.D{{Key: "_id", Value: old.ID}, {Key: "name", Value: "Old"}, {Key: "slug", Value: "old"},
				{Key: "description", Value: ""}, {Key: "parent_id", Value: ""}, {Key: "position", Value: 0},
				{Key: "created_at", Value: old.CreatedAt}, {Key: "updated_at", Value: old.UpdatedAt}}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Get(ctx, old.ID)
		if err != nil || got.Version != 1 {
			t.Fatalf("legacy category: %+v, %v; want version 1", got, err)
		}
		if err := s.Update(ctx, got, 2); !errors.Is(err, store.ErrStale) {
			t.Fatalf("legacy at 2: %v, want store.ErrStale", err)
		}
		got.Name = "Renamed"
		if err := s.Update(ctx, got, 1); err != nil {
			t.Fatalf("legacy at 1: %v", err)
		}
		if got, _ = s.Get(ctx, old.ID); got.Version != 2 || got.Name != "Renamed" {
			t.Fatalf("after the write: %+v", got)
		}
	})
}
