package filter

import (
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Text search: every product's name, description and text attributes are
// cut into words, each folded (Unicode case folding, accents removed:
// "Café" and "CAFE" are both "cafe"), and each word is a posting per field
// (see postingKey). A query is folded the same way; every query word must
// match in some field, the last one as a prefix so results come while the
// shopper types. Characters that are not letters or digits only separate
// words: "*", "$gt" or "(a|b)" are never operators.

// Text fields and their weights in relevance: a word in the name counts
// more than one in a text attribute, which counts more than one in the
// description.
const (
	fieldName = iota
	fieldAttr
	fieldDescription
	numFields
)

var fieldWeight = [numFields]int{fieldName: 4, fieldAttr: 2, fieldDescription: 1}

// fold folds case and removes accents. A cases.Caser is not safe for
// concurrent use, so fold makes one per call; plain ASCII, most of a
// catalogue, takes the short way.
func fold(s string) string {
	if isASCII(s) {
		return strings.ToLower(s)
	}
	decomposed := norm.NFD.String(cases.Fold().String(s))
	var b strings.Builder
	b.Grow(len(decomposed))
	for _, r := range decomposed {
		if !unicode.Is(unicode.Mn, r) { // combining accents
			b.WriteRune(r)
		}
	}
	return norm.NFC.String(b.String())
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// words returns the folded words of s in order, duplicates kept.
func words(s string) []string {
	return strings.FieldsFunc(fold(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
}

// vocabulary is the sorted list of every distinct word in the index, for
// prefix matching: the words starting with p are one contiguous run.
type vocabulary struct {
	sorted []string
	set    map[string]struct{}
	added  []string // in set, not yet in sorted
}

func (v *vocabulary) add(w string) {
	if v.set == nil {
		v.set = map[string]struct{}{}
	}
	if _, ok := v.set[w]; !ok {
		v.set[w] = struct{}{}
		v.added = append(v.added, w)
	}
}

// refresh merges the words added since the last refresh into the sorted
// list; the index calls it at the end of each batch of changes, under its
// write lock. Only the new words are sorted: re-sorting the whole list
// per batch made a 100,000-product seed quadratic (every product brings a
// word of its own), 11% of its CPU. Words no longer used stay: they cost
// a lookup that finds an empty posting, never a wrong result.
func (v *vocabulary) refresh() {
	if len(v.added) == 0 {
		return
	}
	slices.Sort(v.added)
	// Merge from the back, in place: readers only look at the list under
	// the index's read lock, which the caller's write lock excludes.
	n, k := len(v.sorted), len(v.added)
	v.sorted = slices.Grow(v.sorted, k)[:n+k]
	i, j := n-1, k-1
	for out := n + k - 1; j >= 0; out-- {
		if i >= 0 && v.sorted[i] > v.added[j] {
			v.sorted[out] = v.sorted[i]
			i--
		} else {
			v.sorted[out] = v.added[j]
			j--
		}
	}
	clear(v.added)
	v.added = v.added[:0]
}

// withPrefix returns the words that start with p.
func (v *vocabulary) withPrefix(p string) []string {
	i := sort.SearchStrings(v.sorted, p)
	j := i
	for j < len(v.sorted) && strings.HasPrefix(v.sorted[j], p) {
		j++
	}
	return v.sorted[i:j]
}
