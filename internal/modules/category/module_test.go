package category

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/bus/bustest"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/moduletest"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store/storetest"
)

// module is the category module as moduletest starts it.
var module = moduletest.Spec[Store, *Module]{Open: OpenStore, New: New,
	Relay: func(m *Module, r *outbox.Relay) { m.relay = r }}

// harness is a running category module (moduletest.Start).
type harness = moduletest.Harness[*Module]

func call[Req, Resp any](t *testing.T, h *harness, e bus.Endpoint[Req, Resp], req Req) Resp {
	t.Helper()
	return bustest.CallAs(t, moduletest.AdminMeta, h.Bus, e, req)
}

func callErr[Req, Resp any](t *testing.T, h *harness, e bus.Endpoint[Req, Resp], req Req, code bus.Code, mention string) {
	t.Helper()
	bustest.CallErrAs(t, moduletest.AdminMeta, h.Bus, e, req, code, mention)
}

func ptr[T any](v T) *T { return &v }

func TestCategoryModule(t *testing.T) {
	moduletest.ForEach(t, module, func(t *testing.T, h *harness) {
		events := bustest.Record[contract.CategoryEvent](t, h.Bus, "category.*")
		shoes := call(t, h, contract.CreateCategory, contract.CreateCategoryRequest{Name: "  Men's Shoes ", Description: "All of them"})
		if shoes.Slug != "mens-shoes" || shoes.Name != "Men's Shoes" || shoes.ParentID != "" || shoes.Position != 0 {
			t.Fatalf("created %+v", shoes)
		}
		if _, err := uuid.Parse(shoes.ID); err != nil || uuid.MustParse(shoes.ID).Version() != 7 {
			t.Fatalf("id %q is not a UUID v7", shoes.ID)
		}
		// A second "Men's Shoes" gets a suffix; an explicit taken slug is a conflict.
		again := call(t, h, contract.CreateCategory, contract.CreateCategoryRequest{Name: "Men's shoes"})
		if again.Slug != "mens-shoes-2" || again.Position != 1 {
			t.Fatalf("second: %+v", again)
		}
		callErr(t, h, contract.CreateCategory, contract.CreateCategoryRequest{Name: "X", Slug: "mens-shoes"}, bus.CodeConflict, "taken")

		boots := call(t, h, contract.CreateCategory, contract.CreateCategoryRequest{Name: "Boots", ParentID: shoes.ID})
		sandals := call(t, h, contract.CreateCategory, contract.CreateCategoryRequest{Name: "Sandals", ParentID: shoes.ID})
		first := call(t, h, contract.CreateCategory, contract.CreateCategoryRequest{Name: "Sneakers", ParentID: shoes.ID, Position: ptr(0)})
		hiking := call(t, h, contract.CreateCategory, contract.CreateCategoryRequest{Name: "Hiking boots", ParentID: boots.ID})

		kids := call(t, h, contract.ListChildren, contract.ListChildrenRequest{ParentID: shoes.ID})
		if got := names(kids.Items); !slices.Equal(got, []string{"Sneakers", "Boots", "Sandals"}) {
			t.Fatalf("children %v", got)
		}
		for i, k := range kids.Items {
			if k.Position != i {
				t.Fatalf("child %s at position %d, want %d", k.Name, k.Position, i)
			}
		}
		_ = first

		crumbs := call(t, h, contract.GetBreadcrumbs, contract.CategoryID{ID: hiking.ID})
		if got := names(crumbs.Items); !slices.Equal(got, []string{"Men's Shoes", "Boots", "Hiking boots"}) {
			t.Fatalf("breadcrumbs %v", got)
		}
		if got := call(t, h, contract.GetCategoryBySlug, contract.CategorySlug{Slug: "hiking-boots"}); got.ID != hiking.ID {
			t.Fatalf("by slug: %+v", got)
		}

		tree := call(t, h, contract.GetCategoryTree, contract.Empty{})
		if tree.Count != 6 || len(tree.Roots) != 2 || tree.Roots[0].ID != shoes.ID || len(tree.Roots[0].Children) != 3 ||
			tree.Roots[0].Children[1].ID != boots.ID || tree.Roots[0].Children[1].Children[0].ID != hiking.ID {
			t.Fatalf("tree %+v", tree)
		}

		// Moves: under a descendant or itself is invalid; a real move reorders both sides.
		callErr(t, h, contract.MoveCategory, contract.MoveCategoryRequest{ID: shoes.ID, ParentID: hiking.ID}, bus.CodeInvalid, "descendant")
		callErr(t, h, contract.MoveCategory, contract.MoveCategoryRequest{ID: shoes.ID, ParentID: shoes.ID}, bus.CodeInvalid, "itself")
		moved := call(t, h, contract.MoveCategory, contract.MoveCategoryRequest{ID: boots.ID, ParentID: again.ID})
		if moved.ParentID != again.ID || moved.Position != 0 {
			t.Fatalf("moved %+v", moved)
		}
		kids = call(t, h, contract.ListChildren, contract.ListChildrenRequest{ParentID: shoes.ID})
		if got := names(kids.Items); !slices.Equal(got, []string{"Sneakers", "Sandals"}) || kids.Items[1].Position != 1 {
			t.Fatalf("old siblings after move %v %+v", got, kids.Items)
		}
		crumbs = call(t, h, contract.GetBreadcrumbs, contract.CategoryID{ID: hiking.ID})
		if got := names(crumbs.Items); !slices.Equal(got, []string{"Men's shoes", "Boots", "Hiking boots"}) {
			t.Fatalf("breadcrumbs after move %v", got)
		}
		toRoot := call(t, h, contract.MoveCategory, contract.MoveCategoryRequest{ID: sandals.ID, ParentID: "", Position: ptr(0)})
		if toRoot.ParentID != "" || toRoot.Position != 0 {
			t.Fatalf("to root %+v", toRoot)
		}

		// Update keeps the slug unless asked.
		cur := call(t, h, contract.GetCategory, contract.CategoryID{ID: boots.ID})
		upd := call(t, h, contract.UpdateCategory, contract.UpdateCategoryRequest{ID: boots.ID, Version: cur.Version, Name: ptr("Winter boots")})
		if upd.Name != "Winter boots" || upd.Slug != "boots" || !upd.UpdatedAt.After(boots.UpdatedAt.Add(-time.Millisecond)) || upd.Version != cur.Version+1 {
			t.Fatalf("updated %+v", upd)
		}
		callErr(t, h, contract.UpdateCategory, contract.UpdateCategoryRequest{ID: boots.ID, Version: upd.Version, Slug: ptr("mens-shoes")}, bus.CodeConflict, "taken")

		// Delete: refused with children, cascades when asked.
		callErr(t, h, contract.DeleteCategory, contract.DeleteCategoryRequest{ID: again.ID}, bus.CodeConflict, "children")
		del := call(t, h, contract.DeleteCategory, contract.DeleteCategoryRequest{ID: again.ID, Cascade: true})
		if !slices.Equal(del.Deleted, []string{again.ID, boots.ID, hiking.ID}) {
			t.Fatalf("deleted %v", del.Deleted)
		}
		callErr(t, h, contract.GetCategory, contract.CategoryID{ID: hiking.ID}, bus.CodeNotFound, hiking.ID)
		roots := call(t, h, contract.ListChildren, contract.ListChildrenRequest{})
		if got := names(roots.Items); !slices.Equal(got, []string{"Sandals", "Men's Shoes"}) || roots.Items[1].Position != 1 {
			t.Fatalf("roots after delete %v", roots.Items)
		}

		// Events: one per write, with ancestors root first.
		evs := events.Wait(t, 12)
		byTopic := map[string][]contract.CategoryEvent{}
		for _, e := range evs {
			byTopic[e.Topic] = append(byTopic[e.Topic], e.Event)
		}
		if len(byTopic["category.created"]) != 6 || len(byTopic["category.moved"]) != 2 || len(byTopic["category.updated"]) != 1 || len(byTopic["category.deleted"]) != 3 {
			t.Fatalf("events %+v", byTopic)
		}
		for _, e := range byTopic["category.created"] {
			if e.ID == hiking.ID && !slices.Equal(e.AncestorIDs, []string{shoes.ID, boots.ID}) {
				t.Fatalf("created event ancestors %v", e.AncestorIDs)
			}
		}
		for _, e := range byTopic["category.deleted"] {
			if e.ID == hiking.ID && !slices.Equal(e.AncestorIDs, []string{again.ID, boots.ID}) {
				t.Fatalf("deleted event ancestors %v", e.AncestorIDs)
			}
		}
	})
}

