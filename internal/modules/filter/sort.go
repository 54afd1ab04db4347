package filter

import (
	"sort"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/shopengine/shop/internal/contract"
)

// Sorting (deep pages of a large result: presorted.go): a page needs only the first page*size products of the result
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
	k := offset + p.size
	var top []uint32
	if order := x.presortedOrder(p.sort); order != nil && worthWalking(uint64(k), x.live.GetCardinality(), result.GetCardinality()) {
		top = firstIn(order, result, k)
	} else {
		top = topK(result, k, x.sortOf(p, result))
	}
	for _, d := range top[offset:] {
		l := x.docs[d]
		items = append(items, contract.SearchItem{
			ID: l.id, Name: l.name, Slug: l.slug, Currency: l.currency, PriceMin: l.priceMin, PriceMax: l.priceMax,
			Image: l.image, InStock: x.inStock.Contains(d), CreatedAt: l.created,
		})
	}
	return items
}

// order is a sort as topK runs it: a key per doc, ascending, decides
// most comparisons with one array read; tie orders docs of equal keys.
// key(a) < key(b) must imply a before b.
type sortOrder struct {
	key func(d uint32) uint64
	tie func(a, b uint32) bool
}

func (o sortOrder) less(a, b uint32) bool {
	if ka, kb := o.key(a), o.key(b); ka != kb {
		return ka < kb
	}
	return o.tie(a, b)
}

// orderedInt maps an int64 to a uint64 of the same order.
func orderedInt(v int64) uint64 { return uint64(v) ^ (1 << 63) }

// prefixKey is the first 8 bytes of s, big-endian: a key in string order.
func prefixKey(s string) uint64 {
	var k uint64
	for i := range 8 {
		k <<= 8
		if i < len(s) {
			k |= uint64(s[i])
		}
	}
	return k
}

// sortOf returns the order of p's sort.
func (x *Index) sortOf(p plan, result *roaring.Bitmap) sortOrder {
	byID := func(a, b uint32) bool { return x.docs[a].id < x.docs[b].id }
	byName := func(a, b uint32) bool {
		if na, nb := x.docs[a].sortName, x.docs[b].sortName; na != nb {
			return na < nb
		}
		return byID(a, b)
	}
	switch p.sort {
	case contract.SortPriceAsc:
		return sortOrder{func(d uint32) uint64 { return orderedInt(int64(x.price.values[d])) }, byID}
	case contract.SortPriceDesc:
		return sortOrder{func(d uint32) uint64 { return ^orderedInt(int64(x.price.values[d])) }, byID}
	case contract.SortByName:
		return sortOrder{func(d uint32) uint64 { return x.nameKey[d] }, byName}
	case contract.SortRelevance:
		// The words matched with a typo (fewer first) in the top 6
		// bits, the score (higher first) in the next 10, then 6 bytes of
		// the name.
		rank := x.scores(p.q, result)
		return sortOrder{func(d uint32) uint64 {
			typos, score := uint64(rank[d]>>scoreBits), uint64(rank[d]&(1<<scoreBits-1))
			return typos<<58 | (1<<scoreBits-1-score)<<48 | x.nameKey[d]>>16
		}, byName}
	}
	// newest first; ids are time-ordered too
	return sortOrder{func(d uint32) uint64 { return x.newestKey[d] }, func(a, b uint32) bool { return x.docs[a].id > x.docs[b].id }}
}

// scoreBits is the low bits of a rank (scores) holding the score: a q of
// 200 characters has at most 100 words, each worth at most 4; the 6 bits
// above count the words matched with a typo, up to maxTypos.
const scoreBits = 10

// maxTypos is the most typo words a rank counts.
const maxTypos = 1<<(16-scoreBits) - 1

// scores is each result doc's rank: per query word, the weight of the
// heaviest field it occurs in (name over text attribute over
// description), summed over the words, in the low scoreBits; a word
// found only with a typo adds its typo field's weight there and one to
// the count of typo words above them.
func (x *Index) scores(q []wordMatch, result *roaring.Bitmap) []uint16 {
	rank := make([]uint16, len(x.docs))
	fields := []int{fieldName, fieldAttr, fieldDescription}
	for _, w := range q {
		counted := roaring.New()
		for _, f := range fields {
			hit := roaring.And(w.fields[f], result)
			hit.AndNot(counted)
			eachDoc(hit, func(d uint32) { rank[d] += uint16(fieldWeight[f]) })
			counted.Or(hit)
		}
		for _, f := range fields {
			if w.typo[f] == nil {
				continue
			}
			hit := roaring.And(w.typo[f], result)
			hit.AndNot(counted)
			eachDoc(hit, func(d uint32) {
				if rank[d]>>scoreBits < maxTypos { // saturates: folding can make more words fuzz ("ﬃﬃ" is "ffiffi")
					rank[d] += 1 << scoreBits
				}
				rank[d] += uint16(fieldWeight[f])
			})
			counted.Or(hit)
		}
	}
	return rank
}

// topK returns the k first docs of b in o's order, sorted. The heap
// keeps each entry's key beside it, so that most docs are turned away by
// one comparison of keys.
func topK(b *roaring.Bitmap, k int, o sortOrder) []uint32 {
	type entry struct {
		key uint64
		d   uint32
	}
	h := make([]entry, 0, k)
	// h is a max-heap: h[0] is the last of the best k so far.
	after := func(a, b entry) bool { return a.key > b.key || a.key == b.key && o.tie(b.d, a.d) }
	down := func(i int) {
		for {
			l, last := 2*i+1, i
			if l < len(h) && after(h[l], h[last]) {
				last = l
			}
			if r := l + 1; r < len(h) && after(h[r], h[last]) {
				last = r
			}
			if last == i {
				return
			}
			h[i], h[last] = h[last], h[i]
			i = last
		}
	}
	eachDoc(b, func(d uint32) {
		e := entry{o.key(d), d}
		switch {
		case len(h) < k:
			h = append(h, e)
			for i := len(h) - 1; i > 0; {
				parent := (i - 1) / 2
				if !after(h[i], h[parent]) {
					break
				}
				h[i], h[parent] = h[parent], h[i]
				i = parent
			}
		case e.key < h[0].key || e.key == h[0].key && o.tie(d, h[0].d):
			h[0] = e
			down(0)
		}
	})
	sort.Slice(h, func(i, j int) bool { return after(h[j], h[i]) })
	out := make([]uint32, len(h))
	for i, e := range h {
		out[i] = e.d
	}
	return out
}
