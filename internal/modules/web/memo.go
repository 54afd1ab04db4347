package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"unicode/utf8"
)

// The render memo: executing the templates is most of a catalogue page's
// CPU (html/template escapes every action through reflection), and
// shoppers ask the same pages with the same data over and over. A page's
// HTML is a function of its template and its view only (the templates
// read nothing else, and their functions are pure), so a page rendered
// once is kept under its view's JSON encoding and served again for a
// view that encodes the same. That is exact, not a cache that can go
// stale: the view is gathered afresh from the modules for every request,
// and any change in it is another key. Encoding the view costs a small
// part of executing the templates.
//
// JSON is a faithful key for a view here: the templates read exported
// fields only, no type of a view has a field that encoding leaves out or
// a custom encoding (facetPanel's is its plain one, made once), and an empty slice or map reads the same as nil
// in a template, as omitempty treats them. The one loss is invalid UTF-8,
// which encoding/json folds to U+FFFD; every string of a view comes from
// a bus reply (JSON, so valid UTF-8) or from the request, so a request
// whose path or query is not valid UTF-8 is rendered without the memo.

const (
	// memoEntries and memoBytes bound the memo; when full it starts over
	// (the pages being asked refill it at once).
	memoEntries = 512
	memoBytes   = 64 << 20
)

// memoPages are the pages that may be remembered: the catalogue's, which
// every shopper sees alike. A shopper's own pages (cart, account, forms)
// would only fill the memo with entries nobody asks for again.
var memoPages = map[string]bool{"home": true, "category": true, "product": true, "search": true, "article": true, "blog": true}

// renderMemo holds rendered pages by their key (memoKey).
type renderMemo struct {
	mu    sync.Mutex
	pages map[string][]byte
	bytes int
}

func (c *renderMemo) get(key []byte) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	html, ok := c.pages[string(key)]
	return html, ok
}

func (c *renderMemo) put(key, html []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	size := len(key) + len(html)
	if size > memoBytes {
		return
	}
	if c.pages == nil || len(c.pages) >= memoEntries || c.bytes+size > memoBytes {
		c.pages, c.bytes = map[string][]byte{}, 0
	}
	if _, ok := c.pages[string(key)]; !ok {
		c.pages[string(key)] = html
		c.bytes += size
	}
}

// memoKey writes the key of page name rendered with v for r into buf
// and reports whether the page is to be remembered.
func memoKey(buf *bytes.Buffer, r *http.Request, status int, name string, v *view) bool {
	if status != http.StatusOK || !memoPages[name] || !validUTF8(r.URL) {
		return false
	}
	buf.WriteString(name)
	buf.WriteByte(0)
	if v.menuID != 0 {
		// The menu is the tree numbered menuID: its number stands for it.
		c := *v
		c.Header.Menu = nil
		v = &c
		buf.WriteString(strconv.FormatUint(v.menuID, 10))
	}
	buf.WriteByte(0)
	// A view JSON cannot hold is rendered every time.
	return json.NewEncoder(buf).Encode(v) == nil
}

// validUTF8 reports whether u's path and query decode to valid UTF-8.
func validUTF8(u *url.URL) bool {
	if !utf8.ValidString(u.Path) {
		return false
	}
	if u.RawQuery == "" {
		return true
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return false
	}
	for k, vs := range q {
		if !utf8.ValidString(k) {
			return false
		}
		for _, s := range vs {
			if !utf8.ValidString(s) {
				return false
			}
		}
	}
	return true
}

// renderBuffers are the buffers pages and their memo keys are written
// into (tens of kilobytes each: growing fresh buffers for every page was
// a quarter of a page's garbage, and the collector's work with it).
var renderBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func pooledBuffer() *bytes.Buffer { return renderBuffers.Get().(*bytes.Buffer) }

// releaseBuffers puts buffers back in the pool, but not one grown far
// past a page (a huge page once must not stay in memory for good).
func releaseBuffers(bufs ...*bytes.Buffer) {
	for _, b := range bufs {
		if b.Cap() > maxPooledBuffer {
			continue
		}
		b.Reset()
		renderBuffers.Put(b)
	}
}

// maxPooledBuffer is the largest buffer kept for reuse.
const maxPooledBuffer = 1 << 20
