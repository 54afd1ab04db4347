// Package amqp is the RabbitMQ transport of the bus (amqp091-go).
//
// One Bus is one AMQP connection. Requests go to the default exchange with
// the module's durable queue as routing key (mandatory, so a missing queue
// fails the caller at once) and come back on direct reply-to, multiplexed by
// correlation id over a single reply consumer. Each Serve and Subscribe has
// its own channel. Events go to a durable topic exchange with publisher
// confirms; every (group, pattern) subscription has a durable queue. Request
// and subscription queues dead-letter to <queue>.dlq.
//
// amqp091-go neither fails pending calls nor reconnects when a connection
// drops; this package does both: on loss every pending call fails with
// unavailable at once, and the Bus reconnects with capped, jittered
// exponential backoff until Close, re-declaring its topology and restarting
// every active consumer. Requests made while disconnected fail at once.
package amqp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/shopengine/shop/internal/redact"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/shopengine/shop/internal/bus"
)

// Options configure a Bus. The zero value is usable.
type Options struct {
	// Prefix is prepended to every queue and exchange name, for test
	// isolation and for several shops on one broker (e.g. "staging.").
	Prefix string
	// Prefetch is how many unacknowledged requests one Serve takes from the
	// broker, which is also how many it handles at once, and how many events
	// a Subscribe buffers (it handles them one at a time). Default 50.
	Prefetch int
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// ConnectionName is shown by the broker (rabbitmqctl, management UI).
	// Default "shop <prefix><host>:<pid>".
	ConnectionName string
	// Heartbeat is the AMQP heartbeat interval; default 10 s.
	Heartbeat time.Duration
	// DialTimeout bounds each connection attempt; default 5 s.
	DialTimeout time.Duration
	// ReconnectMax caps the backoff between reconnection attempts; default
	// and maximum 1 s.
	ReconnectMax time.Duration
	// OnDeclare, when set, is called with every durable exchange and queue
	// the Bus declares (kind "exchange" or "queue"), possibly repeatedly;
	// test harnesses use it to delete what a test created.
	OnDeclare func(kind, name string)
}

const (
	defaultPrefetch = 50
	reconnectMin    = 100 * time.Millisecond
	reconnectCap    = time.Second
	// pingDefault bounds a Ping whose context has no deadline.
	pingDefault = time.Second
)

// Bus is a connection to RabbitMQ implementing bus.Bus. It is safe for
// concurrent use.
type Bus struct {
	url          string
	opts         Options
	log          *slog.Logger
	names        names
	reqKeyPrefix string // names.request("")

	sess atomic.Pointer[session] // nil while disconnected
	seq  atomic.Uint64           // correlation ids

	life   context.Context // ends at Close; bounds reconnection
	cancel context.CancelFunc
	loops  sync.WaitGroup // the reconnection loop

	closed    atomic.Bool
	mu        sync.Mutex
	wake      chan struct{} // closed and replaced whenever sess changes
	consumers map[*consumer]struct{}
	announced map[*announcement]struct{} // answer pings, consume nothing
	replyKill bool                       // the test fault hook (bus.FaultEnv)
}

var _ bus.Bus = (*Bus)(nil)

