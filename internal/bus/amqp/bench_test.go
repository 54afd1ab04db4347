package amqp_test

import (
	"context"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	amqp091 "github.com/rabbitmq/amqp091-go"
	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/bus/amqp"
	"github.com/shopengine/shop/internal/bus/amqp/amqptest"
)

// BenchmarkRequest compares a request-reply round trip through the bus
// with the floor: a bare amqp091-go direct reply-to client and server
// (prefetch 50, manual ack after the reply), each over its own connection.
// With c=1 ns/op is the latency; with c=64 it is the inverse throughput.
//
//	go test -run '^$' -bench Request -benchtime 3s ./internal/bus/amqp/
func BenchmarkRequest(b *testing.B) {
	url := amqptest.URL(b)
	body := []byte(`{"n":42,"text":"hello"}`)
	for _, c := range []int{1, 64} {
		b.Run("raw/c="+strconv.Itoa(c), func(b *testing.B) {
			opts := amqptest.Options(b, url)
			queue := opts.Prefix + "shop.raw"
			rawServer(b, url, queue)
			call := rawClient(b, url)
			run(b, c, func() error { return call(queue, body) })
		})
		b.Run("bus/c="+strconv.Itoa(c), func(b *testing.B) {
			opts := amqptest.Options(b, url)
			server, client := amqptest.Dial(b, url, opts), amqptest.Dial(b, url, opts)
			s := bus.NewService("echo", "bench", nil)
			s.Handle("echo", func(_ context.Context, r *bus.Request) ([]byte, error) { return r.Body, nil })
			if _, err := server.Serve(s); err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			run(b, c, func() error {
				_, err := client.Request(ctx, "echo", "echo", body)
				return err
			})
		})
	}
}

func run(b *testing.B, concurrency int, call func() error) {
	for range 100 { // warm up
		if err := call(); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	if concurrency == 1 {
		for range b.N {
			if err := call(); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	b.SetParallelism((concurrency + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := call(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func rawConn(b *testing.B, url string) *amqp091.Connection {
	conn, err := amqp091.Dial(url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	return conn
}

func rawServer(b *testing.B, url, queue string) {
	ch, err := rawConn(b, url).Channel()
	if err != nil {
		b.Fatal(err)
	}
	if _, err := ch.QueueDeclare(queue, false, true, false, false, nil); err != nil {
		b.Fatal(err)
	}
	if err := ch.Qos(50, 0, false); err != nil {
		b.Fatal(err)
	}
	ds, err := ch.Consume(queue, "", false, false, false, false, nil)
	if err != nil {
		b.Fatal(err)
	}
	for range 50 {
		go func() {
			for d := range ds {
				_ = ch.Publish("", d.ReplyTo, false, false, amqp091.Publishing{CorrelationId: d.CorrelationId, Body: d.Body})
				_ = d.Ack(false)
			}
		}()
	}
}

func rawClient(b *testing.B, url string) func(queue string, body []byte) error {
	ch, err := rawConn(b, url).Channel()
	if err != nil {
		b.Fatal(err)
	}
	replies, err := ch.Consume(amqp.DirectReplyTo, "", true, false, false, false, nil)
	if err != nil {
		b.Fatal(err)
	}
	var (
		mu      sync.Mutex
		pending = map[string]chan []byte{}
		seq     atomic.Uint64
	)
	go func() {
		for d := range replies {
			mu.Lock()
			c := pending[d.CorrelationId]
			delete(pending, d.CorrelationId)
			mu.Unlock()
			if c != nil {
				c <- d.Body
			}
		}
	}()
	return func(queue string, body []byte) error {
		id := strconv.FormatUint(seq.Add(1), 36)
		c := make(chan []byte, 1)
		mu.Lock()
		pending[id] = c
		mu.Unlock()
		if err := ch.Publish("", queue, true, false, amqp091.Publishing{CorrelationId: id, ReplyTo: amqp.DirectReplyTo, Body: body}); err != nil {
			return err
		}
		<-c
		return nil
	}
}
