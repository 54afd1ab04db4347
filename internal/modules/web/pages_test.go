package web

import (
	"bytes"
	"errors"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
)

func TestFormatMoney(t *testing.T) {
	for _, c := range []struct {
		amount   int64
		currency string
		want     string
	}{
		{1250, "EUR", "€12.50"},
		{5, "EUR", "€0.05"},
		{0, "USD", "$0.00"},
		{123456789, "GBP", "£1,234,567.89"},
		{-1999, "EUR", "-€19.99"},
		{1500, "JPY", "¥1,500"},
		{12345, "KWD", "KWD 12.345"},
		{100000, "CHF", "CHF 1,000.00"},
	} {
		if got := FormatMoney(c.amount, c.currency); got != c.want {
			t.Errorf("FormatMoney(%d, %s) = %q, want %q", c.amount, c.currency, got, c.want)
		}
	}
	if got := priceRange(500, 900, "EUR"); got != "€5.00 – €9.00" {
		t.Errorf("range: %q", got)
	}
	if got := priceRange(500, 500, "EUR"); got != "€5.00" {
		t.Errorf("one price: %q", got)
	}
}

func variant(id string, stock int64, opts ...string) contract.Variant {
	v := contract.Variant{ID: id, SKU: "SKU-" + id, Stock: stock, Price: 100}
	for i := 0; i+1 < len(opts); i += 2 {
		v.Options = append(v.Options, contract.VariantOption{GroupCode: opts[i], ValueCode: opts[i+1], Label: strings.ToUpper(opts[i+1])})
	}
	return v
}

func TestPickVariant(t *testing.T) {
	vs := []contract.Variant{
		variant("1", 0, "size", "s", "color", "red"),
		variant("2", 4, "size", "s", "color", "blue"),
		variant("3", 9, "size", "m", "color", "red"),
	}
	groups, v, problem := pickVariant(vs, url.Values{})
	if v.ID != "2" || problem != "" {
		t.Fatalf("no choice: %s %q, want the first in stock", v.ID, problem)
	}
	if len(groups) != 2 || groups[0].Code != "size" || len(groups[0].Values) != 2 || len(groups[1].Values) != 2 {
		t.Fatalf("groups %+v", groups)
	}
	if !groups[0].Values[0].Selected || !groups[1].Values[1].Selected {
		t.Fatalf("the chosen variant's values are not selected: %+v", groups)
	}
	if _, v, _ = pickVariant(vs, url.Values{"size": {"m"}, "color": {"red"}}); v.ID != "3" {
		t.Fatalf("m/red: %s", v.ID)
	}
	if _, v, _ = pickVariant(vs, url.Values{"size": {"s"}, "color": {"red"}}); v.ID != "1" {
		t.Fatalf("s/red (out of stock, but asked for): %s", v.ID)
	}
	if _, v, problem = pickVariant(vs, url.Values{"size": {"m"}, "color": {"blue"}}); v.ID != "2" || problem == "" {
		t.Fatalf("impossible m/blue: %s %q", v.ID, problem)
	}
	if _, v, problem = pickVariant(vs, url.Values{"bogus": {"x"}}); v.ID != "2" || problem != "" {
		t.Fatalf("unknown group ignored: %s %q", v.ID, problem)
	}
	if g, v, _ := pickVariant([]contract.Variant{variant("only", 1)}, nil); len(g) != 0 || v.ID != "only" {
		t.Fatalf("default variant: %+v %s", g, v.ID)
	}
}

