package busbench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/shopengine/shop/internal/bus"
)

// handleFloor is the floors' server side: the same JSON work bus.Handle does
// around the echo handler (strict decode, encode).
func handleFloor(body []byte) ([]byte, error) {
	var it Item
	if err := bus.DecodeStrict(body, &it); err != nil {
		return nil, err
	}
	out, err := echo(context.Background(), it)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// callFloor is the floors' client side: the same JSON work bus.Call does
// around the transport's round trip.
func callFloor(req *Item, roundTrip func([]byte) ([]byte, error)) (Item, error) {
	var resp Item
	body, err := json.Marshal(req)
	if err != nil {
		return resp, err
	}
	raw, err := roundTrip(body)
	if err != nil {
		return resp, err
	}
	err = json.Unmarshal(raw, &resp)
	return resp, err
}

// ---- chanfloor: a server goroutine pool reading requests from a channel,
// each request carrying its reply channel.

type chanRequest struct {
	body  []byte
	reply chan<- []byte
}

// chanWorkers is the size of the chanfloor server pool: as many workers as
// callers at most, so that no request waits for a worker (the memory bus
// runs each request on a goroutine of its own). With fewer workers than
// callers, Go's scheduler lets a few caller-worker pairs ping-pong for a
// whole time slice while the other callers wait, and p99 at c=64 jumps to
// ~10 ms.
func chanWorkers() int {
	if n, err := strconv.Atoi(os.Getenv("BUSBENCH_CHAN_WORKERS")); err == nil && n > 0 {
		return n
	}
	return slices.Max(concurrencies)
}

func setupChanFloor() (fixture, error) {
	reqs := make(chan chanRequest)
	var wg sync.WaitGroup
	for range chanWorkers() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range reqs {
				out, err := handleFloor(r.body)
				if err != nil {
					out = nil
				}
				r.reply <- out
			}
		}()
	}
	atEnd(func() { close(reqs); wg.Wait() })
	return fixture{newCaller: func() caller {
		reply := make(chan []byte, 1) // one request in flight per caller
		roundTrip := func(body []byte) ([]byte, error) {
			reqs <- chanRequest{body: body, reply: reply}
			out := <-reply
			if out == nil {
				return nil, errors.New("chanfloor: handler failed")
			}
			return out, nil
		}
		return func(req *Item) (Item, error) { return callFloor(req, roundTrip) }
	}}, nil
}

// ---- amqpfloor: bare amqp091-go with direct reply-to.

const (
	floorPrefetch = 50
	directReplyTo = "amq.rabbitmq.reply-to"
)