// Dial connects to the broker at url (amqp:// or amqps://). It fails when
// the first connection attempt fails; later losses are repaired in the
// background.
func Dial(ctx context.Context, url string, opts Options) (*Bus, error) {
	if len(opts.Prefix) > 50 || !utf8.ValidString(opts.Prefix) {
		return nil, bus.Errorf(bus.CodeInvalid, "amqp: prefix %q: at most 50 bytes of UTF-8", opts.Prefix)
	}
	if opts.Prefetch <= 0 {
		opts.Prefetch = defaultPrefetch
	}
	if opts.Prefetch > 65535 {
		opts.Prefetch = 65535
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ConnectionName == "" {
		host, _ := os.Hostname()
		opts.ConnectionName = fmt.Sprintf("shop %s%s:%d", opts.Prefix, host, os.Getpid())
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 5 * time.Second
	}
	if opts.ReconnectMax <= 0 || opts.ReconnectMax > reconnectCap {
		opts.ReconnectMax = reconnectCap
	}
	b := &Bus{
		url:       url,
		opts:      opts,
		log:       opts.Logger.With("bus", "amqp", "broker", redact.URL(url)),
		names:     names{prefix: opts.Prefix},
		wake:      make(chan struct{}),
		consumers: map[*consumer]struct{}{},
		announced: map[*announcement]struct{}{},
		replyKill: os.Getenv(bus.FaultEnv) == "reply-kill",
	}
	b.reqKeyPrefix = b.names.request("")
	b.life, b.cancel = context.WithCancel(context.Background())
	s, err := b.connect(ctx)
	if err == nil && !b.install(s) {
		_ = s.conn.CloseDeadline(time.Now().Add(time.Second))
		err = errors.New("connection lost during setup")
	}
	if err != nil {
		b.cancel()
		return nil, bus.Errorf(bus.CodeUnavailable, "amqp: connect to %s: %w", redact.URL(url), err)
	}
	return b, nil
}

// session is one live connection with its shared channels. When anything
// in it fails, the whole session is dropped and a new one is made.
type session struct {
	b       *Bus
	conn    *amqp091.Connection
	netConn net.Conn         // the socket, for tests that cut it
	rpc     *amqp091.Channel // requests and pings out, direct reply-to in
	ev      *amqp091.Channel // events out, in confirm mode
	ctl     *amqp091.Channel // pings in, their answers out
	blocked atomic.Bool      // the broker blocks publishers (resource alarm)

	done chan struct{} // closed when the session is dead
	once sync.Once

	mu      sync.Mutex
	dead    bool
	pending map[string]*call
}

// connect opens a connection and declares the Bus's own topology.
func (b *Bus) connect(ctx context.Context) (*session, error) {
	s := &session{b: b, done: make(chan struct{}), pending: map[string]*call{}}
	var stopAbort func() bool
	props := amqp091.NewConnectionProperties()
	props.SetClientConnectionName(b.opts.ConnectionName)
	cfg := amqp091.Config{
		Heartbeat:  b.opts.Heartbeat,
		Properties: props,
		Dial: func(network, addr string) (net.Conn, error) {
			d := net.Dialer{Timeout: b.opts.DialTimeout}
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			// The deadline covers the TLS and AMQP handshakes; amqp091
			// clears it once the connection is open. Ending ctx aborts them.
			if err := c.SetDeadline(time.Now().Add(b.opts.DialTimeout)); err != nil {
				c.Close()
				return nil, err
			}
			stopAbort = context.AfterFunc(ctx, func() { c.Close() })
			s.netConn = c
			return c, nil
		},
	}
	conn, err := amqp091.DialConfig(b.url, cfg)
	if stopAbort != nil && !stopAbort() && err == nil {
		conn.Close()
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	s.conn = conn
	if err := s.setup(); err != nil {
		_ = conn.CloseDeadline(time.Now().Add(time.Second))
		return nil, err
	}
	return s, nil
}

func (s *session) setup() (err error) {
	b := s.b
	connClosed := s.conn.NotifyClose(make(chan *amqp091.Error, 1))
	blocked := s.conn.NotifyBlocked(make(chan amqp091.Blocking, 4))

	if s.rpc, err = s.conn.Channel(); err != nil {
		return fmt.Errorf("open request channel: %w", err)
	}
	rpcClosed := s.rpc.NotifyClose(make(chan *amqp091.Error, 1))
	returns := s.rpc.NotifyReturn(make(chan amqp091.Return, 16))
	replies, err := s.rpc.Consume(DirectReplyTo, "", true, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume %s: %w", DirectReplyTo, err)
	}

	if s.ev, err = s.conn.Channel(); err != nil {
		return fmt.Errorf("open event channel: %w", err)
	}
	evClosed := s.ev.NotifyClose(make(chan *amqp091.Error, 1))
	if err := s.ev.Confirm(false); err != nil {
		return fmt.Errorf("confirm mode: %w", err)
	}
	if err := b.declareExchange(s.ev, b.names.events(), "topic"); err != nil {
		return err
	}

	if s.ctl, err = s.conn.Channel(); err != nil {
		return fmt.Errorf("open control channel: %w", err)
	}
	ctlClosed := s.ctl.NotifyClose(make(chan *amqp091.Error, 1))
	if err := b.declareExchange(s.ctl, b.names.control(), "fanout"); err != nil {
		return err
	}
	q, err := s.ctl.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		return fmt.Errorf("declare control queue: %w", err)
	}
	if err := s.ctl.QueueBind(q.Name, "", b.names.control(), false, nil); err != nil {
		return fmt.Errorf("bind control queue: %w", err)
	}
	pings, err := s.ctl.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume control queue: %w", err)
	}

	go s.readReplies(replies)
	go s.readReturns(returns)
	go s.answerPings(pings)
	go s.watch(connClosed, rpcClosed, evClosed, ctlClosed, blocked)
	return nil
}