func names(cs []contract.Category) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name
	}
	return out
}

func TestCategoryBadInput(t *testing.T) {
	h := moduletest.Start(t, storetest.SQLite(t), module)
	root := call(t, h, contract.CreateCategory, contract.CreateCategoryRequest{Name: "Root"})
	missing := uuid.Must(uuid.NewV7()).String()
	tests := []struct {
		name    string
		call    func() error
		code    bus.Code
		mention string
	}{
		{"empty name", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.CreateCategory, contract.CreateCategoryRequest{Name: "  "}))
		}, bus.CodeInvalid, "name"},
		{"long name", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.CreateCategory, contract.CreateCategoryRequest{Name: strings.Repeat("x", maxNameLen+1)}))
		}, bus.CodeInvalid, "name"},
		{"control chars", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.CreateCategory, contract.CreateCategoryRequest{Name: "a\x00b"}))
		}, bus.CodeInvalid, "control"},
		{"bad slug", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.CreateCategory, contract.CreateCategoryRequest{Name: "A", Slug: "Not A Slug"}))
		}, bus.CodeInvalid, "slug"},
		{"parent not a uuid", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.CreateCategory, contract.CreateCategoryRequest{Name: "A", ParentID: "42"}))
		}, bus.CodeInvalid, "parent_id"},
		{"parent missing", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.CreateCategory, contract.CreateCategoryRequest{Name: "A", ParentID: missing}))
		}, bus.CodeInvalid, "no such category"},
		{"negative position", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.CreateCategory, contract.CreateCategoryRequest{Name: "A", Position: ptr(-1)}))
		}, bus.CodeInvalid, "position"},
		{"get bad id", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.GetCategory, contract.CategoryID{ID: "x"}))
		}, bus.CodeInvalid, "UUID"},
		{"get missing", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.GetCategory, contract.CategoryID{ID: missing}))
		}, bus.CodeNotFound, missing},
		{"slug injection", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.GetCategoryBySlug, contract.CategorySlug{Slug: `{"$gt":""}`}))
		}, bus.CodeInvalid, "slug"},
		{"empty update", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.UpdateCategory, contract.UpdateCategoryRequest{ID: root.ID, Version: 1}))
		}, bus.CodeInvalid, "nothing to update"},
		{"update without version", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.UpdateCategory, contract.UpdateCategoryRequest{ID: root.ID, Name: ptr("x")}))
		}, bus.CodeInvalid, "version is required"},
		{"negative version", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.MoveCategory, contract.MoveCategoryRequest{ID: root.ID, Version: -1}))
		}, bus.CodeInvalid, "version -1"},
		{"move missing", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.MoveCategory, contract.MoveCategoryRequest{ID: missing}))
		}, bus.CodeNotFound, missing},
		{"children of missing", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.ListChildren, contract.ListChildrenRequest{ParentID: missing}))
		}, bus.CodeNotFound, missing},
		{"delete missing", func() error {
			return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.DeleteCategory, contract.DeleteCategoryRequest{ID: missing}))
		}, bus.CodeNotFound, missing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if bus.CodeOf(err) != tt.code || !strings.Contains(err.Error(), tt.mention) {
				t.Fatalf("got %v, want %s mentioning %q", err, tt.code, tt.mention)
			}
		})
	}
	// Nothing was written by the bad requests.
	tree := call(t, h, contract.GetCategoryTree, contract.Empty{})
	if tree.Count != 1 {
		t.Fatalf("bad input changed the tree: %+v", tree)
	}
	if !errors.Is(bus.Errorf(bus.CodeInvalid, "x"), bus.ErrInvalid) {
		t.Fatal("sentinel")
	}
}

