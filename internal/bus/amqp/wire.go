package amqp

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	amqp091 "github.com/rabbitmq/amqp091-go"
	"github.com/shopengine/shop/internal/bus"
)

// The wire format, for anyone talking to the bus without this package.
//
// A request is published to the default exchange with routing key
// <prefix>shop.<queue>, mandatory, with properties CorrelationId, ReplyTo
// (direct reply-to), Type = op, ContentType application/json, Expiration =
// the caller's remaining deadline in ms, and the headers below. A reply goes
// to ReplyTo with the same CorrelationId; a failed call's reply has an empty
// body and the error code and message in headers.
const (
	// HeaderDeadline is the caller's absolute deadline, unix milliseconds
	// (int64). A request whose deadline has passed is not processed.
	HeaderDeadline = "x-deadline"
	// HeaderTraceID and HeaderPrincipal carry bus.Meta (strings).
	HeaderTraceID   = "x-trace-id"
	HeaderPrincipal = "x-principal"
	// HeaderErrorCode and HeaderErrorMessage carry a failed call's *bus.Error
	// on its reply (strings).
	HeaderErrorCode    = "x-error-code"
	HeaderErrorMessage = "x-error-message"
	// HeaderRetryAfter carries a failed call's RetryAfter in milliseconds
	// (int64), when it has one.
	HeaderRetryAfter = "x-retry-after"
	// HeaderPublished is an event's publication time, unix milliseconds
	// (int64); the Timestamp property has only second resolution.
	HeaderPublished = "x-published"

	// DirectReplyTo is RabbitMQ's pseudo-queue for replies without a reply
	// queue; the bus replies only to such addresses.
	DirectReplyTo = "amq.rabbitmq.reply-to"

	contentJSON = "application/json"
	typePing    = "ping"
	typePong    = "pong"
)

const (
	maxNameLen   = 255  // AMQP short string: queue names, routing keys, Type
	maxMetaLen   = 1024 // each Meta field; headers must fit one frame
	maxErrMsgLen = 4096 // error messages on replies, truncated beyond
	// dlqMaxLength bounds every dead-letter queue; the oldest messages go first.
	dlqMaxLength = 10_000
)

// names derives every queue and exchange name from the prefix.
type names struct{ prefix string }

// request is the queue of a module: <prefix>shop.<queue>.
func (n names) request(queue string) string { return n.prefix + "shop." + queue }

func (n names) events() string  { return n.prefix + "shop.events" }
func (n names) control() string { return n.prefix + "shop.control" }

// subscription is the durable queue of a (group, pattern) subscription:
// <prefix>shop.ev.<group>.<pattern>. RabbitMQ accepts any UTF-8 in queue
// names, wildcards included, up to 255 bytes; a pattern too long for that is
// replaced by a hash of it. Groups contain no dots, so names don't collide.
func (n names) subscription(group, pattern string) string {
	name := n.prefix + "shop.ev." + group + "." + pattern
	if len(name)+len(".dlq") > maxNameLen {
		sum := sha256.Sum256([]byte(pattern))
		name = n.prefix + "shop.ev." + group + ".h-" + hex.EncodeToString(sum[:12])
	}
	return name
}

func dlq(queue string) string { return queue + ".dlq" }

// queueArgs dead-letters a queue's rejected and expired messages to its
// dead-letter queue through the default exchange.
func queueArgs(queue string) amqp091.Table {
	return amqp091.Table{
		"x-dead-letter-exchange":    "",
		"x-dead-letter-routing-key": dlq(queue),
	}
}

func dlqArgs() amqp091.Table {
	return amqp091.Table{"x-max-length": int64(dlqMaxLength)}
}

// metaHeaders returns the headers carrying m, adding to h.
func metaHeaders(h amqp091.Table, m bus.Meta) amqp091.Table {
	if m.TraceID != "" {
		h[HeaderTraceID] = m.TraceID
	}
	if m.Principal != "" {
		h[HeaderPrincipal] = m.Principal
	}
	return h
}

