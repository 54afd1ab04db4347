package filter

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/shopengine/shop/internal/contract"
)

// TestProductCodecRoundTrip proves the binary form gives back the
// document it was made of, for generated products and for attribute
// values of every JSON type, and that a JSON document is still read.
func TestProductCodecRoundTrip(t *testing.T) {
	g := newGenCatalog(7)
	docs := []productDoc{{Name: "Empty"}}
	for i := range 200 {
		docs = append(docs, g.product(i))
	}
	odd := g.product(999)
	odd.Attributes["nested"] = map[string]any{"a": []any{1.0, "b"}}
	odd.Attributes["mixed"] = []any{"x", 2.0}
	odd.Attributes["none"] = nil
	docs = append(docs, odd)
	for i, want := range docs {
		body, err := encodeProduct(want)
		if err != nil {
			t.Fatalf("doc %d: encode: %v", i, err)
		}
		got, err := decodeProduct(body)
		if err != nil {
			t.Fatalf("doc %d: decode: %v", i, err)
		}
		normalise(&want)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("doc %d: round trip\n got %#v\nwant %#v", i, got, want)
		}
		asJSON, _ := json.Marshal(want)
		fromJSON, err := decodeProduct(asJSON)
		if err != nil || !reflect.DeepEqual(fromJSON.Attributes, want.Attributes) || fromJSON.Name != want.Name {
			t.Fatalf("doc %d: JSON document read as %#v, %v", i, fromJSON, err)
		}
	}
}

// normalise is what a round trip makes of d: empty lists and maps nil,
// category ids never nil.
func normalise(d *productDoc) {
	if len(d.Attributes) == 0 {
		d.Attributes = nil
	}
	if d.CategoryIDs == nil {
		d.CategoryIDs = []string{}
	}
	if len(d.Options) == 0 {
		d.Options = nil
	}
	if len(d.Stock) == 0 {
		d.Stock = nil
	}
}

// TestProductCodecRefusesBrokenBodies proves every truncation of a
// document and an unknown version byte are errors, not panics or
// half-read documents.
func TestProductCodecRefusesBrokenBodies(t *testing.T) {
	doc := newGenCatalog(3).product(1)
	doc.Attributes["features"] = []any{"feature_1", "feature_2"}
	doc.Image = &contract.Image{URL: "https://img.example.com/x.jpg", Alt: "x"}
	raw, err := encodeProductBinary(doc)
	if err != nil {
		t.Fatal(err)
	}
	quoted := func(b []byte) []byte { return []byte(`"` + base64.StdEncoding.EncodeToString(b) + `"`) }
	for n := range len(raw) {
		if _, err := decodeProduct(quoted(raw[:n])); err == nil {
			t.Fatalf("a body cut at %d of %d bytes decoded without error", n, len(raw))
		}
	}
	for _, bad := range [][]byte{quoted(append([]byte{99}, raw[1:]...)), []byte(`"not base64!"`), []byte(`"`), []byte(`12`)} {
		if _, err := decodeProduct(bad); err == nil {
			t.Fatalf("%.20q decoded without error", bad)
		}
	}
	body, _ := encodeProduct(doc)
	if !json.Valid(body) {
		t.Fatalf("the feed body %.40q is not JSON", body)
	}
}
