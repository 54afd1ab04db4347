package filter

import (
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
)

// A search, step by step (Search):
//
//  1. plan: check the request and resolve it against the index (the
//     category, the facets and their values, the words of q);
//  2. base: the products in the category (with its descendants), in
//     stock if asked, matching q, within the price range;
//  3. one bitmap per selected facet: the OR of its selected values;
//  4. the result: base AND every selection;
//  5. each facet's counts, disjunctive: over base AND every selection but
//     the facet's own (for a facet without a selection that is the
//     result); the price facet likewise leaves out the price range;
//  6. the page: the first page*size of the result in the sort order
//     (a bounded heap, sort.go), the last size of them listed.

// plan is a checked request, resolved against the index.
type plan struct {
	category   string // id; "" for the whole catalogue
	selections []selection
	priceLo    int64
	priceHi    int64
	inStock    bool
	q          []wordMatch // nil without q
	noText     bool        // q given but without a word: matches nothing
	sort       string
	page, size int
}

// selection is one facet's selected values and the products they match.
type selection struct {
	def   facetDef
	codes []string
	docs  *roaring.Bitmap
}

// wordMatch is one word of q: the products having it, per field, and
// those having it only with a typo (nil when the word does not fuzz).
type wordMatch struct {
	fields [numFields]*roaring.Bitmap
	typo   [numFields]*roaring.Bitmap
}

func invalid(format string, args ...any) error { return bus.Errorf(bus.CodeInvalid, format, args...) }

// maxSelected bounds the values selected in one facet.
const maxSelected = 100

// plan checks req; every refusal is invalid and names what is wrong,
// except an unknown category, which is not_found.
func (x *Index) plan(req contract.SearchRequest) (plan, error) {
	p := plan{priceLo: math.MinInt64, priceHi: math.MaxInt64, inStock: req.InStock, page: req.Page, size: req.PageSize}
	switch {
	case utf8.RuneCountInString(req.Q) > contract.MaxSearchQueryLen:
		return p, invalid("q: at most %d characters", contract.MaxSearchQueryLen)
	case req.PageSize < 1 || req.PageSize > contract.MaxSearchPageSize:
		return p, invalid("page_size %d: want 1..%d", req.PageSize, contract.MaxSearchPageSize)
	case req.Page < 0:
		return p, invalid("page %d: want 1 or more", req.Page)
	case req.PriceMin != nil && *req.PriceMin < 0:
		return p, invalid("price: minimum %d below 0", *req.PriceMin)
	case req.PriceMin != nil && req.PriceMax != nil && *req.PriceMin > *req.PriceMax:
		return p, invalid("price: minimum %d above maximum %d", *req.PriceMin, *req.PriceMax)
	}
	if p.page == 0 {
		p.page = 1
	}
	if req.PriceMin != nil {
		p.priceLo = *req.PriceMin
	}
	if req.PriceMax != nil {
		p.priceHi = *req.PriceMax
	}
	if req.Category != "" {
		id, ok := x.category(req.Category)
		if !ok {
			return p, bus.Errorf(bus.CodeNotFound, "category %q: no such category", req.Category)
		}
		p.category = id
	}
	q := strings.TrimSpace(req.Q)
	switch req.Sort {
	case "":
		p.sort = contract.SortNewest
		if q != "" {
			p.sort = contract.SortRelevance
		}
	case contract.SortRelevance, contract.SortPriceAsc, contract.SortPriceDesc, contract.SortByName, contract.SortNewest:
		p.sort = req.Sort
		if p.sort == contract.SortRelevance && q == "" {
			p.sort = contract.SortNewest
		}
	default:
		return p, invalid("sort %q: want one of relevance, price_asc, price_desc, name, newest", req.Sort)
	}
	if q != "" {
		p.q = x.matchWords(words(q))
		p.noText = len(p.q) == 0
	}
	var err error
	p.selections, err = x.selections(req.Facets)
	return p, err
}

// matchWords looks up each word, the last as a prefix, and the words
// one edit away from those long enough to fuzz.
func (x *Index) matchWords(ws []string) []wordMatch {
	out := make([]wordMatch, len(ws))
	for i, w := range ws {
		forms := []string{w}
		if i == len(ws)-1 {
			forms = x.vocab.withPrefix(w)
		}
		out[i].fields = x.wordPostings(forms)
		if !fuzzes(w) {
			continue
		}
		near, err := x.vocab.withinOneEdit(w)
		if err != nil {
			x.log.Warn("filter: no typo matching for a query word", "word", w, "err", err)
			continue
		}
		// A form matched exactly is not a typo of it.
		near = slices.DeleteFunc(near, func(n string) bool { return n == w || i == len(ws)-1 && strings.HasPrefix(n, w) })
		if len(near) > 0 {
			out[i].typo = x.wordPostings(near)
		}
	}
	return out
}

// wordPostings is, per field, the products having any of forms.
func (x *Index) wordPostings(forms []string) [numFields]*roaring.Bitmap {
	var out [numFields]*roaring.Bitmap
	for f := range numFields {
		var ps []*roaring.Bitmap
		for _, form := range forms {
			if b := x.posting(wordPosting(f, form)); b != nil {
				ps = append(ps, b)
			}
		}
		out[f] = roaring.FastOr(ps...)
	}
	return out
}

