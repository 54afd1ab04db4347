package amqp

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
	"github.com/shopengine/shop/internal/bus"
)

// call is a request waiting for its reply (or a ping collecting replies).
type call struct {
	queue, op string
	done      chan result // buffered; written once by whoever removes the call
	// collect, when set, takes every reply and the call stays registered
	// until its owner removes it (ping).
	collect func(d *amqp091.Delivery)
}

type result struct {
	body []byte
	err  *bus.Error
}

func (c *call) finish(r result) {
	select {
	case c.done <- r:
	default:
	}
}

// add registers c under id; false when the session is dead.
func (s *session) add(id string, c *call) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dead {
		return false
	}
	s.pending[id] = c
	return true
}

func (s *session) remove(id string) {
	s.mu.Lock()
	delete(s.pending, id)
	s.mu.Unlock()
}

// take returns the call waiting for id, removing single-reply calls.
func (s *session) take(id string) *call {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.pending[id]
	if c != nil && c.collect == nil {
		delete(s.pending, id)
	}
	return c
}

func (b *Bus) nextID() string { return strconv.FormatUint(b.seq.Add(1), 36) }

// Request implements bus.Bus.
func (b *Bus) Request(ctx context.Context, queue, op string, body []byte) ([]byte, error) {
	if len(body) > bus.MaxBodySize {
		return nil, bus.Errorf(bus.CodeInvalid, "%s/%s: body of %d bytes exceeds the limit of %d", queue, op, len(body), bus.MaxBodySize)
	}
	if len(op) > maxNameLen {
		return nil, bus.Errorf(bus.CodeInvalid, "%s/%s: op longer than %d bytes", queue, op[:32], maxNameLen)
	}
	ctx, cancel := bus.Deadline(ctx)
	defer cancel()
	if ctx.Err() != nil {
		return nil, bus.ContextError(ctx, queue, op)
	}
	meta := bus.MetaFrom(ctx)
	if err := checkMeta(meta); err != nil {
		return nil, err
	}
	key := b.reqKeyPrefix + queue
	if len(key) > maxNameLen || queue == "" {
		return nil, bus.Errorf(bus.CodeUnavailable, "%s/%s: no such queue", queue, op)
	}
	s, why := b.session()
	if s == nil {
		return nil, bus.Errorf(bus.CodeUnavailable, "%s/%s: %s", queue, op, why)
	}

	deadline, _ := ctx.Deadline()
	id := b.nextID()
	c := &call{queue: queue, op: op, done: make(chan result, 1)}
	if !s.add(id, c) {
		return nil, bus.Errorf(bus.CodeUnavailable, "%s/%s: connection to the broker lost", queue, op)
	}
	err := s.rpc.Publish("", key, true, false, amqp091.Publishing{
		Headers:       metaHeaders(amqp091.Table{HeaderDeadline: deadline.UnixMilli()}, meta),
		ContentType:   contentJSON,
		CorrelationId: id,
		MessageId:     bus.NewRequestID(), // bus.Request.ID: kept by redeliveries
		ReplyTo:       DirectReplyTo,
		Expiration:    expiration(deadline),
		Type:          op,
		Body:          body,
	})
	if err != nil {
		s.remove(id)
		return nil, bus.Errorf(bus.CodeUnavailable, "%s/%s: publish: %w", queue, op, err)
	}
	select {
	case r := <-c.done:
		if r.err != nil {
			return nil, r.err
		}
		return r.body, nil
	case <-ctx.Done():
		s.remove(id)
		err := bus.ContextError(ctx, queue, op)
		if errors.Is(err, context.DeadlineExceeded) && s.unconsumed(key) {
			// Nobody is running the module: that is "down", not "slow".
			return nil, bus.Errorf(bus.CodeUnavailable, "%s/%s: no instance is consuming queue %q (no reply before the deadline)", queue, op, queue)
		}
		return nil, err
	}
}

// unconsumed reports whether queue exists with no consumer. It costs a
// channel and a passive declare, so it runs only on the timeout path.
func (s *session) unconsumed(queue string) bool {
	ch, err := s.conn.Channel()
	if err != nil {
		return false
	}
	defer ch.Close()
	q, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil)
	return err == nil && q.Consumers == 0
}

// readReplies hands replies arriving on direct reply-to to their callers.
func (s *session) readReplies(replies <-chan amqp091.Delivery) {
	for d := range replies {
		c := s.take(d.CorrelationId)
		if c == nil {
			continue // its caller gave up
		}
		if c.collect != nil {
			c.collect(&d)
			continue
		}
		if err := replyError(d.Headers, c.queue, c.op); err != nil {
			c.finish(result{err: err})
			continue
		}
		c.finish(result{body: d.Body})
	}
}

