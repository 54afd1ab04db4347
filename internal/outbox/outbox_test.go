package outbox_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/bus/memory"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

// thingEvent is the payload of the test entity's events.
type thingEvent struct {
	ID      string `json:"id"`
	Version int64  `json:"version"`
}

var (
	thingSaved   = bus.EventType[thingEvent]{Topic: "thing.saved"}
	thingDeleted = bus.EventType[thingEvent]{Topic: "thing.deleted"}
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// things is a minimal module store with an outbox on either backend: it
// writes a thing at a version together with its event, the way every
// module's store does.
type things interface {
	save(ctx context.Context, id string, version int64, fail bool) error
	remove(ctx context.Context, id string, version int64) error
	source() outbox.Source
	pending(ctx context.Context) int
}

func openThings(t *testing.T, db *store.DB) things {
	t.Helper()
	ctx := t.Context()
	if db.Kind() == store.KindSQLite {
		s, err := db.SQLite(ctx, "things", []store.Migration{
			{Version: 1, SQL: `CREATE TABLE things (id TEXT PRIMARY KEY, version INTEGER NOT NULL)`},
		})
		if err != nil {
			t.Fatal(err)
		}
		src, err := outbox.PrepareSQLite(ctx, db, "things")
		if err != nil {
			t.Fatal(err)
		}
		return sqlThings{s, src}
	}
	mdb, err := db.Mongo(ctx, "things", nil)
	if err != nil {
		t.Fatal(err)
	}
	return mongoThings{mdb}
}

type sqlThings struct {
	db  *sql.DB
	src outbox.Source
}

func (s sqlThings) save(ctx context.Context, id string, version int64, fail bool) error {
	ev, err := outbox.New(thingSaved, id, thingEvent{ID: id, Version: version})
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck
	if _, err := tx.ExecContext(ctx, `INSERT INTO things (id, version) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version`, id, version); err != nil {
		return err
	}
	if err := outbox.Add(ctx, tx, ev); err != nil {
		return err
	}
	if fail {
		return fmt.Errorf("the write fails after its event was added")
	}
	return tx.Commit()
}

func (s sqlThings) remove(ctx context.Context, id string, version int64) error {
	ev, err := outbox.New(thingDeleted, id, thingEvent{ID: id, Version: version})
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck
	if _, err := tx.ExecContext(ctx, `DELETE FROM things WHERE id = ?`, id); err != nil {
		return err
	}
	if err := outbox.Add(ctx, tx, ev); err != nil {
		return err
	}
	return tx.Commit()
}

func (s sqlThings) source() outbox.Source { return s.src }

func (s sqlThings) pending(ctx context.Context) int {
	var n int
	_ = s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox`).Scan(&n)
	return n
}

type mongoThings struct{ db *mongo.Database }

type thingDoc struct {
	ID      string         `bson:"_id"`
	Version int64          `bson:"version"`
	Outbox  outbox.Pending `bson:"outbox,omitempty"`
}

func (s mongoThings) save(ctx context.Context, id string, version int64, fail bool) error {
	if fail {
		return fmt.Errorf("the write fails before anything is written")
	}
	ev, err := outbox.New(thingSaved, id, thingEvent{ID: id, Version: version})
	if err != nil {
		return err
	}
	if version == 1 {
		_, err = s.db.Collection("things").InsertOne(ctx, thingDoc{ID: id, Version: version, Outbox: outbox.Pending{ev}})
		return err
	}
	res, err := s.db.Collection("things").UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "version", Value: version}}}, outbox.Push(ev)})
	if err == nil && res.MatchedCount != 1 {
		err = fmt.Errorf("thing %s not found", id)
	}
	return err
}

func (s mongoThings) remove(ctx context.Context, id string, version int64) error {
	ev, err := outbox.New(thingDeleted, id, thingEvent{ID: id, Version: version})
	if err != nil {
		return err
	}
	_, err = outbox.DeleteWith(ctx, s.db, "things", []string{id}, ev)
	return err
}

func (s mongoThings) source() outbox.Source { return outbox.Mongo(s.db, "things") }

func (s mongoThings) pending(ctx context.Context) int {
	var docs []thingDoc
	cur, err := s.db.Collection("things").Find(ctx, bson.D{})
	if err != nil {
		return -1
	}
	_ = cur.All(ctx, &docs)
	n := 0
	for _, d := range docs {
		n += len(d.Outbox)
	}
	loose, _ := s.db.Collection(outbox.Collection).CountDocuments(ctx, bson.D{})
	return n + int(loose)
}

// received collects events per key, in arrival order, each event id once.
type received struct {
	mu    sync.Mutex
	byKey map[string][]string // id → "topic@version"
	ids   map[string]int      // event id → deliveries
}

func collect(t *testing.T, b bus.Bus, group string) *received {
	t.Helper()
	r := &received{byKey: map[string][]string{}, ids: map[string]int{}}
	c, err := b.Subscribe("thing.*", group, func(_ context.Context, ev *bus.Event) error {
		var p thingEvent
		if err := json.Unmarshal(ev.Body, &p); err != nil {
			return err
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		// Delivery is at least once: a consumer knows a redelivery by its
		// id, and keeps the first.
		if r.ids[ev.ID]++; r.ids[ev.ID] == 1 {
			r.byKey[p.ID] = append(r.byKey[p.ID], fmt.Sprintf("%s@%d", ev.Topic, p.Version))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	return r
}

func (r *received) of(key string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.byKey[key])
}

func (r *received) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, v := range r.byKey {
		n += len(v)
	}
	return n
}

func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func runRelay(t *testing.T, b bus.Bus, src outbox.Source) *outbox.Relay {
	t.Helper()
	r := outbox.NewRelay(b, src, quiet())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

func TestWriteAndEventsCommitTogether(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		s := openThings(t, db)
		b := memory.New(quiet())
		got := collect(t, b, "test")
		relay := runRelay(t, b, s.source())

		if err := s.save(ctx, "a", 1, true); err == nil {
			t.Fatal("the failing write succeeded")
		}
		for v := int64(1); v <= 3; v++ {
			if err := s.save(ctx, "b", v, false); err != nil {
				t.Fatal(err)
			}
			relay.Notify()
		}
		if err := s.remove(ctx, "b", 4); err != nil {
			t.Fatal(err)
		}
		relay.Notify()
		want := []string{"thing.saved@1", "thing.saved@2", "thing.saved@3", "thing.deleted@4"}
		eventually(t, 5*time.Second, "all events of b published", func() bool { return len(got.of("b")) >= len(want) })
		if !slices.Equal(got.of("b"), want) {
			t.Fatalf("b's events %v, want %v in commit order", got.of("b"), want)
		}
		eventually(t, 5*time.Second, "published events removed", func() bool { return s.pending(ctx) == 0 })
		if e := got.of("a"); len(e) != 0 {
			t.Fatalf("the rolled-back write published %v", e)
		}
	})
}

// TestTwoRelaysKeepEachKeysOrder: two relays on separate handles on one
// store — two worker processes — publish every event, each key's in
// commit order, while writers on both handles keep committing.
func TestTwoRelaysKeepEachKeysOrder(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		// Concurrent conditional updates from two clients: FerretDB v1
		// loses some (see DESIGN.md), SQLite and MongoDB do not.
		storetest.Require(t, db, storetest.MultiClient)
		ctx := t.Context()
		s1 := openThings(t, db)
		s2 := openThings(t, storetest.Another(t, db))
		b := memory.New(quiet())
		got := collect(t, b, "test")
		r1, r2 := runRelay(t, b, s1.source()), runRelay(t, b, s2.source())
		const keys, versions = 8, 25
		var wg sync.WaitGroup
		for k := range keys {
			s, r := s1, r1
			if k%2 == 1 {
				s, r = s2, r2
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for v := int64(1); v <= versions; v++ {
					if err := s.save(ctx, fmt.Sprint("k", k), v, false); err != nil {
						t.Error(err)
						return
					}
					r.Notify()
				}
			}()
		}
		wg.Wait()
		eventually(t, 20*time.Second, "every event published", func() bool { return got.count() >= keys*versions })
		for k := range keys {
			evs := got.of(fmt.Sprint("k", k))
			var last int64
			for _, e := range evs {
				var v int64
				fmt.Sscanf(e, "thing.saved@%d", &v)
				if v <= last {
					t.Fatalf("key k%d: events %v out of commit order", k, evs)
				}
				last = v
			}
			if last != versions {
				t.Fatalf("key k%d: last event %d, want %d", k, last, versions)
			}
		}
		if n := got.count(); n != keys*versions {
			t.Logf("%d events delivered for %d committed (at least once)", n, keys*versions)
		}
	})
}

// TestFailedDeleteAnnouncesNothing: the events of a Mongo delete wait for
// the document to disappear, and never go out when it stays.
func TestFailedDeleteAnnouncesNothing(t *testing.T) {
	storetest.ForEachMongo(t, func(t *testing.T, backend storetest.Backend) {
		ctx := t.Context()
		db := backend.Open(t)
		s := openThings(t, db).(mongoThings)
		b := memory.New(quiet())
		got := collect(t, b, "test")
		if err := s.save(ctx, "kept", 1, false); err != nil {
			t.Fatal(err)
		}
		// The delete's events were recorded, then the process died
		// before the delete: the document is still there.
		ev, err := outbox.New(thingDeleted, "kept", thingEvent{ID: "kept", Version: 2})
		if err != nil {
			t.Fatal(err)
		}
		ev.At = time.Now().Add(-2 * time.Minute)
		if _, err := s.db.Collection(outbox.Collection).InsertOne(ctx, bson.D{
			{Key: "_id", Value: ev.ID}, {Key: "event", Value: ev},
			{Key: "gone", Value: bson.D{{Key: "coll", Value: "things"}, {Key: "ids", Value: bson.A{"kept"}}}},
			{Key: "at", Value: ev.At},
		}); err != nil {
			t.Fatal(err)
		}
		runRelay(t, b, s.source()).Notify()
		eventually(t, 5*time.Second, "the created event published", func() bool { return len(got.of("kept")) == 1 })
		eventually(t, 5*time.Second, "the failed delete's events dropped", func() bool { return s.pending(ctx) == 0 })
		time.Sleep(300 * time.Millisecond)
		if e := got.of("kept"); !slices.Equal(e, []string{"thing.saved@1"}) {
			t.Fatalf("events %v: the delete that did not happen was announced", e)
		}
	})
}
