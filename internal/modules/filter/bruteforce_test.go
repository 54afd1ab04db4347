package filter

import (
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode"

	"github.com/agnivade/levenshtein"

	"github.com/shopengine/shop/internal/contract"
)

// The index against brute force: random queries on a generated
// catalogue, each answered by the index and checked against a scan of
// every product (the reply's total, page and every count), then again
// after random changes (edits, deletes, stock, a moved category, a
// relabelled value, an attribute made filterable).

func TestSearchEqualsBruteForce(t *testing.T) {
	g := newGenCatalog(1)
	x := NewIndex(slog.New(slog.DiscardHandler))
	x.Apply(append(g.definitions(), g.addProducts(1500)...), true)
	for round := range 4 {
		for i := range 80 {
			req := g.randomRequest()
			// Both ways of counting: doc by doc (what a catalogue this
			// small always gets) and by intersecting postings.
			for _, intersect := range []bool{false, true} {
				x.neverByDoc = intersect
				got, err := x.Search(req)
				if err != nil {
					t.Fatalf("round %d query %d %+v: %v", round, i, req, err)
				}
				if msg := g.check(req, got); msg != "" {
					t.Fatalf("round %d query %d (intersecting: %v) %s:\n%s", round, i, intersect, describe(req), msg)
				}
			}
			x.neverByDoc = false
		}
		x.Apply(g.mutate(300), false)
	}
}

func describe(req contract.SearchRequest) string {
	s := fmt.Sprintf("category=%q q=%q facets=%v in_stock=%v sort=%q page=%d size=%d", req.Category, req.Q, req.Facets, req.InStock, req.Sort, req.Page, req.PageSize)
	if req.PriceMin != nil {
		s += fmt.Sprintf(" price_min=%d", *req.PriceMin)
	}
	if req.PriceMax != nil {
		s += fmt.Sprintf(" price_max=%d", *req.PriceMax)
	}
	return s
}

// randomRequest makes a query of every kind the index answers.
func (g *genCatalog) randomRequest() contract.SearchRequest {
	r := g.rng
	req := contract.SearchRequest{PageSize: 1 + r.IntN(30), Page: 1 + r.IntN(3), Facets: map[string][]string{}}
	cats := slices.Sorted(func(yield func(string) bool) {
		for id := range g.categories {
			if !yield(id) {
				return
			}
		}
	})
	switch r.IntN(4) {
	case 1:
		req.Category = cats[r.IntN(len(cats))]
	case 2:
		req.Category = g.categories[cats[r.IntN(len(cats))]].Slug
	}
	facets := g.facetCodes()
	for range r.IntN(4) {
		code := facets[r.IntN(len(facets))]
		vals := g.facetValues(code)
		for range 1 + r.IntN(2) {
			req.Facets[code] = append(req.Facets[code], vals[r.IntN(len(vals))])
		}
	}
	if r.IntN(3) == 0 {
		lo := int64(r.IntN(20000))
		req.PriceMin = &lo
		if r.IntN(2) == 0 {
			hi := lo + int64(r.IntN(20000))
			req.PriceMax = &hi
		}
	}
	req.InStock = r.IntN(3) == 0
	switch r.IntN(6) {
	case 1:
		req.Q = genDescWords[r.IntN(len(genDescWords))]
	case 2:
		w := strings.ToLower(genAdjs[r.IntN(len(genAdjs))])
		req.Q = genNouns[r.IntN(len(genNouns))] + " " + w[:1+r.IntN(len(w))]
	case 3:
		req.Q = "cafe " + genColours[r.IntN(len(genColours))][:2]
	case 4:
		// A slip of the finger in a word, first or last.
		pool := [][]string{genNouns, genAdjs, genDescWords}
		typo := g.typo(pool[r.IntN(len(pool))])
		if r.IntN(2) == 0 {
			req.Q = typo
		} else {
			req.Q = genDescWords[r.IntN(len(genDescWords))] + " " + typo
		}
	}
	req.Sort = []string{"", contract.SortPriceAsc, contract.SortPriceDesc, contract.SortByName, contract.SortNewest, contract.SortRelevance}[r.IntN(6)]
	return req
}