// readReturns fails at once the calls whose request the broker could not
// route: nobody declared the queue, so nobody serves it.
func (s *session) readReturns(returns <-chan amqp091.Return) {
	for r := range returns {
		c := s.take(r.CorrelationId)
		if c == nil || c.collect != nil {
			continue
		}
		c.finish(result{err: bus.Errorf(bus.CodeUnavailable, "%s/%s: no instance serves queue %q (%s)", c.queue, c.op, c.queue, r.ReplyText)})
	}
}

// Ping implements bus.Bus: it asks every Bus on the broker (with the same
// prefix) for the Info of the services it serves and collects the answers
// until ctx ends (pingDefault when ctx has no deadline).
func (b *Bus) Ping(ctx context.Context) ([]bus.Info, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, pingDefault)
		defer cancel()
	}
	s, why := b.session()
	if s == nil {
		return nil, bus.Errorf(bus.CodeUnavailable, "ping: %s", why)
	}
	deadline, _ := ctx.Deadline()
	var (
		mu    sync.Mutex
		infos []bus.Info
	)
	id := b.nextID()
	c := &call{queue: "control", op: typePing, done: make(chan result, 1), collect: func(d *amqp091.Delivery) {
		var got []bus.Info
		if err := json.Unmarshal(d.Body, &got); err != nil {
			b.log.Warn("malformed ping answer", "err", err)
			return
		}
		mu.Lock()
		infos = append(infos, got...)
		mu.Unlock()
	}}
	if !s.add(id, c) {
		return nil, bus.Errorf(bus.CodeUnavailable, "ping: connection to the broker lost")
	}
	defer s.remove(id)
	err := s.rpc.Publish(b.names.control(), "", false, false, amqp091.Publishing{
		ContentType:   contentJSON,
		CorrelationId: id,
		ReplyTo:       DirectReplyTo,
		Expiration:    expiration(deadline),
		Type:          typePing,
	})
	if err != nil {
		return nil, bus.Errorf(bus.CodeUnavailable, "ping: publish: %w", err)
	}
	select {
	case <-ctx.Done():
	case r := <-c.done:
		return nil, r.err
	}
	s.remove(id)
	mu.Lock()
	defer mu.Unlock()
	return infos, nil
}

// answerPings answers every ping with the Info of the services this Bus
// serves or announces; a Bus with neither stays silent.
func (s *session) answerPings(pings <-chan amqp091.Delivery) {
	for d := range pings {
		if d.Type != typePing || d.CorrelationId == "" || !isDirectReplyTo(d.ReplyTo) {
			continue
		}
		infos := s.b.serviceInfos()
		if len(infos) == 0 {
			continue
		}
		body, err := json.Marshal(infos)
		if err != nil {
			continue
		}
		if err := s.ctl.Publish("", d.ReplyTo, false, false, amqp091.Publishing{
			ContentType:   contentJSON,
			CorrelationId: d.CorrelationId,
			Type:          typePong,
			Timestamp:     time.Now(),
			Body:          body,
		}); err != nil {
			s.b.log.Debug("answer ping", "err", err)
		}
	}
}

func (b *Bus) serviceInfos() []bus.Info {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []bus.Info
	for c := range b.consumers {
		if c.svc != nil && !c.isStopping() {
			out = append(out, c.svc.Info())
		}
	}
	for a := range b.announced {
		out = append(out, a.svc.Info())
	}
	return out
}

// Announce implements bus.Bus: every ping that reaches this Bus's control
// queue (which exists for the life of each connection, and with it after a
// reconnection) is answered with s's Info too, until Stop. No queue is
// declared for s.
func (b *Bus) Announce(s *bus.Service) (bus.Consumer, error) {
	a := &announcement{b: b, svc: s}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed.Load() {
		return nil, bus.Errorf(bus.CodeUnavailable, "announce %s: bus closed", s.Name())
	}
	b.announced[a] = struct{}{}
	return a, nil
}

// announcement is one Announce.
type announcement struct {
	b   *Bus
	svc *bus.Service
}

// Stop implements bus.Consumer: later pings are not answered for the
// service. Nothing is in flight.
func (a *announcement) Stop(context.Context) error {
	a.b.mu.Lock()
	delete(a.b.announced, a)
	a.b.mu.Unlock()
	return nil
}
