package moduletest_test

import (
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/bus/bustest"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/moduletest"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

// notes is a module in the shape of every module: a store interface with
// a SQLite and a MongoDB implementation behind store.OpenModule, a New, a
// Start and a Stop. Its one endpoint stores a note under the name its
// peer ("greeter") gives, and reads it back.
type notes struct {
	bus.Server
	st      noteStore
	stopped *bool
}

type noteStore interface {
	Put(ctx context.Context, key, text string) error
	Get(ctx context.Context, key string) (string, error)
}

type (
	note     struct{ Text string }
	saved    struct{ Key, Text string }
	greeting struct{ Name string }
)

var (
	saveNote = bus.Endpoint[note, saved]{Queue: "notes", Op: "save_note"}
	getName  = bus.Endpoint[contract.Empty, greeting]{Queue: "greeter", Op: "get_name"}
	getTitle = bus.Endpoint[contract.Empty, greeting]{Queue: "greeter", Op: "get_title"}
)

// stopped records, across subtests, which module instances were stopped.
var stopped []*bool

func newNotes(b bus.Bus, st noteStore, log *slog.Logger) *notes {
	m := &notes{Server: bus.NewServer(b, "notes", log), st: st, stopped: new(bool)}
	stopped = append(stopped, m.stopped)
	bus.Handle(m.Service, saveNote, func(ctx context.Context, n note) (saved, error) {
		g, err := bus.Call(ctx, b, getName, contract.Empty{})
		if err != nil {
			return saved{}, err
		}
		if err := st.Put(ctx, g.Name, n.Text); err != nil {
			return saved{}, err
		}
		text, err := st.Get(ctx, g.Name)
		return saved{Key: g.Name, Text: text}, err
	})
	return m
}

func (m *notes) Stop(ctx context.Context) error {
	*m.stopped = true
	return m.Server.Stop(ctx)
}

func openNotes(ctx context.Context, db *store.DB) (noteStore, error) {
	return store.OpenModule[noteStore](ctx, db, "notes", openSQLNotes, openMongoNotes)
}

type sqlNotes struct{ db *sql.DB }

func openSQLNotes(ctx context.Context, db *store.DB) (*sqlNotes, error) {
	s, err := db.SQLite(ctx, "notes", []store.Migration{{Version: 1, SQL: `CREATE TABLE notes (key TEXT PRIMARY KEY, text TEXT NOT NULL)`}})
	return &sqlNotes{s}, err
}

func (s *sqlNotes) Put(ctx context.Context, key, text string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO notes (key, text) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET text = excluded.text`, key, text)
	return err
}

func (s *sqlNotes) Get(ctx context.Context, key string) (string, error) {
	return store.QueryOne(ctx, s.db, store.ScanValue[string], `SELECT text FROM notes WHERE key = ?`, key)
}

type mongoNotes struct{ c *mongo.Collection }

func openMongoNotes(ctx context.Context, db *store.DB) (mongoNotes, error) {
	mdb, err := db.Mongo(ctx, "notes", nil)
	if err != nil {
		return mongoNotes{}, err
	}
	return mongoNotes{mdb.Collection("notes")}, nil
}

type noteDoc struct {
	Key  string `bson:"_id"`
	Text string `bson:"text"`
}

func (s mongoNotes) Put(ctx context.Context, key, text string) error {
	_, err := s.c.ReplaceOne(ctx, bson.D{{Key: "_id", Value: key}}, noteDoc{key, text}, options.Replace().SetUpsert(true))
	return err
}

func (s mongoNotes) Get(ctx context.Context, key string) (string, error) {
	d, err := store.FindOne[noteDoc](ctx, s.c, bson.D{{Key: "_id", Value: key}})
	return d.Text, err
}

func TestForEach(t *testing.T) {
	stopped = nil
	var backends []string
	moduletest.ForEach(t, openNotes, newNotes, func(t *testing.T, h *moduletest.Harness[*notes]) {
		backends = append(backends, storetest.BackendOf(t, h.DB).Name)
		if *h.Module.stopped {
			t.Fatal("module not running")
		}
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

func TestStubsBeforeStartAndTwoInstances(t *testing.T) {
	stopped = nil
	db := storetest.SQLite(t)
	b := moduletest.NewBus(t)
	greeter := moduletest.NewStub(t, b, "greeter")
	moduletest.Handle(greeter, getName, func(context.Context, contract.Empty) (greeting, error) {
		return greeting{}, bus.Errorf(bus.CodeUnavailable, "greeter is napping")
	})
	one := moduletest.Start(t, db, openNotes, newNotes, moduletest.OnBus(b))
	two := moduletest.Start(t, db, openNotes, newNotes, moduletest.OnBus(b))
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
