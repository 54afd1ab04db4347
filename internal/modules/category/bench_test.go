package category

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/shopengine/shop/internal/modules/moduletest"

	"github.com/shopengine/shop/internal/bus/memory"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store/storetest"
)

// BenchmarkTree measures the whole-tree call for 5,000 categories (50 roots
// × 9 children × 10 grandchildren) in the module, on every backend; the
// target is under 10 ms per call. "cold" rebuilds the tree from the store
// every call (as after every write); "warm" is the usual read, answered
// from the cache after one revision check.
func BenchmarkTree(b *testing.B) {
	for _, be := range storetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			ctx := moduletest.Admin(b.Context())
			st, err := OpenStore(ctx, be.Open(b))
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			add := func(parent string, pos int) string {
				c := newCategory(fmt.Sprint("Category ", n), fmt.Sprint("category-", n), parent, pos)
				n++
				if err := st.Insert(ctx, c); err != nil {
					b.Fatal(err)
				}
				return c.ID
			}
			for i := range 50 {
				root := add("", i)
				for j := range 9 {
					child := add(root, j)
					for k := range 10 {
						add(child, k)
					}
				}
			}
			m := New(memory.New(slog.Default()), st, slog.Default())
			for _, warm := range []bool{false, true} {
				b.Run(map[bool]string{false: "cold", true: "warm"}[warm], func(b *testing.B) {
					for b.Loop() {
						if !warm {
							m.cache.valid = false
						}
						tree, err := m.getTree(ctx, contract.Empty{})
						if err != nil || tree.Count != 5000 {
							b.Fatalf("tree: %d, %v", tree.Count, err)
						}
					}
				})
			}
		})
	}
}
