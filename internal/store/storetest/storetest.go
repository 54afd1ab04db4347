// Package storetest runs a module's store test suite against every backend
// this machine can reach, each test on a fresh, isolated store:
//
//   - sqlite: always, in t.TempDir();
//   - ferretdb: an embedded FerretDB (SQLite handler) started once per test
//     binary on 127.0.0.1, the MongoDB wire-protocol check when no MongoDB is
//     at hand;
//   - mongodb: the server at SHOP_TEST_MONGO_URI, when set.
//
// FerretDB is a test-only dependency: only tests may import this package, and
// package store must never import it, so that it stays out of the shop binary.
//
// Typical use in a module's store tests:
//
//	func TestCartStore(t *testing.T) {
//		storetest.ForEach(t, func(t *testing.T, db *store.DB) {
//			s, err := cart.NewStore(t.Context(), db)
//			...
//		})
//	}
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/shopengine/shop/internal/store"
)

// MongoURIEnv names the variable holding a real MongoDB URL to test against
// (a replica set, for transactions and change streams).
const MongoURIEnv = "SHOP_TEST_MONGO_URI"

// Cap is something a backend does that a few tests rely on and not every
// backend can do.
type Cap uint

const (
	// MultiClient: independent clients (separate processes, or [Another])
	// racing on conditional updates of the same documents are serialised
	// correctly. FerretDB v1 loses such writes.
	MultiClient Cap = 1 << iota
)

func (c Cap) String() string {
	if c == MultiClient {
		return "MultiClient"
	}
	return fmt.Sprintf("Cap(%d)", uint(c))
}

// Backend is one reachable database to run a suite against.
type Backend struct {
	Name string     // sqlite, ferretdb or mongodb: the subtest name
	Kind store.Kind // which store implementation a module will pick
	URL  string     // server URL; empty for sqlite, whose directory is per test
	Caps Cap
	opts []store.Option
}

// Has reports whether the backend has every capability in c.
func (b Backend) Has(c Cap) bool { return b.Caps&c == c }

// sqliteBackend is the one backend every machine has.
var sqliteBackend = Backend{Name: "sqlite", Kind: store.KindSQLite, Caps: MultiClient}

// Backends lists the backends reachable from this test binary. It fails t if
// the embedded FerretDB cannot start: that is a broken test machine, not a
// reason to silently test less.
func Backends(t testing.TB) []Backend {
	t.Helper()
	bs := []Backend{sqliteBackend}
	uri, err := ferretURI()
	if err != nil {
		t.Fatalf("storetest: start embedded FerretDB: %v", err)
	}
	bs = append(bs, Backend{
		Name: "ferretdb", Kind: store.KindMongo, URL: uri,
		// Concurrent conditional updates on several connections lose writes
		// in FerretDB v1; on one connection they are serialised.
		opts: []store.Option{store.WithMongoClientOptions(func(o *options.ClientOptions) { o.SetMaxPoolSize(1) })},
	})
	if uri := os.Getenv(MongoURIEnv); uri != "" {
		bs = append(bs, Backend{Name: "mongodb", Kind: store.KindMongo, URL: uri, Caps: MultiClient})
	}
	return bs
}

// SQLite returns a fresh SQLite store for the duration of t, without
// starting FerretDB: for tests of behaviour every backend shares, which
// run on the embedded default only.
func SQLite(t testing.TB) *store.DB {
	t.Helper()
	return sqliteBackend.Open(t)
}

// ForEach runs fn as a subtest per backend, each with its own fresh store
// that is closed (and, on servers, dropped) when the subtest ends.
func ForEach(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, b := range Backends(t) {
		t.Run(b.Name, func(t *testing.T) { fn(t, b.Open(t)) })
	}
}

// opened remembers where each test store came from, for [Require] and
// [Another].
var opened sync.Map // *store.DB → instance

type instance struct {
	b   Backend
	url string
	opt []store.Option
}