func (b *Bus) declareExchange(ch *amqp091.Channel, name, kind string) error {
	if err := ch.ExchangeDeclare(name, kind, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare exchange %s: %w", name, err)
	}
	b.declared("exchange", name)
	return nil
}

func (b *Bus) declared(kind, name string) {
	if b.opts.OnDeclare != nil {
		b.opts.OnDeclare(kind, name)
	}
}

// watch kills the session when the connection or one of its shared
// channels closes.
func (s *session) watch(conn, rpc, ev, ctl <-chan *amqp091.Error, blocked <-chan amqp091.Blocking) {
	var reason string
	describe := func(what string, e *amqp091.Error) string {
		if e == nil {
			return what + " closed"
		}
		return fmt.Sprintf("%s closed: %v", what, e)
	}
	for reason == "" {
		select {
		case e := <-conn:
			reason = describe("connection", e)
		case e := <-rpc:
			reason = describe("request channel", e)
		case e := <-ev:
			reason = describe("event channel", e)
		case e := <-ctl:
			reason = describe("control channel", e)
		case bl, ok := <-blocked:
			if !ok {
				blocked = nil
				continue
			}
			s.blocked.Store(bl.Active)
			if bl.Active {
				s.b.log.Warn("broker blocks publishing", "reason", bl.Reason)
			} else {
				s.b.log.Info("broker unblocked publishing")
			}
		}
	}
	s.kill("connection to the broker lost: " + reason)
	_ = s.conn.CloseDeadline(time.Now().Add(time.Second))
}

// kill marks the session dead, fails its pending calls with unavailable
// and, unless the Bus is closed, starts reconnecting. The caller closes the
// connection.
func (s *session) kill(reason string) {
	s.once.Do(func() {
		s.mu.Lock()
		s.dead = true
		pending := s.pending
		s.pending = nil
		s.mu.Unlock()
		for _, c := range pending {
			c.finish(result{err: bus.Errorf(bus.CodeUnavailable, "%s/%s: %s", c.queue, c.op, reason)})
		}
		close(s.done)
		s.b.lost(s, reason)
	})
}

func (s *session) isDead() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// alive is false as soon as amqp091 knows the connection is closed, which
// can be a moment before watch kills the session.
func (s *session) alive() bool { return !s.isDead() && !s.conn.IsClosed() }

// signal wakes everyone waiting for a session change; b.mu must be held.
func (b *Bus) signal() {
	close(b.wake)
	b.wake = make(chan struct{})
}

// install makes s the current session unless the Bus is closed or s died.
func (b *Bus) install(s *session) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed.Load() || s.isDead() {
		return false
	}
	b.sess.Store(s)
	b.signal()
	return true
}

