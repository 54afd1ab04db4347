package article

import (
	"bytes"
	"fmt"
	"html"
	"strings"
	"unicode/utf8"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	goldhtml "github.com/yuin/goldmark/renderer/html"
)

// The Markdown pipeline, built once and shared (goldmark's Markdown and
// bluemonday's policies are safe for concurrent use once built).
//
// goldmark renders GFM (tables, strikethrough, autolinks, task lists)
// with ids on headings, and passes raw HTML through (WithUnsafe): authors
// may write the odd <sup> or <details>, and whether any tag or attribute
// survives is decided in one place only, by bluemonday's UGC policy
// applied to the whole rendered document. goldmark's own filtering of raw
// HTML and dangerous links would hide a gap in that policy from the
// tests instead of closing it.
var (
	markdown = goldmark.New(
		goldmark.WithExtensions(extension.GFM),
		goldmark.WithParserOptions(parser.WithAutoHeadingID()),
		goldmark.WithRendererOptions(goldhtml.WithUnsafe()),
	)
	ugc = bluemonday.UGCPolicy()
	// plain strips every tag, for the text that excerpts and word counts
	// are made of.
	plain = bluemonday.StrictPolicy()
)

// wordsPerMinute is the reading speed of ReadingMinutes (Medium's).
const wordsPerMinute = 265

// excerptLen bounds a generated excerpt, in characters.
const excerptLen = 280

// rendered is what an article's body derives.
type rendered struct {
	HTML    string // sanitised
	Text    string // the HTML's text, whitespace collapsed
	Words   int
	Minutes int
}

// unsafeHTML is goldmark's output before sanitising: only for render and
// for the tests that show a dangerous input does reach the sanitiser.
func unsafeHTML(md string) (string, error) {
	var buf bytes.Buffer
	if err := markdown.Convert([]byte(md), &buf); err != nil {
		return "", fmt.Errorf("render markdown: %w", err)
	}
	return buf.String(), nil
}

// render turns an article's Markdown into its sanitised HTML, its text,
// word count and reading time.
func render(md string) (rendered, error) {
	raw, err := unsafeHTML(md)
	if err != nil {
		return rendered{}, err
	}
	r := rendered{HTML: ugc.Sanitize(raw)}
	words := strings.Fields(html.UnescapeString(plain.Sanitize(r.HTML)))
	r.Text, r.Words = strings.Join(words, " "), len(words)
	if r.Words > 0 {
		r.Minutes = (r.Words + wordsPerMinute - 1) / wordsPerMinute
	}
	return r, nil
}

// excerptFrom cuts text to at most excerptLen characters, at a word
// boundary, with an ellipsis when it cut.
func excerptFrom(text string) string {
	if utf8.RuneCountInString(text) <= excerptLen {
		return text
	}
	cut := text
	for i := range text {
		if utf8.RuneCountInString(text[:i]) == excerptLen {
			cut = text[:i]
			break
		}
	}
	if sp := strings.LastIndexByte(cut, ' '); sp > 0 {
		cut = cut[:sp]
	}
	return strings.TrimRight(cut, " ,;:.-–—") + "…"
}