func TestFormErrorsGoBesideTheirFields(t *testing.T) {
	for _, c := range []struct {
		err          error
		field, error string
		status       int
	}{
		{bus.Errorf(bus.CodeInvalid, "email: required"), "email", "Required.", 400},
		{bus.Errorf(bus.CodeInvalid, `email "x": want name@domain`), "email", "Want name@domain.", 400},
		{bus.Errorf(bus.CodeInvalid, "password: at least 8 characters, please"), "password", "At least 8 characters, please.", 400},
		{bus.Errorf(bus.CodeInvalid, "client.ip: not an IP address"), "", "Client.ip: not an IP address.", 400},
		{bus.Errorf(bus.CodeConflict, "this email cannot be registered; sign in"), "email", "This email cannot be registered; sign in.", 409},
		{bus.Errorf(bus.CodeUnauthorized, "wrong email or password"), "", "Wrong email or password.", 401},
		{bus.Errorf(bus.CodeUnavailable, "auth: no consumer"), "", "The shop cannot do this right now; please try again in a moment.", 503},
		{errors.New("boom"), "", "Something went wrong; please try again.", 500},
	} {
		f := newForm(url.Values{"email": {"kept@example.com"}, "password": {"secret"}}, "email")
		rec := httptest.NewRecorder()
		status := f.fail(rec, c.err, "email", "password")
		got := f.Error
		if c.field != "" {
			got = f.Errors[c.field]
		}
		if status != c.status || got != c.error {
			t.Errorf("%v: status %d, %q=%q (form %q), want %d %q", c.err, status, c.field, got, f.Error, c.status, c.error)
		}
		if f.Values.Get("email") != "kept@example.com" || f.Values.Get("password") != "" {
			t.Errorf("values kept: %v", f.Values)
		}
		if c.status == 503 && rec.Header().Get("Retry-After") == "" {
			t.Errorf("503 without Retry-After")
		}
	}
}

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"/account": "/account", "/p/x?size=m": "/p/x?size=m", "": "/", "https://evil.example/": "/",
		"//evil.example": "/", "/\\evil.example": "/", "account": "/", "/a\r\nSet-Cookie: x": "/",
	} {
		if got := localPath(in, "/"); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPlaceholderPictures(t *testing.T) {
	a, b := placeholderSVG("bold-linen-shirt-12"), placeholderSVG("bold-linen-shirt-13")
	if !bytes.Equal(a, placeholderSVG("bold-linen-shirt-12")) {
		t.Fatal("not deterministic")
	}
	if bytes.Equal(a, b) {
		t.Fatal("two products, one picture")
	}
	if !bytes.Contains(a, []byte(">BS</text>")) {
		t.Fatalf("initials: %s", a)
	}
	if s := placeholderSVG(`<script>-"&`); bytes.Contains(s, []byte("<script")) {
		t.Fatalf("slug not escaped: %s", s)
	}
	for slug, want := range map[string]string{"mug": "M", "42": "?", "über-tasse-9": "ÜT", "": "?"} {
		if got := initialsOf(slug); got != want {
			t.Errorf("initialsOf(%q) = %q, want %q", slug, got, want)
		}
	}
	if img := imageOf(contract.ProductSummary{Slug: "x", Name: "X"}); img.URL != "/media/product/x.svg" || img.Alt != "X" {
		t.Fatalf("no image: %+v", img)
	}
	real := &contract.Image{URL: "https://cdn.example/x.jpg", Alt: "x"}
	if img := imageOf(contract.ProductSummary{Slug: "x", Image: real}); img != *real {
		t.Fatalf("a real image is not used as it is: %+v", img)
	}
}

func TestGathererDegradesOptionalPartsAndFailsRequiredOnes(t *testing.T) {
	m := &Module{cfg: Config{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	r := httptest.NewRequest("GET", "/", nil)
	g := m.gather(r)
	var got string
	g.Required("a", func(*http.Request) error { got = "a"; return nil })
	g.Optional("facets", "Filters are unavailable.", func(*http.Request) error { return bus.Errorf(bus.CodeUnavailable, "down") })
	g.Optional("menu", "", func(*http.Request) error { return bus.Errorf(bus.CodeTimeout, "slow") })
	if err := g.Wait(); err != nil || got != "a" {
		t.Fatalf("optional failures failed the page: %v", err)
	}
	if len(g.degraded) != 2 || len(g.notices) != 1 || g.notices[0].Text != "Filters are unavailable." {
		t.Fatalf("degraded %v, notices %+v", g.degraded, g.notices)
	}
	g = m.gather(r)
	g.Required("product", func(*http.Request) error { return bus.Errorf(bus.CodeNotFound, "no such product") })
	g.Required("stock", func(*http.Request) error { return bus.Errorf(bus.CodeUnavailable, "down") })
	if err := g.Wait(); bus.CodeOf(err) != bus.CodeUnavailable {
		t.Fatalf("a required part unavailable must win over not found (503, not 404): %v", err)
	}
}

// TestDevAssetsAreReadPerRequest: with live assets an edited template
// shows at the next render, without a restart; embedded ones are parsed
// once.
func TestDevAssetsAreReadPerRequest(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("templates/layout.html", `<main>{{template "content" .}}</main>`)
	write("templates/partials/none.html", `{{define "nothing"}}{{end}}`)
	write("templates/pages/home.html", `{{define "content"}}first{{end}}`)
	write("static/shop.css", `body{}`)
	s, err := newSite(Assets{FS: os.DirFS(dir), Live: true})
	if err != nil {
		t.Fatal(err)
	}
	render := func(s *site) string {
		tpl, err := s.page("home")
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := tpl.ExecuteTemplate(&b, "layout.html", &view{}); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	if got := render(s); got != "<main>first</main>" {
		t.Fatalf("first render: %q", got)
	}
	write("templates/pages/home.html", `{{define "content"}}edited{{end}}`)
	if got := render(s); got != "<main>edited</main>" {
		t.Fatalf("live assets not re-read: %q", got)
	}

	fixed := fstest.MapFS{
		"templates/layout.html":       {Data: []byte(`{{template "content" .}}`)},
		"templates/partials/x.html":   {Data: []byte(`{{define "x"}}{{end}}`)},
		"templates/pages/home.html":   {Data: []byte(`{{define "content"}}embedded{{end}}`)},
		"static/shop.css":             {Data: []byte(`body{}`)},
		"templates/pages/broken.html": {Data: []byte(`{{define "content"}}ok{{end}}`)},
	}
	e, err := newSite(Assets{FS: fixed})
	if err != nil {
		t.Fatal(err)
	}
	fixed["templates/pages/home.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}changed{{end}}`)}
	if got := render(e); got != "embedded" {
		t.Fatalf("embedded assets re-parsed: %q", got)
	}
	fixed["templates/pages/broken.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{.Nope`)}
	if _, err := newSite(Assets{FS: fixed}); err == nil || !strings.Contains(err.Error(), "broken.html") {
		t.Fatalf("a broken template must fail the start, naming it: %v", err)
	}
}

func TestSEOMetaOverridesThePagesFieldByField(t *testing.T) {
	page := PageMeta{Title: "Boot", Description: "A boot.", Canonical: "/p/boot", OGType: "product"}
	if got := mergeMeta(page, nil); !reflect.DeepEqual(got, page) {
		t.Fatalf("without seo: %+v", got)
	}
	got := mergeMeta(page, &PageMeta{Title: "Waterproof boot", Canonical: "/footwear/boot", JSONLD: []template.JS{`{"@type":"Product"}`}})
	want := PageMeta{Title: "Waterproof boot", Description: "A boot.", Canonical: "/footwear/boot", OGType: "product", JSONLD: []template.JS{`{"@type":"Product"}`}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("merged %+v, want %+v", got, want)
	}
}
