package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"html"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/shopengine/shop/internal/contract"
)

// placeholderPrefix is where the shop draws a product's picture when it
// has none (the seeder's sample products): /media/product/<slug>.svg.
const placeholderPrefix = "/media/product/"

// imageOf is the picture of a product in a list: its first image, used as
// it is, or the shop's own drawing of it, so that no image is ever broken.
func imageOf(p contract.ProductSummary) contract.Image {
	if p.Image != nil && p.Image.URL != "" {
		return *p.Image
	}
	return contract.Image{URL: placeholderPrefix + p.Slug + ".svg", Alt: p.Name}
}

// imagesOf is a product's gallery: its images, or the drawing.
func imagesOf(p contract.Product) []contract.Image {
	if len(p.Images) > 0 {
		return p.Images
	}
	return []contract.Image{{URL: placeholderPrefix + p.Slug + ".svg", Alt: p.Name}}
}

// maxPlaceholderSlug bounds the slug a drawing is made from.
const maxPlaceholderSlug = 200

// productSVG serves the drawing of a product: two colours from a hash of
// its slug and the initials of its words. It depends on the slug alone, so
// it needs no bus call and is cached by browsers for a day (ETag too).
func (m *Module) productSVG(w http.ResponseWriter, r *http.Request) {
	slug, ok := strings.CutSuffix(chi.URLParam(r, "file"), ".svg")
	if !ok || slug == "" || len(slug) > maxPlaceholderSlug || !utf8.ValidString(slug) || strings.ContainsAny(slug, "/\\") {
		m.renderError(w, r, http.StatusNotFound, "No such picture", "There is no picture at this address.")
		return
	}
	svg := placeholderSVG(slug)
	serveBytes(w, r, "image/svg+xml", svg, "public, max-age=86400")
}

// placeholderSVG draws slug: a diagonal gradient between two hues of its
// hash, a soft circle, and up to two initials.
func placeholderSVG(slug string) []byte {
	h := fnv.New64a()
	h.Write([]byte(slug))
	sum := h.Sum64()
	hue1 := sum % 360
	hue2 := (hue1 + 40 + (sum>>9)%80) % 360
	cx, cy := 80+(sum>>17)%240, 80+(sum>>25)%240
	initials := initialsOf(slug)
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 400" width="400" height="400" role="img" aria-label="%s">`, html.EscapeString(initials))
	fmt.Fprintf(&b, `<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="hsl(%d,70%%,68%%)"/><stop offset="1" stop-color="hsl(%d,55%%,42%%)"/></linearGradient></defs>`, hue1, hue2)
	b.WriteString(`<rect width="400" height="400" fill="url(#g)"/>`)
	fmt.Fprintf(&b, `<circle cx="%d" cy="%d" r="150" fill="#fff" fill-opacity="0.13"/>`, cx, cy)
	fmt.Fprintf(&b, `<text x="200" y="245" font-family="system-ui,-apple-system,Segoe UI,sans-serif" font-size="136" font-weight="700" fill="#fff" fill-opacity="0.92" text-anchor="middle">%s</text></svg>`, html.EscapeString(initials))
	return b.Bytes()
}

// initialsOf takes the first letters of the first and last words of slug
// that are not numbers ("bold-linen-shirt-12" → "BS").
func initialsOf(slug string) string {
	var words []string
	for _, w := range strings.Split(slug, "-") {
		if r, _ := utf8.DecodeRuneInString(w); w != "" && !unicode.IsDigit(r) {
			words = append(words, w)
		}
	}
	first := func(w string) string { r, _ := utf8.DecodeRuneInString(w); return string(unicode.ToUpper(r)) }
	switch len(words) {
	case 0:
		return "?"
	case 1:
		return first(words[0])
	}
	return first(words[0]) + first(words[len(words)-1])
}

// staticFile serves web/static: with ETag (the content's hash) and
// Cache-Control, long and immutable when the URL carries the current hash
// (?v=, as the asset template function writes it), short otherwise.
func (m *Module) staticFile(w http.ResponseWriter, r *http.Request) {
	name := path.Clean("/" + chi.URLParam(r, "*"))[1:]
	data, err := fs.ReadFile(m.cfg.Assets.FS, "static/"+name)
	if err != nil || name == "" {
		m.renderError(w, r, http.StatusNotFound, "Not found", "There is no file at this address.")
		return
	}
	cache := "public, max-age=300"
	if v := r.URL.Query().Get("v"); v != "" && v == contentHash(data) {
		cache = "public, max-age=31536000, immutable"
	}
	serveBytes(w, r, "", data, cache)
}

// contentHash is the short hash of a static file, in its URL and ETag.
func contentHash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:6])
}

// serveBytes answers with data, its ETag and cache policy; a matching
// If-None-Match is a 304 (http.ServeContent). contentType "" is guessed
// from the name's extension.
func serveBytes(w http.ResponseWriter, r *http.Request, contentType string, data []byte, cache string) {
	h := w.Header()
	h.Set("ETag", `"`+contentHash(data)+`"`)
	h.Set("Cache-Control", cache)
	h.Set("X-Content-Type-Options", "nosniff")
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	http.ServeContent(w, r, path.Base(r.URL.Path), time.Time{}, bytes.NewReader(data))
}
