package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqlFixture is a real module file with two tables in the shapes the
// helpers serve: ordered siblings under a parent (categories, attribute
// definitions in a group, with a foreign key) and a flat ordered list
// (attribute groups).
func sqlFixture(t *testing.T) *sql.DB {
	t.Helper()
	s, err := openSQLite(t, t.TempDir()).SQLite(t.Context(), "fixture", []Migration{{Version: 1, SQL: `
		CREATE TABLE groups (id TEXT PRIMARY KEY, name TEXT NOT NULL, position INTEGER NOT NULL, updated_at INTEGER NOT NULL);
		CREATE TABLE items (
			id TEXT PRIMARY KEY, group_id TEXT NOT NULL REFERENCES groups(id), name TEXT NOT NULL,
			position INTEGER NOT NULL, updated_at INTEGER NOT NULL);
		INSERT INTO groups VALUES ('g1', 'one', 0, 0), ('g2', 'two', 1, 0), ('g3', 'three', 2, 0);
		INSERT INTO items VALUES ('a', 'g1', 'A', 0, 0), ('b', 'g1', 'B', 1, 0), ('c', 'g1', 'C', 2, 0), ('x', 'g2', 'X', 0, 0);`}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type item struct {
	ID, Group, Name string
	Position        int
	Updated         int64
}

func scanItem(row Scanner) (item, error) {
	var it item
	err := row.Scan(&it.ID, &it.Group, &it.Name, &it.Position, &it.Updated)
	return it, err
}

const itemColumns = `SELECT id, group_id, name, position, updated_at FROM items`

func TestQueryOne(t *testing.T) {
	db := sqlFixture(t)
	tests := []struct {
		name    string
		query   string
		args    []any
		want    item
		wantErr func(error) bool
	}{
		{"found", itemColumns + ` WHERE id = ?`, []any{"b"}, item{"b", "g1", "B", 1, 0}, nil},
		{"first of several", itemColumns + ` WHERE group_id = ? ORDER BY position DESC`, []any{"g1"}, item{"c", "g1", "C", 2, 0}, nil},
		{"none is ErrNotFound", itemColumns + ` WHERE id = ?`, []any{"nope"}, item{}, func(err error) bool { return errors.Is(err, ErrNotFound) }},
		{"scan failure is not ErrNotFound", `SELECT id, group_id, name, 'not a number', updated_at FROM items WHERE id = 'a'`, nil, item{},
			func(err error) bool { return err != nil && !errors.Is(err, ErrNotFound) }},
		{"bad SQL", `SELECT nope FROM items`, nil, item{}, func(err error) bool { return err != nil && strings.Contains(err.Error(), "nope") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := QueryOne(t.Context(), db, scanItem, tt.query, tt.args...)
			if tt.wantErr != nil {
				if !tt.wantErr(err) {
					t.Fatalf("got %+v, %v", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	// One column, and inside a transaction.
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if n, err := QueryOne(t.Context(), tx, ScanValue[int], `SELECT COUNT(*) FROM items`); err != nil || n != 4 {
		t.Fatalf("count in tx: %d, %v", n, err)
	}
}

func TestQueryAll(t *testing.T) {
	db := sqlFixture(t)
	tests := []struct {
		name    string
		query   string
		args    []any
		want    []string // ids
		wantErr bool
	}{
		{"in query order", itemColumns + ` WHERE group_id = ? ORDER BY position DESC`, []any{"g1"}, []string{"c", "b", "a"}, false},
		{"none is empty, not an error", itemColumns + ` WHERE group_id = ?`, []any{"g3"}, []string{}, false},
		{"scan failure", `SELECT id, group_id, name, 'x', updated_at FROM items`, nil, nil, true},
		{"bad SQL", `SELECT * FROM nowhere`, nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := QueryAll(t.Context(), db, scanItem, tt.query, tt.args...)
			if tt.wantErr {
				if err == nil || errors.Is(err, ErrNotFound) {
					t.Fatalf("got %+v, %v; want an error", got, err)
				}
				return
			}
			ids := []string{}
			for _, it := range got {
				ids = append(ids, it.ID)
			}
			if err != nil || got == nil || !slices.Equal(ids, tt.want) {
				t.Fatalf("got %v (nil: %t), %v; want %v", ids, got == nil, err, tt.want)
			}
		})
	}
	names, err := QueryAll(t.Context(), db, ScanValue[string], `SELECT name FROM groups ORDER BY position`)
	if err != nil || !slices.Equal(names, []string{"one", "two", "three"}) {
		t.Fatalf("one column: %v, %v", names, err)
	}
}

func TestReorderRows(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 8_000_000, time.UTC)
	type row struct {
		id, parent string
		position   int
		moved      bool // updated_at is now
	}
	tests := []struct {
		name          string
		table, parent string
		parentID      string
		ids           []string
		want          []row // of the table, by id
		wantErr       func(error) bool
	}{
		{"reorder siblings: only moved rows touched", "items", "group_id", "g1", []string{"a", "c", "b"},
			[]row{{"a", "g1", 0, false}, {"b", "g1", 2, true}, {"c", "g1", 1, true}, {"x", "g2", 0, false}}, nil},
		{"same order touches nothing", "items", "group_id", "g1", []string{"a", "b", "c"},
			[]row{{"a", "g1", 0, false}, {"b", "g1", 1, false}, {"c", "g1", 2, false}, {"x", "g2", 0, false}}, nil},
		{"move under another parent at the same position", "items", "group_id", "g2", []string{"a", "x"},
			[]row{{"a", "g2", 0, true}, {"b", "g1", 1, false}, {"c", "g1", 2, false}, {"x", "g2", 1, true}}, nil},
		{"unknown ids are skipped", "items", "group_id", "g1", []string{"nope", "a"},
			[]row{{"a", "g1", 1, true}, {"b", "g1", 1, false}, {"c", "g1", 2, false}, {"x", "g2", 0, false}}, nil},
		{"no ids: nothing", "items", "group_id", "g1", nil,
			[]row{{"a", "g1", 0, false}, {"b", "g1", 1, false}, {"c", "g1", 2, false}, {"x", "g2", 0, false}}, nil},
		{"flat list without a parent", "groups", "", "", []string{"g3", "g1", "g2"},
			[]row{{"g1", "", 1, true}, {"g2", "", 2, true}, {"g3", "", 0, true}}, nil},
		{"a missing parent fails the foreign key", "items", "group_id", "g9", []string{"b", "a"},
			[]row{{"a", "g1", 0, false}, {"b", "g1", 1, false}, {"c", "g1", 2, false}, {"x", "g2", 0, false}},
			func(err error) bool {
				var se *sqlite.Error
				return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY && strings.Contains(err.Error(), "items b")
			}},
		{"a table name that is not an identifier", "items; DROP TABLE groups", "", "", []string{"a"},
			[]row{{"a", "g1", 0, false}, {"b", "g1", 1, false}, {"c", "g1", 2, false}, {"x", "g2", 0, false}},
			func(err error) bool { return err != nil && strings.Contains(err.Error(), "identifier") }},
		{"a parent column that is not an identifier", "items", "group_id = 'g1' --", "g1", []string{"a"},
			[]row{{"a", "g1", 0, false}, {"b", "g1", 1, false}, {"c", "g1", 2, false}, {"x", "g2", 0, false}},
			func(err error) bool { return err != nil && strings.Contains(err.Error(), "identifier") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := sqlFixture(t)
			err := ReorderRows(t.Context(), db, tt.table, tt.parent, tt.parentID, tt.ids, now)
			if tt.wantErr != nil {
				if !tt.wantErr(err) {
					t.Fatalf("error %v", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			table, parent := "items", "group_id"
			if len(tt.want) > 0 && strings.HasPrefix(tt.want[0].id, "g") {
				table, parent = "groups", "''"
			}
			got, err := QueryAll(t.Context(), db, func(r Scanner) (row, error) {
				var x row
				var updated int64
				err := r.Scan(&x.id, &x.parent, &x.position, &updated)
				x.moved = updated == now.UnixMilli()
				return x, err
			}, fmt.Sprintf(`SELECT id, %s, position, updated_at FROM %s ORDER BY id`, parent, table))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("rows\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// openers for TestOpenModule: a store interface and two implementations,
// one of which does not implement it.
type (
	fakeStore interface{ Backend() Kind }
	sqlFake   struct{}
	mongoFake struct{}
	notAStore struct{}
)

func (sqlFake) Backend() Kind   { return KindSQLite }
func (mongoFake) Backend() Kind { return KindMongo }

func TestOpenModule(t *testing.T) {
	ctx := context.Background()
	sqliteDB := openSQLite(t, t.TempDir())
	// A MongoDB handle is built without contacting a server, which is all
	// the chooser needs.
	mongoDB, err := Open(ctx, "mongodb://127.0.0.1:1/")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mongoDB.Close(context.Background()) })
	openSQL := func(context.Context, *DB) (*sqlFake, error) { return &sqlFake{}, nil }
	openMongo := func(context.Context, *DB) (mongoFake, error) { return mongoFake{}, nil }
	failing := func(context.Context, *DB) (*sqlFake, error) { return nil, errors.New("disk on fire") }
	wrongType := func(context.Context, *DB) (notAStore, error) { return notAStore{}, nil }

	tests := []struct {
		name    string
		open    func() (fakeStore, error)
		want    Kind
		mention []string // in the error
	}{
		{"sqlite picks the sqlite opener", func() (fakeStore, error) {
			return OpenModule[fakeStore](ctx, sqliteDB, "cart", openSQL, openMongo)
		}, KindSQLite, nil},
		{"mongodb picks the mongo opener", func() (fakeStore, error) {
			return OpenModule[fakeStore](ctx, mongoDB, "cart", openSQL, openMongo)
		}, KindMongo, nil},
		{"an opener's error names the module and backend", func() (fakeStore, error) {
			return OpenModule[fakeStore](ctx, sqliteDB, "cart", failing, openMongo)
		}, "", []string{"cart store on sqlite", "disk on fire"}},
		{"a store that is not the module's Store", func() (fakeStore, error) {
			return OpenModule[fakeStore](ctx, mongoDB, "cart", openSQL, wrongType)
		}, "", []string{"cart store", "store.notAStore", "does not implement", "store.fakeStore"}},
		{"an unknown backend", func() (fakeStore, error) {
			return OpenModule[fakeStore](ctx, &DB{kind: "oracle"}, "cart", openSQL, openMongo)
		}, "", []string{"cart store", "oracle"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := tt.open()
			if tt.mention == nil {
				if err != nil || s == nil || s.Backend() != tt.want {
					t.Fatalf("got %v, %v; want the %s store", s, err, tt.want)
				}
				return
			}
			if err == nil || s != nil {
				t.Fatalf("got %v, nil error; want an error", s)
			}
			for _, m := range tt.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
}

func TestMigrationsFrom(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	tests := []struct {
		name     string
		fsys     fstest.MapFS
		versions []int
		mention  string // in the error; "" for none
	}{
		{"in version order, not name order", fstest.MapFS{
			"schema/10_later.sql":     file("CREATE TABLE c (id TEXT);"),
			"schema/002_second.sql":   file("CREATE TABLE b (id TEXT);"),
			"schema/001_products.sql": file("CREATE TABLE a (id TEXT);"),
		}, []int{1, 2, 10}, ""},
		{"no directory", fstest.MapFS{"other/1_x.sql": file("SELECT 1;")}, nil, "schema"},
		{"a stray file", fstest.MapFS{"schema/1_a.sql": file("SELECT 1;"), "schema/README.md": file("hi")}, nil, "README.md"},
		{"no name", fstest.MapFS{"schema/1.sql": file("SELECT 1;")}, nil, "1.sql"},
		{"version 0", fstest.MapFS{"schema/0_a.sql": file("SELECT 1;")}, nil, "start at 1"},
		{"a version twice", fstest.MapFS{"schema/1_a.sql": file("SELECT 1;"), "schema/01_b.sql": file("SELECT 2;")}, nil, "same version 1"},
		{"an empty file", fstest.MapFS{"schema/1_a.sql": file(" \n")}, nil, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := MigrationsFrom(tt.fsys, "schema")
			if tt.mention != "" {
				if err == nil || !strings.Contains(err.Error(), tt.mention) {
					t.Fatalf("got %v, %v; want an error mentioning %q", ms, err, tt.mention)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, m := range ms {
				got = append(got, m.Version)
			}
			if !slices.Equal(got, tt.versions) {
				t.Fatalf("versions %v, want %v", got, tt.versions)
			}
		})
	}
	// What it reads applies as migrations do.
	ms, err := MigrationsFrom(fstest.MapFS{
		"s/1_a.sql": file("CREATE TABLE a (id TEXT PRIMARY KEY);"),
		"s/2_b.sql": file("ALTER TABLE a ADD COLUMN n INTEGER NOT NULL DEFAULT 0;"),
	}, "s")
	if err != nil {
		t.Fatal(err)
	}
	s, err := openSQLite(t, t.TempDir()).SQLite(t.Context(), "m", ms)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ExecContext(t.Context(), `INSERT INTO a (id) VALUES ('x')`); err != nil {
		t.Fatal(err)
	}
	if n, err := QueryOne(t.Context(), s, ScanValue[int], `SELECT n FROM a`); err != nil || n != 0 {
		t.Fatalf("n = %d, %v", n, err)
	}
}
