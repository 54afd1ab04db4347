// Package memory is the in-process bus: Go channels and goroutines with the
// semantics of the RabbitMQ bus (JSON bodies, deadlines, error codes,
// competing instances, event groups, at-least-once events), so a test that
// passes on one passes on the other.
package memory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopengine/shop/internal/bus"
)

// hub is the shared "broker" of connected Buses.
type hub struct {
	mu       sync.RWMutex
	services map[string][]*instance // queue → serving instances
	next     atomic.Uint64          // round robin among instances
	groups   map[groupKey]*group
	// announced are the instances that answer Ping without a queue.
	announced map[*announcement]struct{}
}

type groupKey struct{ group, pattern string }

// Bus is one connection to an in-process hub.
type Bus struct {
	hub     *hub
	log     *slog.Logger
	closing chan struct{}

	mu        sync.Mutex
	closed    bool
	consumers map[bus.Consumer]struct{}
}

// New returns a Bus on a new hub.
func New(log *slog.Logger) *Bus {
	h := &hub{services: map[string][]*instance{}, groups: map[groupKey]*group{}, announced: map[*announcement]struct{}{}}
	return newBus(h, log)
}

// Peer returns another Bus on the same hub, like a second process connected
// to the same broker: it has its own consumers and its own Close.
func (b *Bus) Peer() *Bus { return newBus(b.hub, b.log) }

func newBus(h *hub, log *slog.Logger) *Bus {
	if log == nil {
		log = slog.Default()
	}
	return &Bus{hub: h, log: log, closing: make(chan struct{}), consumers: map[bus.Consumer]struct{}{}}
}

var (
	_ bus.Bus     = (*Bus)(nil)
	_ bus.Batcher = (*Bus)(nil)
)

func (b *Bus) track(c bus.Consumer) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return bus.Errorf(bus.CodeUnavailable, "bus closed")
	}
	b.consumers[c] = struct{}{}
	return nil
}

func (b *Bus) untrack(c bus.Consumer) {
	b.mu.Lock()
	delete(b.consumers, c)
	b.mu.Unlock()
}

// Request implements bus.Bus.
func (b *Bus) Request(ctx context.Context, queue, op string, body []byte) ([]byte, error) {
	ctx, cancel := bus.Deadline(ctx)
	defer cancel()
	if len(body) > bus.MaxBodySize {
		return nil, bus.Errorf(bus.CodeInvalid, "%s/%s: body of %d bytes exceeds the limit of %d", queue, op, len(body), bus.MaxBodySize)
	}
	if err := b.Healthy(); err != nil {
		return nil, err
	}
	inst := b.hub.pick(queue)
	if inst == nil {
		return nil, bus.Errorf(bus.CodeUnavailable, "%s/%s: no instance serves queue %q", queue, op, queue)
	}
	defer inst.inflight.Done()

	deadline, _ := ctx.Deadline()
	req := &bus.Request{ID: bus.NewRequestID(), Queue: queue, Op: op, Body: append([]byte(nil), body...), Meta: bus.MetaFrom(ctx)}
	type result struct {
		body []byte
		err  *bus.Error
	}
	done := make(chan result, 1)
	hctx := bus.WithMeta(handlerContext{ctx}, req.Meta)
	workers.run(func() {
		out, err := inst.svc.Dispatch(hctx, req)
		done <- result{out, err} // a fresh encoding: nobody else holds it
	})
	select {
	case r := <-done:
		if r.err != nil && (ctx.Err() != nil || r.err.Code == bus.CodeTimeout && !time.Now().Before(deadline)) {
			// The handler gave up on the caller's deadline, which its own
			// timer saw first: report the caller's timeout, as AMQP does.
			return nil, bus.ContextError(ctx, queue, op)
		}
		if r.err != nil {
			// Only code, message and retry-after cross the bus.
			return nil, r.err.Wire()
		}
		return r.body, nil
	case <-ctx.Done():
		return nil, bus.ContextError(ctx, queue, op)
	case <-b.closing:
		return nil, bus.Errorf(bus.CodeUnavailable, "%s/%s: bus closed", queue, op)
	}
}

