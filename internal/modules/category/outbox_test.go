package category

import (
	"testing"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/moduletest"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

// TestCategoryOutbox: a write and its event commit together. With the
// module built but not started (no relay), each successful write leaves
// its event in the store and publishes nothing, and a failing one (slug
// taken, stale version) leaves none; once the module runs, its relay
// publishes exactly the pending events, each category's in commit order.
func TestCategoryOutbox(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		st, err := OpenStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		b := moduletest.NewBus(t)
		m := New(b, st, moduletest.TestLogger(t))
		ob := moduletest.WatchOutbox(t, b, st.Outbox())
		must := func(c contract.Category, err error) contract.Category {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		refused := func(code bus.Code, err error) {
			t.Helper()
			if bus.CodeOf(err) != code {
				t.Fatalf("got %v, want %s", err, code)
			}
		}

		shoes := must(m.create(ctx, contract.CreateCategoryRequest{Name: "Shoes"}))
		boots := must(m.create(ctx, contract.CreateCategoryRequest{Name: "Boots", ParentID: shoes.ID}))
		_, err = m.create(ctx, contract.CreateCategoryRequest{Name: "Other", Slug: "shoes"})
		refused(bus.CodeConflict, err)
		_, err = m.update(ctx, contract.UpdateCategoryRequest{ID: boots.ID, Version: 1, Slug: ptr("shoes")})
		refused(bus.CodeConflict, err)
		shoes = must(m.update(ctx, contract.UpdateCategoryRequest{ID: shoes.ID, Version: 1, Name: ptr("All shoes")}))
		// The store refuses a stale version itself, with its events.
		ev, err := outbox.New(contract.CategoryUpdated, shoes.ID, event(shoes, nil))
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Update(ctx, shoes, 1, ev); err == nil {
			t.Fatal("a stale update succeeded")
		}
		boots = must(m.move(ctx, contract.MoveCategoryRequest{ID: boots.ID})) // to the root, at no expected version
		_, err = m.delete(ctx, contract.DeleteCategoryRequest{ID: shoes.ID, Version: 1})
		refused(bus.CodeConflict, err)
		if _, err := m.delete(ctx, contract.DeleteCategoryRequest{ID: shoes.ID, Version: shoes.Version}); err != nil {
			t.Fatal(err)
		}

		ob.WantPending(
			moduletest.Announced(contract.CategoryCreated.Topic, shoes.ID, 1),
			moduletest.Announced(contract.CategoryUpdated.Topic, shoes.ID, 2),
			moduletest.Announced(contract.CategoryDeleted.Topic, shoes.ID, 3),
			moduletest.Announced(contract.CategoryCreated.Topic, boots.ID, 1),
			moduletest.Announced(contract.CategoryMoved.Topic, boots.ID, 2),
		)
		moduletest.Run(t, m)
		ob.WantPublished()
	})
}
