package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, topic string
		want           bool
	}{
		{"a.b", "a.b", true},
		{"a.b", "a.c", false},
		{"a.*", "a.b", true},
		{"a.*", "a", false},
		{"a.*", "a.b.c", false},
		{"*.b", "a.b", true},
		{"a.#", "a", true},
		{"a.#", "a.b.c", true},
		{"#", "anything.at.all", true},
		{"#.c", "a.b.c", true},
		{"#.c", "c", true},
		{"#.c", "a.b", false},
		{"a.#.d", "a.b.c.d", true},
		{"a.#.d", "a.d", true},
		{"a.*.d", "a.d", false},
		{"product.*", "category.created", false},
	}
	for _, tt := range tests {
		if got := Match(tt.pattern, tt.topic); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.topic, got, tt.want)
		}
	}
}

func TestValidateTopicAndPattern(t *testing.T) {
	for _, bad := range []string{"", ".", "a.", ".a", "a..b", "a b", strings.Repeat("x", 201)} {
		if ValidateTopic(bad) == nil || ValidatePattern(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, wild := range []string{"a.*", "#", "a.#.b"} {
		if ValidateTopic(wild) == nil {
			t.Errorf("topic %q with a wildcard accepted", wild)
		}
		if err := ValidatePattern(wild); err != nil {
			t.Errorf("pattern %q: %v", wild, err)
		}
	}
}

func TestDecodeStrict(t *testing.T) {
	type inner struct {
		Qty int `json:"qty"`
	}
	type req struct {
		Name  string     `json:"name"`
		Tags  []string   `json:"tags"`
		Inner inner      `json:"inner"`
		At    *time.Time `json:"at"`
	}
	tests := []struct {
		body    string
		wantErr string // "" for success
	}{
		{`{"name":"x","tags":["a"],"inner":{"qty":2}}`, ""},
		{``, ""},
		{`  `, ""},
		{`{"name":`, "malformed JSON"},
		{`{"name":"x",}`, "malformed JSON"},
		{`{"nam":"x"}`, `unknown field "nam"`},
		{`{"inner":{"qty":1,"extra":1}}`, `unknown field "extra"`},
		{`{"name":{"$gt":""}}`, `field "name": expected string, got object`},
		{`{"inner":{"qty":"2"}}`, `field "inner.qty": expected int, got string`},
		{`{"tags":"a"}`, `field "tags"`},
		// A type's own UnmarshalJSON reports no field; the decoder finds it.
		{`{"name":"x","at":"tomorrow"}`, `field "at": parsing time "tomorrow"`},
		{`{"at":"2026-01-02T03:04:05Z"}`, ""},
		{`"just a string"`, "expected"},
		{`{"name":"x"} trailing`, "after the JSON value"},
	}
	for _, tt := range tests {
		var v req
		err := DecodeStrict([]byte(tt.body), &v)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("DecodeStrict(%s): %v", tt.body, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("DecodeStrict(%s) = %v, want error containing %q", tt.body, err, tt.wantErr)
			continue
		}
		if CodeOf(err) != CodeInvalid {
			t.Errorf("DecodeStrict(%s): code %s, want invalid", tt.body, CodeOf(err))
		}
	}
}

func TestErrorCodes(t *testing.T) {
	base := errors.New("disk full")
	tests := []struct {
		err  error
		want Code
	}{
		{nil, ""},
		{Errorf(CodeConflict, "version %d", 3), CodeConflict},
		{fmt.Errorf("save cart: %w", Errorf(CodeNotFound, "cart 1")), CodeNotFound},
		{fmt.Errorf("save: %w", context.DeadlineExceeded), CodeTimeout},
		{base, CodeInternal},
	}
	for _, tt := range tests {
		if got := CodeOf(tt.err); got != tt.want {
			t.Errorf("CodeOf(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
	wrapped := Errorf(CodeUnavailable, "store: %w", base)
	if !errors.Is(wrapped, base) || !errors.Is(wrapped, ErrUnavailable) || errors.Is(wrapped, ErrInternal) {
		t.Fatalf("errors.Is on %v is wrong", wrapped)
	}
	if got := AsError(fmt.Errorf("load cart 7: %w", ErrNotFound)); got.Code != CodeNotFound || got.Message != "load cart 7: not_found" {
		t.Fatalf("AsError kept %+v", got)
	}
	for _, c := range Codes {
		if !c.Valid() {
			t.Errorf("%s not valid", c)
		}
	}
	if Code("teapot").Valid() {
		t.Error("unknown code valid")
	}
}

func TestServiceDispatch(t *testing.T) {
	s := NewService("svc", "v1", nil)
	s.Handle("ok", func(context.Context, *Request) ([]byte, error) { return []byte(`{}`), nil })
	s.Handle("boom", func(context.Context, *Request) ([]byte, error) { panic("kaboom") })
	ctx := context.Background()
	if _, err := s.Dispatch(ctx, &Request{Op: "missing"}); err == nil || err.Code != CodeNotFound {
		t.Fatalf("unknown op: %v", err)
	}
	if _, err := s.Dispatch(ctx, &Request{Op: "boom"}); err == nil || err.Code != CodeInternal {
		t.Fatalf("panic: %v", err)
	}
	if _, err := s.Dispatch(ctx, &Request{Op: "ok", Body: make([]byte, MaxBodySize+1)}); err == nil || err.Code != CodeInvalid {
		t.Fatalf("oversize: %v", err)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Dispatch(done, &Request{Op: "ok"}); err == nil || err.Code != CodeTimeout {
		t.Fatalf("expired caller: %v", err)
	}
	if out, err := s.Dispatch(ctx, &Request{Op: "ok"}); err != nil || string(out) != `{}` {
		t.Fatalf("ok: %s %v", out, err)
	}
	info := s.Info()
	stats := map[string]EndpointInfo{}
	for _, e := range info.Endpoints {
		stats[e.Op] = e
	}
	if stats["ok"].Requests != 2 || stats["ok"].Errors != 1 || stats["boom"].Errors != 1 {
		t.Fatalf("stats %+v", info.Endpoints)
	}
}

func TestServiceTrackAndRecord(t *testing.T) {
	s := NewService("web", "v1", nil)
	s.Track("GET /things/{id}")
	s.Record("GET /things/{id}", 2*time.Millisecond, false)
	s.Record("GET /things/{id}", 4*time.Millisecond, true)
	s.Record("GET /things/42", time.Millisecond, false) // not tracked: not counted, not listed
	if s.handles() {
		t.Fatal("a service with only tracked endpoints handles requests")
	}
	if _, err := s.Dispatch(context.Background(), &Request{Op: "GET /things/{id}"}); err == nil || err.Code != CodeNotFound {
		t.Fatalf("dispatch to a tracked op: %v, want not_found", err)
	}
	info := s.Info()
	want := []EndpointInfo{{Op: "GET /things/{id}", Requests: 2, Errors: 1, MeanLatency: 3 * time.Millisecond}}
	if len(info.Endpoints) != 1 || info.Endpoints[0] != want[0] {
		t.Fatalf("endpoints %+v, want %+v", info.Endpoints, want)
	}
	s.Handle("get", func(context.Context, *Request) ([]byte, error) { return []byte(`{}`), nil })
	if !s.handles() {
		t.Fatal("a service with a handler does not handle requests")
	}
}