// handlerContext is what a handler runs under: the caller's deadline (and,
// in process, its cancellation, which only ends work that the deadline
// could end anyway) but none of the caller's context values: only Meta
// crosses a bus, so a handler cannot come to depend on more in-process.
// It costs no timer of its own.
type handlerContext struct{ context.Context }

func (handlerContext) Value(any) any { return nil }

// workers runs handlers on reused goroutines: a handler's stack grows once
// (JSON decoding is deep) instead of on every request, which a goroutine
// per request pays each time. Shared by every in-process bus; at most
// maxIdleWorkers wait for work, and any burst beyond runs on new goroutines.
var workers = workerPool{idle: make(chan chan func(), maxIdleWorkers)}

const maxIdleWorkers = 128

type workerPool struct{ idle chan chan func() }

func (p *workerPool) run(f func()) {
	select {
	case w := <-p.idle:
		w <- f
	default:
		go p.work(f)
	}
}

func (p *workerPool) work(f func()) {
	jobs := make(chan func(), 1)
	for {
		f()
		select {
		case p.idle <- jobs:
		default:
			return // enough workers are idle
		}
		f = <-jobs
	}
}

// pick returns a live instance serving queue with its in-flight count taken,
// or nil.
func (h *hub) pick(queue string) *instance {
	h.mu.RLock()
	defer h.mu.RUnlock()
	insts := h.services[queue]
	for range insts {
		inst := insts[h.next.Add(1)%uint64(len(insts))]
		if inst.acquire() {
			return inst
		}
	}
	return nil
}

// instance is one Serve of a service.
type instance struct {
	svc *bus.Service
	hub *hub
	bus *Bus
	// mu guards stopped; requests take it shared (it is on every call's
	// path), Stop exclusively, so no request starts after Stop's Wait.
	mu       sync.RWMutex
	stopped  bool
	inflight sync.WaitGroup
}

func (i *instance) acquire() bool {
	i.mu.RLock()
	defer i.mu.RUnlock()
	if i.stopped {
		return false
	}
	i.inflight.Add(1)
	return true
}

// Serve implements bus.Bus.
func (b *Bus) Serve(s *bus.Service) (bus.Consumer, error) {
	inst := &instance{svc: s, hub: b.hub, bus: b}
	if err := b.track(inst); err != nil {
		return nil, err
	}
	b.hub.mu.Lock()
	b.hub.services[s.Name()] = append(b.hub.services[s.Name()], inst)
	b.hub.mu.Unlock()
	return inst, nil
}

// Stop implements bus.Consumer: no new requests reach the instance; those in
// flight finish until ctx ends.
func (i *instance) Stop(ctx context.Context) error {
	i.mu.Lock()
	i.stopped = true
	i.mu.Unlock()
	i.hub.mu.Lock()
	insts := i.hub.services[i.svc.Name()]
	for k, x := range insts {
		if x == i {
			i.hub.services[i.svc.Name()] = append(insts[:k:k], insts[k+1:]...)
			break
		}
	}
	i.hub.mu.Unlock()
	i.bus.untrack(i)
	return wait(ctx, &i.inflight)
}

func wait(ctx context.Context, wg *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("drain: %w", ctx.Err())
	}
}

// Announce implements bus.Bus: s answers Ping until Stop, and takes no
// requests.
func (b *Bus) Announce(s *bus.Service) (bus.Consumer, error) {
	a := &announcement{svc: s, bus: b}
	if err := b.track(a); err != nil {
		return nil, err
	}
	b.hub.mu.Lock()
	b.hub.announced[a] = struct{}{}
	b.hub.mu.Unlock()
	return a, nil
}

// announcement is one Announce of a service.
type announcement struct {
	svc *bus.Service
	bus *Bus
}

// Stop implements bus.Consumer: the service no longer answers Ping. There
// is nothing in flight to wait for.
func (a *announcement) Stop(context.Context) error {
	a.bus.hub.mu.Lock()
	delete(a.bus.hub.announced, a)
	a.bus.hub.mu.Unlock()
	a.bus.untrack(a)
	return nil
}

