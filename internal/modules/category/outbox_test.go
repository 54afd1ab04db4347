package category

import (
	"testing"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/moduletest"
	"github.com/shopengine/shop/internal/outbox"
)

// TestCategoryOutbox: a write and its event commit together. With the
// relay held back, each successful write leaves its event in the store and
// publishes nothing, and a failing one (slug taken, stale version) leaves
// none; once let, the relay publishes exactly the pending events, each
// category's in commit order.
func TestCategoryOutbox(t *testing.T) {
	moduletest.ForEach(t, module, func(t *testing.T, h *harness) {
		shoes := call(t, h, contract.CreateCategory, contract.CreateCategoryRequest{Name: "Shoes"})
		boots := call(t, h, contract.CreateCategory, contract.CreateCategoryRequest{Name: "Boots", ParentID: shoes.ID})
		callErr(t, h, contract.CreateCategory, contract.CreateCategoryRequest{Name: "Other", Slug: "shoes"}, bus.CodeConflict, "taken")
		callErr(t, h, contract.UpdateCategory, contract.UpdateCategoryRequest{ID: boots.ID, Version: 1, Slug: ptr("shoes")}, bus.CodeConflict, "taken")
		shoes = call(t, h, contract.UpdateCategory, contract.UpdateCategoryRequest{ID: shoes.ID, Version: 1, Name: ptr("All shoes")})
		// The store refuses a stale version itself, with its events.
		ev, err := outbox.New(contract.CategoryUpdated, shoes.ID, event(shoes, nil))
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Module.store.Update(moduletest.Admin(t.Context()), shoes, 1, ev); err == nil {
			t.Fatal("a stale update succeeded")
		}
		boots = call(t, h, contract.MoveCategory, contract.MoveCategoryRequest{ID: boots.ID}) // to the root, at no expected version
		callErr(t, h, contract.DeleteCategory, contract.DeleteCategoryRequest{ID: shoes.ID, Version: 1}, bus.CodeConflict, "version")
		call(t, h, contract.DeleteCategory, contract.DeleteCategoryRequest{ID: shoes.ID, Version: shoes.Version})

		h.Outbox.WantPending(t,
			moduletest.Announced(contract.CategoryCreated.Topic, shoes.ID, 1),
			moduletest.Announced(contract.CategoryUpdated.Topic, shoes.ID, 2),
			moduletest.Announced(contract.CategoryDeleted.Topic, shoes.ID, 3),
			moduletest.Announced(contract.CategoryCreated.Topic, boots.ID, 1),
			moduletest.Announced(contract.CategoryMoved.Topic, boots.ID, 2),
		)
		h.Outbox.WantPublished(t)
	}, moduletest.HoldOutbox())
}