func checkMeta(m bus.Meta) *bus.Error {
	if len(m.TraceID) > maxMetaLen || len(m.Principal) > maxMetaLen {
		return bus.Errorf(bus.CodeInvalid, "meta too long: trace id and principal may have %d bytes each", maxMetaLen)
	}
	return nil
}

// metaFrom reads Meta from headers, ignoring values of the wrong type.
func metaFrom(h amqp091.Table) bus.Meta {
	var m bus.Meta
	m.TraceID, _ = h[HeaderTraceID].(string)
	m.Principal, _ = h[HeaderPrincipal].(string)
	return m
}

// headerInt reads an integer header of any AMQP integer type.
func headerInt(h amqp091.Table, key string) (int64, bool) {
	switch v := h[key].(type) {
	case int64:
		return v, true
	case int32:
		return int64(v), true
	case int16:
		return int64(v), true
	case int8:
		return int64(v), true
	case uint64:
		return int64(v), true
	case uint32:
		return int64(v), true
	case uint16:
		return int64(v), true
	case uint8:
		return int64(v), true
	case int:
		return int64(v), true
	}
	return 0, false
}

// requestDeadline is the deadline of a delivered request: the caller's
// absolute deadline from HeaderDeadline, but no later than its Expiration
// counted from now (which also bounds the damage of clock skew between
// hosts); DefaultTimeout from now when neither is there.
func requestDeadline(d *amqp091.Delivery, now time.Time) time.Time {
	var dl time.Time
	if ms, ok := headerInt(d.Headers, HeaderDeadline); ok {
		dl = time.UnixMilli(ms)
	}
	if d.Expiration != "" {
		if ms, err := strconv.ParseInt(d.Expiration, 10, 64); err == nil && ms >= 0 {
			if rel := now.Add(time.Duration(ms) * time.Millisecond); dl.IsZero() || rel.Before(dl) {
				dl = rel
			}
		}
	}
	if dl.IsZero() {
		dl = now.Add(bus.DefaultTimeout)
	}
	return dl
}

// expiration is the Expiration property for a message that must be
// consumed before deadline.
func expiration(deadline time.Time) string {
	ms := (time.Until(deadline) + time.Millisecond - 1) / time.Millisecond
	return strconv.FormatInt(max(int64(ms), 1), 10)
}

// errorHeaders carries e on a reply.
func errorHeaders(e *bus.Error) amqp091.Table {
	h := amqp091.Table{HeaderErrorCode: string(e.Code), HeaderErrorMessage: truncate(e.Message, maxErrMsgLen)}
	if ms := e.RetryAfter.Milliseconds(); ms > 0 {
		h[HeaderRetryAfter] = ms
	}
	return h
}

// replyError reads the error of a reply, nil when it carries none.
func replyError(h amqp091.Table, queue, op string) *bus.Error {
	code, ok := h[HeaderErrorCode].(string)
	if !ok {
		if _, present := h[HeaderErrorCode]; present {
			return bus.Errorf(bus.CodeInternal, "%s/%s: reply with a malformed error code", queue, op)
		}
		return nil
	}
	msg, _ := h[HeaderErrorMessage].(string)
	if !bus.Code(code).Valid() {
		return bus.Errorf(bus.CodeInternal, "%s/%s: reply with unknown error code %q: %s", queue, op, code, msg)
	}
	e := &bus.Error{Code: bus.Code(code), Message: msg}
	if ms, ok := headerInt(h, HeaderRetryAfter); ok && ms > 0 {
		e.RetryAfter = time.Duration(ms) * time.Millisecond
	}
	return e
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 {
		if r, size := utf8.DecodeLastRuneInString(s); r != utf8.RuneError || size > 1 {
			break
		}
		s = s[:len(s)-1] // a rune cut in half
	}
	return s + "…"
}

func validName(s string) bool {
	return s != "" && len(s) <= 200 && !strings.ContainsAny(s, " \t\r\n")
}
