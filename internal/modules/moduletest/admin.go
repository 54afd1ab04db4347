package moduletest

import (
	"context"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
)

// AdminMeta is the bus meta of a test acting as a trusted machine: modules
// authorise their writes from the caller's principal (contract.AdminOnly),
// so a test that writes says who it is, as web and the seeder do.
var AdminMeta = bus.Meta{Principal: contract.Principal{Machine: "test"}.String()}

// Admin returns ctx whose bus requests act for the test's admin machine.
func Admin(ctx context.Context) context.Context {
	m := bus.MetaFrom(ctx)
	m.Principal = AdminMeta.Principal
	return bus.WithMeta(ctx, m)
}
