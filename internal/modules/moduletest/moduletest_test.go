package moduletest_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/bus/bustest"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/moduletest"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

// notes is a module in the shape of every module: a store interface with
// a SQLite and a MongoDB implementation behind store.OpenModule, each
// committing its events with its writes (package outbox), a New, a Start
// that runs the relay, and a Stop. Its one endpoint stores a note under
// the name its peer ("greeter") gives, announces it (note.saved), and
// reads it back.
type notes struct {
	bus.Server
	st      noteStore
	relay   *outbox.Relay
	stopped *bool
}

type noteStore interface {
	// Put writes the note at version, which must be the one after the
	// stored note's, together with ev.
	Put(ctx context.Context, key, text string, version int64, ev outbox.Event) error
	Get(ctx context.Context, key string) (text string, version int64, err error)
	Outbox() outbox.Source
}

type (
	note      struct{ Text string }
	saved     struct{ Key, Text string }
	greeting  struct{ Name string }
	noteEvent struct {
		ID      string `json:"id"`
		Version int64  `json:"version"`
		Text    string `json:"text"`
	}
)

var (
	saveNote  = bus.Endpoint[note, saved]{Queue: "notes", Op: "save_note"}
	getName   = bus.Endpoint[contract.Empty, greeting]{Queue: "greeter", Op: "get_name"}
	getTitle  = bus.Endpoint[contract.Empty, greeting]{Queue: "greeter", Op: "get_title"}
	noteSaved = bus.EventType[noteEvent]{Topic: "note.saved"}
)

// errStale is a Put at a version that is not the next.
var errStale = errors.New("stale version")

// stopped records, across subtests, which module instances were stopped.
var stopped []*bool

func newNotes(b bus.Bus, st noteStore, log *slog.Logger) *notes {
	m := &notes{Server: bus.NewServer(b, "notes", log), st: st, relay: outbox.NewRelay(b, st.Outbox(), log), stopped: new(bool)}
	stopped = append(stopped, m.stopped)
	bus.Handle(m.Service, saveNote, func(ctx context.Context, n note) (saved, error) {
		g, err := bus.Call(ctx, b, getName, contract.Empty{})
		if err != nil {
			return saved{}, err
		}
		if n.Text == "" {
			return saved{}, bus.Errorf(bus.CodeInvalid, "text: required")
		}
		_, v, err := st.Get(ctx, g.Name)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return saved{}, err
		}
		ev, err := outbox.New(noteSaved, g.Name, noteEvent{ID: g.Name, Version: v + 1, Text: n.Text})
		if err != nil {
			return saved{}, err
		}
		if err := st.Put(ctx, g.Name, n.Text, v+1, ev); err != nil {
			return saved{}, err
		}
		m.relay.Notify()
		text, _, err := st.Get(ctx, g.Name)
		return saved{Key: g.Name, Text: text}, err
	})
	return m
}

func (m *notes) Start(ctx context.Context) error {
	if err := m.Server.Start(ctx); err != nil {
		return err
	}
	m.Go("outbox relay", m.relay.Run)
	return nil
}

func (m *notes) Stop(ctx context.Context) error {
	*m.stopped = true
	return m.Server.Stop(ctx)
}

func openNotes(ctx context.Context, db *store.DB) (noteStore, error) {
	return store.OpenModule[noteStore](ctx, db, "notes", openSQLNotes, openMongoNotes)
}

// module is the notes module as moduletest starts it, as every module's
// tests declare theirs.
var module = moduletest.Spec[noteStore, *notes]{Open: openNotes, New: newNotes,
	Relay: func(m *notes, r *outbox.Relay) { m.relay = r }}

type sqlNotes struct {
	db     *sql.DB
	outbox outbox.Source
}

func openSQLNotes(ctx context.Context, db *store.DB) (*sqlNotes, error) {
	s, src, err := outbox.OpenSQLite(ctx, db, "notes", fstest.MapFS{
		"schema/001_notes.sql": {Data: []byte(`CREATE TABLE notes (key TEXT PRIMARY KEY, text TEXT NOT NULL, version INTEGER NOT NULL)`)},
	})
	return &sqlNotes{s, src}, err
}

func (s *sqlNotes) Put(ctx context.Context, key, text string, version int64, ev outbox.Event) error {
	return outbox.InTx(ctx, s.db, "put note", func(tx *sql.Tx) ([]outbox.Event, error) {
		res, err := tx.ExecContext(ctx, `INSERT INTO notes (key, text, version) VALUES (?1, ?2, ?3)
			ON CONFLICT (key) DO UPDATE SET text = excluded.text, version = excluded.version WHERE notes.version = ?3 - 1`, key, text, version)
		if err != nil {
			return nil, err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return nil, errors.Join(errStale, err)
		}
		return []outbox.Event{ev}, nil
	})
}

