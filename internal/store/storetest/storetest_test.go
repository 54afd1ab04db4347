package storetest_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

var migrations = []store.Migration{{Version: 1, SQL: `
	CREATE TABLE items (id TEXT PRIMARY KEY, sku TEXT NOT NULL UNIQUE, qty INTEGER NOT NULL)`}}

var indexes = store.Indexes{"items": {{
	Keys:    bson.D{{Key: "sku", Value: 1}},
	Options: options.Index().SetUnique(true),
}}}

type item struct {
	ID  string `bson:"_id"`
	SKU string `bson:"sku"`
	Qty int    `bson:"qty"`
}

// kv is the smallest "module store": put and get an item, on either backend.
type kv interface {
	put(ctx context.Context, it item) error
	get(ctx context.Context, id string) (item, error)
}

func open(t *testing.T, db *store.DB) kv {
	t.Helper()
	ctx := t.Context()
	switch db.Kind() {
	case store.KindSQLite:
		s, err := db.SQLite(ctx, "demo", migrations)
		if err != nil {
			t.Fatal(err)
		}
		return sqliteKV{s: s}
	default:
		m, err := db.Mongo(ctx, "demo", indexes)
		if err != nil {
			t.Fatal(err)
		}
		return mongoKV{c: m.Collection("items")}
	}
}

var errDuplicate = errors.New("duplicate")

func TestRoundTrip(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		s := open(t, db)
		if err := s.put(ctx, item{ID: "a", SKU: "SKU-1", Qty: 3}); err != nil {
			t.Fatal(err)
		}
		got, err := s.get(ctx, "a")
		if err != nil || got != (item{ID: "a", SKU: "SKU-1", Qty: 3}) {
			t.Fatalf("get = %+v, %v", got, err)
		}
		if err := s.put(ctx, item{ID: "b", SKU: "SKU-1"}); !errors.Is(err, errDuplicate) {
			t.Fatalf("second item with the same SKU: %v, want a duplicate error", err)
		}
		if err := db.Ping(ctx); err != nil {
			t.Fatal(err)
		}

		// Another process on the same data sees the write.
		other := open(t, storetest.Another(t, db))
		if got, err := other.get(ctx, "a"); err != nil || got.SKU != "SKU-1" {
			t.Fatalf("other handle: %+v, %v", got, err)
		}
	})
}

func TestEachTestIsIsolated(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			if err := open(t, b.Open(t)).put(ctx, item{ID: "a", SKU: "x"}); err != nil {
				t.Fatal(err)
			}
			if _, err := open(t, b.Open(t)).get(ctx, "a"); err == nil {
				t.Fatal("a fresh store sees another test's data")
			}
		})
	}
}

func TestBackends(t *testing.T) {
	names := map[string]storetest.Backend{}
	for _, b := range storetest.Backends(t) {
		names[b.Name] = b
	}
	if _, ok := names["sqlite"]; !ok {
		t.Error("no sqlite backend")
	}
	f, ok := names["ferretdb"]
	if !ok || !strings.HasPrefix(f.URL, "mongodb://127.0.0.1:") {
		t.Fatalf("ferretdb backend = %+v", f)
	}
	if f.Has(storetest.MultiClient) || !names["sqlite"].Has(storetest.MultiClient) {
		t.Error("capabilities: FerretDB must lack MultiClient, SQLite must have it")
	}
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		if b := storetest.BackendOf(t, db); b.Kind != db.Kind() {
			t.Errorf("BackendOf = %+v for a %s store", b, db.Kind())
		}
		storetest.Require(t, db, storetest.MultiClient)
		if storetest.BackendOf(t, db).Name == "ferretdb" {
			t.Error("Require did not skip FerretDB")
		}
	})
}

func TestSQLite(t *testing.T) {
	db := storetest.SQLite(t)
	if db.Kind() != store.KindSQLite || storetest.BackendOf(t, db).Name != "sqlite" {
		t.Fatalf("SQLite(t) = %v on %+v", db, storetest.BackendOf(t, db))
	}
	if err := open(t, db).put(t.Context(), item{ID: "a", SKU: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := open(t, storetest.SQLite(t)).get(t.Context(), "a"); err == nil {
		t.Fatal("a fresh SQLite store sees another store's data")
	}
}

type sqliteKV struct{ s *sql.DB }

func (k sqliteKV) put(ctx context.Context, it item) error {
	_, err := k.s.ExecContext(ctx, `INSERT INTO items (id, sku, qty) VALUES (?, ?, ?)`, it.ID, it.SKU, it.Qty)
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE {
		return fmt.Errorf("%w: %v", errDuplicate, err)
	}
	return err
}

func (k sqliteKV) get(ctx context.Context, id string) (item, error) {
	it := item{ID: id}
	err := k.s.QueryRowContext(ctx, `SELECT sku, qty FROM items WHERE id = ?`, id).Scan(&it.SKU, &it.Qty)
	return it, err
}

type mongoKV struct{ c *mongo.Collection }

func (k mongoKV) put(ctx context.Context, it item) error {
	_, err := k.c.InsertOne(ctx, it)
	if mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("%w: %v", errDuplicate, err)
	}
	return err
}

func (k mongoKV) get(ctx context.Context, id string) (item, error) {
	var it item
	err := k.c.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&it)
	return it, err
}

// Subtest names repeat as "sqlite#01", so temp directories contain '#'.
func TestForEachTwice(t *testing.T) {
	for range 2 {
		storetest.ForEach(t, func(t *testing.T, db *store.DB) { open(t, db) })
	}
}

// Every process ensures its indexes at start: doing it again, from another
// client, with several indexes on one collection, must work on every
// backend (FerretDB v1 used to drop the connection on exactly that).
func TestIndexesEnsuredTwice(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		if db.Kind() != store.KindMongo {
			t.Skip("indexes are a MongoDB matter")
		}
		many := store.Indexes{"items": {
			{Keys: bson.D{{Key: "sku", Value: 1}}, Options: options.Index().SetUnique(true)},
			{Keys: bson.D{{Key: "qty", Value: 1}}},
			{Keys: bson.D{{Key: "qty", Value: 1}, {Key: "sku", Value: 1}}},
		}}
		for i, d := range []*store.DB{db, db, storetest.Another(t, db)} {
			if _, err := d.Mongo(t.Context(), "demo", many); err != nil {
				t.Fatalf("ensure #%d: %v", i+1, err)
			}
		}
	})
}
