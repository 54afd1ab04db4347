package option

import (
	"log/slog"
	"testing"

	"github.com/shopengine/shop/internal/modules/moduletest"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/bus/memory"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store/storetest"
)

// BenchmarkGenerateVariants measures generate_variants at the limit: three
// groups of 10 values, 1,000 combinations, on every backend. "handler"
// calls the module directly (store read + product); "bus" adds the JSON
// round trip of the ~575 kB reply over the in-process bus.
func BenchmarkGenerateVariants(b *testing.B) {
	for _, be := range storetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			ctx := moduletest.Admin(b.Context())
			st, err := OpenStore(ctx, be.Open(b))
			if err != nil {
				b.Fatal(err)
			}
			var req contract.GenerateVariantsRequest
			for _, code := range []string{"size", "colour", "material"} {
				codes := make([]string, 10)
				for i := range codes {
					codes[i] = code + "_" + string(rune('a'+i))
				}
				g := newGroup(code, codes...)
				if err := st.Insert(ctx, g); err != nil {
					b.Fatal(err)
				}
				req.Groups = append(req.Groups, contract.VariantSelection{GroupID: g.ID})
			}
			mb := memory.New(slog.Default())
			m := New(mb, st, slog.Default())
			if err := m.Start(ctx); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = m.Stop(ctx); _ = mb.Close(ctx) })
			b.Run("handler", func(b *testing.B) {
				for b.Loop() {
					r, err := m.generateVariants(ctx, req)
					if err != nil || len(r.Variants) != contract.MaxVariantCombinations {
						b.Fatalf("generate: %d, %v", len(r.Variants), err)
					}
				}
			})
			b.Run("bus", func(b *testing.B) {
				for b.Loop() {
					r, err := bus.Call(ctx, mb, contract.GenerateVariants, req)
					if err != nil || len(r.Variants) != contract.MaxVariantCombinations {
						b.Fatalf("generate: %d, %v", len(r.Variants), err)
					}
				}
			})
		})
	}
}
