// Package bustest is the conformance suite every bus transport passes, so
// that code tested on the in-process bus behaves the same on RabbitMQ.
package bustest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/bus"
)

// Network returns, for one test, a function that opens a new connection to
// a bus shared by that test only (a fresh hub, or a unique queue prefix on
// the broker). Connections are closed by the caller's t.Cleanup.
type Network func(t *testing.T) (connect func() bus.Bus)

// Run runs the whole suite against a transport.
func Run(t *testing.T, network Network) {
	tests := []struct {
		name string
		fn   func(t *testing.T, connect func() bus.Bus)
	}{
		{"RequestReply", testRequestReply},
		{"TypedErrors", testTypedErrors},
		{"DeadlineTimeout", testDeadlineTimeout},
		{"UnknownOp", testUnknownOp},
		{"MissingQueue", testMissingQueue},
		{"BadInput", testBadInput},
		{"HandlerPanic", testHandlerPanic},
		{"ConcurrentCallers", testConcurrentCallers},
		{"CompetingInstances", testCompetingInstances},
		{"StopDrains", testStopDrains},
		{"CloseFailsPendingCalls", testCloseFailsPendingCalls},
		{"Ping", testPing},
		{"Announce", testAnnounce},
		{"EventsToTwoGroups", testEventsToTwoGroups},
		{"EventPatterns", testEventPatterns},
		{"EventsCompetingInGroup", testEventsCompetingInGroup},
		{"EventWhileSubscriberStopped", testEventWhileSubscriberStopped},
		{"EventRetry", testEventRetry},
		{"EventBatches", testEventBatches},
		{"EventBatchFailure", testEventBatchFailure},
		{"EventKeepsGivenID", testEventKeepsGivenID},
		{"BadTopic", testBadTopic},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, network(t))
		})
	}
}

// The echo contract used throughout the suite.
type echoReq struct {
	N       int    `json:"n"`
	Text    string `json:"text"`
	SleepMS int    `json:"sleep_ms,omitempty"`
	Fail    string `json:"fail,omitempty"` // a bus code to fail with; "plain" for a plain error
	// RetryAfterMS is the RetryAfter of the failure, in milliseconds.
	RetryAfterMS int  `json:"retry_after_ms,omitempty"`
	Panic        bool `json:"panic,omitempty"`
}

type echoResp struct {
	N           int    `json:"n"`
	Text        string `json:"text"`
	Principal   string `json:"principal"`
	TraceID     string `json:"trace_id"`
	Instance    string `json:"instance"`
	HasDeadline bool   `json:"has_deadline"`
	RequestID   string `json:"request_id"`
}

var (
	echo = bus.Endpoint[echoReq, echoResp]{Queue: "echo", Op: "echo"}
	slow = bus.Endpoint[echoReq, echoResp]{Queue: "echo", Op: "slow"}
)