// Open returns a fresh, empty store on b for the duration of t: a new
// directory for SQLite, a new database prefix on a server.
func (b Backend) Open(t testing.TB) *store.DB {
	t.Helper()
	in := instance{b: b, url: b.URL, opt: b.opts}
	if b.Kind == store.KindSQLite {
		in.url = store.SQLiteURL(t.TempDir())
	} else {
		prefix := uniquePrefix()
		in.opt = append(in.opt[:len(in.opt):len(in.opt)], store.WithDatabasePrefix(prefix))
		t.Cleanup(func() { dropPrefix(t, in.url, prefix) })
	}
	return in.open(t)
}

func (in instance) open(t testing.TB) *store.DB {
	t.Helper()
	opts := append([]store.Option{
		store.WithTimeout(10 * time.Second),
		// Store logs belong to the test: shown with -v or on failure.
		store.WithLogger(slog.New(slog.NewTextHandler(t.Output(), nil))),
	}, in.opt...)
	db, err := store.Open(context.Background(), in.url, opts...)
	if err != nil {
		t.Fatalf("storetest: open %s store: %v", in.b.Name, err)
	}
	opened.Store(db, in)
	t.Cleanup(func() {
		opened.Delete(db)
		if err := db.Close(context.Background()); err != nil {
			t.Errorf("storetest: close %s store: %v", in.b.Name, err)
		}
	})
	return db
}

// Another opens a second, independent handle on the same data as db, as
// another worker process would have: its own SQLite connections or its own
// MongoDB client. Use it to test what one process sees of another's writes.
func Another(t testing.TB, db *store.DB) *store.DB {
	t.Helper()
	return lookup(t, db).open(t)
}

// Require skips t unless the backend db was opened on has every capability
// in c.
func Require(t testing.TB, db *store.DB, c Cap) {
	t.Helper()
	if b := lookup(t, db).b; !b.Has(c) {
		t.Skipf("storetest: %s lacks %v", b.Name, c)
	}
}

// BackendOf returns the backend a test store was opened on.
func BackendOf(t testing.TB, db *store.DB) Backend {
	t.Helper()
	return lookup(t, db).b
}

func lookup(t testing.TB, db *store.DB) instance {
	t.Helper()
	v, ok := opened.Load(db)
	if !ok {
		t.Fatalf("storetest: %v was not opened by storetest (or is already closed)", db)
	}
	return v.(instance)
}

// uniquePrefix returns a database prefix no other test uses, short enough to
// leave room for the module name within MongoDB's 63-byte limit.
func uniquePrefix() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return "t" + hex.EncodeToString(b[:]) + "_"
}

// dropPrefix drops every database whose name starts with prefix, so that a
// real MongoDB does not fill up with test data.
func dropPrefix(t testing.TB, uri, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := mongo.Connect(options.Client().ApplyURI(uri).SetMaxPoolSize(1))
	if err != nil {
		t.Logf("storetest: cleanup %s*: %v", prefix, err)
		return
	}
	defer c.Disconnect(ctx) //nolint:errcheck // best effort
	names, err := c.ListDatabaseNames(ctx, bson.D{})
	if err != nil {
		t.Logf("storetest: cleanup %s*: %v", prefix, err)
		return
	}
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			if err := c.Database(n).Drop(ctx); err != nil {
				t.Logf("storetest: drop %s: %v", n, err)
			}
		}
	}
}

// ForEachMongo runs fn as a subtest for each MongoDB wire backend
// (FerretDB, and MongoDB when SHOP_TEST_MONGO_URI is set): for tests of
// what only a MongoDB store does (its hooks, concerns, transactions).
func ForEachMongo(t *testing.T, fn func(t *testing.T, b Backend)) {
	t.Helper()
	for _, b := range Backends(t) {
		if b.Kind == store.KindMongo {
			t.Run(b.Name, func(t *testing.T) { fn(t, b) })
		}
	}
}
