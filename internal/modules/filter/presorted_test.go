package filter

import (
	"log/slog"
	"testing"

	"github.com/shopengine/shop/internal/contract"
)

// TestDeepPagesFromPresortedOrders checks, against brute force, the
// pages walked from the presorted orders: each round builds every order
// first (as the background would), asks deep pages of large results in
// each presorted sort, then changes the catalogue, which must make the
// orders stale rather than wrong.
func TestDeepPagesFromPresortedOrders(t *testing.T) {
	g := newGenCatalog(5)
	x := NewIndex(slog.New(slog.DiscardHandler))
	x.Apply(append(g.definitions(), g.addProducts(1500)...), true)
	walked := 0
	for round := range 3 {
		for _, s := range presortedSorts {
			x.buildOrder(s)
		}
		for i := range 60 {
			req := g.randomRequest()
			req.Q, req.Facets, req.PriceMin, req.PriceMax = "", nil, nil, nil
			req.Sort = presortedSorts[i%len(presortedSorts)]
			req.Page, req.PageSize = 1+g.rng.IntN(12), 1+g.rng.IntN(20)
			x.mu.RLock()
			current := x.presortedOrder(req.Sort) != nil
			x.mu.RUnlock()
			if !current {
				t.Fatalf("round %d: the %s order is not current after a build", round, req.Sort)
			}
			got, err := x.Search(req)
			if err != nil {
				t.Fatalf("round %d query %d %+v: %v", round, i, req, err)
			}
			if worthWalking(uint64(req.Page*req.PageSize), uint64(x.Len()), uint64(got.Total)) {
				walked++
			}
			if msg := g.check(req, got); msg != "" {
				t.Fatalf("round %d query %d %s:\n%s", round, i, describe(req), msg)
			}
		}
		x.Apply(g.mutate(300), false)
		x.mu.RLock()
		stale := x.presortedOrder(contract.SortPriceAsc) == nil
		x.mu.RUnlock()
		if !stale {
			t.Fatalf("round %d: the price order is still current after a change", round)
		}
	}
	if walked < 60 {
		t.Fatalf("only %d of 180 queries were walked from an order", walked)
	}
}