func amqpURL() string {
	if u := os.Getenv("SHOP_TEST_AMQP_URL"); u != "" {
		return u
	}
	return "amqp://guest:guest@127.0.0.1:5672/"
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

var (
	brokerOnce sync.Once
	brokerErr  error
)

// brokerReachable dials the broker once per process.
func brokerReachable() error {
	brokerOnce.Do(func() {
		conn, err := amqp091.DialConfig(amqpURL(), amqp091.Config{Dial: amqp091.DefaultDial(3 * time.Second)})
		if err != nil {
			brokerErr = err
			return
		}
		brokerErr = conn.Close()
	})
	return brokerErr
}

// runID makes queue names and prefixes unique to this run.
var runID = fmt.Sprintf("busbench-%d-%s", os.Getpid(), strconv.FormatInt(time.Now().UnixNano(), 36))

func dialNamed(name string) (*amqp091.Connection, error) {
	return amqp091.DialConfig(amqpURL(), amqp091.Config{
		Dial:       amqp091.DefaultDial(5 * time.Second),
		Properties: amqp091.Table{"connection_name": name},
	})
}

func setupAMQPFloor() (fixture, error) {
	queue := runID + ".floor"
	stopServer, pid, err := startServerProcess("amqpfloor", queue)
	if err != nil {
		return fixture{}, err
	}
	atEnd(func() {
		if err := stopServer(); err != nil {
			fmt.Fprintf(os.Stderr, "busbench: stop amqpfloor server: %v\n", err)
		}
		deleteTopology([]string{queue, queue + ".dlq"}, nil)
	})
	c, err := newFloorClient(queue)
	if err != nil {
		return fixture{}, err
	}
	atEnd(c.close) // runs before the server stops
	return fixture{serverPID: pid, usesBroker: true, newCaller: func() caller {
		reply := make(chan []byte, 1)
		roundTrip := func(body []byte) ([]byte, error) { return c.roundTrip(body, reply) }
		return func(req *Item) (Item, error) { return callFloor(req, roundTrip) }
	}}, nil
}

// deleteTopology removes queues and exchanges left behind, on a
// connection of its own; what is gone already is fine.
func deleteTopology(queues, exchanges []string) {
	conn, err := dialNamed("busbench cleanup")
	if err != nil {
		fmt.Fprintf(os.Stderr, "busbench: cleanup: %v\n", err)
		return
	}
	defer conn.Close()
	del := func(f func(ch *amqp091.Channel) error) {
		ch, err := conn.Channel() // a failed delete closes its channel
		if err != nil {
			return
		}
		_ = f(ch)
		_ = ch.Close()
	}
	for _, q := range queues {
		del(func(ch *amqp091.Channel) error { _, err := ch.QueueDelete(q, false, false, false); return err })
	}
	for _, x := range exchanges {
		del(func(ch *amqp091.Channel) error { return ch.ExchangeDelete(x, false, false) })
	}
}

// asBus reports whether BUSBENCH_FLOOR_AS_BUS (a comma list, or "all")
// names feature: a diagnostic that gives the floor one of the bus's wire
// features at a time, to see what each costs (mostly in the broker):
// durable (durable queue with a dead-letter queue), ttl (per-message
// Expiration), headers (an x-deadline header and Type), mandatory
// (mandatory publishing with a return listener).
func asBus(feature string) bool {
	for _, f := range strings.Split(os.Getenv("BUSBENCH_FLOOR_AS_BUS"), ",") {
		if f == feature || f == "all" {
			return true
		}
	}
	return false
}

// floorServer consumes queue with manual acks and prefetch 50; for each
// request it publishes the reply to ReplyTo with the CorrelationId, then acks.
type floorServer struct {
	conn *amqp091.Connection
	ch   *amqp091.Channel
	wg   sync.WaitGroup
}

func startFloorServer(queue string) (func() error, error) {
	conn, err := dialNamed("busbench amqpfloor server")
	if err != nil {
		return nil, err
	}
	s := &floorServer{conn: conn}
	if s.ch, err = conn.Channel(); err != nil {
		conn.Close()
		return nil, err
	}
	if err := s.ch.Qos(floorPrefetch, 0, false); err != nil {
		conn.Close()
		return nil, err
	}
	durable, args := false, amqp091.Table(nil)
	if asBus("durable") {
		// Like the bus's request queues: durable, dead-lettering to a
		// (durable, bounded) dead-letter queue.
		if _, err := s.ch.QueueDeclare(queue+".dlq", true, false, false, false, amqp091.Table{"x-max-length": int64(10_000)}); err != nil {
			conn.Close()
			return nil, err
		}
		durable, args = true, amqp091.Table{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": queue + ".dlq"}
	}
	if _, err := s.ch.QueueDeclare(queue, durable, !durable, false, false, args); err != nil {
		conn.Close()
		return nil, err
	}
	deliveries, err := s.ch.Consume(queue, "", false, false, false, false, nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	for range floorServerWorkers() {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for d := range deliveries {
				s.handle(d)
			}
		}()
	}
	return func() error {
		err := conn.Close() // closes deliveries, ending the workers
		s.wg.Wait()
		return err
	}, nil
}

// floorServerWorkers is how many goroutines handle deliveries. One is the
// minimal server; the default matches a bus that handles up to prefetch
// requests at once.
func floorServerWorkers() int {
	if n, err := strconv.Atoi(os.Getenv("BUSBENCH_FLOOR_WORKERS")); err == nil && n > 0 {
		return n
	}
	return floorPrefetch
}

func (s *floorServer) handle(d amqp091.Delivery) {
	out, err := handleFloor(d.Body)
	if err != nil {
		fmt.Fprintf(os.Stderr, "busbench: amqpfloor server: %v\n", err)
		_ = d.Nack(false, false)
		return
	}
	err = s.ch.PublishWithContext(context.Background(), "", d.ReplyTo, false, false, amqp091.Publishing{
		ContentType:   "application/json",
		CorrelationId: d.CorrelationId,
		Body:          out,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "busbench: amqpfloor server: publish reply: %v\n", err)
	}
	_ = d.Ack(false)
}

// floorClient has one connection and one channel consuming direct reply-to
// (which must be the channel requests are published on), and a map of the
// pending requests by correlation id.
type floorClient struct {
	queue string
	conn  *amqp091.Connection
	ch    *amqp091.Channel
	pubMu sync.Mutex
	seq   atomic.Uint64

	ttl, headers, mandatory bool // BUSBENCH_FLOOR_AS_BUS diagnostics

	mu      sync.Mutex
	pending map[string]chan<- []byte
	closed  bool
	done    chan struct{}
}

func newFloorClient(queue string) (*floorClient, error) {
	conn, err := dialNamed("busbench amqpfloor client")
	if err != nil {
		return nil, err
	}
	c := &floorClient{queue: queue, conn: conn, pending: map[string]chan<- []byte{}, done: make(chan struct{}),
		ttl: asBus("ttl"), headers: asBus("headers"), mandatory: asBus("mandatory")}
	if c.ch, err = conn.Channel(); err != nil {
		conn.Close()
		return nil, err
	}
	if c.mandatory {
		returns := c.ch.NotifyReturn(make(chan amqp091.Return, 16))
		go func() {
			for range returns {
			}
		}()
	}
	replies, err := c.ch.Consume(directReplyTo, "", true, false, false, false, nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	go c.dispatch(replies)
	return c, nil
}

func (c *floorClient) dispatch(replies <-chan amqp091.Delivery) {
	defer close(c.done)
	for d := range replies {
		c.mu.Lock()
		reply := c.pending[d.CorrelationId]
		delete(c.pending, d.CorrelationId)
		c.mu.Unlock()
		if reply != nil {
			reply <- d.Body
		}
	}
	// The connection is gone: fail whoever still waits.
	c.mu.Lock()
	c.closed = true
	for id, reply := range c.pending {
		reply <- nil
		delete(c.pending, id)
	}
	c.mu.Unlock()
}

func (c *floorClient) roundTrip(body []byte, reply chan []byte) ([]byte, error) {
	id := strconv.FormatUint(c.seq.Add(1), 36)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, errors.New("amqpfloor: connection closed")
	}
	c.pending[id] = reply
	c.mu.Unlock()
	c.pubMu.Lock()
	msg := amqp091.Publishing{
		ContentType:   "application/json",
		CorrelationId: id,
		ReplyTo:       directReplyTo,
		Body:          body,
	}
	if c.ttl {
		msg.Expiration = "10000"
	}
	if c.headers {
		msg.Headers = amqp091.Table{"x-deadline": time.Now().Add(10 * time.Second).UnixMilli()}
		msg.Type = "echo"
	}
	err := c.ch.PublishWithContext(context.Background(), "", c.queue, c.mandatory, false, msg)
	c.pubMu.Unlock()
	if err != nil {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return nil, err
	}
	out := <-reply
	if out == nil {
		return nil, errors.New("amqpfloor: connection closed while waiting for the reply")
	}
	return out, nil
}

func (c *floorClient) close() {
	_ = c.conn.Close()
	<-c.done
}
