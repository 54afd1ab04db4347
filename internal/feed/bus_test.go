package feed

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/bus/amqp/amqptest"
	"github.com/shopengine/shop/internal/bus/memory"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

// itemEvent is what a source module publishes about an entity.
type itemEvent struct {
	Key     string `json:"key"`
	Version int64  `json:"version"`
	Deleted bool   `json:"deleted,omitempty"`
	Name    string `json:"name,omitempty"`
}

var itemChanged = bus.EventType[itemEvent]{Topic: "feedtest.item.changed"}

// worker is one process of a read-model module: its bus connection, its
// store handle, the module's consumer writing events into the feed, and
// the tailer feeding its memory.
type worker struct {
	model    *model
	tailer   *Tailer
	consumer bus.Consumer

	mu      sync.Mutex
	handled map[string]bool // "key@version" of the events its consumer took
}

func startWorker(t *testing.T, b bus.Bus, db *store.DB) *worker {
	t.Helper()
	l := openLog(t, db, "items")
	w := &worker{model: newModel(t), handled: map[string]bool{}}
	w.tailer = startTailer(t, l, w.model, TailerOptions{})
	c, err := bus.On(b, itemChanged, "feedtest", func(ctx context.Context, ev itemEvent, _ *bus.Event) error {
		var err error
		if ev.Deleted {
			_, err = l.Delete(ctx, ev.Key, ev.Version)
		} else {
			_, err = l.Put(ctx, ev.Key, ev.Version, body(ev.Name))
		}
		if err != nil {
			return err // redelivered
		}
		w.mu.Lock()
		w.handled[fmt.Sprintf("%s@%d", ev.Key, ev.Version)] = true
		w.mu.Unlock()
		w.tailer.Notify()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	w.consumer = c
	t.Cleanup(w.stopConsumer)
	return w
}

func (w *worker) stopConsumer() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w.consumer.Stop(ctx)
}

func (w *worker) took() map[string]bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]bool{}
	for k := range w.handled {
		out[k] = true
	}
	return out
}

// publishRounds publishes rounds of events, one per key per round, event i
// of a round on pubs[i%len(pubs)], and waits after each round until the
// workers' consumers have taken all of it (rounds keep the writes of one
// key apart in time, which FerretDB needs across clients). It returns the
// expected live state and, per publisher, what it published.
func publishRounds(t *testing.T, pubs []bus.Bus, workers []*worker, rounds, keys int) (string, []map[string]bool) {
	t.Helper()
	live := map[string]Change{}
	sent := make([]map[string]bool, len(pubs))
	for i := range sent {
		sent[i] = map[string]bool{}
	}
	total := 0
	for r := 1; r <= rounds; r++ {
		for k := range keys {
			ev := itemEvent{Key: fmt.Sprintf("k%02d", k), Version: int64(r), Deleted: (k+r)%4 == 0, Name: fmt.Sprintf("item %d r%d", k, r)}
			p := k % len(pubs)
			if err := bus.Emit(t.Context(), pubs[p], itemChanged, ev); err != nil {
				t.Fatal(err)
			}
			sent[p][fmt.Sprintf("%s@%d", ev.Key, ev.Version)] = true
			if ev.Deleted {
				delete(live, ev.Key)
			} else {
				live[ev.Key] = Change{Version: ev.Version, Body: body(ev.Name)}
			}
		}
		total += keys
		eventually(t, 20*time.Second, fmt.Sprintf("consumers took round %d", r), func() bool {
			n := 0
			for _, w := range workers {
				n += len(w.took())
			}
			return n >= total
		})
	}
	return render(live), sent
}

// Two worker processes on the memory bus: each has its own in-process bus,
// so an event reaches only the worker it was published in; both read
// models still get every change, through the feed.
func TestWorkersOnMemoryBuses(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		buses := []bus.Bus{memory.New(testLogger(t)), memory.New(testLogger(t))}
		dbs := []*store.DB{db, storetest.Another(t, db)}
		var workers []*worker
		for i, b := range buses {
			t.Cleanup(func() { b.Close(context.Background()) })
			workers = append(workers, startWorker(t, b, dbs[i]))
		}
		want, sent := publishRounds(t, buses, workers, 3, 20)
		converge(t, within, want, workers[0].model, workers[1].model)
		for i, w := range workers {
			if got := w.took(); fmt.Sprint(got) != fmt.Sprint(sent[i]) {
				t.Errorf("worker %d's consumer took %d events, want exactly the %d published on its own bus", i, len(got), len(sent[i]))
			}
		}
	})
}

