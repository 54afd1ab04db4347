// Package amqptest is the test support for code that runs against the
// RabbitMQ bus: the broker's URL (skipping loudly, or failing on CI, when it
// is unreachable), a queue prefix unique to a test whose queues and
// exchanges are deleted when the test ends, and a Bus closed at cleanup.
package amqptest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/shopengine/shop/internal/bus/amqp"
	"github.com/shopengine/shop/internal/redact"
)

// DefaultURL is the broker tests use when SHOP_TEST_AMQP_URL is not set.
const DefaultURL = "amqp://guest:guest@127.0.0.1:5672/"

var probes sync.Map // url → *probe

type probe struct {
	once sync.Once
	err  error
}

// URL returns the broker URL for tests ($SHOP_TEST_AMQP_URL, default
// DefaultURL) after checking once per process that the broker answers. When
// it does not, the test is skipped with a loud message — or, when
// CI=true, fails, so that CI never passes without having tested against
// RabbitMQ.
func URL(t testing.TB) string {
	t.Helper()
	url := os.Getenv("SHOP_TEST_AMQP_URL")
	if url == "" {
		url = DefaultURL
	}
	v, _ := probes.LoadOrStore(url, &probe{})
	p := v.(*probe)
	p.once.Do(func() { p.err = reach(url) })
	if p.err != nil {
		msg := fmt.Sprintf("RabbitMQ is not reachable at %s: %v\n"+
			"    !!! The AMQP bus tests did NOT run. Start the broker (rabbitmq-server -detached)\n"+
			"    !!! or point SHOP_TEST_AMQP_URL at one.", redact.URL(url), p.err)
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s (CI=true: this is a failure, not a skip)", msg)
		}
		t.Skipf("SKIPPED: %s", msg)
	}
	return url
}

func reach(url string) error {
	conn, err := amqp091.DialConfig(url, amqp091.Config{Dial: amqp091.DefaultDial(3 * time.Second)})
	if err != nil {
		return err
	}
	return conn.Close()
}

// Prefix returns a queue/exchange name prefix unique to this test run,
// "t-<random>.".
func Prefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "t-" + hex.EncodeToString(b[:]) + "."
}

// Options returns Options with a unique Prefix whose durable queues and
// exchanges, as declared by every Bus using these Options, are deleted when
// t ends — after the Buses opened later in t are closed, since cleanups run
// last-in first-out.
func Options(t testing.TB, url string) amqp.Options {
	t.Helper()
	rec := &recorder{names: map[[2]string]bool{}}
	t.Cleanup(func() { rec.deleteAll(t, url) })
	return amqp.Options{Prefix: Prefix(), OnDeclare: rec.add}
}

// Dial connects a Bus that is closed when t ends. Closing waits at most 2 s
// for in-flight handlers, then cancels them (a test that leaves a slow
// handler running need not wait for it).
func Dial(t testing.TB, url string, opts amqp.Options) *amqp.Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := amqp.Dial(ctx, url, opts)
	if err != nil {
		t.Fatalf("amqp.Dial: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			t.Logf("close bus: %v", err)
		}
	})
	return b
}

type recorder struct {
	mu    sync.Mutex
	names map[[2]string]bool
}

func (r *recorder) add(kind, name string) {
	r.mu.Lock()
	r.names[[2]string{kind, name}] = true
	r.mu.Unlock()
}

func (r *recorder) deleteAll(t testing.TB, url string) {
	r.mu.Lock()
	var all [][2]string
	for k := range r.names {
		all = append(all, k)
	}
	r.mu.Unlock()
	if len(all) == 0 {
		return
	}
	sort.Slice(all, func(i, j int) bool { return all[i][1] < all[j][1] })
	conn, err := amqp091.Dial(url)
	if err != nil {
		t.Logf("amqptest: cannot delete the test's queues and exchanges: %v", err)
		return
	}
	defer conn.Close()
	var ch *amqp091.Channel
	for _, k := range all {
		if ch == nil || ch.IsClosed() {
			if ch, err = conn.Channel(); err != nil {
				t.Logf("amqptest: cleanup: %v", err)
				return
			}
		}
		if k[0] == "queue" {
			_, err = ch.QueueDelete(k[1], false, false, false)
		} else {
			err = ch.ExchangeDelete(k[1], false, false)
		}
		if err != nil {
			t.Logf("amqptest: delete %s %s: %v", k[0], k[1], err)
		}
	}
}
