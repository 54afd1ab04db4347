package attribute

import (
	"testing"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/moduletest"
)

// TestAttributeOutbox: a write and its events commit together. With the
// relay held back, each successful write leaves its events in the store
// (a renumbering's too) and publishes nothing, and a failing one (slug or
// code taken, stale version, group in use) leaves none; once let, the
// relay publishes exactly the pending events, each group's and
// definition's in commit order.
func TestAttributeOutbox(t *testing.T) {
	moduletest.ForEach(t, module, func(t *testing.T, mt *moduletest.Harness[*Module]) {
		h := withProducts(t, mt) // no product uses anything
		tech := call(t, h, contract.CreateAttributeGroup, contract.CreateAttributeGroupRequest{Name: "Tech"})
		looks := call(t, h, contract.CreateAttributeGroup, contract.CreateAttributeGroupRequest{Name: "Looks", Position: ptr(0)}) // tech renumbered to 1
		callErr(t, h, contract.CreateAttributeGroup, contract.CreateAttributeGroupRequest{Name: "Other", Slug: "tech"}, bus.CodeConflict, "taken")
		// The store refuses a stale version itself, with its events.
		evs, err := groupOutbox(contract.AttributeGroupUpdated, tech)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Module.store.UpdateGroup(moduletest.Admin(t.Context()), tech, 1, evs...); err == nil { // tech is at 2 now
			t.Fatal("a stale group update succeeded")
		}
		weight := call(t, h, contract.CreateAttributeDefinition, contract.CreateAttributeDefinitionRequest{Code: "weight", Name: "Weight", GroupID: tech.ID, Type: contract.AttributeNumber})
		callErr(t, h, contract.CreateAttributeDefinition, contract.CreateAttributeDefinitionRequest{Code: "weight", Name: "Mass", GroupID: tech.ID, Type: contract.AttributeNumber}, bus.CodeConflict, "taken")
		call(t, h, contract.UpdateAttributeDefinition, contract.UpdateAttributeDefinitionRequest{ID: weight.ID, Version: 1, Name: ptr("Net weight")})
		callErr(t, h, contract.DeleteAttributeGroup, contract.DeleteAttributeGroupRequest{ID: tech.ID}, bus.CodeConflict, "has 1 attribute")
		call(t, h, contract.DeleteAttributeDefinition, contract.DeleteAttributeDefinitionRequest{ID: weight.ID, Version: 2})
		call(t, h, contract.DeleteAttributeGroup, contract.DeleteAttributeGroupRequest{ID: looks.ID, Version: 1}) // tech renumbered to 0

		h.Outbox.WantPending(t,
			moduletest.Announced(contract.AttributeGroupCreated.Topic, tech.ID, 1),
			moduletest.Announced(contract.AttributeGroupUpdated.Topic, tech.ID, 2),
			moduletest.Announced(contract.AttributeGroupUpdated.Topic, tech.ID, 3),
			moduletest.Announced(contract.AttributeGroupCreated.Topic, looks.ID, 1),
			moduletest.Announced(contract.AttributeGroupDeleted.Topic, looks.ID, 2),
			moduletest.Announced(contract.AttributeDefinitionCreated.Topic, weight.ID, 1),
			moduletest.Announced(contract.AttributeDefinitionUpdated.Topic, weight.ID, 2),
			moduletest.Announced(contract.AttributeDefinitionDeleted.Topic, weight.ID, 3),
		)
		h.Outbox.WantPublished(t)
	}, moduletest.HoldOutbox())
}
