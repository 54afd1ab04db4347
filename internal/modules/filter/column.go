package filter

import (
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/RoaringBitmap/roaring/v2"
)

// Bucket counts of the price histogram and of number facets, and of the
// finer buckets a column keeps to count them fast.
const (
	priceBuckets  = 10
	numberBuckets = 5
	fineBuckets   = 64
)

// column is one number per doc (a price, a number attribute), with its
// docs split into about fineBuckets buckets by value, one bitmap each, so
// that counting a histogram is an intersection count per bucket, a
// minimum is a scan of the lowest bucket that matches, and a range is
// the union of the buckets inside it plus a scan of the two at its ends.
//
// The edges come from the data: quantiles of the values, rounded to two
// significant digits, so that each bucket holds about as many products.
// They are recomputed when a tenth of the values changed since, not at
// every write, so a bucket's code stays the same while a shopper pages.
// The buckets shown (priceBuckets, numberBuckets) are every few fine
// ones, so their counts are sums of fine counts.
//
// A doc keeps its bucket membership when its product loses the value
// (the column has no "remove"): every read intersects with has, the docs
// that have a value now.
type column struct {
	values  []float64
	edges   []float64         // inner fine edges, ascending: (-inf,e0), [e0,e1), … [en,+inf)
	buckets []*roaring.Bitmap // len(edges)+1
	changes int               // sets since the edges were computed
}

func (c *column) set(d uint32, v float64) {
	for int(d) >= len(c.values) {
		c.values = append(c.values, 0)
	}
	if c.buckets != nil {
		c.buckets[bucket(c.edges, c.values[d])].Remove(d)
		c.buckets[bucket(c.edges, v)].Add(d)
	}
	c.values[d] = v
	c.changes++
}

// refreshEdges recomputes the edges and buckets over the docs in has
// when they are missing or a tenth of the values changed.
func (c *column) refreshEdges(has *roaring.Bitmap) {
	n := int(has.GetCardinality())
	if c.changes == 0 || (c.buckets != nil && c.changes*10 < n) {
		return
	}
	c.changes = 0
	vals := make([]float64, 0, n)
	eachDoc(has, func(d uint32) { vals = append(vals, c.values[d]) })
	c.edges = quantileEdges(vals, fineBuckets)
	c.buckets = make([]*roaring.Bitmap, len(c.edges)+1)
	for i := range c.buckets {
		c.buckets[i] = roaring.New()
	}
	eachDoc(has, func(d uint32) { c.buckets[bucket(c.edges, c.values[d])].Add(d) })
	for _, b := range c.buckets {
		b.RunOptimize()
	}
}

// shownEdges are the edges of about want buckets: every few fine edges.
func (c *column) shownEdges(want int) []float64 {
	step := (len(c.edges) + want) / want
	var out []float64
	for i := step - 1; i < len(c.edges); i += step {
		out = append(out, c.edges[i])
	}
	return out
}

// histogram counts over's docs per fine bucket and finds their smallest
// and largest value, reading each doc's value (byDoc: see Index.byDoc) or
// intersecting each bucket; ok is false when over has none. over must
// hold only docs with a value.
func (c *column) histogram(over *roaring.Bitmap, byDoc bool) (counts []int, lo, hi float64, ok bool) {
	counts = make([]int, len(c.buckets))
	if byDoc {
		lo, hi = math.Inf(1), math.Inf(-1)
		eachDoc(over, func(d uint32) {
			v := c.values[d]
			lo, hi = min(lo, v), max(hi, v)
			counts[bucket(c.edges, v)]++
		})
		return counts, lo, hi, lo <= hi
	}
	first, last := -1, -1
	for i, b := range c.buckets {
		if counts[i] = int(b.AndCardinality(over)); counts[i] > 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return counts, 0, 0, false
	}
	lo, hi = math.Inf(1), math.Inf(-1)
	eachDoc(roaring.And(c.buckets[first], over), func(d uint32) { lo = min(lo, c.values[d]) })
	eachDoc(roaring.And(c.buckets[last], over), func(d uint32) { hi = max(hi, c.values[d]) })
	return counts, lo, hi, true
}

