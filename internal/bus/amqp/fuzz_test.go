package amqp

import (
	"testing"
	"time"
	"unicode/utf8"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/shopengine/shop/internal/bus"
)

// FuzzEnvelope decodes what a peer (or anyone with access to the broker)
// can put in a message's envelope: trace id, principal, deadline and
// expiration, and a reply's error headers. The decoders must never panic,
// must keep deadlines sane, and must turn a bad error header into an
// internal error rather than trusting it.
func FuzzEnvelope(f *testing.F) {
	f.Add("trace-1", "user:01:customer:s", int64(1_700_000_000_300), "250", "not_found", "no such thing", int64(0))
	f.Add("", "", int64(-1), "-5", "", "", int64(-7))
	f.Add("\xff\xfe", "machine:seeder", int64(0), "soon", "bogus", "\x00", int64(1<<62))
	f.Fuzz(func(t *testing.T, trace, principal string, deadline int64, exp, code, msg string, retry int64) {
		h := amqp091.Table{HeaderTraceID: trace, HeaderPrincipal: principal, HeaderDeadline: deadline,
			HeaderErrorCode: code, HeaderErrorMessage: msg, HeaderRetryAfter: retry}
		m := metaFrom(h)
		if m.TraceID != trace || m.Principal != principal {
			t.Fatalf("metaFrom lost the headers: %+v", m)
		}
		if err := checkMeta(m); err == nil && (len(trace) > maxMetaLen || len(principal) > maxMetaLen) {
			t.Fatalf("checkMeta accepted %d/%d bytes of meta", len(trace), len(principal))
		}
		now := time.UnixMilli(1_700_000_000_000)
		d := requestDeadline(&amqp091.Delivery{Headers: h, Expiration: exp}, now)
		if d.After(now.Add(24 * time.Hour)) {
			t.Fatalf("deadline %v from header %d / expiration %q is beyond a day", d, deadline, exp)
		}
		e := replyError(h, "q", "op")
		switch {
		case code == "" && e != nil && e.Code != bus.CodeInternal:
			t.Fatalf("empty code gave %+v", e)
		case e != nil && !e.Code.Valid():
			t.Fatalf("replyError passed on an unknown code: %+v", e)
		case e != nil && e.RetryAfter < 0:
			t.Fatalf("negative retry-after: %+v", e)
		}
		if e != nil && utf8.ValidString(msg) && e.Code == bus.Code(code) && e.Message != msg {
			t.Fatalf("message %q became %q", msg, e.Message)
		}
	})
}
