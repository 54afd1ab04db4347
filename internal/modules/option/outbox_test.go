package option

import (
	"testing"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/moduletest"
	"github.com/shopengine/shop/internal/outbox"
)

// TestOptionOutbox: a write and its event commit together. With the relay
// held back, each successful write leaves its event in the store and
// publishes nothing, and a failing one (code taken, stale version) leaves
// none; once let, the relay publishes exactly the pending events, each
// group's in commit order.
func TestOptionOutbox(t *testing.T) {
	moduletest.ForEach(t, module, func(t *testing.T, h *harness) {
		size := call(t, h, contract.CreateOptionGroup, contract.CreateOptionGroupRequest{Code: "size", Name: "Size", Values: values("s", "m")})
		callErr(t, h, contract.CreateOptionGroup, contract.CreateOptionGroupRequest{Code: "size", Name: "Sizes"}, bus.CodeConflict, "taken")
		size = call(t, h, contract.AddOptionValue, contract.AddOptionValueRequest{GroupID: size.ID, Version: 1, Code: "l", Label: "L"})
		callErr(t, h, contract.AddOptionValue, contract.AddOptionValueRequest{GroupID: size.ID, Version: 1, Code: "xl", Label: "XL"}, bus.CodeConflict, "version")
		// The store refuses a stale version itself, with its event.
		ev, err := outbox.New(contract.OptionGroupUpdated, size.ID, event(size))
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Module.store.Update(moduletest.Admin(t.Context()), size, 1, ev); err == nil {
			t.Fatal("a stale update succeeded")
		}
		colour := call(t, h, contract.CreateOptionGroup, contract.CreateOptionGroupRequest{Code: "colour", Name: "Colour", Values: values("red")})
		callErr(t, h, contract.UpdateOptionGroup, contract.UpdateOptionGroupRequest{ID: colour.ID, Version: 1, Code: ptr("size")}, bus.CodeConflict, "taken")
		call(t, h, contract.RemoveOptionValue, contract.RemoveOptionValueRequest{GroupID: colour.ID, ValueID: colour.Values[0].ID}) // at no expected version
		callErr(t, h, contract.DeleteOptionGroup, contract.DeleteOptionGroupRequest{ID: size.ID, Version: 1}, bus.CodeConflict, "version")
		call(t, h, contract.DeleteOptionGroup, contract.DeleteOptionGroupRequest{ID: size.ID, Version: 2})

		h.Outbox.WantPending(t,
			moduletest.Announced(contract.OptionGroupCreated.Topic, size.ID, 1),
			moduletest.Announced(contract.OptionGroupUpdated.Topic, size.ID, 2),
			moduletest.Announced(contract.OptionGroupDeleted.Topic, size.ID, 3),
			moduletest.Announced(contract.OptionGroupCreated.Topic, colour.ID, 1),
			moduletest.Announced(contract.OptionGroupUpdated.Topic, colour.ID, 2),
		)
		h.Outbox.WantPublished(t)
	}, moduletest.HoldOutbox())
}