func (s *sqlNotes) Get(ctx context.Context, key string) (string, int64, error) {
	type row struct {
		text    string
		version int64
	}
	r, err := store.QueryOne(ctx, s.db, func(sc store.Scanner) (r row, err error) {
		return r, sc.Scan(&r.text, &r.version)
	}, `SELECT text, version FROM notes WHERE key = ?`, key)
	return r.text, r.version, err
}

func (s *sqlNotes) Outbox() outbox.Source { return s.outbox }

type mongoNotes struct{ c *mongo.Collection }

func openMongoNotes(ctx context.Context, db *store.DB) (mongoNotes, error) {
	mdb, err := db.Mongo(ctx, "notes", nil)
	if err != nil {
		return mongoNotes{}, err
	}
	return mongoNotes{mdb.Collection("notes")}, nil
}

type noteDoc struct {
	Key     string         `bson:"_id"`
	Text    string         `bson:"text"`
	Version int64          `bson:"version"`
	Outbox  outbox.Pending `bson:"outbox,omitempty"`
}

func (s mongoNotes) Put(ctx context.Context, key, text string, version int64, ev outbox.Event) error {
	if version == 1 {
		_, err := s.c.InsertOne(ctx, noteDoc{key, text, version, outbox.Pending{ev}})
		if mongo.IsDuplicateKeyError(err) {
			return errStale
		}
		return err
	}
	res, err := s.c.UpdateOne(ctx, bson.D{{Key: "_id", Value: key}, {Key: "version", Value: version - 1}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "text", Value: text}, {Key: "version", Value: version}}}, outbox.Push(ev)})
	if err == nil && res.MatchedCount != 1 {
		err = errStale
	}
	return err
}

func (s mongoNotes) Get(ctx context.Context, key string) (string, int64, error) {
	d, err := store.FindOne[noteDoc](ctx, s.c, bson.D{{Key: "_id", Value: key}})
	return d.Text, d.Version, err
}

func (s mongoNotes) Outbox() outbox.Source { return outbox.Mongo(s.c.Database(), "notes") }

func TestForEach(t *testing.T) {
	stopped = nil
	var backends []string
	moduletest.ForEach(t, module, func(t *testing.T, h *moduletest.Harness[*notes]) {
		backends = append(backends, storetest.BackendOf(t, h.DB).Name)
		if *h.Module.stopped {
			t.Fatal("module not running")
		}
		events := bustest.Record[noteEvent](t, h.Bus, "note.*")
		// Without the peer, the call fails as a real missing module would.
		if _, err := bus.Call(t.Context(), h.Bus, saveNote, note{Text: "x"}); err == nil {
			t.Fatal("saved without the greeter")
		}
		greeter := moduletest.NewStub(t, h.Bus, "greeter")
		moduletest.Reply(greeter, getName, greeting{Name: "ada"})
		got := bustest.Call(t, h.Bus, saveNote, note{Text: "hello"})
		if got != (saved{Key: "ada", Text: "hello"}) || greeter.Calls("get_name") != 1 || greeter.Calls("get_title") != 0 {
			t.Fatalf("saved %+v after %d calls", got, greeter.Calls("get_name"))
		}
		// An op the stub was given no handler for is not_found.
		bustest.CallErr(t, h.Bus, getTitle, contract.Empty{}, bus.CodeNotFound, "get_title")
		// Settle returns once the relay has published the write's event.
		if evs := moduletest.Settle(t, h.Outbox, events); len(evs) != 1 || evs[0].Event != (noteEvent{ID: "ada", Version: 1, Text: "hello"}) {
			t.Fatalf("events %+v", evs)
		}
		// A stopped stub is a module that is down.
		greeter.Stop()
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		if _, err := bus.Call(ctx, h.Bus, saveNote, note{Text: "x"}); bus.CodeOf(err) != bus.CodeUnavailable {
			t.Fatalf("saved with the greeter stopped: %v", err)
		}
	})
	if len(backends) < 2 || backends[0] != "sqlite" || backends[1] != "ferretdb" {
		t.Errorf("ran on %v, want sqlite, ferretdb and any MongoDB", backends)
	}
	for i, s := range stopped {
		if !*s {
			t.Errorf("instance %d was not stopped at the end of its test", i)
		}
	}
}