// shownCounts sums fine counts into the buckets of shown edges.
func (c *column) shownCounts(fine []int, shown []float64) []int {
	out := make([]int, len(shown)+1)
	for i, n := range fine {
		// Fine bucket i starts at edges[i-1]; shown edges are fine edges.
		start := math.Inf(-1)
		if i > 0 {
			start = c.edges[i-1]
		}
		out[bucket(shown, start)] += n
	}
	return out
}

// inRange is the docs of has whose value is in r.
func (c *column) inRange(has *roaring.Bitmap, r valueRange) *roaring.Bitmap {
	if c.buckets == nil {
		return roaring.New()
	}
	first, last := bucket(c.edges, r.lo), bucket(c.edges, math.Nextafter(r.hi, math.Inf(-1)))
	whole := []*roaring.Bitmap{}
	for i := first + 1; i < last; i++ {
		whole = append(whole, c.buckets[i])
	}
	out := roaring.FastOr(whole...)
	for _, i := range []int{first, last} {
		eachDoc(c.buckets[i], func(d uint32) {
			if r.contains(c.values[d]) {
				out.Add(d)
			}
		})
	}
	out.And(has)
	return out
}

// quantileEdges returns up to buckets-1 distinct rounded inner edges.
func quantileEdges(vals []float64, buckets int) []float64 {
	if len(vals) == 0 {
		return []float64{}
	}
	sort.Float64s(vals)
	edges := []float64{}
	for i := 1; i < buckets; i++ {
		e := roundSignificant(vals[i*len(vals)/buckets], 2)
		if e > vals[0] && (len(edges) == 0 || e > edges[len(edges)-1]) {
			edges = append(edges, e)
		}
	}
	return edges
}

// roundSignificant rounds v to n significant digits: 1234 → 1200.
func roundSignificant(v float64, n int) float64 {
	if v == 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return v
	}
	scale := math.Pow(10, float64(n)-math.Ceil(math.Log10(math.Abs(v))))
	return math.Round(v*scale) / scale
}

// bucket returns the bucket of v among edges.
func bucket(edges []float64, v float64) int {
	return sort.Search(len(edges), func(i int) bool { return edges[i] > v })
}

// valueRange is a half-open range [lo, hi) of a number facet; an open end
// is infinite.
type valueRange struct{ lo, hi float64 }

func (r valueRange) contains(v float64) bool { return v >= r.lo && v < r.hi }

// rangeOfBucket is bucket i's range among edges.
func rangeOfBucket(edges []float64, i int) valueRange {
	r := valueRange{math.Inf(-1), math.Inf(1)}
	if i > 0 {
		r.lo = edges[i-1]
	}
	if i < len(edges) {
		r.hi = edges[i]
	}
	return r
}

// code is the range as a facet value: "10-20", "-10", "20-".
func (r valueRange) code() string {
	var b strings.Builder
	if !math.IsInf(r.lo, -1) {
		b.WriteString(formatNumber(r.lo))
	}
	b.WriteByte('-')
	if !math.IsInf(r.hi, 1) {
		b.WriteString(formatNumber(r.hi))
	}
	return b.String()
}

func formatNumber(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// parseRange reads a range code: "lo-hi", "-hi", "lo-", where lo and hi
// are numbers (lo may be negative: "-5-10" is [-5, 10)). The separator is
// the first "-" after the first character, or a leading one when there is
// no other.
func parseRange(s string) (valueRange, bool) {
	r := valueRange{math.Inf(-1), math.Inf(1)}
	if s == "" {
		return r, false
	}
	sep := strings.IndexByte(s[1:], '-') + 1
	if sep == 0 && s[0] != '-' {
		return r, false
	}
	ok := parseEnd(s[:sep], &r.lo) && parseEnd(s[sep+1:], &r.hi)
	return r, ok && r.lo < r.hi && s != "-"
}

// parseEnd reads one end of a range into v; empty leaves it open.
func parseEnd(s string, v *float64) bool {
	if s == "" {
		return true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return false
	}
	*v = f
	return true
}
