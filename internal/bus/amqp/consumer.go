package amqp

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
	"github.com/shopengine/shop/internal/bus"
)

// consumer is one Serve or Subscribe: a queue consumed on its own channel,
// re-established on every new session until Stop.
type consumer struct {
	b       *Bus
	log     *slog.Logger
	what    string // for messages: "serve cart", "subscribe seo/product.*"
	queue   string
	workers int // deliveries handled at once

	// declare declares the queue (and its bindings) on ch.
	declare func(ch *amqp091.Channel) error
	// handle handles one delivery and acks or rejects it.
	handle func(a *attachment, d *amqp091.Delivery)

	svc *bus.Service // Serve only, for Ping

	stopping chan struct{}
	stopOnce sync.Once
	done     chan struct{}
	// base is the parent of handler contexts, cancelled when a Stop's
	// drain gives up: abandoned handlers then end early.
	base  context.Context
	abort context.CancelFunc
}

// attachment is a consumer attached to one channel of one session.
type attachment struct {
	s          *session
	ch         *amqp091.Channel
	tag        string
	deliveries <-chan amqp091.Delivery
	// ctx is cancelled when the session dies: a reply could not be sent
	// anyway, and the broker redelivers the request.
	ctx context.Context
}

func (c *consumer) isStopping() bool {
	select {
	case <-c.stopping:
		return true
	default:
		return false
	}
}

// start runs c. While connected, the first attachment is made at once so
// that its errors (say, a queue declared with other arguments) reach the
// caller; while reconnecting, c attaches once the connection is back.
func (b *Bus) start(c *consumer) (bus.Consumer, error) {
	c.b = b
	c.stopping = make(chan struct{})
	c.done = make(chan struct{})
	c.base, c.abort = context.WithCancel(context.Background())
	if err := b.track(c); err != nil {
		c.abort()
		return nil, err
	}
	var a *attachment
	if s, _ := b.session(); s != nil {
		var err error
		if a, err = c.attach(s); err != nil && s.alive() {
			b.untrack(c)
			c.abort()
			return nil, bus.Errorf(bus.CodeUnavailable, "%s: %w", c.what, err)
		}
	}
	go c.run(a)
	return c, nil
}

func (c *consumer) attach(s *session) (*attachment, error) {
	ch, err := s.conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("open channel: %w", err)
	}
	fail := func(err error) (*attachment, error) {
		_ = ch.Close()
		return nil, err
	}
	if err := ch.Qos(c.b.opts.Prefetch, 0, false); err != nil {
		return fail(fmt.Errorf("qos: %w", err))
	}
	if err := c.declare(ch); err != nil {
		return fail(err)
	}
	tag := "shop-" + c.b.nextID()
	deliveries, err := ch.Consume(c.queue, tag, false, false, false, false, nil)
	if err != nil {
		return fail(fmt.Errorf("consume %s: %w", c.queue, err))
	}
	return &attachment{s: s, ch: ch, tag: tag, deliveries: deliveries}, nil
}

// declareQueue declares a durable queue with its dead-letter queue.
func (b *Bus) declareQueue(ch *amqp091.Channel, queue string) error {
	if _, err := ch.QueueDeclare(dlq(queue), true, false, false, false, dlqArgs()); err != nil {
		return fmt.Errorf("declare queue %s: %w", dlq(queue), err)
	}
	b.declared("queue", dlq(queue))
	if _, err := ch.QueueDeclare(queue, true, false, false, false, queueArgs(queue)); err != nil {
		return fmt.Errorf("declare queue %s: %w", queue, err)
	}
	b.declared("queue", queue)
	return nil
}

// run consumes until Stop, attaching again after every loss.
func (c *consumer) run(a *attachment) {
	defer close(c.done)
	defer c.abort()
	backoff := reconnectMin
	for {
		if a != nil {
			began := time.Now()
			c.consume(a)
			if c.isStopping() {
				return
			}
			if time.Since(began) > 10*time.Second {
				backoff = reconnectMin
			}
			if a.s.alive() {
				// The channel failed on a live connection (e.g. the queue was
				// deleted): try again, but not in a tight loop.
				c.log.Warn("consumer channel closed; attaching again", "queue", c.queue)
				if !sleep(c.stopping, jitter(backoff)) {
					return
				}
				backoff = min(2*backoff, c.b.opts.ReconnectMax)
			}
			a = nil
		}
		s := c.b.waitSession(c.stopping)
		if s == nil {
			return
		}
		var err error
		if a, err = c.attach(s); err != nil {
			if !s.alive() {
				continue // waitSession waits for the next one
			}
			c.log.Error("cannot attach consumer", "queue", c.queue, "err", err)
			if !sleep(c.stopping, jitter(backoff)) {
				return
			}
			backoff = min(2*backoff, c.b.opts.ReconnectMax)
			continue
		}
		c.log.Info("consumer attached again", "queue", c.queue)
	}
}

