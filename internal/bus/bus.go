// Package bus is how modules talk: request-reply to a module's queue and
// events on topics, with the same semantics on every transport (in-process
// and RabbitMQ). Modules never call each other directly; they call typed
// endpoints declared in internal/contract through this package.
package bus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// Bus is one process's connection to the bus.
//
// Request-reply: every module instance serves one shared queue named after
// the module, so instances of a module compete for requests. Events: every
// (group, pattern) subscription has its own durable queue; instances in one
// group share its events, different groups each get every event.
type Bus interface {
	// Request sends body to op on queue and waits for the reply until ctx's
	// deadline (DefaultTimeout when ctx has none). Failures are *Error.
	Request(ctx context.Context, queue, op string, body []byte) ([]byte, error)
	// Serve starts consuming s's queue; requests go to s.Dispatch.
	Serve(s *Service) (Consumer, error)
	// Announce makes s answer Ping like a served instance, without a queue:
	// for a module that has no bus endpoints of its own (web, whose
	// endpoints are HTTP routes it records into s). Requests to s's name
	// still find no instance. Stop withdraws the announcement.
	Announce(s *Service) (Consumer, error)
	// Publish sends an event to every group subscribed to a matching pattern.
	// It returns once the event is durably accepted.
	Publish(ctx context.Context, topic string, body []byte) error
	// Subscribe delivers events whose topic matches pattern (AMQP topic
	// syntax: words separated by dots, * one word, # zero or more words) to h,
	// at least once. A handler error retries the event, then dead-letters it.
	Subscribe(pattern, group string, h EventHandler) (Consumer, error)
	// Ping asks every live service instance on the bus for its Info and
	// collects the answers until ctx ends (in-process: at once).
	Ping(ctx context.Context) ([]Info, error)
	// Healthy reports whether the bus can carry messages right now.
	Healthy() error
	// Close stops every consumer of this Bus (draining in-flight work until
	// ctx ends) and releases the connection. Pending Requests fail.
	Close(ctx context.Context) error
}

// Consumer is a running Serve, Announce or Subscribe.
type Consumer interface {
	// Stop stops taking new messages and waits until those in flight are
	// done, or ctx ends. Durable subscription queues are kept.
	Stop(ctx context.Context) error
}

// Request is one request as a handler sees it.
type Request struct {
	// ID is the call's id: fresh for every call, the same on every
	// delivery of it. A request whose consumer died before answering is
	// delivered again (AMQP redelivers what was not acknowledged), maybe
	// after its handler's write committed; a handler whose effect must not
	// repeat records the id with the effect and skips a request it has
	// recorded (see RequestID). Empty when the caller sent none.
	ID    string
	Queue string
	Op    string
	Body  []byte
	Meta  Meta
}

type requestIDKey struct{}

// WithRequestID returns ctx carrying the id of the request a handler
// serves; Service.Dispatch sets it. It is not copied into the requests
// the handler makes: each call has its own.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the id of the request being served (Request.ID), or
// "" outside a handler or when the caller sent none.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// NewRequestID returns a fresh request id, for transports: this
// process's random prefix and a counter, unique across processes (64
// random bits) and cheaper than a UUID on the in-process bus's path.
func NewRequestID() string {
	return requestIDPrefix + strconv.FormatUint(requestSeq.Add(1), 36)
}

var (
	requestIDPrefix = func() string {
		var b [8]byte
		_, _ = rand.Read(b[:])
		return hex.EncodeToString(b[:]) + "-"
	}()
	requestSeq atomic.Uint64
)

// FaultEnv names the environment variable of the test-only fault hooks
// (SHOP_TEST_FAULT=<hook>) by which tests of real processes make a
// process die at a chosen point: outbox-kill (the outbox relay) and
// reply-kill (the AMQP transport). Nothing but tests may set it.
const FaultEnv = "SHOP_TEST_FAULT"

// Event is one event as a subscriber sees it.
type Event struct {
	ID        string
	Topic     string
	Body      []byte
	Published time.Time
	Meta      Meta
	// Redelivered is true when the event may have been handled before
	// (at-least-once delivery); handlers must be idempotent.
	Redelivered bool
}

// EventHandler handles one event; an error asks for redelivery.
type EventHandler func(ctx context.Context, ev *Event) error

// Meta is what travels with a message besides its body: a trace id and the
// principal the caller acts for. It travels in the context on either side.
type Meta struct {
	TraceID   string `json:"trace_id,omitempty"`
	Principal string `json:"principal,omitempty"`
}

type metaKey struct{}

// WithMeta returns ctx carrying m; outgoing messages copy it.
func WithMeta(ctx context.Context, m Meta) context.Context {
	return context.WithValue(ctx, metaKey{}, m)
}

// MetaFrom returns the Meta carried by ctx, or the zero Meta.
func MetaFrom(ctx context.Context) Meta {
	m, _ := ctx.Value(metaKey{}).(Meta)
	return m
}

type eventIDKey struct{}

// WithEventID returns ctx with which Publish sends its event under id
// instead of a fresh one. An outbox relay uses it so that an event keeps
// the id it was committed with however often it is published: a consumer
// that sees the id twice knows it is a redelivery.
func WithEventID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, eventIDKey{}, id)
}

// EventID returns the id Publish gives its event: the one set by
// WithEventID, or else a new UUIDv7.
func EventID(ctx context.Context) string {
	if id, _ := ctx.Value(eventIDKey{}).(string); id != "" {
		return id
	}
	return uuid.Must(uuid.NewV7()).String()
}

// Limits and defaults shared by every transport.
const (
	// MaxBodySize is the largest body a request, reply or event may have.
	MaxBodySize = 1 << 20
	// DefaultTimeout bounds a Request whose context has no deadline.
	DefaultTimeout = 10 * time.Second
	// EventAttempts is how many times a failing event handler is tried
	// before the event is dead-lettered.
	EventAttempts = 5
)

// Deadline returns ctx unchanged when it has a deadline, and otherwise ctx
// with DefaultTimeout applied, so that no request waits forever.
func Deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, DefaultTimeout)
}
