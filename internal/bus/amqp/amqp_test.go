package amqp_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/bus/amqp"
	"github.com/shopengine/shop/internal/bus/amqp/amqptest"
	"github.com/shopengine/shop/internal/bus/bustest"
)

func TestConformance(t *testing.T) {
	url := amqptest.URL(t)
	bustest.Run(t, func(t *testing.T) func() bus.Bus {
		opts := amqptest.Options(t, url)
		return func() bus.Bus { return amqptest.Dial(t, url, opts) }
	})
}

// env is one test's broker namespace.
type env struct {
	t    *testing.T
	url  string
	opts amqp.Options
}

func newEnv(t *testing.T) *env {
	url := amqptest.URL(t)
	return &env{t: t, url: url, opts: amqptest.Options(t, url)}
}

func (e *env) dial() *amqp.Bus { return amqptest.Dial(e.t, e.url, e.opts) }

func (e *env) queue(name string) string { return e.opts.Prefix + "shop." + name }

// raw opens a plain amqp091 channel, for publishing what the bus never would.
func (e *env) raw() *amqp091.Channel {
	conn, err := amqp091.Dial(e.url)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		e.t.Fatal(err)
	}
	return ch
}

type echoReq struct {
	N       int `json:"n"`
	SleepMS int `json:"sleep_ms,omitempty"`
}

type echoResp struct {
	N int `json:"n"`
}

var echoEP = bus.Endpoint[echoReq, echoResp]{Queue: "echo", Op: "echo"}

// echo counts the requests reaching it; the first request with SleepMS
// set sleeps that long (or until its context ends, which it records), later
// ones answer at once.
type echo struct {
	calls     atomic.Int64
	slept     atomic.Bool
	cancelled atomic.Bool
}

