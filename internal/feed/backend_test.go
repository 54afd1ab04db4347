package feed

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

// within is the feed's promise: every change reaches every instance in 1 s.
const within = time.Second

// history is what writers did, and so what the feed must hold: per key,
// the write with the highest version (which can never be refused).
type history struct {
	mu       sync.Mutex
	versions atomic.Int64 // source of strictly increasing versions
	last     map[string]Change
	done     map[string]time.Time // "key@version" → when its write returned
	refused  []Change
}

func newHistory() *history {
	return &history{last: map[string]Change{}, done: map[string]time.Time{}}
}

// write puts or deletes key at a fresh version on l and records it.
func (h *history) write(t testing.TB, l Log, key string, del bool) {
	v := h.versions.Add(1)
	c := Change{Key: key, Version: v, Deleted: del}
	var (
		ok  bool
		err error
	)
	if del {
		ok, err = l.Delete(context.Background(), key, v)
	} else {
		c.Body = body(fmt.Sprint(key, "/", v))
		ok, err = l.Put(context.Background(), key, v, c.Body)
	}
	if err != nil {
		t.Errorf("write %s v%d: %v", key, v, err)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !ok {
		h.refused = append(h.refused, c)
		return
	}
	h.done[fmt.Sprintf("%s@%d", key, v)] = time.Now()
	if c.Version > h.last[key].Version {
		h.last[key] = c
	}
}

// want is the expected live state, rendered.
func (h *history) want(t testing.TB) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	// A refusal is right only when a newer version of the key exists.
	for _, c := range h.refused {
		if h.last[c.Key].Version <= c.Version {
			t.Errorf("%s v%d was refused, but the newest write of the key is v%d", c.Key, c.Version, h.last[c.Key].Version)
		}
	}
	live := map[string]Change{}
	for k, c := range h.last {
		if !c.Deleted {
			live[k] = c
		}
	}
	return render(live)
}

// lag reports how long after its write returned the model applied each
// change it saw (a model may skip versions superseded before it read them):
// logged for information, the deadline is what converge checks.
func (h *history) lag(m *model) (worst, p99 time.Duration, n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	var lags []time.Duration
	for kv, at := range m.at {
		if done, ok := h.done[kv]; ok {
			lags = append(lags, max(0, at.Sub(done)))
		}
	}
	if len(lags) == 0 {
		return 0, 0, 0
	}
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	return lags[len(lags)-1], lags[len(lags)*99/100], len(lags)
}

// Two processes' worth of handles on one store, a tailer on each, writers
// on both: both converge on the same state within the deadline.
func TestTailersConverge(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		dbs := []*store.DB{db, storetest.Another(t, db)}
		// FerretDB loses racing conditional updates of one document made
		// through separate clients, so there the two handles write
		// different keys (and still race on the one seq counter).
		shared := storetest.BackendOf(t, db).Has(storetest.MultiClient)
		var (
			logs    []Log
			models  []*model
			tailers []*Tailer
		)
		for _, d := range dbs {
			l := openLog(t, d, "items")
			m := newModel(t)
			logs, models = append(logs, l), append(models, m)
			tailers = append(tailers, startTailer(t, l, m, TailerOptions{}))
		}
		h := newHistory()
		const writersPerHandle, keys = 3, 24
		ops := 60
		if !shared {
			ops = 30 // FerretDB is slow at this, the race detector slower
		}
		var wg sync.WaitGroup
		for hi := range logs {
			for w := range writersPerHandle {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := rand.New(rand.NewPCG(uint64(hi), uint64(w)))
					for range ops {
						key := fmt.Sprintf("k%02d", r.IntN(keys))
						if !shared {
							key = fmt.Sprintf("h%d-%s", hi, key)
						}
						h.write(t, logs[hi], key, r.IntN(5) == 0)
						// A writer wakes its own process's tailer; the
						// other process's finds the change by polling.
						tailers[hi].Notify()
					}
				}()
			}
		}
		wg.Wait()
		want := h.want(t)
		converge(t, within, want, models...)
		if snap, _, err := logs[1].Snapshot(t.Context()); err != nil || render(stateOf(snap)) != want {
			t.Errorf("the log's snapshot differs from the writers' history: %v\n got  %s\n want %s", err, render(stateOf(snap)), want)
		}
		for i, m := range models {
			worst, p99, n := h.lag(m)
			t.Logf("tailer %d: %d changes seen, lag p99 %v, worst %v (write to apply), %d re-stamped repeats", i, n, p99, worst, m.repeat)
		}
	})
}

