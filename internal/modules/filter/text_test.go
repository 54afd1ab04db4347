package filter

import (
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/contract"
)

// Typo tolerance on a handful of products: which queries find what, and
// in which order.
func TestSearchTypos(t *testing.T) {
	x := NewIndex(slog.New(slog.DiscardHandler))
	x.mu.Lock()
	at := time.Unix(1_700_000_000, 0)
	for i, p := range []struct{ id, name, desc string }{
		{"p-blender", "Blender Pro", "loud"},
		{"p-lamp", "Table Lamp", "bright"},
		{"p-mixer", "Quiet Kitchen Machine", "a mixer"},
		{"p-mixes", "Mixes Deluxe", "party"},
		{"p-drill", "Drill X2000", "cordless"},
		{"p-torch", "Crème Torch", "kitchen"},
	} {
		x.put(p.id, productDoc{Name: p.name, Description: p.desc, CreatedAt: at.Add(time.Duration(i) * time.Second)})
	}
	x.settle()
	x.mu.Unlock()
	for _, c := range []struct {
		q    string
		want []string // in relevance order
	}{
		{"blender", []string{"p-blender"}},
		{"blendr", []string{"p-blender"}},          // one deletion, last word
		{"blendr pro", []string{"p-blender"}},      // ...and not the last
		{"blemder", []string{"p-blender"}},         // one substitution
		{"blennder", []string{"p-blender"}},        // one insertion
		{"bledner", nil},                           // a swap is two edits
		{"blande", nil},                            // two edits from blender, a prefix of nothing
		{"lamp", []string{"p-lamp"}},               //
		{"lamo", nil},                              // 4 letters: no typo
		{"lmp", nil},                               //
		{"lampx", []string{"p-lamp"}},              // 5 letters: one edit from lamp
		{"x2001", nil},                             // one letter: a model number never fuzzes
		{"x200", []string{"p-drill"}},              // prefix
		{"cremme", []string{"p-torch"}},            // accent folded, then one edit
		{"mixer", []string{"p-mixer", "p-mixes"}},  // exact in the description before a typo in the name
		{"kitchn", []string{"p-mixer", "p-torch"}}, // typos both: name before description
		{"kitchen mixes", []string{"p-mixer"}},     // mixes is a typo of mixer; kitchen exact
		{"quiet mixes", []string{"p-mixer"}},       //
		{"deluxe mixer", []string{"p-mixes"}},      // mixer a typo of mixes
		{"machine mixer", []string{"p-mixer"}},     //
		{"mixes", []string{"p-mixes", "p-mixer"}},  // exact name, then typo description
		{"zzzzzz", nil},                            //
		{"mixers", []string{"p-mixes", "p-mixer"}}, // typos both: name before description
	} {
		got, err := x.Search(contract.SearchRequest{Q: c.q, PageSize: 10})
		if err != nil {
			t.Fatalf("q=%q: %v", c.q, err)
		}
		var ids []string
		for _, it := range got.Items {
			ids = append(ids, it.ID)
		}
		if !slices.Equal(ids, c.want) || got.Total != len(c.want) {
			t.Errorf("q=%q: got %v (total %d), want %v", c.q, ids, got.Total, c.want)
		}
	}
}

// The vocabulary merges each batch's words into its sorted list, once
// each, whichever fields and batches brought them.
func TestVocabularyMerges(t *testing.T) {
	var v vocabulary
	for _, batch := range [][]string{
		{"lamp", "chair", "lamp", "desk"},
		{},
		{"chair", "armchair", "zebra", "lampshade"},
		{"a", "lamp"},
	} {
		for _, w := range batch {
			v.add(w)
		}
		v.refresh()
	}
	want := []string{"a", "armchair", "chair", "desk", "lamp", "lampshade", "zebra"}
	if !slices.Equal(v.sorted, want) {
		t.Fatalf("vocabulary %v, want %v", v.sorted, want)
	}
	if got := v.withPrefix("lamp"); !slices.Equal(got, []string{"lamp", "lampshade"}) {
		t.Fatalf("prefix lamp: %v", got)
	}
	near, err := v.withinOneEdit("chairs")
	if err != nil || !slices.Equal(near, []string{"chair"}) {
		t.Fatalf("one edit from chairs: %v, %v", near, err)
	}
}