// TestOutbox is an outbox test in the shape every module's has: with the
// relay held, each write leaves its event pending and publishes nothing,
// a failed write leaves none; once let, the relay publishes exactly the
// pending events, each entity's in commit order, and the store is empty.
func TestOutbox(t *testing.T) {
	moduletest.ForEach(t, module, func(t *testing.T, h *moduletest.Harness[*notes]) {
		name := "ada"
		moduletest.Handle(moduletest.NewStub(t, h.Bus, "greeter"), getName, func(context.Context, contract.Empty) (greeting, error) {
			return greeting{Name: name}, nil
		})
		for i := range 3 {
			bustest.Call(t, h.Bus, saveNote, note{Text: fmt.Sprint("draft ", i)})
		}
		bustest.CallErr(t, h.Bus, saveNote, note{}, bus.CodeInvalid, "text")
		name = "bob"
		bustest.Call(t, h.Bus, saveNote, note{Text: "hi"})
		// A write that fails in the store leaves no event.
		ev, err := outbox.New(noteSaved, "bob", noteEvent{ID: "bob", Version: 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Module.st.Put(t.Context(), "bob", "again", 1, ev); !errors.Is(err, errStale) {
			t.Fatalf("a stale put: %v", err)
		}

		h.Outbox.WantPending(t,
			moduletest.Announced(noteSaved.Topic, "ada", 1),
			moduletest.Announced(noteSaved.Topic, "ada", 2),
			moduletest.Announced(noteSaved.Topic, "bob", 1),
			moduletest.Announced(noteSaved.Topic, "ada", 3),
		)
		// Reading the outbox gives its events back: they are still there.
		if n := len(h.Outbox.Pending(t)); n != 4 {
			t.Fatalf("%d events pending on a second read, want 4", n)
		}
		h.Outbox.WantPublished(t)
		if left := h.Outbox.Pending(t); len(left) != 0 {
			t.Fatalf("left after the relay: %+v", left)
		}
		// The relay runs on: a later write is published without a hold.
		events := bustest.Record[noteEvent](t, h.Bus, "note.*")
		bustest.Call(t, h.Bus, saveNote, note{Text: "later"})
		if evs := moduletest.Settle(t, h.Outbox, events); len(evs) != 1 || evs[0].Event.Version != 2 {
			t.Fatalf("after the hold: %+v", evs)
		}
	}, moduletest.HoldOutbox())
}

// TestRelay: a store's outbox with no module, as a store test checks it.
func TestRelay(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		st, err := openNotes(t.Context(), db)
		if err != nil {
			t.Fatal(err)
		}
		ob := moduletest.Relay(t, st.Outbox())
		for v := int64(1); v <= 2; v++ {
			ev, err := outbox.New(noteSaved, "ada", noteEvent{ID: "ada", Version: v})
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Put(t.Context(), "ada", "x", v, ev); err != nil {
				t.Fatal(err)
			}
		}
		if got := moduletest.Pending(t, st.Outbox()); len(got) != 2 || got[0].Key != "ada" {
			t.Fatalf("pending %+v", got)
		}
		got := moduletest.Decode[noteEvent](t, ob.Publish(t))
		if len(got) != 2 || got[0].Topic != noteSaved.Topic || got[0].Key != "ada" || got[0].Event.Version != 1 || got[1].Event.Version != 2 {
			t.Fatalf("published %+v", got)
		}
	})
}

func TestStubsBeforeStartAndTwoInstances(t *testing.T) {
	stopped = nil
	db := storetest.SQLite(t)
	b := moduletest.NewBus(t)
	greeter := moduletest.NewStub(t, b, "greeter")
	moduletest.Handle(greeter, getName, func(context.Context, contract.Empty) (greeting, error) {
		return greeting{}, bus.Errorf(bus.CodeUnavailable, "greeter is napping")
	})
	one := moduletest.Start(t, db, module, moduletest.OnBus(b))
	two := moduletest.Start(t, db, module, moduletest.OnBus(b))
	if one.Bus != b || two.Bus != b || one.Module == two.Module {
		t.Fatal("instances not on the given bus")
	}
	// The peer's error code reaches the caller through both instances.
	for range 4 {
		_, err := bus.Call(t.Context(), b, saveNote, note{Text: "x"})
		if bus.CodeOf(err) != bus.CodeUnavailable || !strings.Contains(err.Error(), "napping") {
			t.Fatalf("got %v", err)
		}
	}
	if n := greeter.Calls("get_name"); n != 4 {
		t.Fatalf("stub answered %d calls, want 4", n)
	}
}
