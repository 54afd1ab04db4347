package moduletest

import (
	"context"
	"sync"
	"testing"

	"github.com/shopengine/shop/internal/bus"
)

// Stub stands in for another module on a test bus: a bus.Service on that
// module's queue answering the contract endpoints a test gives it handlers
// for. Any other op is not_found, as from a module that lacks it, so a
// module calling a peer endpoint its tests did not expect fails loudly.
//
// A stub answers through the bus like the real module (JSON round trip,
// deadlines, error codes), so what the module under test sees is what it
// would see in production, without its tests importing the peer's package.
type Stub struct {
	t     testing.TB
	queue string
	svc   *bus.Service
	stop  func() error // takes the stub off the bus, once

	mu    sync.Mutex
	calls map[string]int
}

// NewStub serves a stub of the module behind queue (contract.CategoryQueue
// …) on b until t ends. Handlers may be added before or after the module
// under test starts.
func NewStub(t testing.TB, b bus.Bus, queue string) *Stub {
	t.Helper()
	s := &Stub{t: t, queue: queue, svc: bus.NewService(queue, "stub", TestLogger(t)), calls: map[string]int{}}
	c, err := b.Serve(s.svc)
	if err != nil {
		t.Fatalf("moduletest: serve stub %s: %v", queue, err)
	}
	s.stop = sync.OnceValue(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), StopTimeout)
		defer cancel()
		return c.Stop(ctx)
	})
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("moduletest: stop stub %s: %v", queue, err)
		}
	})
	return s
}

// Stop takes the stub off the bus, as if the module it stands in for
// were down: calls to it then fail as calls to a missing module do
// (unavailable at their deadline), for a test of what the module under
// test does without its peer.
func (s *Stub) Stop() {
	s.t.Helper()
	if err := s.stop(); err != nil {
		s.t.Fatalf("moduletest: stop stub %s: %v", s.queue, err)
	}
}

// Handle makes s answer e with fn. An endpoint of another queue than the
// stub's, or one handled twice, fails the test.
func Handle[Req, Resp any](s *Stub, e bus.Endpoint[Req, Resp], fn func(ctx context.Context, req Req) (Resp, error)) {
	s.t.Helper()
	if e.Queue != s.queue {
		s.t.Fatalf("moduletest: endpoint %s/%s on the stub of %s", e.Queue, e.Op, s.queue)
	}
	s.mu.Lock()
	_, dup := s.calls[e.Op]
	s.calls[e.Op] = 0
	s.mu.Unlock()
	if dup {
		s.t.Fatalf("moduletest: stub %s handles %s twice", s.queue, e.Op)
	}
	bus.Handle(s.svc, e, func(ctx context.Context, req Req) (Resp, error) {
		s.mu.Lock()
		s.calls[e.Op]++
		s.mu.Unlock()
		return fn(ctx, req)
	})
}

// Reply makes s answer e with resp, whatever the request.
func Reply[Req, Resp any](s *Stub, e bus.Endpoint[Req, Resp], resp Resp) {
	s.t.Helper()
	Handle(s, e, func(context.Context, Req) (Resp, error) { return resp, nil })
}

// Calls returns how many requests for op reached the stub's handler, for
// a test that checks whether, or how often, the module under test asked
// its peer.
func (s *Stub) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}
