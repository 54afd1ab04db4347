package article

import (
	"fmt"
	"strings"
	"testing"
)

// longArticle is a 5,000-word article in the shapes a blog post has:
// headings, paragraphs with emphasis, links and code, lists, a table and
// a fenced code block per section.
func longArticle() string {
	var b strings.Builder
	words := 0
	for s := 1; words < 5000; s++ {
		fmt.Fprintf(&b, "## Section %d: on shipping things\n\n", s)
		for p := range 4 {
			para := fmt.Sprintf("Paragraph %d of section %d talks about **bold ideas**, *careful* ~~old~~ plans and "+
				"[a link](https://example.com/%d/%d) with `inline code`, then goes on for a while so that "+
				"readers have something to read before the next part begins in earnest here.", p, s, s, p)
			b.WriteString(para + "\n\n")
			words += len(strings.Fields(para))
		}
		b.WriteString("- first point\n- second point, https://example.org/auto\n- third point\n\n")
		b.WriteString("| size | price | stock |\n|---|---|---|\n| S | 10 | 3 |\n| M | 12 | 5 |\n\n")
		b.WriteString("```go\nfunc main() {\n\tfmt.Println(\"hello\")\n}\n```\n\n")
		words += 20
	}
	return b.String()
}

// BenchmarkRender is the whole write-time pipeline on a 5,000-word
// article (render: goldmark, then bluemonday's UGC policy, then the text
// for the excerpt and word count), against goldmark alone as the
// baseline: the ratio is what sanitising and the text cost on top of
// rendering.
func BenchmarkRender(b *testing.B) {
	md := longArticle()
	r, err := render(md)
	if err != nil {
		b.Fatal(err)
	}
	if r.Words < 5000 {
		b.Fatalf("%d words, want 5,000 or more", r.Words)
	}
	b.Run("goldmark", func(b *testing.B) {
		b.SetBytes(int64(len(md)))
		for b.Loop() {
			if _, err := unsafeHTML(md); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("render", func(b *testing.B) {
		b.SetBytes(int64(len(md)))
		for b.Loop() {
			if _, err := render(md); err != nil {
				b.Fatal(err)
			}
		}
	})
}