// Publish implements bus.Bus.
func (b *Bus) Publish(ctx context.Context, topic string, body []byte) error {
	if err := bus.ValidateTopic(topic); err != nil {
		return err
	}
	if len(body) > bus.MaxBodySize {
		return bus.Errorf(bus.CodeInvalid, "event %s: body of %d bytes exceeds the limit of %d", topic, len(body), bus.MaxBodySize)
	}
	if err := b.Healthy(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return bus.ContextError(ctx, "event", topic)
	}
	ev := bus.Event{ID: bus.EventID(ctx), Topic: topic, Body: body, Published: time.Now(), Meta: bus.MetaFrom(ctx)}
	b.hub.mu.RLock()
	defer b.hub.mu.RUnlock()
	for k, g := range b.hub.groups {
		if bus.Match(k.pattern, topic) {
			e := ev
			e.Body = append([]byte(nil), body...)
			g.push(&e)
		}
	}
	return nil
}

// group is the durable queue of one (group, pattern) subscription: it keeps
// events while no subscriber is running, like a durable AMQP queue.
type group struct {
	mu      sync.Mutex
	pending []*bus.Event
	wake    chan struct{} // has a token when pending may be non-empty
}

func (g *group) push(e *bus.Event) {
	g.mu.Lock()
	g.pending = append(g.pending, e)
	g.mu.Unlock()
	g.signal()
}

func (g *group) signal() {
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// pop takes up to max of the pending events, oldest first.
func (g *group) pop(max int) []*bus.Event {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := min(max, len(g.pending))
	if n == 0 {
		return nil
	}
	evs := slices.Clone(g.pending[:n])
	clear(g.pending[:n])
	g.pending = g.pending[n:]
	if len(g.pending) > 0 {
		g.signal()
	}
	return evs
}

// putBack returns events a stopping subscriber did not handle to the
// front of the queue, in their order, for the next subscriber.
func (g *group) putBack(evs []*bus.Event) {
	if len(evs) == 0 {
		return
	}
	g.mu.Lock()
	g.pending = append(slices.Clone(evs), g.pending...)
	g.mu.Unlock()
	g.signal()
}

// Subscribe implements bus.Bus.
func (b *Bus) Subscribe(pattern, groupName string, h bus.EventHandler) (bus.Consumer, error) {
	return b.subscribe(pattern, groupName, 1, func(ctx context.Context, evs []*bus.Event) error { return h(ctx, evs[0]) })
}

// SubscribeBatch implements bus.Batcher: the subscriber takes up to max
// of the events waiting in its group's queue at once.
func (b *Bus) SubscribeBatch(pattern, groupName string, max int, h bus.BatchHandler) (bus.Consumer, error) {
	if max < 1 || max > bus.MaxEventBatch {
		return nil, bus.Errorf(bus.CodeInvalid, "subscribe %s: batch of %d, want 1 to %d", pattern, max, bus.MaxEventBatch)
	}
	return b.subscribe(pattern, groupName, max, h)
}

func (b *Bus) subscribe(pattern, groupName string, max int, h bus.BatchHandler) (bus.Consumer, error) {
	if err := bus.ValidatePattern(pattern); err != nil {
		return nil, err
	}
	if groupName == "" {
		return nil, bus.Errorf(bus.CodeInvalid, "subscribe %s: empty group", pattern)
	}
	b.hub.mu.Lock()
	k := groupKey{groupName, pattern}
	g := b.hub.groups[k]
	if g == nil {
		g = &group{wake: make(chan struct{}, 1)}
		b.hub.groups[k] = g
	}
	b.hub.mu.Unlock()

	s := &subscriber{g: g, h: h, max: max, bus: b, stop: make(chan struct{}), done: make(chan struct{}), log: b.log.With("group", groupName, "pattern", pattern)}
	if err := b.track(s); err != nil {
		return nil, err
	}
	go s.run()
	g.signal()
	return s, nil
}

type subscriber struct {
	g    *group
	h    bus.BatchHandler
	max  int // events per call of h
	bus  *Bus
	log  *slog.Logger
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// run handles events one batch at a time, so a read model sees them in
// order.
func (s *subscriber) run() {
	defer close(s.done)
	for {
		select {
		case <-s.stop:
			return
		case <-s.g.wake:
		}
		for {
			select {
			case <-s.stop:
				s.g.signal() // hand remaining events to another subscriber
				return
			default:
			}
			evs := s.g.pop(s.max)
			if len(evs) == 0 {
				break
			}
			s.deliverBatch(evs)
		}
	}
}

// deliverBatch tries the handler on the whole batch once; should that
// fail, it delivers the events one at a time (see bus.BatchHandler), so
// that only the failing one is retried and dead-lettered.
func (s *subscriber) deliverBatch(evs []*bus.Event) {
	if len(evs) > 1 {
		err := s.call(evs)
		if err == nil {
			return
		}
		s.log.Warn("event batch failed, delivering its events one at a time", "events", len(evs), "err", err)
		for _, e := range evs {
			e.Redelivered = true
		}
	}
	for i, e := range evs {
		if !s.deliver(e) {
			s.g.putBack(evs[i:])
			return
		}
	}
}

// deliver tries the handler up to bus.EventAttempts times with backoff; an
// event that keeps failing is dropped with an error log (the AMQP bus
// dead-letters it). It returns false when the subscriber stopped before
// the event was handled: the caller puts it back.
func (s *subscriber) deliver(e *bus.Event) bool {
	backoff := 10 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := s.call([]*bus.Event{e})
		if err == nil {
			return true
		}
		if attempt == bus.EventAttempts {
			s.log.Error("event dead-lettered", "topic", e.Topic, "id", e.ID, "attempts", attempt, "err", err)
			return true
		}
		s.log.Warn("event handler failed, retrying", "topic", e.Topic, "id", e.ID, "attempt", attempt, "err", err)
		e.Redelivered = true
		select {
		case <-time.After(backoff):
		case <-s.stop:
			return false
		}
		backoff = min(2*backoff, time.Second)
	}
}

// call runs the handler on copies of evs (the handler may keep or change
// them), under the event's Meta when there is one event; a batch's events
// each carry their own.
func (s *subscriber) call(evs []*bus.Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("event handler panic: %v", p)
		}
	}()
	ctx := context.Background()
	if len(evs) == 1 {
		ctx = bus.WithMeta(ctx, evs[0].Meta)
	}
	copies := make([]*bus.Event, len(evs))
	for i, e := range evs {
		ev := *e
		ev.Body = append([]byte(nil), e.Body...)
		copies[i] = &ev
	}
	return s.h(ctx, copies)
}

