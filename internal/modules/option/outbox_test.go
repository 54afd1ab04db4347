package option

import (
	"testing"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/moduletest"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

// TestOptionOutbox: a write and its event commit together. With the
// module built but not started (no relay), each successful write leaves
// its event in the store and publishes nothing, and a failing one (code
// taken, stale version) leaves none; once the module runs, its relay
// publishes exactly the pending events, each group's in commit order.
func TestOptionOutbox(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		st, err := OpenStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		b := moduletest.NewBus(t)
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
		values := []contract.NewOptionValue{{Code: "s", Label: "S"}, {Code: "m", Label: "M"}}

		size, err := m.create(ctx, contract.CreateOptionGroupRequest{Code: "size", Name: "Size", Values: values})
		ok(err)
		_, err = m.create(ctx, contract.CreateOptionGroupRequest{Code: "size", Name: "Sizes"})
		refused(bus.CodeConflict, err)
		size, err = m.addValue(ctx, contract.AddOptionValueRequest{GroupID: size.ID, Version: 1, Code: "l", Label: "L"})
		ok(err)
		_, err = m.addValue(ctx, contract.AddOptionValueRequest{GroupID: size.ID, Version: 1, Code: "xl", Label: "XL"})
		refused(bus.CodeConflict, err)
		// The store refuses a stale version itself, with its event.
		ev, err := outbox.New(contract.OptionGroupUpdated, size.ID, event(size))
		ok(err)
		if err := st.Update(ctx, size, 1, ev); err == nil {
			t.Fatal("a stale update succeeded")
		}
		colour, err := m.create(ctx, contract.CreateOptionGroupRequest{Code: "colour", Name: "Colour", Values: []contract.NewOptionValue{{Code: "red", Label: "Red"}}})
		ok(err)
		_, err = m.update(ctx, contract.UpdateOptionGroupRequest{ID: colour.ID, Version: 1, Code: ptr("size")})
		refused(bus.CodeConflict, err)
		_, err = m.removeValue(ctx, contract.RemoveOptionValueRequest{GroupID: colour.ID, ValueID: colour.Values[0].ID}) // at no expected version
		ok(err)
		_, err = m.delete(ctx, contract.DeleteOptionGroupRequest{ID: size.ID, Version: 1})
		refused(bus.CodeConflict, err)
		_, err = m.delete(ctx, contract.DeleteOptionGroupRequest{ID: size.ID, Version: 2})
		ok(err)

		ob.WantPending(
			moduletest.Announced(contract.OptionGroupCreated.Topic, size.ID, 1),
			moduletest.Announced(contract.OptionGroupUpdated.Topic, size.ID, 2),
			moduletest.Announced(contract.OptionGroupDeleted.Topic, size.ID, 3),
			moduletest.Announced(contract.OptionGroupCreated.Topic, colour.ID, 1),
			moduletest.Announced(contract.OptionGroupUpdated.Topic, colour.ID, 2),
		)
		moduletest.Run(t, m)
		ob.WantPublished()
	})
}
