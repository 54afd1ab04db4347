package storefronttest

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Client is an HTTP client of the storefront at Base with a cookie jar
// that does not follow redirects, so each step of POST-redirect-GET is
// seen: the tests that read pages as HTML rather than in a browser.
type Client struct {
	T    testing.TB
	Base string
	HTTP *http.Client
}

// NewClient returns a client of the storefront at base with an empty jar.
func NewClient(t testing.TB, base string) *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{T: t, Base: strings.TrimSuffix(base, "/"), HTTP: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Page is one answer of the storefront.
type Page struct {
	Status int
	Header http.Header
	Body   string
}

// Do sends method to path with form (nil: no body) and headers (name,
// value pairs), failing the test when no answer comes.
func (c *Client) Do(method, path string, form url.Values, headers ...string) Page {
	c.T.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.Base+path, body)
	if err != nil {
		c.T.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		c.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.T.Fatalf("%s %s: read: %v", method, path, err)
	}
	return Page{resp.StatusCode, resp.Header, string(raw)}
}

// Get fetches path.
func (c *Client) Get(path string) Page { c.T.Helper(); return c.Do("GET", path, nil) }

// Post sends a form as a browser on this site does (Sec-Fetch-Site:
// same-origin).
func (c *Client) Post(path string, form url.Values) Page {
	c.T.Helper()
	return c.Do("POST", path, form, "Sec-Fetch-Site", "same-origin", "Origin", c.Base)
}

// Has reports whether the page has status and every text.
func (p Page) Has(status int, texts ...string) bool {
	if p.Status != status {
		return false
	}
	for _, s := range texts {
		if !strings.Contains(p.Body, s) {
			return false
		}
	}
	return true
}

// Want fails unless the page has status and every text.
func (p Page) Want(t testing.TB, what string, status int, texts ...string) {
	t.Helper()
	if p.Status != status {
		t.Fatalf("%s: status %d, want %d; main:\n%.3000s", what, p.Status, status, p.Main())
	}
	for _, s := range texts {
		if !strings.Contains(p.Body, s) {
			t.Fatalf("%s: page lacks %q; main:\n%.3000s", what, s, p.Main())
		}
	}
}

// Lacks fails if the page has any of texts.
func (p Page) Lacks(t testing.TB, what string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(p.Body, s) {
			t.Fatalf("%s: page has %q; main:\n%.3000s", what, s, p.Main())
		}
	}
}

// Main is the page's content (the header is long), or the whole body.
func (p Page) Main() string {
	if i := strings.Index(p.Body, "<main"); i >= 0 {
		return p.Body[i:]
	}
	return p.Body
}

// InLayout checks that a page is rendered in the storefront layout.
func (p Page) InLayout(t testing.TB, what string) {
	t.Helper()
	if !strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") || !strings.Contains(p.Body, `<html lang="en">`) ||
		!strings.Contains(p.Body, `class="site-header"`) || !strings.Contains(p.Body, `action="/search"`) {
		t.Fatalf("%s: not a page in the layout (%s):\n%.2000s", what, p.Header.Get("Content-Type"), p.Body)
	}
}
