package bustest

import (
	"context"
	"strings"
	"testing"

	"github.com/shopengine/shop/internal/bus"
)

// Call makes a typed call for a test and fails it on error. It uses its own
// context (the bus's default deadline), so it also works in cleanups.
func Call[Req, Resp any](t testing.TB, b bus.Bus, e bus.Endpoint[Req, Resp], req Req) Resp {
	t.Helper()
	return CallAs(t, bus.Meta{}, b, e, req)
}

// CallAs is Call for a caller with meta (a principal, a trace id).
func CallAs[Req, Resp any](t testing.TB, meta bus.Meta, b bus.Bus, e bus.Endpoint[Req, Resp], req Req) Resp {
	t.Helper()
	resp, err := bus.Call(bus.WithMeta(context.Background(), meta), b, e, req)
	if err != nil {
		t.Fatalf("%s/%s %+v: %v", e.Queue, e.Op, req, err)
	}
	return resp
}

// CallErr makes a typed call that must fail with code, the error's message
// mentioning mention.
func CallErr[Req, Resp any](t testing.TB, b bus.Bus, e bus.Endpoint[Req, Resp], req Req, code bus.Code, mention string) {
	t.Helper()
	CallErrAs(t, bus.Meta{}, b, e, req, code, mention)
}

// CallErrAs is CallErr for a caller with meta.
func CallErrAs[Req, Resp any](t testing.TB, meta bus.Meta, b bus.Bus, e bus.Endpoint[Req, Resp], req Req, code bus.Code, mention string) {
	t.Helper()
	_, err := bus.Call(bus.WithMeta(context.Background(), meta), b, e, req)
	if bus.CodeOf(err) != code || !strings.Contains(err.Error(), mention) {
		t.Fatalf("%s/%s %+v: got %v, want %s mentioning %q", e.Queue, e.Op, req, err, code, mention)
	}
}
