package filter

import (
	"slices"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/shopengine/shop/internal/contract"
)

// Deep pages: page 50 of a large result needs its first thousand docs in
// order, and heap-selecting them (topK) still reads every doc of the
// result. For the sorts that do not depend on the query (price, name,
// newest), the index keeps every live doc in sort order, and a page is a
// walk down that order keeping the docs in the result, stopping after
// page*size of them. The orders are made off the query path: the first
// query after a change finds its order stale, is served by topK, and
// starts a rebuild in the background for the next ones, so a stream of
// writes never makes a query wait for a sort of the whole catalogue.

// presorted is every live doc in one sort's order, as of an index
// revision.
type presorted struct {
	revision uint64
	docs     []uint32
}

// presortedSorts are the sorts kept in order.
var presortedSorts = []string{contract.SortPriceAsc, contract.SortPriceDesc, contract.SortByName, contract.SortNewest}

// presortedOrder returns sort's order when it is current, else nil
// (starting its rebuild). Called under the index's read lock.
func (x *Index) presortedOrder(sort string) []uint32 {
	if !slices.Contains(presortedSorts, sort) {
		return nil
	}
	x.ordersMu.Lock()
	defer x.ordersMu.Unlock()
	if o, ok := x.orders[sort]; ok && o.revision == x.revision {
		return o.docs
	}
	if !x.ordering[sort] {
		x.ordering[sort] = true
		go x.buildOrder(sort)
	}
	return nil
}

// buildOrder sorts every live doc in sort's order and keeps the result
// for the revision it was made at.
func (x *Index) buildOrder(sort string) {
	x.mu.RLock()
	revision, docs := x.revision, x.sortedDocs(sort)
	x.mu.RUnlock()
	x.ordersMu.Lock()
	defer x.ordersMu.Unlock()
	x.orders[sort] = presorted{revision, docs}
	x.ordering[sort] = false
}

// sortedDocs is every live doc in sort's order.
func (x *Index) sortedDocs(sort string) []uint32 {
	o := x.sortOf(plan{sort: sort}, nil)
	docs := x.live.ToArray()
	slices.SortFunc(docs, func(a, b uint32) int {
		switch {
		case o.less(a, b):
			return -1
		case o.less(b, a):
			return 1
		}
		return 0
	})
	return docs
}

// worthWalking reports whether walking an order of every live doc finds
// the first k of result sooner than topK reads all of it: the walk reads
// about k*live/|result| docs at a lookup in result each, topK every doc
// of result at a few comparisons each.
func worthWalking(k, live, result uint64) bool {
	return k*live*4 < result*result
}

// firstIn returns the first k docs of order that are in result.
func firstIn(order []uint32, result *roaring.Bitmap, k int) []uint32 {
	out := make([]uint32, 0, k)
	for _, d := range order {
		if result.Contains(d) {
			if out = append(out, d); len(out) == k {
				break
			}
		}
	}
	return out
}
