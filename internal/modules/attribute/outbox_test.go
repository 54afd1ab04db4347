package attribute

import (
	"testing"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/moduletest"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

// TestAttributeOutbox: a write and its events commit together. With the
// module built but not started (no relay), each successful write leaves
// its events in the store (a renumbering's too) and publishes nothing, and
// a failing one (slug or code taken, stale version, group in use) leaves
// none; once the module runs, its relay publishes exactly the pending
// events, each group's and definition's in commit order.
func TestAttributeOutbox(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		st, err := OpenStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		b := moduletest.NewBus(t)
		moduletest.Reply(moduletest.NewStub(t, b, contract.ProductQueue), contract.ProductsUsingAttribute, contract.AttributeUsage{})
		m := New(b, st, moduletest.TestLogger(t))
		ob := moduletest.WatchOutbox(t, b, st.Outbox())
		ok := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		refused := func(code bus.Code, err error) {
			t.Helper()
			if bus.CodeOf(err) != code {
				t.Fatalf("got %v, want %s", err, code)
			}
		}

		tech, err := m.createGroup(ctx, contract.CreateAttributeGroupRequest{Name: "Tech"})
		ok(err)
		looks, err := m.createGroup(ctx, contract.CreateAttributeGroupRequest{Name: "Looks", Position: ptr(0)}) // tech renumbered to 1
		ok(err)
		_, err = m.createGroup(ctx, contract.CreateAttributeGroupRequest{Name: "Other", Slug: "tech"})
		refused(bus.CodeConflict, err)
		evs, err := groupOutbox(contract.AttributeGroupUpdated, tech)
		ok(err)
		if err := st.UpdateGroup(ctx, tech, 1, evs...); err == nil { // tech is at 2 now
			t.Fatal("a stale group update succeeded")
		}
		weight, err := m.create(ctx, contract.CreateAttributeDefinitionRequest{Code: "weight", Name: "Weight", GroupID: tech.ID, Type: contract.AttributeNumber})
		ok(err)
		_, err = m.create(ctx, contract.CreateAttributeDefinitionRequest{Code: "weight", Name: "Mass", GroupID: tech.ID, Type: contract.AttributeNumber})
		refused(bus.CodeConflict, err)
		_, err = m.update(ctx, contract.UpdateAttributeDefinitionRequest{ID: weight.ID, Version: 1, Name: ptr("Net weight")})
		ok(err)
		_, err = m.deleteGroup(ctx, contract.DeleteAttributeGroupRequest{ID: tech.ID})
		refused(bus.CodeConflict, err)
		_, err = m.delete(ctx, contract.DeleteAttributeDefinitionRequest{ID: weight.ID, Version: 2})
		ok(err)
		_, err = m.deleteGroup(ctx, contract.DeleteAttributeGroupRequest{ID: looks.ID, Version: 1}) // tech renumbered to 0
		ok(err)

		ob.WantPending(
			moduletest.Announced(contract.AttributeGroupCreated.Topic, tech.ID, 1),
			moduletest.Announced(contract.AttributeGroupUpdated.Topic, tech.ID, 2),
			moduletest.Announced(contract.AttributeGroupUpdated.Topic, tech.ID, 3),
			moduletest.Announced(contract.AttributeGroupCreated.Topic, looks.ID, 1),
			moduletest.Announced(contract.AttributeGroupDeleted.Topic, looks.ID, 2),
			moduletest.Announced(contract.AttributeDefinitionCreated.Topic, weight.ID, 1),
			moduletest.Announced(contract.AttributeDefinitionUpdated.Topic, weight.ID, 2),
			moduletest.Announced(contract.AttributeDefinitionDeleted.Topic, weight.ID, 3),
		)
		moduletest.Run(t, m)
		ob.WantPublished()
	})
}