// typo is a random word of pool with one random edit: a letter deleted,
// replaced or inserted, or two swapped (two edits: no typo match).
func (g *genCatalog) typo(pool []string) string {
	r := g.rng
	w := []rune(fold(pool[r.IntN(len(pool))]))
	i := r.IntN(len(w))
	c := rune('a' + r.IntN(26))
	switch r.IntN(4) {
	case 0:
		w = slices.Delete(w, i, i+1)
	case 1:
		w[i] = c
	case 2:
		w = slices.Insert(w, i, c)
	case 3:
		if i+1 < len(w) {
			w[i], w[i+1] = w[i+1], w[i]
		}
	}
	return string(w)
}

// facetCodes are the facets as the definitions make them now.
func (g *genCatalog) facetCodes() []string {
	var out []string
	for _, a := range g.attributes {
		if a.Filterable && a.Type != contract.AttributeText {
			out = append(out, a.Code)
		}
	}
	sort.Strings(out)
	return append(out, "colour", "size")
}

func (g *genCatalog) facetValues(code string) []string {
	switch code {
	case "colour":
		return genColours
	case "size":
		return genSizes
	case "weight":
		return []string{"-1000", "1000-2500", "2500-", "100-200"}
	case "power":
		return []string{"-100", "100-500", "500-"}
	case "waterproof":
		return []string{"yes", "no"}
	}
	var out []string
	for _, v := range g.attributes["attr-"+code].Values {
		out = append(out, v.Code)
	}
	return out
}

// bruteFacet says how a product matches one facet value: the scan's
// own reading of the documents, written apart from the index.
func (g *genCatalog) hasValue(d productDoc, facet, value string) bool {
	if facet == "colour" || facet == "size" {
		return slices.Contains(d.Options, optionRef{Group: facet, Value: value})
	}
	v, ok := d.Attributes[facet]
	if !ok {
		return false
	}
	switch v := v.(type) {
	case string:
		return v == value
	case bool:
		return (value == "yes") == v
	case []any:
		return slices.Contains(v, any(value))
	case float64:
		r, ok := parseRange(value)
		return ok && v >= r.lo && v < r.hi
	}
	return false
}

func (g *genCatalog) inCategory(d productDoc, cat string) bool {
	for _, c := range d.CategoryIDs {
		for cur := c; cur != ""; cur = g.categories[cur].ParentID {
			if cur == cat {
				return true
			}
		}
	}
	return false
}

func (g *genCatalog) inStock(d productDoc) bool {
	var total int64
	for _, v := range d.Stock {
		if s, ok := g.stock[v.ID]; ok {
			total += s.Stock
		} else {
			total += v.Stock
		}
	}
	return total > 0
}

// textRank is how a product matches q: not at all (score 0), or with
// typos words found only one edit away and score the sum, per word, of
// its heaviest field's weight (among the exact or prefix matches when
// there are any, else among the typo ones).
type textRank struct{ typos, score int }

// before reports whether a ranks before b: fewer typos, then more score.
func (a textRank) before(b textRank) bool {
	if a.typos != b.typos {
		return a.typos < b.typos
	}
	return a.score > b.score
}

// textScore is d's rank for q: every word of q must occur in d, the last
// as a prefix, a word of 5 letters or more also one edit away.
func (g *genCatalog) textScore(d productDoc, q string) textRank {
	key := d.Name + "\x00" + d.Description
	fields, ok := g.wordCache[key]
	if !ok {
		fields = [numFields][]string{fieldName: words(d.Name), fieldDescription: words(d.Description)}
		for code, v := range d.Attributes {
			if s, ok := v.(string); ok && g.attributes["attr-"+code].Type == contract.AttributeText {
				fields[fieldAttr] = append(fields[fieldAttr], words(s)...)
			}
		}
		g.wordCache[key] = fields
	}
	qs, ok := g.wordCache[q]
	if !ok {
		qs = [numFields][]string{words(q)}
		g.wordCache[q] = qs
	}
	return scoreWords(fields, qs[0])
}