// consume handles a's deliveries with c.workers goroutines until the
// deliveries end (Stop cancelled the consumer, or the channel died), then
// closes the channel, which returns unacked deliveries to the queue.
func (c *consumer) consume(a *attachment) {
	var cancel context.CancelFunc
	a.ctx, cancel = context.WithCancel(c.base)
	defer cancel()
	finished := make(chan struct{})
	go func() {
		stopping := c.stopping
		for {
			select {
			case <-a.s.done:
				cancel()
				return
			case <-stopping:
				stopping = nil
				// basic.cancel: the broker sends no more; what was
				// prefetched still arrives and goes back to the queue.
				if err := a.ch.Cancel(a.tag, false); err != nil {
					_ = a.ch.Close()
				}
			case <-finished:
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range c.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range a.deliveries {
				if c.isStopping() {
					_ = d.Nack(false, true) // for another instance
					continue
				}
				c.handle(a, &d)
			}
		}()
	}
	wg.Wait()
	close(finished)
	_ = a.ch.Close()
}

// Stop implements bus.Consumer: basic.cancel, then wait until in-flight
// deliveries are handled and acked, or ctx ends. Queues are kept.
func (c *consumer) Stop(ctx context.Context) error {
	c.stopOnce.Do(func() { close(c.stopping) })
	defer c.b.untrack(c)
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		c.abort()
		return fmt.Errorf("%s: drain: %w", c.what, ctx.Err())
	}
}

func isDirectReplyTo(replyTo string) bool {
	return strings.HasPrefix(replyTo, DirectReplyTo+".")
}

// Serve implements bus.Bus: s's instance competes with every other for the
// requests of the durable queue <prefix>shop.<name>, handling up to
// Prefetch at once.
func (b *Bus) Serve(s *bus.Service) (bus.Consumer, error) {
	if !validName(s.Name()) {
		return nil, bus.Errorf(bus.CodeInvalid, "serve %q: a queue name is 1 to 200 characters without white space", s.Name())
	}
	queue := b.names.request(s.Name())
	c := &consumer{
		what:    "serve " + s.Name(),
		queue:   queue,
		workers: b.opts.Prefetch,
		svc:     s,
		log:     b.log.With("service", s.Name()),
		declare: func(ch *amqp091.Channel) error { return b.declareQueue(ch, queue) },
	}
	c.handle = c.handleRequest
	return b.start(c)
}

// handleRequest dispatches one request and replies before acking it.
func (c *consumer) handleRequest(a *attachment, d *amqp091.Delivery) {
	if d.CorrelationId == "" || !isDirectReplyTo(d.ReplyTo) {
		// Nobody could get the answer: dead-letter it for inspection.
		c.log.Warn("dead-lettering a request without correlation id or direct reply-to address",
			"op", d.Type, "reply_to", d.ReplyTo, "correlation_id", d.CorrelationId)
		_ = d.Nack(false, false)
		return
	}
	now := time.Now()
	deadline := requestDeadline(d, now)
	if !deadline.After(now) {
		c.log.Debug("skipping a request whose caller gave up", "op", d.Type, "late", now.Sub(deadline))
		_ = d.Ack(false)
		return
	}
	svc := c.svc
	meta := metaFrom(d.Headers)
	ctx, cancel := context.WithDeadline(bus.WithMeta(a.ctx, meta), deadline)
	id := d.MessageId
	if len(id) > maxMetaLen {
		id = "" // not one of ours: no request id rather than a huge one
	}
	out, berr := svc.Dispatch(ctx, &bus.Request{ID: id, Queue: svc.Name(), Op: d.Type, Body: d.Body, Meta: meta})
	expired := ctx.Err() != nil
	cancel()
	if berr == nil && c.b.replyKill {
		// The test fault of bus.FaultEnv=reply-kill: die after the
		// handler's work, before the reply and the ack, so the broker
		// redelivers a request whose effect is done.
		c.log.Warn("test fault hook: SIGKILL after a handled request, before its reply", "op", d.Type)
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	if berr != nil && berr.Code == bus.CodeTimeout && expired {
		if a.ctx.Err() != nil {
			// Not the caller's deadline: this instance gave up (its drain
			// timed out, or its connection is gone). Another can answer.
			_ = d.Nack(false, true)
			return
		}
		_ = d.Ack(false) // the caller is gone
		return
	}
	reply := amqp091.Publishing{ContentType: contentJSON, CorrelationId: d.CorrelationId, Body: out}
	if berr != nil {
		reply.Headers = errorHeaders(berr)
		reply.Body = nil
	}
	// Not mandatory: RabbitMQ 3.10 returns delivered direct replies as
	// NO_ROUTE.
	if err := a.ch.Publish("", d.ReplyTo, false, false, reply); err != nil {
		c.log.Warn("cannot publish reply; the request will be redelivered", "op", d.Type, "err", err)
		return
	}
	_ = d.Ack(false)
}