// A restarted instance gets exactly the live state, in one reset call,
// with no history replayed.
func TestTailerRestart(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		l := openLog(t, db, "items")
		h := newHistory()
		for i := range 30 {
			h.write(t, l, fmt.Sprintf("k%02d", i%20), i%7 == 3)
		}
		m1 := newModel(t)
		tl1 := startTailer(t, l, m1, TailerOptions{})
		converge(t, within, h.want(t), m1)
		if err := tl1.Stop(t.Context()); err != nil {
			t.Fatal(err)
		}
		// Writes while the instance is down.
		h.write(t, l, "k00", false)
		h.write(t, l, "k01", true)
		h.write(t, l, "k20", false)

		want := h.want(t)
		other := storetest.Another(t, db)
		m2 := newModel(t)
		tl2 := startTailer(t, openLog(t, other, "items"), m2, TailerOptions{Poll: 10 * time.Millisecond})
		m2.mu.Lock()
		first := render(stateOf(m2.resets[0]))
		m2.mu.Unlock()
		if first != want {
			t.Fatalf("restart snapshot:\n got  %s\n want %s", first, want)
		}
		time.Sleep(20 * 10 * time.Millisecond) // polls, and the lookback re-read on MongoDB
		m2.mu.Lock()
		calls := m2.calls
		m2.mu.Unlock()
		if calls != 1 || m2.render() != want {
			t.Errorf("after the snapshot: %d apply calls (want 1, the reset), state\n %s\nwant\n %s", calls, m2.render(), want)
		}
		if tl2.Ready(t.Context()) != nil {
			t.Error(tl2.Ready(t.Context()))
		}
	})
}

// Notify makes a local write visible without waiting for a poll.
func TestTailerNotify(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		l := openLog(t, db, "items")
		m := newModel(t)
		tl := startTailer(t, l, m, TailerOptions{Poll: time.Hour})
		mustPut(t, l, "a", 1, "a")
		tl.Notify()
		converge(t, within, render(map[string]Change{"a": {Version: 1, Body: body("a")}}), m)
	})
}

// mongoBackends are the MongoDB wire backends (FerretDB, and MongoDB when
// SHOP_TEST_MONGO_URI is set): the ones whose seqs can arrive out of order.
func mongoBackends(t *testing.T, fn func(t *testing.T, db *store.DB, l *mongoLog)) {
	storetest.ForEachMongo(t, func(t *testing.T, b storetest.Backend) {
		db := b.Open(t)
		fn(t, db, openLog(t, db, "items").(*mongoLog))
	})
}

// land writes key at seq by hand: the late second step of a MongoDB Put.
func land(t *testing.T, l *mongoLog, key string, seq, version int64) {
	t.Helper()
	_, err := l.entries.UpdateOne(t.Context(), bson.D{{Key: "_id", Value: key}},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "seq", Value: seq}, {Key: "version", Value: version}, {Key: "deleted", Value: false},
			{Key: "body", Value: body(key)}, {Key: "written_at", Value: store.Now()},
		}}}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		t.Fatal(err)
	}
}

