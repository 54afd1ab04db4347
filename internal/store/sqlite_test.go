package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func openSQLite(t *testing.T, dir string) *DB {
	t.Helper()
	db, err := Open(context.Background(), "sqlite://"+dir, WithLogger(slog.New(slog.NewTextHandler(t.Output(), nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(context.Background()) })
	return db
}

func TestSQLitePragmasOnEveryConnection(t *testing.T) {
	ctx := context.Background()
	db := openSQLite(t, t.TempDir())
	s, err := db.SQLite(ctx, "cart", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(db.Dir(), "cart.db")); err != nil {
		t.Fatalf("module file: %v", err)
	}
	// Hold three connections at once so the pool must open fresh ones.
	for i := range 3 {
		c, err := s.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var mode string
		var fk, busy int
		if err := c.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" || fk != 1 || busy != 5000 {
			t.Errorf("conn %d: journal_mode=%s foreign_keys=%d busy_timeout=%d; want wal, 1, 5000", i, mode, fk, busy)
		}
	}
}

func TestSQLiteForeignKeysEnforced(t *testing.T) {
	ctx := context.Background()
	s, err := openSQLite(t, t.TempDir()).SQLite(ctx, "category", []Migration{{Version: 1, SQL: `
		CREATE TABLE parent (id INTEGER PRIMARY KEY);
		CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent(id));`}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ExecContext(ctx, "INSERT INTO child (id, parent_id) VALUES (1, 42)"); err == nil {
		t.Fatal("a child row with a missing parent was accepted")
	}
}

func TestSQLiteModuleNames(t *testing.T) {
	db := openSQLite(t, t.TempDir())
	for _, m := range []string{"", "../cart", "Cart", "cart.db", "a/b", "1cart", strings.Repeat("x", 40)} {
		if _, err := db.SQLite(context.Background(), m, nil); err == nil {
			t.Errorf("module name %q was accepted", m)
		}
	}
	if _, err := db.Mongo(context.Background(), "cart", nil); err == nil {
		t.Error("Mongo on a sqlite store succeeded")
	}
}

// counting returns migrations whose second step counts how often it ran.
func counting() []Migration {
	return []Migration{
		{Version: 1, SQL: `CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
			CREATE TABLE runs (n INTEGER NOT NULL)`},
		{Version: 2, Func: func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO runs (n) VALUES (1)`)
			return err
		}},
	}
}

func versions(t *testing.T, s *sql.DB) []int {
	t.Helper()
	rows, err := s.Query("SELECT version FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	return vs
}

func runs(t *testing.T, s *sql.DB) int {
	t.Helper()
	var n int
	if err := s.QueryRow("SELECT COUNT(*) FROM runs").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	s, err := openSQLite(t, dir).SQLite(ctx, "product", counting())
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(versions(t, s)); got != "[1 2]" {
		t.Fatalf("versions = %s, want [1 2]", got)
	}

	// A restart (new DB, same directory) applies nothing again, and a
	// release with one more migration applies just that one.
	more := append(counting(), Migration{Version: 5, SQL: `ALTER TABLE items ADD COLUMN price INTEGER NOT NULL DEFAULT 0`})
	s2, err := openSQLite(t, dir).SQLite(ctx, "product", more)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(versions(t, s2)); got != "[1 2 5]" {
		t.Fatalf("versions = %s, want [1 2 5]", got)
	}
	if n := runs(t, s2); n != 1 {
		t.Fatalf("migration 2 ran %d times, want 1", n)
	}
	if _, err := s2.Exec(`INSERT INTO items (name, price) VALUES ('x', 100)`); err != nil {
		t.Fatal(err)
	}

	// An older binary on newer data refuses to start.
	_, err = openSQLite(t, dir).SQLite(ctx, "product", counting())
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("old migrations on a newer schema: %v, want a 'newer' error", err)
	}
}

func TestMigrationFailureRollsBack(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := openSQLite(t, dir).SQLite(ctx, "seo", counting()[:1]); err != nil {
		t.Fatal(err)
	}
	bad := append(counting(),
		Migration{Version: 3, SQL: `CREATE TABLE slugs (slug TEXT PRIMARY KEY)`},
		Migration{Version: 4, SQL: `INSERT INTO no_such_table VALUES (1)`},
	)
	_, err := openSQLite(t, dir).SQLite(ctx, "seo", bad)
	if err == nil || !strings.Contains(err.Error(), "migration 4 failed") || !strings.Contains(err.Error(), "no_such_table") {
		t.Fatalf("error = %v, want it to name migration 4 and the cause", err)
	}

	s, err := openSQLite(t, dir).SQLite(ctx, "seo", counting())
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(versions(t, s)); got != "[1 2]" {
		t.Fatalf("versions = %s, want [1 2]: 2 applied now, 3 and 4 rolled back earlier", got)
	}
	if runs(t, s) != 1 {
		t.Fatal("the rolled back migration 2 left its row behind")
	}
	var n int
	if err := s.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE name = 'slugs'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("table of rolled back migration 3 exists (n=%d, err=%v)", n, err)
	}
}

func TestMigrationListValidation(t *testing.T) {
	db := openSQLite(t, t.TempDir())
	for name, ms := range map[string][]Migration{
		"zero version":  {{Version: 0, SQL: "SELECT 1"}},
		"not ascending": {{Version: 2, SQL: "SELECT 1"}, {Version: 1, SQL: "SELECT 1"}},
		"duplicate":     {{Version: 1, SQL: "SELECT 1"}, {Version: 1, SQL: "SELECT 1"}},
		"empty":         {{Version: 1}},
		"both":          {{Version: 1, SQL: "SELECT 1", Func: func(context.Context, *sql.Tx) error { return nil }}},
	} {
		if _, err := db.SQLite(context.Background(), "article", ms); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestMigrationsConcurrentOpeners(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			// Each goroutine is its own "process": its own DB, *sql.DB and pool.
			db, err := Open(context.Background(), "sqlite://"+dir)
			if err != nil {
				errs <- err
				return
			}
			defer db.Close(context.Background())
			_, err = db.SQLite(context.Background(), "cart", counting())
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	s, err := openSQLite(t, dir).SQLite(context.Background(), "cart", counting())
	if err != nil {
		t.Fatal(err)
	}
	if r := runs(t, s); r != 1 {
		t.Fatalf("migration 2 ran %d times, want 1", r)
	}
}

const helperDirEnv = "STORE_TEST_MIGRATE_DIR"

// TestMigrateHelperProcess is not a test: TestMigrationsConcurrentProcesses
// runs the test binary several times with only this function selected.
func TestMigrateHelperProcess(t *testing.T) {
	dir := os.Getenv(helperDirEnv)
	if dir == "" {
		t.Skip("helper process for TestMigrationsConcurrentProcesses")
	}
	db, err := Open(context.Background(), "sqlite://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	if _, err := db.SQLite(context.Background(), "cart", counting()); err != nil {
		t.Fatal(err)
	}
}

func TestMigrationsConcurrentProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	const n = 4
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestMigrateHelperProcess$", "-test.count=1")
			cmd.Env = append(os.Environ(), helperDirEnv+"="+dir)
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("%w: %s", err, out)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s, err := openSQLite(t, dir).SQLite(context.Background(), "cart", counting())
	if err != nil {
		t.Fatal(err)
	}
	if r := runs(t, s); r != 1 {
		t.Fatalf("migration 2 ran %d times across %d processes, want 1", r, n)
	}
	if got := fmt.Sprint(versions(t, s)); got != "[1 2]" {
		t.Fatalf("versions = %s, want [1 2]", got)
	}
}

func TestSQLiteCloseAndPing(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "sqlite://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := db.SQLite(ctx, "auth", nil)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := db.SQLite(ctx, "auth", nil); err != nil || again != s {
		t.Fatalf("second SQLite call: %p, %v; want the same handle %p", again, err, s)
	}
	if err := db.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.PingContext(ctx); err == nil {
		t.Error("module handle still open after Close")
	}
	if _, err := db.SQLite(ctx, "auth", nil); !errors.Is(err, errClosed) {
		t.Errorf("SQLite after Close: %v, want errClosed", err)
	}
	if err := db.Ping(ctx); !errors.Is(err, errClosed) {
		t.Errorf("Ping after Close: %v, want errClosed", err)
	}
}

// TestSQLiteRacingTransactions checks that read-then-write transactions from
// several connections serialise instead of failing with SQLITE_BUSY, which
// deferred transactions in WAL mode do whatever the busy timeout.
func TestSQLiteRacingTransactions(t *testing.T) {
	ctx := context.Background()
	s, err := openSQLite(t, t.TempDir()).SQLite(ctx, "cart", []Migration{{Version: 1, SQL: `
		CREATE TABLE counter (n INTEGER NOT NULL); INSERT INTO counter VALUES (0);`}})
	if err != nil {
		t.Fatal(err)
	}
	const workers, rounds = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for range rounds {
				err := func() error {
					tx, err := s.BeginTx(ctx, nil)
					if err != nil {
						return err
					}
					defer tx.Rollback()
					var n int
					if err := tx.QueryRow(`SELECT n FROM counter`).Scan(&n); err != nil {
						return err
					}
					if _, err := tx.Exec(`UPDATE counter SET n = ?`, n+1); err != nil {
						return err
					}
					return tx.Commit()
				}()
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var n int
	if err := s.QueryRow(`SELECT n FROM counter`).Scan(&n); err != nil || n != workers*rounds {
		t.Fatalf("counter = %d (%v), want %d", n, err, workers*rounds)
	}
}

// A part (a change feed) keeps its own schema history in the module's file:
// the module's and the part's versions never meet, in either start order,
// and each side still refuses data newer than it knows.
func TestSQLitePartMigrations(t *testing.T) {
	ctx := context.Background()
	part := []Migration{{Version: 1, SQL: `CREATE TABLE IF NOT EXISTS feed_x (key TEXT PRIMARY KEY)`}}
	for _, order := range []string{"module first", "part first"} {
		t.Run(order, func(t *testing.T) {
			dir := t.TempDir()
			db := openSQLite(t, dir)
			openModule := func() *sql.DB {
				s, err := db.SQLite(ctx, "filter", counting())
				if err != nil {
					t.Fatalf("module: %v", err)
				}
				return s
			}
			openPart := func() *sql.DB {
				s, err := db.SQLitePart(ctx, "filter", "feed_x", part)
				if err != nil {
					t.Fatalf("part: %v", err)
				}
				return s
			}
			var m, p *sql.DB
			if order == "module first" {
				m, p = openModule(), openPart()
			} else {
				p, m = openPart(), openModule()
			}
			if m != p {
				t.Error("the part got a handle of its own, want the module's")
			}
			if got := fmt.Sprint(versions(t, m)); got != "[1 2]" {
				t.Errorf("module versions = %s, want [1 2]", got)
			}
			if _, err := m.Exec(`INSERT INTO feed_x (key) VALUES ('a')`); err != nil {
				t.Fatalf("part table: %v", err)
			}

			// A restart with both lists applies nothing again; the
			// module's next release and the part's are independent.
			db2 := openSQLite(t, dir)
			if _, err := db2.SQLite(ctx, "filter", append(counting(), Migration{Version: 3, SQL: `CREATE TABLE extra (id INTEGER)`})); err != nil {
				t.Fatal(err)
			}
			s, err := db2.SQLitePart(ctx, "filter", "feed_x", append(part, Migration{Version: 2, SQL: `ALTER TABLE feed_x ADD COLUMN n INTEGER`}))
			if err != nil {
				t.Fatal(err)
			}
			if runs(t, s) != 1 {
				t.Error("module migration 2 ran again")
			}
			if _, err := db2.SQLitePart(ctx, "filter", "feed_y", nil); err != nil {
				t.Errorf("another part with no migrations: %v", err)
			}
			if _, err := openSQLite(t, dir).SQLitePart(ctx, "filter", "feed_x", part); err == nil || !strings.Contains(err.Error(), "newer") {
				t.Errorf("old part migrations on a newer part schema: %v, want a 'newer' error", err)
			}
			if _, err := openSQLite(t, dir).SQLite(ctx, "filter", counting()); err == nil || !strings.Contains(err.Error(), "newer") {
				t.Errorf("old module migrations on a newer module schema: %v, want a 'newer' error", err)
			}
		})
	}
	for _, bad := range []string{"", "Feed", "feed-x", "a b", "x;drop", strings.Repeat("x", 40)} {
		if _, err := openSQLite(t, t.TempDir()).SQLitePart(ctx, "filter", bad, nil); err == nil {
			t.Errorf("part name %q was accepted", bad)
		}
	}
}
