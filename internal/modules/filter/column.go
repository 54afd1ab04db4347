package filter

import (
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/RoaringBitmap/roaring/v2"
)

// Bucket counts of the price histogram and of number facets.
const (
	priceBuckets  = 10
	numberBuckets = 5
)

// column is one number per doc (a price, a number attribute), with the
// bucket edges its facet counts in. The edges come from the data: the
// quantiles of the values, rounded to two significant digits, so that
// each bucket holds about as many products. They are recomputed when a
// tenth of the values changed since, not at every write, so a bucket's
// code stays the same while a shopper pages.
type column struct {
	values  []float64
	edges   []float64 // inner edges, ascending: buckets are (-inf,e0), [e0,e1), … [en,+inf)
	changes int       // sets since the edges were computed
}

func (c *column) set(d uint32, v float64) {
	for int(d) >= len(c.values) {
		c.values = append(c.values, 0)
	}
	c.values[d] = v
	c.changes++
}

// refreshEdges recomputes the edges over the docs in has when they are
// missing or a tenth of the values changed.
func (c *column) refreshEdges(has *roaring.Bitmap, buckets int) {
	n := 0
	if has != nil {
		n = int(has.GetCardinality())
	}
	if c.changes == 0 || (c.edges != nil && c.changes*10 < n) {
		return
	}
	c.changes = 0
	vals := make([]float64, 0, n)
	it := has.Iterator()
	for it.HasNext() {
		vals = append(vals, c.values[it.Next()])
	}
	c.edges = quantileEdges(vals, buckets)
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
