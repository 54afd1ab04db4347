package amqp

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	amqp091 "github.com/rabbitmq/amqp091-go"
	"github.com/shopengine/shop/internal/bus"
)

func TestRequestDeadline(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	at := func(ms int64) time.Time { return now.Add(time.Duration(ms) * time.Millisecond) }
	cases := []struct {
		name string
		d    amqp091.Delivery
		want time.Time
	}{
		{"nothing", amqp091.Delivery{}, now.Add(bus.DefaultTimeout)},
		{"header", amqp091.Delivery{Headers: amqp091.Table{HeaderDeadline: at(300).UnixMilli()}}, at(300)},
		{"header int32", amqp091.Delivery{Headers: amqp091.Table{HeaderDeadline: int32(5)}}, time.UnixMilli(5)},
		{"passed", amqp091.Delivery{Headers: amqp091.Table{HeaderDeadline: at(-1).UnixMilli()}}, at(-1)},
		{"expiration", amqp091.Delivery{Expiration: "250"}, at(250)},
		{"expiration bounds a skewed header", amqp091.Delivery{Expiration: "250", Headers: amqp091.Table{HeaderDeadline: at(5000).UnixMilli()}}, at(250)},
		{"header earlier than expiration", amqp091.Delivery{Expiration: "250", Headers: amqp091.Table{HeaderDeadline: at(100).UnixMilli()}}, at(100)},
		{"bad types", amqp091.Delivery{Expiration: "soon", Headers: amqp091.Table{HeaderDeadline: "tomorrow"}}, now.Add(bus.DefaultTimeout)},
		{"negative expiration", amqp091.Delivery{Expiration: "-5"}, now.Add(bus.DefaultTimeout)},
	}
	for _, tc := range cases {
		if got := requestDeadline(&tc.d, now); !got.Equal(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestExpiration(t *testing.T) {
	if got := expiration(time.Now().Add(-time.Second)); got != "1" {
		t.Errorf("passed deadline: %q", got)
	}
	if got := expiration(time.Now().Add(2 * time.Second)); got != "2000" && got != "1999" {
		t.Errorf("2s: %q", got)
	}
}

func TestReplyError(t *testing.T) {
	if err := replyError(nil, "q", "op"); err != nil {
		t.Fatal(err)
	}
	err := replyError(amqp091.Table{HeaderErrorCode: "conflict", HeaderErrorMessage: "taken"}, "q", "op")
	if err == nil || err.Code != bus.CodeConflict || err.Message != "taken" {
		t.Fatalf("%#v", err)
	}
	err = replyError(errorHeaders(bus.RetryLater(bus.CodeThrottled, 1500*time.Millisecond, "slow down")), "q", "op")
	if err == nil || err.Code != bus.CodeThrottled || err.RetryAfter != 1500*time.Millisecond {
		t.Fatalf("retry-after lost: %#v", err)
	}
	for _, h := range []amqp091.Table{{HeaderErrorCode: "weird"}, {HeaderErrorCode: int64(3)}} {
		if err := replyError(h, "q", "op"); err == nil || err.Code != bus.CodeInternal {
			t.Fatalf("%v: %v", h, err)
		}
	}
}

func TestTruncate(t *testing.T) {
	s := strings.Repeat("é", 10) // 2 bytes each
	for n := range 21 {
		got := truncate(s, n)
		if !utf8.ValidString(got) || len(got) > n+len("…") {
			t.Fatalf("truncate(%d) = %q", n, got)
		}
	}
	if truncate("short", 10) != "short" {
		t.Fatal("short string changed")
	}
}

func TestNames(t *testing.T) {
	n := names{prefix: "p."}
	if got := n.request("cart"); got != "p.shop.cart" {
		t.Error(got)
	}
	if got := n.subscription("seo", "product.*"); got != "p.shop.ev.seo.product.*" {
		t.Error(got)
	}
	group := strings.Repeat("g", 100)
	long := strings.Repeat("word.", 39) + "#"
	a, b := n.subscription(group, long), n.subscription(group, long+".x")
	if len(a)+len(".dlq") > 255 || a == b || !strings.HasPrefix(a, "p.shop.ev."+group+".h-") {
		t.Errorf("long patterns: %q, %q", a, b)
	}
}
