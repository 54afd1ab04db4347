package filter

import (
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
)

// fuzzIndex is the generated catalogue the fuzz target queries, built once
// per fuzzing process.
var fuzzIndex = sync.OnceValues(func() (*genCatalog, *Index) {
	g := newGenCatalog(3)
	x := NewIndex(slog.New(slog.DiscardHandler))
	x.Apply(append(g.definitions(), g.addProducts(400)...), true)
	return g, x
})

// FuzzSearch sends arbitrary requests to the index: q text with operator
// and control characters, any category, facet and value codes, prices,
// pages and sorts. A refusal is invalid or not_found, never another
// error or a panic; an answer equals the brute force's (TestSearchEqualsBruteForce).
func FuzzSearch(f *testing.F) {
	f.Add("blender", "", "", "", int64(-1), int64(-1), 1, 24, "", false)
	f.Add("café mod", "department-1", "colour", "red,blue", int64(100), int64(9000), 2, 10, "price_asc", true)
	f.Add(`$gt (a|b)* "x"`, "cat-2-1", "size", "m", int64(0), int64(0), 0, 100, "relevance", false)
	f.Add("\x00\xff", "nope", "nope", "nope", int64(5), int64(1), 9999999, 0, "bogus", true)
	f.Add(strings.Repeat("é", 201), "", "", ",", int64(-1), int64(-1), -1, 101, "name", false)
	f.Fuzz(func(t *testing.T, q, category, facet, values string, lo, hi int64, page, size int, sort string, inStock bool) {
		g, x := fuzzIndex()
		req := contract.SearchRequest{Q: q, Category: category, Page: page, PageSize: size, Sort: sort, InStock: inStock}
		if lo >= 0 {
			req.PriceMin = &lo
		}
		if hi >= 0 {
			req.PriceMax = &hi
		}
		if facet != "" {
			req.Facets = map[string][]string{facet: strings.Split(values, ",")}
		}
		got, err := x.Search(req)
		if err != nil {
			if c := bus.CodeOf(err); c != bus.CodeInvalid && c != bus.CodeNotFound {
				t.Fatalf("%s: %v (code %s, want invalid or not_found)", describe(req), err, c)
			}
			return
		}
		if msg := g.check(req, got); msg != "" {
			t.Fatalf("%s:\n%s", describe(req), msg)
		}
	})
}