// Two instances on RabbitMQ compete for one subscription queue: each event
// reaches one of them; both read models get every change.
func TestInstancesOnAMQP(t *testing.T) {
	url := amqptest.URL(t)
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		opts := amqptest.Options(t, url)
		opts.Logger = testLogger(t)
		buses := []bus.Bus{amqptest.Dial(t, url, opts), amqptest.Dial(t, url, opts)}
		dbs := []*store.DB{db, storetest.Another(t, db)}
		var workers []*worker
		for i, b := range buses {
			workers = append(workers, startWorker(t, b, dbs[i]))
		}
		want, sent := publishRounds(t, buses, workers, 3, 20)
		converge(t, within, want, workers[0].model, workers[1].model)
		all := map[string]bool{}
		for _, s := range sent {
			for k := range s {
				all[k] = true
			}
		}
		took := map[string]bool{}
		for i, w := range workers {
			got := w.took()
			t.Logf("instance %d took %d of %d events", i, len(got), len(all))
			if len(got) == 0 {
				t.Errorf("instance %d took no event: the two do not share the queue", i)
			}
			for k := range got {
				took[k] = true
			}
		}
		if len(took) != len(all) {
			t.Errorf("the instances took %d distinct events, want all %d", len(took), len(all))
		}
	})
}

// A read-model instance that was down catches up: its events wait in the
// durable queue, and the restarted instance loads the snapshot and takes
// them; the instance that stayed up sees them through the feed.
func TestConsumerDownCatchesUp(t *testing.T) {
	url := amqptest.URL(t)
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		opts := amqptest.Options(t, url)
		opts.Logger = testLogger(t)
		up := startWorker(t, amqptest.Dial(t, url, opts), db)
		up.stopConsumer() // the module's consumers are down; its read model still serves
		live := map[string]Change{}
		publisher := amqptest.Dial(t, url, opts)
		for k := range 10 {
			ev := itemEvent{Key: fmt.Sprintf("k%02d", k), Version: 1, Name: fmt.Sprint("item ", k)}
			if err := bus.Emit(t.Context(), publisher, itemChanged, ev); err != nil {
				t.Fatal(err)
			}
			live[ev.Key] = Change{Version: 1, Body: body(ev.Name)}
		}
		restarted := startWorker(t, amqptest.Dial(t, url, opts), storetest.Another(t, db))
		eventually(t, 20*time.Second, "the restarted consumer took the queued events", func() bool { return len(restarted.took()) == 10 })
		converge(t, within, render(live), up.model, restarted.model)
	})
}

// A redelivered event changes the read model once. The consumer that took
// it first writes it into the feed, then loses its broker connection
// before the ack (a crash, a partition): the real RabbitMQ redelivers it
// to the other instance, marked redelivered, whose write is refused as
// not newer than what the feed holds.
func TestRedeliveredEventChangesTheReadModelOnce(t *testing.T) {
	url := amqptest.URL(t)
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		opts := amqptest.Options(t, url)
		opts.Logger = testLogger(t)
		l := openLog(t, db, "items")
		var mu sync.Mutex
		var applied, redelivered int
		wrote := make(chan struct{}, 1)
		consume := func(b bus.Bus, crash bool) {
			c, err := bus.On(b, itemChanged, "feedtest", func(ctx context.Context, ev itemEvent, e *bus.Event) error {
				ok, err := l.Put(ctx, ev.Key, ev.Version, body(ev.Name))
				if err != nil {
					return err
				}
				mu.Lock()
				if ok {
					applied++
				}
				if e.Redelivered {
					redelivered++
				}
				mu.Unlock()
				if crash {
					wrote <- struct{}{}
					<-ctx.Done() // the ack never goes out
					return ctx.Err()
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer cancel()
				_ = c.Stop(sctx)
			})
		}
		px := amqptest.NewProxy(t, url)
		first := amqptest.Dial(t, px.URL(), opts)
		consume(first, true)
		if err := bus.Emit(ctx, amqptest.Dial(t, url, opts), itemChanged, itemEvent{Key: "once", Version: 1, Name: "once"}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-wrote:
		case <-time.After(10 * time.Second):
			t.Fatal("the first consumer never got the event")
		}
		consume(amqptest.Dial(t, url, opts), false)
		px.Down() // the first consumer's connection dies before its ack
		eventually(t, 20*time.Second, "the broker redelivered the event", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return redelivered > 0
		})
		mu.Lock()
		defer mu.Unlock()
		if applied != 1 {
			t.Fatalf("the event changed the read model %d times, want once", applied)
		}
		changes, err := l.Since(ctx, 0, 10)
		if err != nil || len(changes) != 1 || changes[0].Version != 1 {
			t.Fatalf("feed holds %+v (%v), want the one change", changes, err)
		}
	})
}
