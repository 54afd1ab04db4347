package filter

import (
	"slices"

	"github.com/RoaringBitmap/roaring/v2"
)

// smallPosting is the most docs a posting keeps as a plain sorted slice.
// Most words occur in one product or a few (a model number, a name's
// serial), and a roaring bitmap of one doc costs some 170 bytes where a
// slice costs 4 per doc; past this size the bitmap is smaller and faster.
const smallPosting = 32

// postingList is the docs holding one posting key: a sorted slice while
// it is small, a roaring bitmap once it grew past smallPosting. Adds go to
// the slice first, even for a bitmap's posting, and Index.settle moves
// them into the bitmap in one AddMany per posting at the end of the
// batch: a snapshot of 100k products builds each bitmap from its sorted
// docs at once instead of one Add per value. Between batches (whenever a
// query can see it) a posting has either a bitmap or a slice, not both.
type postingList struct {
	small []uint32 // sorted
	bm    *roaring.Bitmap
}

// add adds d, reporting false when it was there already.
func (p *postingList) add(d uint32) bool {
	if n := len(p.small); n == 0 || p.small[n-1] < d { // the usual case: docs come in order
		if p.bm != nil && p.bm.Contains(d) {
			return false
		}
		p.small = append(p.small, d)
		return true
	}
	i, found := slices.BinarySearch(p.small, d)
	if found || p.bm != nil && p.bm.Contains(d) {
		return false
	}
	p.small = slices.Insert(p.small, i, d)
	return true
}

// unsettled reports whether the posting needs a settle: it has docs
// waiting beside its bitmap, or a slice grown too large.
func (p *postingList) unsettled() bool {
	return len(p.small) > 0 && (p.bm != nil || len(p.small) > smallPosting)
}

func (p *postingList) remove(d uint32) {
	if p.bm != nil {
		p.bm.Remove(d)
	}
	if i, found := slices.BinarySearch(p.small, d); found {
		p.small = slices.Delete(p.small, i, i+1)
	}
}

// settle moves the waiting docs into the bitmap, making it when the
// slice grew past smallPosting.
func (p *postingList) settle() {
	if !p.unsettled() {
		p.small = slices.Clip(p.small)
		return
	}
	if p.bm == nil {
		p.bm = roaring.New()
	}
	p.bm.AddMany(p.small)
	p.bm.RunOptimize()
	p.small = nil
}

// bitmap is the posting as a bitmap, for queries: its own, or one made
// from the slice (a few docs). Callers must not change it.
func (p *postingList) bitmap() *roaring.Bitmap {
	if p.bm != nil {
		return p.bm
	}
	return roaring.BitmapOf(p.small...)
}