// Stop implements bus.Consumer; the group keeps its pending events.
func (s *subscriber) Stop(ctx context.Context) error {
	s.once.Do(func() { close(s.stop) })
	s.bus.untrack(s)
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("drain subscriber: %w", ctx.Err())
	}
}

// Ping implements bus.Bus: every instance on the hub, served or announced,
// answers at once.
func (b *Bus) Ping(ctx context.Context) ([]bus.Info, error) {
	if err := b.Healthy(); err != nil {
		return nil, err
	}
	b.hub.mu.RLock()
	defer b.hub.mu.RUnlock()
	var out []bus.Info
	for _, insts := range b.hub.services {
		for _, i := range insts {
			out = append(out, i.svc.Info())
		}
	}
	for a := range b.hub.announced {
		out = append(out, a.svc.Info())
	}
	return out, nil
}

// Healthy implements bus.Bus.
func (b *Bus) Healthy() error {
	select {
	case <-b.closing:
		return bus.Errorf(bus.CodeUnavailable, "bus closed")
	default:
		return nil
	}
}

// Close implements bus.Bus.
func (b *Bus) Close(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	cs := make([]bus.Consumer, 0, len(b.consumers))
	for c := range b.consumers {
		cs = append(cs, c)
	}
	b.mu.Unlock()
	var errs []error
	for _, c := range cs {
		errs = append(errs, c.Stop(ctx))
	}
	close(b.closing)
	return errors.Join(errs...)
}