func allocate(t *testing.T, l *mongoLog) int64 {
	t.Helper()
	s, err := l.allocate(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMongoGaps(t *testing.T) {
	t.Run("late write", func(t *testing.T) {
		mongoBackends(t, func(t *testing.T, db *store.DB, l *mongoLog) {
			m := newModel(t)
			tl := startTailer(t, l, m, TailerOptions{})
			late := allocate(t, l)
			mustPut(t, l, "after", 1, "after") // seq late+1, visible first
			eventually(t, within, "the write after the gap", func() bool { return strings.Contains(m.render(), "after@1") })
			if tl.Seq() >= late {
				t.Fatalf("cursor %d passed seq %d, which is within its grace", tl.Seq(), late)
			}
			time.Sleep(DefaultGrace / 2)
			land(t, l, "late", late, 1)
			eventually(t, within, "the late write", func() bool { return strings.Contains(m.render(), "late@1") })
			eventually(t, within, "cursor past both", func() bool { return tl.Seq() == late+1 })
		})
	})
	t.Run("permanent gap", func(t *testing.T) {
		mongoBackends(t, func(t *testing.T, db *store.DB, l *mongoLog) {
			m := newModel(t)
			tl := startTailer(t, l, m, TailerOptions{})
			gap := allocate(t, l) // a writer that died after taking its seq
			mustPut(t, l, "a", 1, "a")
			eventually(t, within, "the write above the gap", func() bool { return strings.Contains(m.render(), "a@1") })
			eventually(t, DefaultGrace+within, "cursor past the permanent gap", func() bool { return tl.Seq() == gap+1 })
			mustPut(t, l, "b", 1, "b")
			eventually(t, within, "later writes, cursor following", func() bool {
				return strings.Contains(m.render(), "b@1") && tl.Seq() == gap+2
			})
		})
	})
	t.Run("in flight at snapshot time", func(t *testing.T) {
		mongoBackends(t, func(t *testing.T, db *store.DB, l *mongoLog) {
			mustPut(t, l, "a", 1, "a")
			inFlight := allocate(t, l)
			mustPut(t, l, "b", 1, "b")
			m := newModel(t)
			startTailer(t, l, m, TailerOptions{})
			if got := render(stateOf(m.resets[0])); strings.Contains(got, "c@") || !strings.Contains(got, "b@1") {
				t.Fatalf("snapshot = %s", got)
			}
			land(t, l, "c", inFlight, 1)
			eventually(t, within, "the write that landed after the snapshot", func() bool { return strings.Contains(m.render(), "c@1") })
		})
	})
	t.Run("stalled writer is re-stamped", func(t *testing.T) {
		mongoBackends(t, func(t *testing.T, db *store.DB, l *mongoLog) {
			m := newModel(t)
			// A short grace, so the cursor passes the stalled write's
			// seq before it lands: only the re-stamp can bring it.
			tl := startTailer(t, l, m, TailerOptions{Grace: 200 * time.Millisecond})
			stalled := make(chan struct{})
			l.stall = func(key string) {
				if key == "slow" {
					close(stalled)
					time.Sleep(3 * restampAfter)
				}
			}
			done := make(chan error, 1)
			go func() { _, err := l.Put(context.Background(), "slow", 1, body("slow")); done <- err }()
			<-stalled
			mustPut(t, l, "fast", 1, "fast")
			eventually(t, within, "cursor past the stalled seq", func() bool { return strings.Contains(m.render(), "fast@1") && tl.Seq() >= 2 })
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			c, err := l.Get(t.Context(), "slow")
			if err != nil || c.Seq <= 2 {
				t.Fatalf("slow write = %+v, %v; want it re-stamped above seq 2", c, err)
			}
			eventually(t, within, "the stalled write", func() bool { return strings.Contains(m.render(), "slow@1") })
		})
	})
	t.Run("counter that hands out a taken seq", func(t *testing.T) {
		mongoBackends(t, func(t *testing.T, db *store.DB, l *mongoLog) {
			mustPut(t, l, "a", 1, "a")
			mustPut(t, l, "b", 1, "b")
			// Wind the counter back, as FerretDB's lost increments do.
			if _, err := l.seqs.UpdateOne(t.Context(), bson.D{{Key: "_id", Value: l.counter}}, bson.D{{Key: "$set", Value: bson.D{{Key: "seq", Value: int64(0)}}}}); err != nil {
				t.Fatal(err)
			}
			mustPut(t, l, "c", 1, "c")
			all, err := l.Since(t.Context(), 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			seqs := []int64{}
			for _, c := range all {
				seqs = append(seqs, c.Seq)
			}
			if keysOf(all) != "a b c" || !slices.IsSorted(seqs) || seqs[2] != 3 {
				t.Fatalf("entries %s at seqs %v, want a b c at distinct growing seqs", keysOf(all), seqs)
			}
		})
	})
}
