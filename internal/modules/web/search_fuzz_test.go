package web

import (
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
)

// FuzzSearchQuery feeds arbitrary query strings to the search grammar
// (GET /api/v1/search and every listing page). It must never panic; a
// refusal is invalid with a short message, whatever the input's size; an
// accepted query has clean facet values and prices in range, and the
// state the storefront re-encodes into its links reads back as the same
// request.
func FuzzSearchQuery(f *testing.F) {
	for _, seed := range []string{
		"category=lamps&q=café&f.colour=red,blue&f.colour=green&price=1000-5000&in_stock=1&sort=price_asc&page=2&page_size=20",
		"price=-5000", "price=10-", "price=-", "price=5-1", "f.=x", "f.colour=,,", "page=999999999999", "in_stock=yes",
		"q=%24gt&q=2", "q=%00%ff", "unknown=1", "f.a%2Cb=c", "price=1e3-2", "page_size=-1",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		req, err := searchRequest(q)
		if err != nil {
			if bus.CodeOf(err) != bus.CodeInvalid {
				t.Fatalf("%q: %v, want invalid", raw, err)
			}
			if n := len(err.Error()); n > 300 {
				t.Fatalf("%q: a %d-byte error message: quote less of the input", raw, n)
			}
			return
		}
		for code, vs := range req.Facets {
			for _, v := range vs {
				if v == "" || v != strings.TrimSpace(v) || strings.Contains(v, ",") {
					t.Fatalf("%q: facet %s value %q", raw, code, v)
				}
			}
		}
		for _, p := range []*int64{req.PriceMin, req.PriceMax} {
			if p != nil && (*p < 0 || *p > contract.MaxPrice) {
				t.Fatalf("%q: price %d out of range", raw, *p)
			}
		}
		st := listingState(q)
		want, wantErr := searchRequest(st)
		again, err := url.ParseQuery(strings.TrimPrefix(encodeState("", st), "?"))
		if err != nil {
			t.Fatalf("%q: re-encoded state does not parse: %v", raw, err)
		}
		got, gotErr := searchRequest(again)
		if (wantErr == nil) != (gotErr == nil) || !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: re-encoded state reads %+v (%v), want %+v (%v)", raw, got, gotErr, want, wantErr)
		}
	})
}
