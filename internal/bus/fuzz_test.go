package bus

import (
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeStrict feeds arbitrary bytes to the strict decoder every
// request body goes through (HTTP and bus). It must never panic; what it
// accepts is valid UTF-8 and survives a round trip unchanged; what it
// refuses is refused as invalid.
func FuzzDecodeStrict(f *testing.F) {
	for _, seed := range []string{
		`{"name":"x","qty":2,"tags":["a"],"inner":{"ok":true}}`,
		`{"name":{"$gt":""}}`, `{"$where":"1"}`, `[1,2]`, `"s"`, `{} {}`, `{"name":"a\u0000b"}`,
		"{\"name\":\"a\xffb\"}", `{"qty":1e400}`, `{"qty":-0}`, `{"inner":{"extra":1}}`, ``,
	} {
		f.Add([]byte(seed))
	}
	type inner struct {
		OK bool `json:"ok"`
	}
	type req struct {
		Name  string   `json:"name"`
		Qty   int      `json:"qty"`
		Tags  []string `json:"tags"`
		Inner *inner   `json:"inner"`
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v req
		err := DecodeStrict(body, &v)
		if err != nil {
			if CodeOf(err) != CodeInvalid {
				t.Fatalf("DecodeStrict(%q): code %s, want invalid", body, CodeOf(err))
			}
			return
		}
		if !utf8.Valid(body) {
			t.Fatalf("DecodeStrict accepted invalid UTF-8 %q", body)
		}
		again, _ := json.Marshal(v)
		var w req
		if err := DecodeStrict(again, &w); err != nil || !reflect.DeepEqual(v, w) {
			t.Fatalf("round trip of %q: %+v -> %s -> %+v, %v", body, v, again, w, err)
		}
	})
}