// lost is called once per dead session.
func (b *Bus) lost(s *session, reason string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sess.Load() != s {
		return
	}
	b.sess.Store(nil)
	b.signal()
	if b.closed.Load() {
		return
	}
	b.log.Warn("reconnecting", "reason", reason)
	b.loops.Add(1)
	go b.reconnect()
}

// reconnect connects again with capped, jittered exponential backoff,
// forever until Close.
func (b *Bus) reconnect() {
	defer b.loops.Done()
	backoff := reconnectMin
	start := time.Now()
	for attempt := 1; ; attempt++ {
		if !sleep(b.life.Done(), jitter(backoff)) {
			return
		}
		s, err := b.connect(b.life)
		if err == nil {
			if b.install(s) {
				b.log.Info("reconnected to the broker", "attempts", attempt, "after", time.Since(start).Round(time.Millisecond))
				return
			}
			s.kill("bus closed")
			_ = s.conn.CloseDeadline(time.Now().Add(time.Second))
			if b.closed.Load() {
				return
			}
			err = errors.New("connection lost during setup")
		}
		if b.life.Err() != nil {
			return
		}
		b.log.Warn("reconnect failed", "attempt", attempt, "err", err)
		backoff = min(2*backoff, b.opts.ReconnectMax)
	}
}

// jitter returns a duration in [d/2, d].
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

// sleep waits d, or returns false when stop closes first.
func sleep(stop <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-stop:
		return false
	}
}

// waitSession returns a live session, waiting for one, or nil when stop
// closes first.
func (b *Bus) waitSession(stop <-chan struct{}) *session {
	for {
		b.mu.Lock()
		s, wake := b.sess.Load(), b.wake
		b.mu.Unlock()
		if s != nil && s.alive() {
			return s
		}
		select {
		case <-wake:
		case <-stop:
			return nil
		}
	}
}

// session returns the live session, or nil and why there is none.
func (b *Bus) session() (*session, string) {
	s := b.sess.Load()
	switch {
	case s == nil && b.closed.Load():
		return nil, "bus closed"
	case s == nil || !s.alive():
		return nil, "not connected to the broker (reconnecting)"
	case s.blocked.Load():
		return nil, "the broker blocks publishing (resource alarm)"
	}
	return s, ""
}

// Healthy implements bus.Bus: nil while connected and not blocked.
func (b *Bus) Healthy() error {
	if _, why := b.session(); why != "" {
		return bus.Errorf(bus.CodeUnavailable, "%s", why)
	}
	return nil
}

// Close implements bus.Bus. It stops every consumer, waiting for in-flight
// work until ctx ends (requests made by draining handlers still work), then
// fails pending calls with unavailable and closes the connection.
func (b *Bus) Close(ctx context.Context) error {
	b.mu.Lock()
	if b.closed.Load() {
		b.mu.Unlock()
		return nil
	}
	b.closed.Store(true)
	cs := make([]*consumer, 0, len(b.consumers))
	for c := range b.consumers {
		cs = append(cs, c)
	}
	b.mu.Unlock()

	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.Stop(ctx)
		}()
	}
	wg.Wait()

	b.cancel()
	b.loops.Wait()
	b.mu.Lock()
	s := b.sess.Swap(nil)
	b.signal()
	b.mu.Unlock()
	if s != nil {
		s.kill("bus closed")
		deadline, ok := ctx.Deadline()
		if !ok || time.Until(deadline) < 100*time.Millisecond {
			deadline = time.Now().Add(time.Second)
		}
		_ = s.conn.CloseDeadline(deadline)
	}
	return errors.Join(errs...)
}

// track registers a consumer so that Close stops it.
func (b *Bus) track(c *consumer) *bus.Error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed.Load() {
		return bus.Errorf(bus.CodeUnavailable, "bus closed")
	}
	b.consumers[c] = struct{}{}
	return nil
}

func (b *Bus) untrack(c *consumer) {
	b.mu.Lock()
	delete(b.consumers, c)
	b.mu.Unlock()
}
