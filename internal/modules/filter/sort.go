package filter

import (
	"sort"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/shopengine/shop/internal/contract"
)

// Sorting: a page needs only the first page*size products of the result
// in sort order, so the result is streamed through a bounded max-heap of
// that many (O(n log k), nothing allocated per product), and the heap's
// content sorted. Every order ends in the product id, so that ties break
// the same way on every instance, whatever its doc numbers.

// page returns the page p asks for; past the end, none.
func (x *Index) page(result *roaring.Bitmap, p plan) []contract.SearchItem {
	offset := (p.page - 1) * p.size
	items := []contract.SearchItem{}
	if offset >= int(result.GetCardinality()) {
		return items
	}
	less := x.less(p, result)
	top := topK(result, offset+p.size, less)
	for _, d := range top[offset:] {
		l := x.docs[d]
		items = append(items, contract.SearchItem{
			ID: l.id, Name: l.name, Slug: l.slug, Currency: l.currency, PriceMin: l.priceMin, PriceMax: l.priceMax,
			Image: l.image, InStock: x.inStock.Contains(d), CreatedAt: l.created,
		})
	}
	return items
}

// less returns the order of p's sort.
func (x *Index) less(p plan, result *roaring.Bitmap) func(a, b uint32) bool {
	byID := func(a, b uint32) bool { return x.docs[a].id < x.docs[b].id }
	byName := func(a, b uint32) bool {
		if na, nb := x.docs[a].sortName, x.docs[b].sortName; na != nb {
			return na < nb
		}
		return byID(a, b)
	}
	switch p.sort {
	case contract.SortPriceAsc, contract.SortPriceDesc:
		desc := p.sort == contract.SortPriceDesc
		return func(a, b uint32) bool {
			if pa, pb := x.docs[a].priceMin, x.docs[b].priceMin; pa != pb {
				return pa < pb != desc
			}
			return byID(a, b)
		}
	case contract.SortByName:
		return byName
	case contract.SortRelevance:
		score := x.scores(p.q, result)
		return func(a, b uint32) bool {
			if score[a] != score[b] {
				return score[a] > score[b]
			}
			return byName(a, b)
		}
	}
	return func(a, b uint32) bool { // newest
		if ca, cb := x.docs[a].created, x.docs[b].created; !ca.Equal(cb) {
			return ca.After(cb)
		}
		return x.docs[a].id > x.docs[b].id // newest first: ids are time-ordered too
	}
}

// scores is each result doc's relevance: per query word, the weight of
// the heaviest field it occurs in (name over text attribute over
// description), summed over the words.
func (x *Index) scores(q []wordMatch, result *roaring.Bitmap) []uint16 {
	score := make([]uint16, len(x.docs))
	for _, w := range q {
		counted := roaring.New()
		for _, f := range []int{fieldName, fieldAttr, fieldDescription} {
			hit := roaring.And(w.fields[f], result)
			hit.AndNot(counted)
			eachDoc(hit, func(d uint32) { score[d] += uint16(fieldWeight[f]) })
			counted.Or(hit)
		}
	}
	return score
}

// topK returns the k first docs of b in less order, sorted.
func topK(b *roaring.Bitmap, k int, less func(a, b uint32) bool) []uint32 {
	h := make([]uint32, 0, k)
	// h is a max-heap by less: h[0] is the worst of the best k so far.
	down := func(i int) {
		for {
			l, worst := 2*i+1, i
			if l < len(h) && less(h[worst], h[l]) {
				worst = l
			}
			if r := l + 1; r < len(h) && less(h[worst], h[r]) {
				worst = r
			}
			if worst == i {
				return
			}
			h[i], h[worst] = h[worst], h[i]
			i = worst
		}
	}
	eachDoc(b, func(d uint32) {
		switch {
		case len(h) < k:
			h = append(h, d)
			for i := len(h) - 1; i > 0; {
				parent := (i - 1) / 2
				if !less(h[parent], h[i]) {
					break
				}
				h[i], h[parent] = h[parent], h[i]
				i = parent
			}
		case less(d, h[0]):
			h[0] = d
			down(0)
		}
	})
	sort.Slice(h, func(i, j int) bool { return less(h[i], h[j]) })
	return h
}