func errOf[T any](_ T, err error) error { return err }

// TestCategoryVersions: every write checks the expected version; a stale
// one is a conflict that changes nothing and publishes nothing, the right
// one bumps the version, which the event carries.
func TestCategoryVersions(t *testing.T) {
	moduletest.ForEach(t, module, func(t *testing.T, h *harness) {
		events := bustest.Record[contract.CategoryEvent](t, h.Bus, "category.*")
		tests := []struct {
			name  string
			write func(c, sib contract.Category, version int64) error
			// version is what the write expects, relative to c's: 0 is
			// "none given", -1 one behind.
			version int64
			ok      bool
			topic   string
		}{
			{"update stale", func(c, _ contract.Category, v int64) error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.UpdateCategory, contract.UpdateCategoryRequest{ID: c.ID, Version: v, Name: ptr("New")}))
			}, -1, false, ""},
			{"update", func(c, _ contract.Category, v int64) error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.UpdateCategory, contract.UpdateCategoryRequest{ID: c.ID, Version: v, Name: ptr("New")}))
			}, 1, true, "category.updated"},
			{"move stale", func(c, _ contract.Category, v int64) error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.MoveCategory, contract.MoveCategoryRequest{ID: c.ID, ParentID: c.ParentID, Version: v, Position: ptr(0)}))
			}, -1, false, ""},
			{"move", func(c, _ contract.Category, v int64) error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.MoveCategory, contract.MoveCategoryRequest{ID: c.ID, ParentID: c.ParentID, Version: v, Position: ptr(0)}))
			}, 1, true, "category.moved"},
			{"move without version", func(c, _ contract.Category, v int64) error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.MoveCategory, contract.MoveCategoryRequest{ID: c.ID, ParentID: c.ParentID, Version: v, Position: ptr(0)}))
			}, 0, true, "category.moved"},
			{"delete stale", func(c, _ contract.Category, v int64) error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.DeleteCategory, contract.DeleteCategoryRequest{ID: c.ID, Version: v}))
			}, -1, false, ""},
			{"delete", func(c, _ contract.Category, v int64) error {
				return errOf(bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.DeleteCategory, contract.DeleteCategoryRequest{ID: c.ID, Version: v}))
			}, 1, true, "category.deleted"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				root := call(t, h, contract.CreateCategory, contract.CreateCategoryRequest{Name: "Root " + tt.name})
				sib := call(t, h, contract.CreateCategory, contract.CreateCategoryRequest{Name: "Sib " + tt.name, ParentID: root.ID})
				c := call(t, h, contract.CreateCategory, contract.CreateCategoryRequest{Name: "C " + tt.name, ParentID: root.ID})
				c = call(t, h, contract.UpdateCategory, contract.UpdateCategoryRequest{ID: c.ID, Version: c.Version, Description: ptr("once")})
				if c.Version != 2 {
					t.Fatalf("after one update: version %d", c.Version)
				}
				seen := len(moduletest.Settle(t, h.Outbox, events))
				want := c.Version
				switch tt.version {
				case -1:
					want = c.Version - 1
				case 0:
					want = 0
				}
				err := tt.write(c, sib, want)
				after, aerr := bus.Call(moduletest.Admin(t.Context()), h.Bus, contract.GetCategory, contract.CategoryID{ID: c.ID})
				sibAfter := call(t, h, contract.GetCategory, contract.CategoryID{ID: sib.ID})
				if !tt.ok {
					if !contract.IsVersionConflict(err) || !strings.Contains(err.Error(), fmt.Sprintf("is at version %d, not %d", c.Version, want)) {
						t.Fatalf("stale write: %v, want a version conflict", err)
					}
					if aerr != nil || after.Version != c.Version || after.Name != c.Name || after.Position != c.Position || sibAfter.Version != sib.Version {
						t.Fatalf("a stale write changed data: %+v → %+v (%v)", c, after, aerr)
					}
					if evs := moduletest.Settle(t, h.Outbox, events); len(evs) != seen {
						t.Fatalf("a stale write published %v", evs[seen:])
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				evs := events.Wait(t, seen+1)
				last := evs[len(evs)-1]
				if last.Topic != tt.topic || last.Event.ID != c.ID || last.Event.Version != c.Version+1 {
					t.Fatalf("event %s %+v, want %s at version %d", last.Topic, last.Event, tt.topic, c.Version+1)
				}
				if tt.topic == "category.deleted" {
					if bus.CodeOf(aerr) != bus.CodeNotFound {
						t.Fatalf("after delete: %v", aerr)
					}
					return
				}
				if aerr != nil || after.Version != c.Version+1 {
					t.Fatalf("after the write: %+v, %v; want version %d", after, aerr, c.Version+1)
				}
				if tt.topic == "category.moved" && (sibAfter.Position != 1 || sibAfter.Version != sib.Version+1) {
					t.Fatalf("sibling after the move: %+v (was %+v)", sibAfter, sib)
				}
			})
		}
	})
}