func (h *echo) serve(t *testing.T, b bus.Bus) bus.Consumer {
	t.Helper()
	s := bus.NewService("echo", "test", nil)
	bus.Handle(s, echoEP, func(ctx context.Context, r echoReq) (echoResp, error) {
		h.calls.Add(1)
		if r.SleepMS > 0 && h.slept.CompareAndSwap(false, true) {
			select {
			case <-time.After(time.Duration(r.SleepMS) * time.Millisecond):
			case <-ctx.Done():
				h.cancelled.Store(true)
				return echoResp{}, ctx.Err()
			}
		}
		return echoResp{N: r.N}, nil
	})
	c, err := b.Serve(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func wantCode(t *testing.T, err error, code bus.Code) {
	t.Helper()
	if got := bus.CodeOf(err); got != code {
		t.Fatalf("got %v (code %q), want code %s", err, got, code)
	}
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// callWorks waits until a call through b succeeds again and reports how
// long that took.
func callWorks(t *testing.T, b bus.Bus, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var last error
	for time.Since(start) < within {
		got, err := bus.Call(ctxTimeout(t, time.Second), b, echoEP, echoReq{N: 7})
		if err == nil && got.N == 7 {
			return time.Since(start)
		}
		last = err
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("calls still fail %v after the drop: %v", within, last)
	return 0
}

func TestCallerConnectionDrop(t *testing.T) {
	e := newEnv(t)
	server, client := e.dial(), e.dial()
	var h echo
	h.serve(t, server)
	if _, err := bus.Call(ctxTimeout(t, 5*time.Second), client, echoEP, echoReq{N: 1}); err != nil {
		t.Fatal(err)
	}

	done := make(chan error, 1)
	go func() {
		_, err := bus.Call(ctxTimeout(t, 10*time.Second), client, echoEP, echoReq{SleepMS: 600})
		done <- err
	}()
	waitFor(t, 5*time.Second, "slow call in flight", func() bool { return h.calls.Load() == 2 })
	dropped := time.Now()
	if !amqp.DropConnection(client) {
		t.Fatal("client not connected")
	}
	select {
	case err := <-done:
		wantCode(t, err, bus.CodeUnavailable)
		if el := time.Since(dropped); el > 500*time.Millisecond {
			t.Fatalf("pending call failed %v after the drop; want at once", el)
		}
		t.Logf("pending call failed %v after the drop: %v", time.Since(dropped).Round(time.Microsecond), err)
	case <-time.After(3 * time.Second):
		t.Fatal("pending call still waiting 3s after its connection dropped")
	}

	// Until it has reconnected, the bus fails fast.
	if client.Healthy() != nil {
		start := time.Now()
		_, err := client.Request(ctxTimeout(t, 5*time.Second), "echo", "echo", []byte(`{}`))
		if err != nil {
			wantCode(t, err, bus.CodeUnavailable)
			if el := time.Since(start); el > 100*time.Millisecond {
				t.Fatalf("request while disconnected took %v to fail", el)
			}
		}
		err = client.Publish(ctxTimeout(t, 5*time.Second), "thing.happened", []byte(`{}`))
		if err != nil {
			wantCode(t, err, bus.CodeUnavailable)
		}
	} else {
		t.Log("already reconnected; fail-fast while disconnected not observed")
	}

	t.Logf("calls work again %v after the drop", (time.Since(dropped) + callWorks(t, client, 5*time.Second)).Round(time.Millisecond))
	if err := client.Healthy(); err != nil {
		t.Fatalf("healthy after reconnect: %v", err)
	}
}

func TestServerConnectionDrop(t *testing.T) {
	e := newEnv(t)
	server, client := e.dial(), e.dial()
	var h echo
	h.serve(t, server)
	if _, err := bus.Call(ctxTimeout(t, 5*time.Second), client, echoEP, echoReq{N: 1}); err != nil {
		t.Fatal(err)
	}

	done := make(chan error, 1)
	go func() {
		got, err := bus.Call(ctxTimeout(t, 10*time.Second), client, echoEP, echoReq{N: 2, SleepMS: 30_000})
		if err == nil && got.N != 2 {
			err = fmt.Errorf("got %+v", got)
		}
		done <- err
	}()
	waitFor(t, 5*time.Second, "slow call in flight", func() bool { return h.calls.Load() == 2 })
	dropped := time.Now()
	if !amqp.DropConnection(server) {
		t.Fatal("server not connected")
	}
	// The handler that can no longer reply is cancelled; the broker
	// requeues its unacked request, and the reconnected consumer serves it.
	waitFor(t, 2*time.Second, "in-flight handler cancelled", h.cancelled.Load)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("in-flight call across the server's reconnect: %v", err)
		}
		t.Logf("in-flight call answered %v after the server's connection dropped (redelivered)", time.Since(dropped).Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		t.Fatal("in-flight call not answered 5s after the server reconnected")
	}
	if n := h.calls.Load(); n != 3 {
		t.Fatalf("handler ran %d times; want 3 (one redelivery)", n)
	}
	callWorks(t, client, 5*time.Second)
	if err := server.Healthy(); err != nil {
		t.Fatal(err)
	}
}

// collector records event bodies.
type collector struct {
	mu   sync.Mutex
	seen []string
}

func (c *collector) handle(_ context.Context, ev *bus.Event) error {
	c.mu.Lock()
	c.seen = append(c.seen, string(ev.Body))
	c.mu.Unlock()
	return nil
}

func (c *collector) has(body string) func() bool {
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, s := range c.seen {
			if s == body {
				return true
			}
		}
		return false
	}
}

func TestDurableSubscriptionAcrossReconnect(t *testing.T) {
	e := newEnv(t)
	pub := e.dial()
	publish := func(body string) {
		t.Helper()
		if err := pub.Publish(ctxTimeout(t, 5*time.Second), "stock.changed", []byte(body)); err != nil {
			t.Fatalf("publish %s: %v", body, err)
		}
	}

	// A whole subscriber process goes away; its group's queue keeps events.
	first := e.dial()
	var c1 collector
	if _, err := first.Subscribe("stock.*", "indexer", c1.handle); err != nil {
		t.Fatal(err)
	}
	publish(`"one"`)
	waitFor(t, 5*time.Second, "first subscriber gets one", c1.has(`"one"`))
	if err := first.Close(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	publish(`"two"`)

	second := e.dial()
	var c2 collector
	if _, err := second.Subscribe("stock.*", "indexer", c2.handle); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "new subscriber gets what was published while none ran", c2.has(`"two"`))

	// Its connection drops; what is published meanwhile arrives after the
	// reconnect, on the re-established consumer.
	if !amqp.DropConnection(second) {
		t.Fatal("not connected")
	}
	publish(`"three"`)
	waitFor(t, 5*time.Second, "event published during the drop delivered after reconnect", c2.has(`"three"`))
	publish(`"four"`)
	waitFor(t, 5*time.Second, "events flow after reconnect", c2.has(`"four"`))
	if c1.has(`"two"`)() {
		t.Fatal("closed subscriber got an event")
	}
}

func TestExpiredRequestNotProcessed(t *testing.T) {
	e := newEnv(t)
	server, client := e.dial(), e.dial()
	var h echo
	c := h.serve(t, server)
	if err := c.Stop(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	// The queue is there, nobody consumes it: at its deadline the caller
	// learns the module is down.
	_, err := bus.Call(ctxTimeout(t, 200*time.Millisecond), client, echoEP, echoReq{N: 1})
	wantCode(t, err, bus.CodeUnavailable)
	if !strings.Contains(err.Error(), "no instance is consuming") {
		t.Fatalf("message %q", err)
	}
	time.Sleep(300 * time.Millisecond)

	h.serve(t, server)
	if got, err := bus.Call(ctxTimeout(t, 5*time.Second), client, echoEP, echoReq{N: 2}); err != nil || got.N != 2 {
		t.Fatalf("%+v, %v", got, err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := h.calls.Load(); n != 1 {
		t.Fatalf("handler ran %d times; the expired request must not reach it", n)
	}
}

// rawCall publishes a request by hand and returns the reply delivery
// channel of the raw channel (consuming direct reply-to on it).
func rawReplies(t *testing.T, ch *amqp091.Channel) <-chan amqp091.Delivery {
	t.Helper()
	replies, err := ch.Consume(amqp.DirectReplyTo, "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return replies
}

func rawPublish(t *testing.T, ch *amqp091.Channel, queue string, p amqp091.Publishing) {
	t.Helper()
	if err := ch.Publish("", queue, false, false, p); err != nil {
		t.Fatal(err)
	}
}

func TestPassedDeadlineHeaderSkipped(t *testing.T) {
	e := newEnv(t)
	server := e.dial()
	var h echo
	h.serve(t, server)
	ch := e.raw()
	replies := rawReplies(t, ch)
	queue := e.queue("echo")

	rawPublish(t, ch, queue, amqp091.Publishing{
		CorrelationId: "late", ReplyTo: amqp.DirectReplyTo, Type: "echo", Body: []byte(`{"n":1}`),
		Headers: amqp091.Table{amqp.HeaderDeadline: time.Now().Add(-time.Second).UnixMilli()},
	})
	rawPublish(t, ch, queue, amqp091.Publishing{
		CorrelationId: "on-time", ReplyTo: amqp.DirectReplyTo, Type: "echo", Body: []byte(`{"n":2}`),
		Headers: amqp091.Table{amqp.HeaderDeadline: time.Now().Add(5 * time.Second).UnixMilli()},
	})
	select {
	case d := <-replies:
		if d.CorrelationId != "on-time" || string(d.Body) != `{"n":2}` {
			t.Fatalf("reply %q: %s", d.CorrelationId, d.Body)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no reply")
	}
	select {
	case d := <-replies:
		t.Fatalf("late request answered: %q %s %v", d.CorrelationId, d.Body, d.Headers)
	case <-time.After(200 * time.Millisecond):
	}
	if n := h.calls.Load(); n != 1 {
		t.Fatalf("handler ran %d times; want 1", n)
	}
}

func TestMalformedDeliveries(t *testing.T) {
	e := newEnv(t)
	server, client := e.dial(), e.dial()
	var h echo
	h.serve(t, server)
	ch := e.raw()
	replies := rawReplies(t, ch)
	queue := e.queue("echo")
	future := time.Now().Add(5 * time.Second).UnixMilli()

	// Nobody could receive an answer to these: dead-lettered, not handled.
	for _, p := range []amqp091.Publishing{
		{Type: "echo", Body: []byte(`{"n":1}`)},                                               // no reply-to, no id
		{CorrelationId: "no-reply-to", Type: "echo", Body: []byte(`{"n":1}`)},                 // no reply-to
		{ReplyTo: amqp.DirectReplyTo, Type: "echo", Body: []byte(`{"n":1}`)},                  // no correlation id
		{CorrelationId: "x", ReplyTo: e.queue("echo"), Type: "echo", Body: []byte(`{"n":1}`)}, // not direct reply-to
	} {
		rawPublish(t, ch, queue, p)
	}
	// These get answers.
	want := map[string]string{}
	send := func(id string, p amqp091.Publishing, wantCode string) {
		p.CorrelationId, p.ReplyTo = id, amqp.DirectReplyTo
		rawPublish(t, ch, queue, p)
		want[id] = wantCode
	}
	// Handled, but its reply goes nowhere.
	rawPublish(t, ch, queue, amqp091.Publishing{CorrelationId: "y", ReplyTo: "amq.rabbitmq.reply-to.garbage", Type: "echo"})
	send("oversize", amqp091.Publishing{Type: "echo", Body: make([]byte, bus.MaxBodySize+1)}, "invalid")
	send("garbage", amqp091.Publishing{Type: "echo", Body: []byte("\x00\xffnot json")}, "invalid")
	send("unknown-op", amqp091.Publishing{Type: "nope", Body: []byte(`{}`)}, "not_found")
	send("no-op", amqp091.Publishing{Body: []byte(`{}`)}, "not_found")
	send("bad-headers", amqp091.Publishing{Type: "echo", Body: []byte(`{"n":3}`),
		Headers: amqp091.Table{amqp.HeaderDeadline: "tomorrow", amqp.HeaderTraceID: int64(5), amqp.HeaderPrincipal: true}}, "")
	send("ok", amqp091.Publishing{Type: "echo", Body: []byte(`{"n":4}`), Headers: amqp091.Table{amqp.HeaderDeadline: future}}, "")

	timeout := time.After(5 * time.Second)
	for len(want) > 0 {
		select {
		case d := <-replies:
			code, ok := want[d.CorrelationId]
			if !ok {
				t.Fatalf("unexpected reply %q", d.CorrelationId)
			}
			delete(want, d.CorrelationId)
			if got, _ := d.Headers[amqp.HeaderErrorCode].(string); got != code {
				t.Errorf("%s: error code %q, want %q (%v)", d.CorrelationId, got, code, d.Headers)
			}
		case <-timeout:
			t.Fatalf("no reply to %v", want)
		}
	}
	// The consumer is alive and well.
	if got, err := bus.Call(ctxTimeout(t, 5*time.Second), client, echoEP, echoReq{N: 5}); err != nil || got.N != 5 {
		t.Fatalf("%+v, %v", got, err)
	}
	// The 4 requests nobody could answer are dead-lettered.
	waitFor(t, 2*time.Second, "dead-lettered", func() bool {
		q, err := ch.QueueDeclarePassive(queue+".dlq", true, false, false, false, nil)
		return err == nil && q.Messages == 4
	})
	if n := h.calls.Load(); n != 4 { // y, bad-headers, ok, and the bus call
		t.Fatalf("handler ran %d times, want 4", n)
	}
}

func TestEventDeadLettered(t *testing.T) {
	e := newEnv(t)
	b := e.dial()
	var attempts atomic.Int64
	var good collector
	_, err := b.Subscribe("order.*", "mailer", func(ctx context.Context, ev *bus.Event) error {
		if string(ev.Body) == `"poison"` {
			if attempts.Add(1) == 2 {
				panic("handler bug")
			}
			return errors.New("cannot handle")
		}
		return good.handle(ctx, ev)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{`"poison"`, `"fine"`} {
		if err := b.Publish(ctxTimeout(t, 5*time.Second), "order.placed", []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "event after the poison one handled", good.has(`"fine"`))
	if n := attempts.Load(); n != bus.EventAttempts {
		t.Fatalf("poison event tried %d times, want %d", n, bus.EventAttempts)
	}
	ch := e.raw()
	q, err := ch.QueueDeclarePassive(e.opts.Prefix+"shop.ev.mailer.order.*.dlq", true, false, false, false, nil)
	if err != nil || q.Messages != 1 {
		t.Fatalf("dead-letter queue: %+v, %v", q, err)
	}
}

// The broker loses topology under running buses (an operator deletes the
// events exchange and a request queue): the buses declare it again.
func TestTopologyRedeclared(t *testing.T) {
	e := newEnv(t)
	server, client := e.dial(), e.dial()
	var h echo
	h.serve(t, server)
	ch := e.raw()
	if _, err := ch.QueueDelete(e.queue("echo"), false, false, false); err != nil {
		t.Fatal(err)
	}
	// The broker cancels the consumer of the deleted queue; it attaches
	// again, declaring the queue.
	callWorks(t, client, 5*time.Second)

	if err := ch.ExchangeDelete(e.opts.Prefix+"shop.events", false, false); err != nil {
		t.Fatal(err)
	}
	// Publishing to the missing exchange closes the event channel: the
	// publish fails as unavailable, and the bus reconnects, declaring the
	// exchange again.
	err := client.Publish(ctxTimeout(t, 5*time.Second), "thing.done", []byte(`1`))
	wantCode(t, err, bus.CodeUnavailable)
	waitFor(t, 5*time.Second, "publishing works again", func() bool {
		return client.Publish(ctxTimeout(t, time.Second), "thing.done", []byte(`2`)) == nil
	})
	var got collector
	if _, err := server.Subscribe("thing.*", "g", got.handle); err != nil {
		t.Fatal(err)
	}
	if err := client.Publish(ctxTimeout(t, time.Second), "thing.done", []byte(`3`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "event delivered", got.has("3"))
}

func TestDialUnreachable(t *testing.T) {
	start := time.Now()
	_, err := amqp.Dial(ctxTimeout(t, 5*time.Second), "amqp://guest:secret@127.0.0.1:1/", amqp.Options{})
	wantCode(t, err, bus.CodeUnavailable)
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("took %v", el)
	}
	if s := err.Error(); contains(s, "secret") {
		t.Fatalf("error shows the password: %s", s)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	e := newEnv(t)
	before := runtime.NumGoroutine()
	ctx := ctxTimeout(t, 5*time.Second)
	b, err := amqp.Dial(ctx, e.url, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	var h echo
	h.serve(t, b)
	var got collector
	if _, err := b.Subscribe("a.b", "g", got.handle); err != nil {
		t.Fatal(err)
	}
	if _, err := bus.Call(ctx, b, echoEP, echoReq{N: 1}); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, "a.b", []byte(`1`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "event", got.has("1"))
	amqp.DropConnection(b)
	callWorks(t, b, 5*time.Second)
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before, %d after Close:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := b.Healthy(); !errors.Is(err, bus.ErrUnavailable) {
		t.Fatalf("healthy after close: %v", err)
	}
}
