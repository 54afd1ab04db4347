package filter

import (
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/vellum/levenshtein"
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
//
// Typos: a query word of at least typoMinLetters letters also matches the
// words one edit away (an insertion, a deletion or a substitution; the
// last word too, as a whole word), so "blendr" finds "blender". Such a
// match ranks below any exact or prefix one (sort.go). Shorter words, and
// the digits of a model number, never fuzz: one edit to "lamp" or "x200"
// is another word, not a slip.

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
// prefix matching: the words starting with p are one contiguous run. The
// index adds a word when it makes the word's first posting in a field,
// so a word comes once per field at most; added words wait in pending
// until refresh merges them in, the one sort a snapshot's build needs.
type vocabulary struct {
	sorted  []string
	pending []string
}

func (v *vocabulary) add(w string) { v.pending = append(v.pending, w) }

// refresh merges the added words in; the index calls it at the end of
// each batch of changes, under its write lock. Words no longer used
// stay: they cost a lookup that finds an empty posting, never a wrong
// result.
func (v *vocabulary) refresh() {
	if len(v.pending) == 0 {
		return
	}
	slices.Sort(v.pending)
	added := slices.Compact(v.pending)
	merged := make([]string, 0, len(v.sorted)+len(added))
	i, j := 0, 0
	for i < len(v.sorted) || j < len(added) {
		switch {
		case j == len(added) || i < len(v.sorted) && v.sorted[i] < added[j]:
			merged = append(merged, v.sorted[i])
			i++
		case i == len(v.sorted) || added[j] < v.sorted[i]:
			merged = append(merged, added[j])
			j++
		default: // in both
			merged = append(merged, v.sorted[i])
			i, j = i+1, j+1
		}
	}
	v.sorted, v.pending = merged, nil
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

// typoMinLetters is the fewest letters a query word needs to match with a
// typo.
const typoMinLetters = 5

// fuzzes reports whether query word w may match with a typo.
func fuzzes(w string) bool {
	n := 0
	for _, r := range w {
		if unicode.IsLetter(r) {
			n++
		}
	}
	return n >= typoMinLetters
}

// oneEdit builds the Levenshtein automata of query words. Making the
// builder takes milliseconds, so there is one, made on first use; it is
// safe for concurrent use.
var oneEdit = sync.OnceValues(func() (*levenshtein.LevenshteinAutomatonBuilder, error) {
	return levenshtein.NewLevenshteinAutomatonBuilder(1, false)
})

// withinOneEdit returns the words of the vocabulary one edit or less
// from w, by running w's Levenshtein automaton (a UTF-8 byte DFA) down
// the sorted list: where a word's first bytes already lead the automaton
// nowhere, every word starting with them is skipped with one binary
// search, so a query reads a few thousand words of a vocabulary of
// millions, and the index keeps nothing more than the sorted list.
func (v *vocabulary) withinOneEdit(w string) ([]string, error) {
	builder, err := oneEdit()
	if err != nil {
		return nil, err
	}
	dfa, err := builder.BuildDfa(w, 1)
	if err != nil {
		return nil, err
	}
	var out []string
	for i := 0; i < len(v.sorted); {
		word, s, j := v.sorted[i], dfa.Start(), 0
		for ; j < len(word); j++ {
			if s = dfa.Accept(s, word[j]); !dfa.CanMatch(s) {
				break
			}
		}
		if j == len(word) {
			if dfa.IsMatch(s) {
				out = append(out, word)
			}
			i++
			continue
		}
		dead, rest := word[:j+1], v.sorted[i:]
		i += sort.Search(len(rest), func(k int) bool { return !strings.HasPrefix(rest[k], dead) })
	}
	return out, nil
}
