package article

import (
	"fmt"
	"html"
	"strings"
	"testing"
	"unicode/utf8"

	xhtml "golang.org/x/net/html"
)

// FuzzRender feeds arbitrary Markdown (raw HTML included) through the
// article pipeline. It must never fail or panic, and whatever goldmark
// lets through, the sanitised HTML holds no element that runs or loads
// anything, no event-handler or style attribute and no link or image
// outside http, https, mailto or a relative address (unsafeReason); the text, word
// count and excerpt agree with that HTML.
func FuzzRender(f *testing.F) {
	for _, seed := range []string{
		"# Title\n\nSome *text* and a [link](https://example.com).",
		"<script>alert(1)</script>", `<a href="JaVaScRiPt&#58;alert(1)">x</a>`,
		"![x](data:image/png;base64,AAAA)", `<img src=x onerror=alert(1)>`,
		"| a | b |\n|---|---|\n| 1 | 2 |", "<svg><script>1</script></svg>", "[x](\x00javascript:1)",
		"<a href=\"java\tscript:1\">t</a>", "```\n<script>\n```", "- [ ] task\n- [x] done",
		"<details><summary>s</summary>hidden</details>", "\xff\xfe", "&#0;&#x110000;",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, md string) {
		r, err := render(md)
		if err != nil {
			t.Fatalf("render(%q): %v", md, err)
		}
		if why := unsafeReason(r.HTML); why != "" {
			t.Fatalf("render(%q) %s:\n%s", md, why, r.HTML)
		}
		if got := len(strings.Fields(r.Text)); got != r.Words {
			t.Fatalf("render(%q): %d words counted, text has %d", md, r.Words, got)
		}
		if (r.Words == 0) != (r.Minutes == 0) {
			t.Fatalf("render(%q): %d words, %d minutes", md, r.Words, r.Minutes)
		}
		ex := excerptFrom(r.Text)
		if utf8.ValidString(r.Text) && !utf8.ValidString(ex) {
			t.Fatalf("excerpt of %q is not UTF-8: %q", r.Text, ex)
		}
		if n := utf8.RuneCountInString(ex); n > excerptLen+1 {
			t.Fatalf("excerpt of %q has %d characters, at most %d", r.Text, n, excerptLen+1)
		}
	})
}

// bannedElements run script, load other documents or take input.
var bannedElements = map[string]bool{
	"script": true, "style": true, "iframe": true, "frame": true, "frameset": true, "object": true, "embed": true,
	"form": true, "input": true, "button": true, "textarea": true, "select": true, "link": true, "meta": true,
	"base": true, "svg": true, "math": true, "template": true, "noscript": true,
}

// unsafeReason parses out as a browser would and names the first thing
// in it that could run script or style the page ("" when none).
func unsafeReason(out string) string {
	z := xhtml.NewTokenizer(strings.NewReader(out))
	for {
		tt := z.Next()
		if tt == xhtml.ErrorToken {
			return ""
		}
		if tt != xhtml.StartTagToken && tt != xhtml.SelfClosingTagToken {
			continue
		}
		tok := z.Token()
		if bannedElements[tok.Data] {
			return fmt.Sprintf("kept <%s>", tok.Data)
		}
		for _, a := range tok.Attr {
			key := strings.ToLower(a.Key)
			if strings.HasPrefix(key, "on") || key == "style" || key == "srcdoc" || key == "formaction" {
				return fmt.Sprintf("kept attribute %s on <%s>", a.Key, tok.Data)
			}
			if (key == "href" || key == "src" || key == "cite") && !safeURL(a.Val) {
				return fmt.Sprintf("kept %s=%q on <%s>", a.Key, a.Val, tok.Data)
			}
		}
	}
}

// TestUnsafeReasonSees: the fuzz target's check finds what goldmark lets
// through before sanitising, so a sanitiser gap would fail it.
func TestUnsafeReasonSees(t *testing.T) {
	for _, md := range []string{
		"<script>alert(1)</script>", `<img src=x onerror=alert(1)>`, `<p style="x">a</p>`,
		"[x](javascript:alert(1))", `<a href="java&#09;script:1">t</a>`, "<iframe src=https://x></iframe>",
	} {
		raw, err := unsafeHTML(md)
		if err != nil {
			t.Fatal(err)
		}
		if unsafeReason(raw) == "" {
			t.Errorf("%q: unsanitised output %q passes the check", md, raw)
		}
		r, err := render(md)
		if err != nil {
			t.Fatal(err)
		}
		if why := unsafeReason(r.HTML); why != "" {
			t.Errorf("%q: sanitised output %q %s", md, r.HTML, why)
		}
	}
}

// safeURL: relative, or http, https or mailto, as a browser reads the
// scheme (control characters and whitespace inside it are dropped).
func safeURL(v string) bool {
	v = html.UnescapeString(v)
	v = strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f {
			return -1
		}
		return r
	}, v)
	scheme, _, ok := strings.Cut(v, ":")
	if !ok || strings.ContainsAny(scheme, "/?#") {
		return true // no scheme: a relative address
	}
	switch strings.ToLower(scheme) {
	case "http", "https", "mailto":
		return true
	}
	return false
}
