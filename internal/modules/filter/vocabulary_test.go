package filter

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// The vocabulary merges each batch's new words into its sorted list: after
// every refresh the list is every word added, once, in order.
func TestVocabularyMerge(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var v vocabulary
	all := map[string]bool{}
	for batch := range 50 {
		for range r.IntN(40) {
			w := fmt.Sprintf("w%d", r.IntN(500))
			v.add(w)
			all[w] = true
		}
		v.refresh()
		want := make([]string, 0, len(all))
		for w := range all {
			want = append(want, w)
		}
		slices.Sort(want)
		if !slices.Equal(v.sorted, want) {
			t.Fatalf("batch %d: sorted %v, want %v", batch, v.sorted, want)
		}
	}
	for _, p := range []string{"w1", "w49", "w", "x", ""} {
		var want []string
		for w := range all {
			if strings.HasPrefix(w, p) {
				want = append(want, w)
			}
		}
		slices.Sort(want)
		if got := v.withPrefix(p); !slices.Equal(got, want) {
			t.Fatalf("prefix %q: %v, want %v", p, got, want)
		}
	}
}
