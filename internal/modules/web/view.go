package web

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/shopengine/shop/internal/contract"
)

// shopName is the storefront's name in titles and the header.
const shopName = "shop"

// PageMeta is a page's metadata: <title>, description, canonical URL,
// robots and Open Graph. Pages fill what they know; the seo module's
// get_meta will fill it from its registry (see pageMeta) and whatever is
// left empty falls back to the defaults of withDefaults.
type PageMeta struct {
	Lang        string // <html lang>
	Title       string // without the shop's name, which the layout adds
	Description string
	Canonical   string // path or absolute URL; default: the request's path
	Robots      string // default "index,follow"
	OGType      string // default "website"
	OGImage     string
	// JSONLD is structured data from seo (already JSON, escaped by
	// jsonLD), each object in its own <script type="application/ld+json">.
	JSONLD []template.JS
}

// withDefaults fills what a page left empty.
func (pm PageMeta) withDefaults(r *http.Request) PageMeta {
	if pm.Lang == "" {
		pm.Lang = "en"
	}
	if strings.EqualFold(pm.Title, shopName) {
		pm.Title = "" // seo's home title is the shop's name, which the layout adds
	}
	if pm.Description == "" {
		pm.Description = "An open e-commerce shop: browse the catalogue, pick a variant, sign in to your account."
	}
	if pm.Canonical == "" {
		pm.Canonical = r.URL.Path
	}
	if pm.Robots == "" {
		pm.Robots = "index,follow"
	}
	if pm.OGType == "" {
		pm.OGType = "website"
	}
	return pm
}

// view is what every page template gets: the layout's parts (meta,
// header, notices) and the page's own data.
type view struct {
	Meta   PageMeta
	Header header
	// Notices are shown above the content (the outcome of a redirected
	// form, a degraded part of the page).
	Notices []notice
	// Degraded names the optional parts that could not be had (for logs
	// and tests: a data-degraded attribute on <main>).
	Degraded []string
	Page     any
	seo      *PageMeta // seo's metadata of the page's entity, when it answered
	// menuID is the number of the tree whose roots Header.Menu is (0:
	// none), which the render memo's key has instead of the menu.
	menuID uint64
}

// notice is one message above the content; Kind is info, success or warn.
type notice struct {
	Kind, Text string
}

// header is the header of every page.
type header struct {
	Menu     []contract.CategoryNode // the roots with their children
	Query    string                  // the search box's value
	SignedIn bool
	// Cart is the badge: nil shows none (no cart module, or it did not
	// answer in time).
	Cart *cartBadge
	Path string // the current path, for the login link's next=
}

// cartBadge is the cart's item count in the header.
type cartBadge struct{ Items int }

// templateFuncs are the functions the templates may call; asset gives a
// static file's URL with its content hash, so that it can be cached long.
func templateFuncs(asset func(string) string) template.FuncMap {
	return template.FuncMap{
		"asset":      asset,
		"money":      FormatMoney,
		"priceRange": priceRange,
		"imageOf":    imageOf,
		"imagesOf":   imagesOf,
		"catPath":    func(path []string) string { return "/" + strings.Join(path, "/") },
		"add":        func(a, b int) int { return a + b },
		"title":      titleCase,
		"query":      func(base string, kv ...any) string { return withQuery(base, kv...) },
		"errFor":     func(f form, name string) string { return f.Errors[name] },
		"valueOf":    func(f form, name string) string { return f.Values.Get(name) },
		"inStock":    func(n int64) bool { return n > 0 },
		"lowStock":   func(n int64) bool { return n > 0 && n < 5 },
		"join":       strings.Join,
		"field":      newField,
		"optional":   func(f fieldView) fieldView { f.Required = false; return f },
		"hint":       func(h string, f fieldView) fieldView { f.Hint = h; return f },
		"keep": func(f form, name, def string) form {
			if _, ok := f.Values[name]; !ok {
				f.Values = url.Values{name: {def}}
			}
			return f
		},
		"sortParam": func(code string) string {
			if code == sortChoices[0].Code {
				return ""
			}
			return code
		},
		"published": published,
		"fmtDate":   func(t time.Time) string { return t.UTC().Format("2 January 2006") },
		"fmtTime":   func(t time.Time) string { return t.UTC().Format("2 Jan 2006, 15:04 UTC") },
	}
}

// withQuery returns base with the key/value pairs as its query string,
// leaving out empty values (a sort or page that is the default).
func withQuery(base string, kv ...any) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		k := fmt.Sprint(kv[i])
		switch v := kv[i+1].(type) {
		case string:
			if v != "" {
				q.Set(k, v)
			}
		case int:
			if v > 1 {
				q.Set(k, fmt.Sprint(v))
			}
		default:
			q.Set(k, fmt.Sprint(v))
		}
	}
	if len(q) == 0 {
		return base
	}
	return base + "?" + q.Encode()
}

// titleCase makes an option group's code ("size") a label ("Size").
func titleCase(s string) string {
	if s == "" {
		return s
	}
	s = strings.ReplaceAll(s, "_", " ")
	return strings.ToUpper(s[:1]) + s[1:]
}

// fieldView is one labelled input of a form, with its kept value and its
// error.
type fieldView struct {
	Name, Label, Type, Auto, Value, Error, Hint string
	Required                                    bool
}

// newField is the field name of f (required unless made optional).
func newField(f form, name, label, typ, auto string) fieldView {
	return fieldView{Name: name, Label: label, Type: typ, Auto: auto, Value: f.Values.Get(name), Error: f.Errors[name], Required: true}
}