// serveEcho starts an echo instance on b and counts the calls that reached
// handler logic.
func serveEcho(t *testing.T, b bus.Bus) (*bus.Service, *atomic.Int64, bus.Consumer) {
	t.Helper()
	var calls atomic.Int64
	s := bus.NewService("echo", "test", nil)
	h := func(ctx context.Context, r echoReq) (echoResp, error) {
		calls.Add(1)
		if r.Panic {
			panic("boom")
		}
		if r.SleepMS > 0 {
			select {
			case <-time.After(time.Duration(r.SleepMS) * time.Millisecond):
			case <-ctx.Done():
				return echoResp{}, ctx.Err()
			}
		}
		switch r.Fail {
		case "":
		case "plain":
			return echoResp{}, fmt.Errorf("load thing %d: %w", r.N, errors.New("disk on fire"))
		default:
			return echoResp{}, bus.RetryLater(bus.Code(r.Fail), time.Duration(r.RetryAfterMS)*time.Millisecond, "failing as asked: %d", r.N)
		}
		_, hasDeadline := ctx.Deadline()
		m := bus.MetaFrom(ctx)
		return echoResp{N: r.N, Text: r.Text, Principal: m.Principal, TraceID: m.TraceID, Instance: s.InstanceID(), HasDeadline: hasDeadline, RequestID: bus.RequestID(ctx)}, nil
	}
	bus.Handle(s, echo, h)
	bus.Handle(s, slow, h)
	c, err := b.Serve(s)
	if err != nil {
		t.Fatalf("serve echo: %v", err)
	}
	return s, &calls, c
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func wantCode(t *testing.T, err error, code bus.Code) *bus.Error {
	t.Helper()
	var be *bus.Error
	if !errors.As(err, &be) {
		t.Fatalf("got error %v (%T), want a *bus.Error with code %s", err, err, code)
	}
	if be.Code != code {
		t.Fatalf("got code %s (%v), want %s", be.Code, err, code)
	}
	return be
}

func testRequestReply(t *testing.T, connect func() bus.Bus) {
	server, client := connect(), connect()
	serveEcho(t, server)
	ctx := bus.WithMeta(ctxTimeout(t, 5*time.Second), bus.Meta{TraceID: "trace-1", Principal: "user-7"})
	got, err := bus.Call(ctx, client, echo, echoReq{N: 42, Text: "héllo"})
	if err != nil {
		t.Fatal(err)
	}
	want := echoResp{N: 42, Text: "héllo", Principal: "user-7", TraceID: "trace-1", Instance: got.Instance, HasDeadline: true, RequestID: got.RequestID}
	if got != want || got.Instance == "" {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	// A context without deadline gets the default one, and still works.
	again, err := bus.Call(context.Background(), client, echo, echoReq{N: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Every call has a request id of its own (what a handler records so
	// that a redelivery of the call is not applied twice).
	if got.RequestID == "" || again.RequestID == "" || got.RequestID == again.RequestID {
		t.Fatalf("request ids %q and %q, want two different ones", got.RequestID, again.RequestID)
	}
}

func testTypedErrors(t *testing.T, connect func() bus.Bus) {
	server, client := connect(), connect()
	serveEcho(t, server)
	for _, code := range []bus.Code{bus.CodeInvalid, bus.CodeNotFound, bus.CodeConflict, bus.CodeUnauthorized, bus.CodeForbidden, bus.CodeUnavailable, bus.CodeThrottled, bus.CodeInternal} {
		t.Run(string(code), func(t *testing.T) {
			_, err := bus.Call(ctxTimeout(t, 5*time.Second), client, echo, echoReq{N: 3, Fail: string(code)})
			be := wantCode(t, err, code)
			if be.Message != "failing as asked: 3" || be.RetryAfter != 0 {
				t.Fatalf("message %q, retry after %v", be.Message, be.RetryAfter)
			}
			if !errors.Is(err, &bus.Error{Code: code}) {
				t.Fatalf("errors.Is(%v, code sentinel) = false", err)
			}
		})
	}
	// Retry-after crosses the bus with the code, at millisecond precision.
	for _, code := range []bus.Code{bus.CodeThrottled, bus.CodeUnavailable} {
		_, err := bus.Call(ctxTimeout(t, 5*time.Second), client, echo, echoReq{N: 5, Fail: string(code), RetryAfterMS: 2500})
		if be := wantCode(t, err, code); be.RetryAfter != 2500*time.Millisecond {
			t.Fatalf("%s: retry after %v, want 2.5s", code, be.RetryAfter)
		}
	}
	_, err := bus.Call(ctxTimeout(t, 5*time.Second), client, echo, echoReq{N: 4, Fail: "plain"})
	be := wantCode(t, err, bus.CodeInternal)
	if !strings.Contains(be.Message, "load thing 4: disk on fire") {
		t.Fatalf("plain error lost its context: %q", be.Message)
	}
}

func testDeadlineTimeout(t *testing.T, connect func() bus.Bus) {
	server, client := connect(), connect()
	serveEcho(t, server)
	start := time.Now()
	_, err := bus.Call(ctxTimeout(t, 300*time.Millisecond), client, slow, echoReq{SleepMS: 3000})
	wantCode(t, err, bus.CodeTimeout)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timeout should wrap context.DeadlineExceeded: %v", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("caller hung for %v past a 300ms deadline", el)
	}
	// A caller that cancels gets its answer at once too.
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	_, err = bus.Call(ctx, client, slow, echoReq{SleepMS: 3000})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled in the chain", err)
	}
}

func testUnknownOp(t *testing.T, connect func() bus.Bus) {
	server, client := connect(), connect()
	serveEcho(t, server)
	_, err := client.Request(ctxTimeout(t, 5*time.Second), "echo", "no-such-op", []byte(`{}`))
	be := wantCode(t, err, bus.CodeNotFound)
	if !strings.Contains(be.Message, "no-such-op") {
		t.Fatalf("message does not name the op: %q", be.Message)
	}
}

func testMissingQueue(t *testing.T, connect func() bus.Bus) {
	client := connect()
	start := time.Now()
	_, err := client.Request(ctxTimeout(t, 5*time.Second), "nobody-serves-this", "op", []byte(`{}`))
	wantCode(t, err, bus.CodeUnavailable)
	if el := time.Since(start); el > time.Second {
		t.Fatalf("missing queue took %v to fail; it must fail at once", el)
	}
}

func testBadInput(t *testing.T, connect func() bus.Bus) {
	server, client := connect(), connect()
	_, calls, _ := serveEcho(t, server)
	cases := []struct {
		name, body, mention string
	}{
		{"malformed", `{"n": 1,`, "malformed"},
		{"not json", `hello`, "malformed"},
		{"unknown field", `{"n": 1, "admin": true}`, `"admin"`},
		{"wrong type", `{"n": "one"}`, `"n"`},
		{"operator injection", `{"text": {"$gt": ""}}`, `"text"`},
		{"array for object", `[1,2]`, "expected"},
		{"trailing data", `{"n": 1} {"n": 2}`, "after"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.Request(ctxTimeout(t, 5*time.Second), "echo", "echo", []byte(tc.body))
			be := wantCode(t, err, bus.CodeInvalid)
			if !strings.Contains(be.Message, tc.mention) {
				t.Fatalf("message %q does not mention %s", be.Message, tc.mention)
			}
		})
	}
	t.Run("oversize", func(t *testing.T) {
		big := []byte(`{"text":"` + strings.Repeat("x", bus.MaxBodySize) + `"}`)
		_, err := client.Request(ctxTimeout(t, 5*time.Second), "echo", "echo", big)
		wantCode(t, err, bus.CodeInvalid)
	})
	if n := calls.Load(); n != 0 {
		t.Fatalf("bad input reached handler logic %d times", n)
	}
}

func testHandlerPanic(t *testing.T, connect func() bus.Bus) {
	server, client := connect(), connect()
	serveEcho(t, server)
	_, err := bus.Call(ctxTimeout(t, 5*time.Second), client, echo, echoReq{Panic: true})
	wantCode(t, err, bus.CodeInternal)
	if got, err := bus.Call(ctxTimeout(t, 5*time.Second), client, echo, echoReq{N: 9}); err != nil || got.N != 9 {
		t.Fatalf("after a panic: %+v, %v", got, err)
	}
}

func testConcurrentCallers(t *testing.T, connect func() bus.Bus) {
	server, client := connect(), connect()
	serveEcho(t, server)
	const n = 1000
	ctx := ctxTimeout(t, 30*time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := bus.Call(ctx, client, slow, echoReq{N: i, Text: fmt.Sprint("req-", i), SleepMS: 20})
			switch {
			case err != nil:
				errs <- err
			case got.N != i || got.Text != fmt.Sprint("req-", i):
				errs <- fmt.Errorf("request %d got reply %+v", i, got)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func testCompetingInstances(t *testing.T, connect func() bus.Bus) {
	a, b, client := connect(), connect(), connect()
	_, callsA, _ := serveEcho(t, a)
	_, callsB, _ := serveEcho(t, b)
	ctx := ctxTimeout(t, 20*time.Second)
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := bus.Call(ctx, client, slow, echoReq{N: i, SleepMS: 10}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ca, cb := callsA.Load(), callsB.Load(); ca+cb != 200 || ca == 0 || cb == 0 {
		t.Fatalf("instances handled %d and %d of 200 requests; want both to share, each request once", ca, cb)
	}
}

func testStopDrains(t *testing.T, connect func() bus.Bus) {
	server, client := connect(), connect()
	_, calls, c := serveEcho(t, server)
	done := make(chan error, 1)
	go func() {
		_, err := bus.Call(ctxTimeout(t, 10*time.Second), client, slow, echoReq{SleepMS: 500})
		done <- err
	}()
	waitFor(t, 5*time.Second, func() bool { return calls.Load() == 1 })
	if err := c.Stop(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("in-flight request failed during drain: %v", err)
	}
	// The stopped instance takes no new work.
	_, err := bus.Call(ctxTimeout(t, 500*time.Millisecond), client, echo, echoReq{N: 1})
	if err == nil || calls.Load() != 1 {
		t.Fatalf("stopped instance still served: err=%v calls=%d", err, calls.Load())
	}
}

func testCloseFailsPendingCalls(t *testing.T, connect func() bus.Bus) {
	server, client := connect(), connect()
	serveEcho(t, server)
	done := make(chan error, 1)
	go func() {
		_, err := bus.Call(ctxTimeout(t, 20*time.Second), client, slow, echoReq{SleepMS: 10000})
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	closeCtx := ctxTimeout(t, 5*time.Second)
	if err := client.Close(closeCtx); err != nil {
		t.Fatalf("close: %v", err)
	}
	select {
	case err := <-done:
		wantCode(t, err, bus.CodeUnavailable)
	case <-time.After(3 * time.Second):
		t.Fatalf("pending call still waiting %v after Close", time.Since(start))
	}
	_, err := bus.Call(ctxTimeout(t, time.Second), client, echo, echoReq{})
	wantCode(t, err, bus.CodeUnavailable)
}

func testPing(t *testing.T, connect func() bus.Bus) {
	a, b, client := connect(), connect(), connect()
	sa, _, _ := serveEcho(t, a)
	sb, _, _ := serveEcho(t, b)
	for range 3 {
		if _, err := bus.Call(ctxTimeout(t, 5*time.Second), client, echo, echoReq{}); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = bus.Call(ctxTimeout(t, 5*time.Second), client, echo, echoReq{Fail: "conflict"})
	infos, err := client.Ping(ctxTimeout(t, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bus.Info{}
	for _, in := range infos {
		seen[in.InstanceID] = in
	}
	var requests, errs uint64
	for _, s := range []*bus.Service{sa, sb} {
		in, ok := seen[s.InstanceID()]
		if !ok {
			t.Fatalf("ping did not find instance %s among %+v", s.InstanceID(), infos)
		}
		if in.Name != "echo" || in.Version != "test" || in.PID == 0 || len(in.Endpoints) != 2 {
			t.Fatalf("info %+v", in)
		}
		for _, e := range in.Endpoints {
			if e.Op == "echo" {
				requests += e.Requests
				errs += e.Errors
			}
		}
	}
	if requests != 4 || errs != 1 {
		t.Fatalf("stats over both instances: %d requests, %d errors; want 4 and 1", requests, errs)
	}
}

// testAnnounce: an announced service, which has no queue, answers Ping
// with the statistics recorded into it, takes no requests, and is gone
// from Ping once stopped; a bus.Server of a service without handlers
// announces it.
func testAnnounce(t *testing.T, connect func() bus.Bus) {
	a, client := connect(), connect()
	const route = "GET /things/{id}"
	s := bus.NewService("announced", "test", nil)
	s.Track(route)
	s.Record(route, 2*time.Millisecond, false)
	s.Record(route, 4*time.Millisecond, true)
	c, err := a.Announce(s)
	if err != nil {
		t.Fatal(err)
	}
	srv := bus.NewServer(a, "quiet", nil)
	if err := srv.Start(t.Context()); err != nil {
		t.Fatalf("start a server without handlers: %v", err)
	}
	find := func(infos []bus.Info, id string) (bus.Info, bool) {
		for _, in := range infos {
			if in.InstanceID == id {
				return in, true
			}
		}
		return bus.Info{}, false
	}
	infos, err := client.Ping(ctxTimeout(t, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	in, ok := find(infos, s.InstanceID())
	if !ok {
		t.Fatalf("ping did not find the announced instance among %+v", infos)
	}
	want := bus.EndpointInfo{Op: route, Requests: 2, Errors: 1, MeanLatency: 3 * time.Millisecond}
	if in.Name != "announced" || in.PID == 0 || len(in.Endpoints) != 1 || in.Endpoints[0] != want {
		t.Fatalf("announced info %+v, want one endpoint %+v", in, want)
	}
	if q, ok := find(infos, srv.Service.InstanceID()); !ok || q.Name != "quiet" || len(q.Endpoints) != 0 {
		t.Fatalf("ping did not find the server without handlers (%+v) among %+v", q, infos)
	}
	// No queue: a request finds no instance, at once.
	_, err = client.Request(ctxTimeout(t, 5*time.Second), "announced", route, []byte(`{}`))
	wantCode(t, err, bus.CodeUnavailable)

	if err := c.Stop(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := srv.Stop(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	infos, err = client.Ping(ctxTimeout(t, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := find(infos, s.InstanceID()); ok {
		t.Fatalf("stopped announcement still answers ping: %+v", infos)
	}
	if _, ok := find(infos, srv.Service.InstanceID()); ok {
		t.Fatalf("stopped server still answers ping: %+v", infos)
	}
	if err := a.Close(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	_, err = a.Announce(bus.NewService("late", "test", nil))
	wantCode(t, err, bus.CodeUnavailable)
}

// collector records the events a subscription received.
type collector struct {
	mu   sync.Mutex
	seen map[string]int // body → times
	n    atomic.Int64
}

func newCollector() *collector { return &collector{seen: map[string]int{}} }

func (c *collector) handle(_ context.Context, ev *bus.Event) error {
	c.mu.Lock()
	c.seen[string(ev.Body)]++
	c.mu.Unlock()
	c.n.Add(1)
	return nil
}

func (c *collector) has(body string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen[body] > 0
}

func subscribe(t *testing.T, b bus.Bus, pattern, group string, h bus.EventHandler) bus.Consumer {
	t.Helper()
	c, err := b.Subscribe(pattern, group, h)
	if err != nil {
		t.Fatalf("subscribe %s/%s: %v", group, pattern, err)
	}
	return c
}

func publish(t *testing.T, b bus.Bus, topic string, body string) {
	t.Helper()
	if err := b.Publish(ctxTimeout(t, 5*time.Second), topic, []byte(body)); err != nil {
		t.Fatalf("publish %s: %v", topic, err)
	}
}

func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func testEventsToTwoGroups(t *testing.T, connect func() bus.Bus) {
	a, b, pub := connect(), connect(), connect()
	ca, cb := newCollector(), newCollector()
	subscribe(t, a, "thing.created", "filter", ca.handle)
	subscribe(t, b, "thing.created", "seo", cb.handle)
	ctx := bus.WithMeta(ctxTimeout(t, 5*time.Second), bus.Meta{TraceID: "t-9"})
	var meta atomic.Value
	subscribe(t, b, "thing.created", "meta", func(_ context.Context, ev *bus.Event) error {
		meta.Store(ev.Meta)
		return nil
	})
	if err := bus.Emit(ctx, pub, bus.EventType[echoReq]{Topic: "thing.created"}, echoReq{N: 1}); err != nil {
		t.Fatal(err)
	}
	body := `{"n":1,"text":""}`
	waitFor(t, 5*time.Second, func() bool { return ca.has(body) && cb.has(body) && meta.Load() != nil })
	if m := meta.Load().(bus.Meta); m.TraceID != "t-9" {
		t.Fatalf("event meta %+v", m)
	}
}

func testEventPatterns(t *testing.T, connect func() bus.Bus) {
	sub, pub := connect(), connect()
	star, hash := newCollector(), newCollector()
	subscribe(t, sub, "product.*", "star", star.handle)
	subscribe(t, sub, "catalog.#", "hash", hash.handle)
	for _, topic := range []string{"product.created", "product.stock.changed", "category.created", "catalog", "catalog.a.b"} {
		publish(t, pub, topic, topic)
	}
	waitFor(t, 5*time.Second, func() bool { return star.has("product.created") && hash.has("catalog.a.b") && hash.has("catalog") })
	time.Sleep(200 * time.Millisecond) // let any wrong delivery arrive
	if star.n.Load() != 1 || hash.n.Load() != 2 {
		t.Fatalf("product.* got %v, catalog.# got %v", star.seen, hash.seen)
	}
}

func testEventsCompetingInGroup(t *testing.T, connect func() bus.Bus) {
	a, b, pub := connect(), connect(), connect()
	shared := newCollector()
	var na, nb atomic.Int64
	slowly := func(n *atomic.Int64) bus.EventHandler {
		return func(ctx context.Context, ev *bus.Event) error {
			n.Add(1)
			time.Sleep(5 * time.Millisecond)
			return shared.handle(ctx, ev)
		}
	}
	subscribe(t, a, "job.run", "workers", slowly(&na))
	subscribe(t, b, "job.run", "workers", slowly(&nb))
	const n = 100
	for i := range n {
		publish(t, pub, "job.run", fmt.Sprint(i))
	}
	waitFor(t, 10*time.Second, func() bool {
		for i := range n {
			if !shared.has(fmt.Sprint(i)) {
				return false
			}
		}
		return true
	})
	if na.Load() == 0 || nb.Load() == 0 {
		t.Fatalf("one group member got all events: %d and %d", na.Load(), nb.Load())
	}
}

func testEventWhileSubscriberStopped(t *testing.T, connect func() bus.Bus) {
	pub := connect()
	first := connect()
	c1 := newCollector()
	sub := subscribe(t, first, "order.placed", "mailer", c1.handle)
	publish(t, pub, "order.placed", "one")
	waitFor(t, 5*time.Second, func() bool { return c1.has("one") })
	if err := sub.Stop(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	publish(t, pub, "order.placed", "two")
	c2 := newCollector()
	subscribe(t, connect(), "order.placed", "mailer", c2.handle)
	waitFor(t, 5*time.Second, func() bool { return c2.has("two") })
	if c1.has("two") {
		t.Fatal("stopped subscriber received an event")
	}
}

func testEventRetry(t *testing.T, connect func() bus.Bus) {
	sub, pub := connect(), connect()
	var attempts atomic.Int64
	var redelivered atomic.Bool
	subscribe(t, sub, "flaky.thing", "retry", func(_ context.Context, ev *bus.Event) error {
		if attempts.Add(1) < 3 {
			return errors.New("not yet")
		}
		redelivered.Store(ev.Redelivered)
		return nil
	})
	publish(t, pub, "flaky.thing", "x")
	waitFor(t, 10*time.Second, func() bool { return attempts.Load() >= 3 })
	time.Sleep(200 * time.Millisecond)
	if attempts.Load() != 3 || !redelivered.Load() {
		t.Fatalf("attempts %d (want 3), redelivered %v (want true)", attempts.Load(), redelivered.Load())
	}
}

// testEventBatches: a batch subscription gets every event once, in
// order, in batches of at most its limit; on a transport that batches
// (memory), the events that queued up while the handler was busy come
// together.
func testEventBatches(t *testing.T, connect func() bus.Bus) {
	sub, pub := connect(), connect()
	const n, max = 40, 8
	var (
		mu      sync.Mutex
		got     []string
		sizes   []int
		release = make(chan struct{})
	)
	c, err := bus.SubscribeBatch(sub, "stock.moved", "batches", max, func(_ context.Context, evs []*bus.Event) error {
		mu.Lock()
		first := len(got) == 0
		for _, e := range evs {
			got = append(got, string(e.Body))
		}
		sizes = append(sizes, len(evs))
		mu.Unlock()
		if first {
			<-release // the rest queue up meanwhile
		}
		return nil
	})
	if err != nil {
		t.Fatalf("subscribe batch: %v", err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	want := make([]string, n)
	for i := range n {
		want[i] = fmt.Sprintf(`{"n":%d}`, i)
		publish(t, pub, "stock.moved", want[i])
	}
	close(release)
	waitFor(t, 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= n
	})
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for _, size := range sizes {
		if size < 1 || size > max {
			t.Fatalf("batch sizes %v: want 1 to %d each", sizes, max)
		}
	}
	if _, batches := sub.(bus.Batcher); batches && len(sizes) > n/2 {
		t.Fatalf("batch sizes %v: the queued events did not come together", sizes)
	}
	if _, err := bus.SubscribeBatch(sub, "stock.moved", "batches", 0, func(context.Context, []*bus.Event) error { return nil }); !errors.Is(err, bus.ErrInvalid) {
		t.Fatalf("batch of 0: %v, want invalid", err)
	}
}

// testEventBatchFailure: an event that keeps failing is retried and
// dead-lettered alone; the others of its batch are handled.
func testEventBatchFailure(t *testing.T, connect func() bus.Bus) {
	sub, pub := connect(), connect()
	var (
		mu      sync.Mutex
		handled = map[string]int{}
		bad     int
		release = make(chan struct{})
		once    sync.Once
	)
	c, err := bus.SubscribeBatch(sub, "stock.failed", "batchfail", 10, func(_ context.Context, evs []*bus.Event) error {
		once.Do(func() { <-release })
		mu.Lock()
		defer mu.Unlock()
		for _, e := range evs {
			if string(e.Body) == `"bad"` {
				bad++
				return errors.New("bad event")
			}
		}
		for _, e := range evs {
			handled[string(e.Body)]++
		}
		return nil
	})
	if err != nil {
		t.Fatalf("subscribe batch: %v", err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	for _, body := range []string{`"first"`, `"a"`, `"bad"`, `"b"`} {
		publish(t, pub, "stock.failed", body)
	}
	close(release)
	waitFor(t, 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return handled[`"b"`] > 0 && bad >= bus.EventAttempts
	})
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if handled[`"first"`] != 1 || handled[`"a"`] != 1 || handled[`"b"`] != 1 || handled[`"bad"`] != 0 {
		t.Fatalf("handled %v: want first, a and b once each", handled)
	}
	if _, batches := sub.(bus.Batcher); bad < bus.EventAttempts || bad > bus.EventAttempts+1 || !batches && bad != bus.EventAttempts {
		t.Fatalf("the bad event was tried %d times, want %d (and once more in its batch)", bad, bus.EventAttempts)
	}
}

func testBadTopic(t *testing.T, connect func() bus.Bus) {
	b := connect()
	for _, topic := range []string{"", "a..b", "a.*", "a.#"} {
		if err := b.Publish(ctxTimeout(t, time.Second), topic, []byte(`{}`)); !errors.Is(err, bus.ErrInvalid) {
			t.Errorf("publish %q: %v, want invalid", topic, err)
		}
	}
	if _, err := b.Subscribe("a..b", "g", func(context.Context, *bus.Event) error { return nil }); !errors.Is(err, bus.ErrInvalid) {
		t.Errorf("subscribe a..b: %v, want invalid", err)
	}
	big := bytes.Repeat([]byte("x"), bus.MaxBodySize+1)
	if err := b.Publish(ctxTimeout(t, time.Second), "big.event", big); !errors.Is(err, bus.ErrInvalid) {
		t.Errorf("publish oversize: %v, want invalid", err)
	}
}

// testEventKeepsGivenID: an event published under bus.WithEventID arrives
// with that id, each time it is published (an outbox relay's republish),
// and one published without it gets a fresh id.
func testEventKeepsGivenID(t *testing.T, connect func() bus.Bus) {
	sub, pub := connect(), connect()
	var mu sync.Mutex
	var ids []string
	subscribe(t, sub, "thing.kept", "ids", func(_ context.Context, ev *bus.Event) error {
		mu.Lock()
		ids = append(ids, ev.ID)
		mu.Unlock()
		return nil
	})
	ctx := ctxTimeout(t, 5*time.Second)
	const id = "0192d1c4-7a2e-7000-8000-000000000001"
	publish(t, pub, "thing.kept", `{}`) // a fresh id
	for range 2 {
		if err := pub.Publish(bus.WithEventID(ctx, id), "thing.kept", []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(ids) == 3 })
	mu.Lock()
	defer mu.Unlock()
	if ids[0] == id || ids[0] == "" || ids[1] != id || ids[2] != id {
		t.Fatalf("event ids %v: want a fresh one, then %s twice", ids, id)
	}
}