func scoreWords(fields [numFields][]string, qs []string) textRank {
	var rank textRank
	for i, w := range qs {
		exact, typo := 0, 0
		for f, ws := range fields {
			for _, dw := range ws {
				switch {
				case dw == w || i == len(qs)-1 && strings.HasPrefix(dw, w):
					exact = max(exact, fieldWeight[f])
				case typoLetters(w) >= 5 && levenshtein.ComputeDistance(dw, w) == 1:
					typo = max(typo, fieldWeight[f])
				}
			}
		}
		switch {
		case exact > 0:
			rank.score += exact
		case typo > 0:
			rank.score += typo
			rank.typos++
		default:
			return textRank{}
		}
	}
	return rank
}

// typoLetters counts w's letters, the scan's own reading of the rule.
func typoLetters(w string) int {
	n := 0
	for _, r := range w {
		if unicode.IsLetter(r) {
			n++
		}
	}
	return n
}

// matches reports whether d passes req, leaving out the selection of
// facet skip ("" none; "price" the price range).
func (g *genCatalog) matches(d productDoc, req contract.SearchRequest, cat string, skip string) bool {
	if cat != "" && !g.inCategory(d, cat) {
		return false
	}
	if req.InStock && !g.inStock(d) {
		return false
	}
	if strings.TrimSpace(req.Q) != "" && g.textScore(d, req.Q).score == 0 {
		return false
	}
	if skip != "price" && (req.PriceMin != nil && d.PriceMin < *req.PriceMin || req.PriceMax != nil && d.PriceMin > *req.PriceMax) {
		return false
	}
	for facet, values := range req.Facets {
		if facet == skip || len(values) == 0 {
			continue
		}
		if !slices.ContainsFunc(values, func(v string) bool { return g.hasValue(d, facet, v) }) {
			return false
		}
	}
	return true
}

// check compares a reply with the scan; "" when they agree.
func (g *genCatalog) check(req contract.SearchRequest, got contract.SearchReply) string {
	cat := req.Category
	for id, c := range g.categories {
		if c.Slug == cat {
			cat = id
		}
	}
	var hits []string
	for id, d := range g.products {
		if g.matches(d, req, cat, "") {
			hits = append(hits, id)
		}
	}
	if got.Total != len(hits) {
		return fmt.Sprintf("total %d, scan %d", got.Total, len(hits))
	}
	g.sortHits(hits, req)
	page := max(req.Page, 1)
	var want []string
	if from := (page - 1) * req.PageSize; from < len(hits) {
		want = hits[from:min(from+req.PageSize, len(hits))]
	}
	var ids []string
	for _, it := range got.Items {
		ids = append(ids, it.ID)
		if d := g.products[it.ID]; it.Name != d.Name || it.PriceMin != d.PriceMin || it.InStock != g.inStock(d) {
			return fmt.Sprintf("item %s listed as %+v, document %+v", it.ID, it, d)
		}
	}
	if !slices.Equal(ids, want) {
		return fmt.Sprintf("page\n got  %v\n want %v", ids, want)
	}
	for _, f := range got.Facets {
		counted := map[string]int{}
		for _, d := range g.products {
			if !g.matches(d, req, cat, f.Code) {
				continue
			}
			for _, v := range g.facetValuesFor(f) {
				if g.hasValue(d, f.Code, v) {
					counted[v]++
				}
			}
		}
		for _, v := range f.Values {
			if v.Count != counted[v.Code] {
				return fmt.Sprintf("facet %s value %s: count %d, scan %d", f.Code, v.Code, v.Count, counted[v.Code])
			}
			delete(counted, v.Code)
		}
		for v, n := range counted {
			if n > 0 && !f.More {
				return fmt.Sprintf("facet %s: value %s (scan count %d) missing", f.Code, v, n)
			}
		}
	}
	if msg := g.checkPrice(req, cat, got.Price); msg != "" {
		return msg
	}
	return g.checkCategories(cat, hits, got.Categories)
}

