package filter

import (
	"slices"
	"sort"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/shopengine/shop/internal/contract"
)

// Facet counts are disjunctive: a facet's values are counted over the
// products that every other selection (and the price range) lets
// through, with the facet's own selection left out, so a shopper who
// picked red sees how many blue ones picking blue too would add. For a
// facet with no selection that set is simply the result.

// hasValue reports whether code is one of the facet's values.
func (f facetDef) hasValue(code string) bool {
	for _, v := range f.values {
		if v.Code == code {
			return true
		}
	}
	return false
}

// postingKey is the posting of one value of the facet.
func (f facetDef) postingKey(code string) string {
	if f.kind == contract.FacetOption {
		return optionPosting(f.source, code)
	}
	return attrPosting(f.source, code)
}

// smallSet is the size below which counting goes doc by doc (each doc's
// postings, each doc's value) instead of intersecting every value's
// posting with the set: a leaf category's few hundred products are
// counted in microseconds either way, but the intersections' cost grows
// with the number of values, the iteration's with the products.
const smallSet = 4096

// byDoc reports whether over's counts go doc by doc: when it is small,
// or sparse, holding under a sixteenth of the catalogue. A sparse set's
// roaring containers are arrays (under 4096 docs in each 65536), and
// intersecting two arrays is a merge reading both, so the few hundred
// intersections (values, price and number buckets) would each read all
// of over: at 1M products a leaf category's 12k took 20 ms that way.
func (x *Index) byDoc(over *roaring.Bitmap) bool {
	if x.neverByDoc {
		return false
	}
	n := over.GetCardinality()
	return n <= smallSet || n*16 <= x.live.GetCardinality()
}

// facets counts every facet over its disjunctive set: withPrice is the
// base with the price range, result the final result.
func (x *Index) facets(p plan, withPrice, result *roaring.Bitmap) []contract.Facet {
	selected := map[string]int{} // facet code → index in p.selections
	for i, s := range p.selections {
		selected[s.def.code] = i
	}
	out := []contract.Facet{}
	resultCounts := x.postingCounts(result)
	for _, def := range x.facetDefs() {
		over, codes, counts := result, []string(nil), resultCounts
		if i, ok := selected[def.code]; ok {
			over, codes = intersect(withPrice, p.selections, i), p.selections[i].codes
			counts = x.postingCounts(over)
		}
		if def.kind == contract.FacetNumber {
			out = append(out, x.numberFacet(def, over, codes))
		} else {
			out = append(out, x.valueFacet(def, over, codes, counts))
		}
	}
	return out
}

// postingCounts counts, for a set counted by doc, how many of its docs
// each facet value's posting holds (by valueSlot), from the docs' own
// lists; nil for any other.
func (x *Index) postingCounts(over *roaring.Bitmap) []int32 {
	if !x.byDoc(over) {
		return nil
	}
	counts := make([]int32, len(x.valueSlot))
	eachDoc(over, func(d uint32) {
		for _, s := range x.docs[d].valueSlots {
			counts[s]++
		}
	})
	return counts
}

// valueFacet counts a select, multiselect, boolean or option facet: one
// posting per value, intersected with over unless counts has it counted.
func (x *Index) valueFacet(def facetDef, over *roaring.Bitmap, selected []string, counts []int32) contract.Facet {
	f := facetOf(def)
	values := make([]contract.FacetValue, 0, len(def.values))
	for _, v := range def.values {
		n := 0
		if id, ok := x.postingID[def.postingKey(v.Code)]; ok {
			if counts != nil {
				n = int(counts[x.valueSlot[id]])
			} else {
				n = int(x.postings[id].bitmap().AndCardinality(over))
			}
		}
		values = append(values, contract.FacetValue{Code: v.Code, Label: v.Label, Count: n, Selected: slices.Contains(selected, v.Code)})
	}
	f.Values, f.More = order(values)
	return f
}

// numberFacet counts a number facet in its shown buckets (and any
// selected range that is not one), from the column's fine buckets.
func (x *Index) numberFacet(def facetDef, over *roaring.Bitmap, selected []string) contract.Facet {
	f := facetOf(def)
	n := x.numbers[def.source]
	if n == nil || n.buckets == nil {
		f.Values = []contract.FacetValue{}
		return f
	}
	over = roaring.And(over, n.has)
	fine, lo, hi, ok := n.histogram(over, x.byDoc(over))
	shown := n.shownEdges(numberBuckets)
	var values []contract.FacetValue
	for i, count := range n.shownCounts(fine, shown) {
		code := rangeOfBucket(shown, i).code()
		values = append(values, contract.FacetValue{Code: code, Label: code, Count: count})
	}
	for _, c := range selected {
		if !slices.ContainsFunc(values, func(v contract.FacetValue) bool { return v.Code == c }) {
			r, _ := parseRange(c) // checked by plan
			values = append(values, contract.FacetValue{Code: c, Label: c, Count: int(n.inRange(over, r).GetCardinality())})
		}
	}
	for i := range values {
		values[i].Selected = slices.Contains(selected, values[i].Code)
	}
	if ok {
		f.Min, f.Max = &lo, &hi
	}
	f.Values, f.More = order(values)
	return f
}

func facetOf(def facetDef) contract.Facet {
	return contract.Facet{Code: def.code, Name: def.name, Kind: def.kind, Unit: def.unit}
}

// order puts a facet's values in reply order and bounds them: selected
// values first, then the others that match something, in the facet's
// own order (values by position, buckets ascending). When more than
// MaxFacetValues match, the ones with the highest counts are kept, in
// count order, and more is true.
func order(values []contract.FacetValue) (out []contract.FacetValue, more bool) {
	out = []contract.FacetValue{}
	var rest []contract.FacetValue
	for _, v := range values {
		switch {
		case v.Selected:
			out = append(out, v)
		case v.Count > 0:
			rest = append(rest, v)
		}
	}
	if room := contract.MaxFacetValues - len(out); len(rest) > room {
		sort.SliceStable(rest, func(i, j int) bool { return rest[i].Count > rest[j].Count })
		rest, more = rest[:max(room, 0)], true
	}
	return append(out, rest...), more
}

// priceFacet is the range and histogram of the lowest prices in over.
func (x *Index) priceFacet(over *roaring.Bitmap) contract.PriceFacet {
	pf := contract.PriceFacet{Histogram: []contract.PriceBucket{}}
	fine, lo, hi, ok := x.price.histogram(over, x.byDoc(over))
	if !ok {
		return pf
	}
	pf.Min, pf.Max = int64(lo), int64(hi)
	shown := x.price.shownEdges(priceBuckets)
	for i, n := range x.price.shownCounts(fine, shown) {
		r := rangeOfBucket(shown, i)
		from, to := max(r.lo, lo), min(r.hi, hi+1)
		if from < to {
			pf.Histogram = append(pf.Histogram, contract.PriceBucket{From: int64(from), To: int64(to), Count: n})
		}
	}
	return pf
}

// subcategories counts the result under each child of the category (the
// roots without one), in position order, leaving out those with none.
func (x *Index) subcategories(parent string, result *roaring.Bitmap) []contract.CategoryCount {
	out := []contract.CategoryCount{}
	for _, id := range x.children[parent] {
		u := x.under[id]
		if u == nil {
			continue
		}
		if n := int(u.AndCardinality(result)); n > 0 {
			c := x.categories[id]
			out = append(out, contract.CategoryCount{ID: id, Slug: c.Slug, Name: c.Name, Count: n})
		}
	}
	return out
}
