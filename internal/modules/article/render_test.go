package article

import (
	"strings"
	"testing"
)

// TestRenderMarkdown: GFM tables, strikethrough and autolinks, heading
// ids, and links marked nofollow by the UGC policy.
func TestRenderMarkdown(t *testing.T) {
	r, err := render("# Hello World\n\nSome *text* with ~~old~~ words, see https://example.com/x.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n## Second part\n")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<h1 id="hello-world">Hello World</h1>`,
		`<h2 id="second-part">Second part</h2>`,
		`<del>old</del>`,
		`<a href="https://example.com/x" rel="nofollow">https://example.com/x</a>`,
		"<table>", "<th>a</th>", "<td>2</td>",
		"<em>text</em>",
	} {
		if !strings.Contains(r.HTML, want) {
			t.Errorf("HTML lacks %s:\n%s", want, r.HTML)
		}
	}
	if r.Text != "Hello World Some text with old words, see https://example.com/x. a b 1 2 Second part" || r.Words != 15 || r.Minutes != 1 {
		t.Errorf("text %q, %d words, %d min", r.Text, r.Words, r.Minutes)
	}
}

// TestRenderSanitises: each dangerous construct reaches the sanitiser
// (goldmark passes it through: the case is real) and never its output.
func TestRenderSanitises(t *testing.T) {
	cases := []struct {
		name, md string
		raw      string   // in goldmark's output: the input did get through to the sanitiser
		banned   []string // absent from the HTML
		kept     string   // what harmless part remains
	}{
		{"script", "Hi <script>alert(1)</script> there\n\n<script src=\"https://evil.example/x.js\"></script>",
			"<script", []string{"<script", "alert(1)", "evil.example"}, "Hi"},
		{"onclick", `<p onclick="steal()">click</p>`, "onclick", []string{"onclick", "steal"}, "<p>click</p>"},
		{"onerror", `<img src="https://img.example/a.png" onerror="steal()">`, "onerror", []string{"onerror", "steal"}, `src="https://img.example/a.png"`},
		{"onmouseover on a link", `<a href="https://ok.example" onmouseover="steal()">x</a>`, "onmouseover", []string{"onmouseover", "steal"}, `href="https://ok.example"`},
		{"javascript: markdown link", "[click](javascript:alert(1))", "javascript:", []string{"javascript:", "alert"}, "click"},
		{"javascript: raw link", `<a href="javascript:alert(1)">x</a>`, "javascript:", []string{"javascript:"}, "x"},
		{"javascript: mixed case and entities", `<a href="JaVaScRiPt&#58;alert(1)">x</a>`, "JaVaScRiPt", []string{"JaVaScRiPt", "javascript", "alert"}, "x"},
		{"data: image", "![pic](data:image/png;base64,iVBORw0KGgo=)", "data:image", []string{"data:"}, `alt="pic"`},
		{"data: link", `<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>`, "data:text", []string{"data:"}, "x"},
		{"iframe", "<iframe src=\"https://evil.example\"></iframe>\n\nafter", "<iframe", []string{"<iframe", "evil.example"}, "after"},
		{"style element", "<style>body{display:none}</style>\n\nafter", "<style", []string{"<style", "display:none"}, "after"},
		{"style attribute", `<p style="position:fixed">x</p>`, "style=", []string{"style", "position"}, "<p>x</p>"},
		{"object and embed", `<object data="https://evil.example/x.swf"></object><embed src="https://evil.example/y">`, "<object", []string{"<object", "<embed"}, ""},
		{"form", `<form action="https://evil.example"><input name="p"></form>`, "<form", []string{"<form", "<input"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw, err := unsafeHTML(c.md)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(raw, c.raw) {
				t.Fatalf("goldmark's output lacks %q, so the case tests nothing:\n%s", c.raw, raw)
			}
			r, err := render(c.md)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range c.banned {
				if strings.Contains(strings.ToLower(r.HTML), strings.ToLower(b)) {
					t.Errorf("%q reached the HTML:\n%s", b, r.HTML)
				}
			}
			if !strings.Contains(r.HTML, c.kept) {
				t.Errorf("the harmless part %q is gone:\n%s", c.kept, r.HTML)
			}
		})
	}
}

func TestExcerptAndReadingTime(t *testing.T) {
	short := "A short text."
	if got := excerptFrom(short); got != short {
		t.Fatalf("short excerpt %q", got)
	}
	long := strings.Repeat("word ", 100) // 500 characters
	got := excerptFrom(strings.TrimSpace(long))
	if !strings.HasSuffix(got, "word…") || len([]rune(got)) > excerptLen+1 || len([]rune(got)) < excerptLen-10 {
		t.Fatalf("long excerpt (%d runes) %q", len([]rune(got)), got)
	}
	// Multi-byte text is cut on characters, not bytes.
	cyr := strings.Repeat("слово ", 100)
	if got := excerptFrom(strings.TrimSpace(cyr)); !strings.HasSuffix(got, "слово…") {
		t.Fatalf("cyrillic excerpt %q", got)
	}
	for words, minutes := range map[int]int{0: 0, 1: 1, 265: 1, 266: 2, 1000: 4} {
		r, err := render(strings.Repeat("lorem ", words))
		if err != nil {
			t.Fatal(err)
		}
		if r.Words != words || r.Minutes != minutes {
			t.Errorf("%d words: counted %d, %d minutes, want %d", words, r.Words, r.Minutes, minutes)
		}
	}
}