// facetValuesFor is every value a facet of the reply could list: its
// definition's, or for a number facet the codes the reply gave.
func (g *genCatalog) facetValuesFor(f contract.Facet) []string {
	if f.Kind != contract.FacetNumber {
		return g.facetValues(f.Code)
	}
	var out []string
	for _, v := range f.Values {
		out = append(out, v.Code)
	}
	return out
}

func (g *genCatalog) sortHits(hits []string, req contract.SearchRequest) {
	sortBy := req.Sort
	q := strings.TrimSpace(req.Q)
	if sortBy == "" || sortBy == contract.SortRelevance {
		sortBy = contract.SortNewest
		if q != "" {
			sortBy = contract.SortRelevance
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		a, b := g.products[hits[i]], g.products[hits[j]]
		switch sortBy {
		case contract.SortPriceAsc, contract.SortPriceDesc:
			if a.PriceMin != b.PriceMin {
				return a.PriceMin < b.PriceMin != (sortBy == contract.SortPriceDesc)
			}
			return hits[i] < hits[j]
		case contract.SortRelevance:
			if sa, sb := g.textScore(a, q), g.textScore(b, q); sa != sb {
				return sa.before(sb)
			}
		case contract.SortNewest:
			if !a.CreatedAt.Equal(b.CreatedAt) {
				return a.CreatedAt.After(b.CreatedAt)
			}
			return hits[i] > hits[j]
		}
		if fa, fb := g.wordCache[a.Name+"\x00"+a.Description][fieldName], g.wordCache[b.Name+"\x00"+b.Description][fieldName]; !slices.Equal(fa, fb) {
			return fold(a.Name) < fold(b.Name)
		}
		if fa, fb := fold(a.Name), fold(b.Name); fa != fb {
			return fa < fb
		}
		return hits[i] < hits[j]
	})
}

func (g *genCatalog) checkPrice(req contract.SearchRequest, cat string, got contract.PriceFacet) string {
	lo, hi, n := int64(math.MaxInt64), int64(math.MinInt64), 0
	var prices []int64
	for _, d := range g.products {
		if g.matches(d, req, cat, "price") {
			lo, hi, n = min(lo, d.PriceMin), max(hi, d.PriceMin), n+1
			prices = append(prices, d.PriceMin)
		}
	}
	if n == 0 {
		if len(got.Histogram) != 0 {
			return fmt.Sprintf("price histogram %v over nothing", got.Histogram)
		}
		return ""
	}
	if got.Min != lo || got.Max != hi {
		return fmt.Sprintf("price range %d..%d, scan %d..%d", got.Min, got.Max, lo, hi)
	}
	total := 0
	for _, b := range got.Histogram {
		c := 0
		for _, p := range prices {
			if p >= b.From && p < b.To {
				c++
			}
		}
		if c != b.Count {
			return fmt.Sprintf("price bucket %d-%d: count %d, scan %d", b.From, b.To, b.Count, c)
		}
		total += c
	}
	if total != n {
		return fmt.Sprintf("price histogram holds %d products, scan %d", total, n)
	}
	return ""
}

func (g *genCatalog) checkCategories(cat string, hits []string, got []contract.CategoryCount) string {
	var children []string
	for id, c := range g.categories {
		if c.ParentID == cat {
			children = append(children, id)
		}
	}
	want := map[string]int{}
	for _, child := range children {
		for _, id := range hits {
			if g.inCategory(g.products[id], child) {
				want[child]++
			}
		}
	}
	for _, c := range got {
		if c.Count != want[c.ID] {
			return fmt.Sprintf("subcategory %s: count %d, scan %d", c.ID, c.Count, want[c.ID])
		}
		delete(want, c.ID)
	}
	if len(want) > 0 {
		return fmt.Sprintf("subcategories missing: %v", want)
	}
	return ""
}