// selections resolves the facet selections, in facet order.
func (x *Index) selections(asked map[string][]string) ([]selection, error) {
	if len(asked) == 0 {
		return nil, nil
	}
	defs := x.facetDefs()
	known := map[string]bool{}
	var out []selection
	for _, def := range defs {
		known[def.code] = true
		codes, ok := asked[def.code]
		if !ok || len(codes) == 0 {
			continue
		}
		if len(codes) > maxSelected {
			return nil, invalid("facet %s: at most %d values", def.code, maxSelected)
		}
		s := selection{def: def, codes: dedupe(codes)}
		var err error
		if s.docs, err = x.selectionDocs(def, s.codes); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	for code := range asked {
		if !known[code] {
			names := make([]string, len(defs))
			for i, d := range defs {
				names[i] = d.code
			}
			return nil, invalid("facet %q: no such facet (facets: %s)", code, strings.Join(names, ", "))
		}
	}
	return out, nil
}

func dedupe(codes []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range codes {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

// selectionDocs is the OR of the selected values' products.
func (x *Index) selectionDocs(def facetDef, codes []string) (*roaring.Bitmap, error) {
	if def.kind == contract.FacetNumber {
		ranges := make([]valueRange, len(codes))
		for i, c := range codes {
			r, ok := parseRange(c)
			if !ok {
				return nil, invalid("facet %s: value %q is not a range such as 10-20, -10 or 20-", def.code, c)
			}
			ranges[i] = r
		}
		return x.inRanges(def.source, ranges), nil
	}
	var ps []*roaring.Bitmap
	for _, c := range codes {
		if !def.hasValue(c) {
			return nil, invalid("facet %s: no such value %q", def.code, c)
		}
		if b := x.posting(def.postingKey(c)); b != nil {
			ps = append(ps, b)
		}
	}
	return roaring.FastOr(ps...), nil
}

// inRanges is the products whose value of number attribute code is in
// one of ranges.
func (x *Index) inRanges(code string, ranges []valueRange) *roaring.Bitmap {
	n := x.numbers[code]
	if n == nil {
		return roaring.New()
	}
	parts := make([]*roaring.Bitmap, len(ranges))
	for i, r := range ranges {
		parts[i] = n.inRange(n.has, r)
	}
	return roaring.FastOr(parts...)
}

// eachDoc calls f for every doc of b, in order, a buffer at a time.
func eachDoc(b *roaring.Bitmap, f func(d uint32)) {
	buf := make([]uint32, 256)
	it := b.ManyIterator()
	for n := it.NextMany(buf); n > 0; n = it.NextMany(buf) {
		for _, d := range buf[:n] {
			f(d)
		}
	}
}

// Search answers req: steps 2 to 6 above.
func (x *Index) Search(req contract.SearchRequest) (contract.SearchReply, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	p, err := x.plan(req)
	if err != nil {
		return contract.SearchReply{}, err
	}
	base := x.base(p)
	withPrice := base
	if p.priceLo != math.MinInt64 || p.priceHi != math.MaxInt64 {
		// The range is inclusive; the column's ranges are [lo, hi).
		r := valueRange{float64(p.priceLo), math.Nextafter(float64(p.priceHi), math.Inf(1))}
		if p.priceLo == math.MinInt64 {
			r.lo = math.Inf(-1)
		}
		if p.priceHi == math.MaxInt64 {
			r.hi = math.Inf(1)
		}
		withPrice = x.price.inRange(base, r)
	}
	result := intersect(withPrice, p.selections, -1)

	reply := contract.SearchReply{Total: int(result.GetCardinality()), Page: p.page, PageSize: p.size}
	reply.Items = x.page(result, p)
	reply.Facets = x.facets(p, withPrice, result)
	reply.Price = x.priceFacet(intersect(base, p.selections, -1))
	reply.Categories = x.subcategories(p.category, result)
	return reply, nil
}

// base is step 2 without the price range.
func (x *Index) base(p plan) *roaring.Bitmap {
	parts := []*roaring.Bitmap{x.live}
	if p.category != "" {
		parts = append(parts, x.under[p.category]) // nil: nothing under it
	}
	if p.inStock {
		parts = append(parts, x.inStock)
	}
	if p.noText {
		return roaring.New()
	}
	for _, w := range p.q {
		matched := w.fields[:]
		for _, t := range w.typo {
			if t != nil {
				matched = append(matched, t)
			}
		}
		parts = append(parts, roaring.FastOr(matched...))
	}
	for _, b := range parts {
		if b == nil {
			return roaring.New()
		}
	}
	return roaring.FastAnd(parts...)
}

// intersect is b AND every selection except the one at skip (-1: none).
func intersect(b *roaring.Bitmap, selections []selection, skip int) *roaring.Bitmap {
	out := b
	for i, s := range selections {
		if i != skip {
			out = roaring.And(out, s.docs)
		}
	}
	if out == b {
		out = b.Clone()
	}
	return out
}
