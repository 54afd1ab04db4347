package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Migration is one step of a module's SQLite schema. A module passes all of
// its migrations, oldest first, every time it starts; the ones not yet
// recorded in the file's schema_migrations table are applied. A component
// with tables of its own in the module's file keeps a separate list (see
// [DB.SQLitePart]).
//
// Released migrations must never change: add a new version instead.
type Migration struct {
	Version int                                         // > 0, strictly increasing
	SQL     string                                      // statements to execute; or
	Func    func(ctx context.Context, tx *sql.Tx) error // for data migrations that need Go
}

// pragmas are set through the DSN so that every pooled connection gets them,
// not only the one that happened to run a PRAGMA statement:
//   - busy_timeout: wait for another connection's or process's write lock
//     instead of failing at once with SQLITE_BUSY;
//   - foreign_keys: off by default in SQLite, per connection;
//   - journal_mode(WAL): readers and the writer don't block each other and
//     several processes can share the file;
//   - synchronous(NORMAL): durable at checkpoints, the usual WAL choice.
//
// _txlock=immediate makes every BEGIN take the write lock up front: a
// deferred transaction that reads and then writes can fail with
// SQLITE_BUSY (snapshot out of date) regardless of busy_timeout, which is
// exactly what racing cart or stock updates would hit.
var pragmas = url.Values{
	"_pragma": {"busy_timeout(5000)", "foreign_keys(1)", "journal_mode(WAL)", "synchronous(NORMAL)"},
	"_txlock": {"immediate"},
}.Encode()

func sqliteDSN(path string) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + pragmas
}

// SQLite returns the module's handle on <dir>/<module>.db, creating the file
// and applying the pending migrations first. The handle is opened once and
// shared by later calls; it is closed by [DB.Close], not by the caller.
//
// Migrations are applied in one IMMEDIATE transaction together with their
// bookkeeping, so when several worker processes start at once exactly one
// applies them and the others then find them recorded; a failing migration
// rolls all pending ones back and the error names its version.
func (db *DB) SQLite(ctx context.Context, module string, migrations []Migration) (*sql.DB, error) {
	return db.sqlite(ctx, module, "", migrations)
}

// SQLitePart returns the same handle as [DB.SQLite] after applying the
// migrations of part: a component that keeps its own tables in the module's
// file (a change feed, package feed) with a schema history of its own. Its
// versions are recorded per part in schema_part_migrations, apart from the
// module's schema_migrations, so neither numbering constrains the other and
// neither side's "newer than this program knows" check trips over the other
// side's versions. part names tables: lower-case letters, digits and _.
func (db *DB) SQLitePart(ctx context.Context, module, part string, migrations []Migration) (*sql.DB, error) {
	if !moduleRe.MatchString(part) {
		return nil, fmt.Errorf("store: invalid part name %q (want lower-case letters, digits and _)", part)
	}
	return db.sqlite(ctx, module, part, migrations)
}

func (db *DB) sqlite(ctx context.Context, module, part string, migrations []Migration) (*sql.DB, error) {
	if db.kind != KindSQLite {
		return nil, fmt.Errorf("store: %s is not a sqlite store", db.url)
	}
	if err := checkModule(module); err != nil {
		return nil, err
	}
	l := ledger{module: module, part: part}
	if err := checkMigrations(migrations); err != nil {
		return nil, fmt.Errorf("store: %s migrations: %w", l, err)
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return nil, errClosed
	}
	s := db.sqls[module]
	if s == nil {
		path := filepath.Join(db.dir, module+".db")
		var err error
		if s, err = sql.Open("sqlite", sqliteDSN(path)); err != nil {
			return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
		}
		if err := migrate(ctx, db, s, l, migrations); err != nil {
			s.Close()
			return nil, fmt.Errorf("store: sqlite %s: %w", path, err)
		}
		db.sqls[module] = s
		return s, nil
	}
	if err := migrate(ctx, db, s, l, migrations); err != nil {
		return nil, fmt.Errorf("store: sqlite %s: %w", l, err)
	}
	return s, nil
}

// ledger is where a migration list records its versions: the module's
// schema_migrations, or a part's rows of schema_part_migrations.
type ledger struct {
	module, part string
}

func (l ledger) String() string {
	if l.part == "" {
		return l.module
	}
	return l.module + " part " + l.part
}

func (l ledger) create(ctx context.Context, tx *sql.Tx) error {
	q := `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at TEXT NOT NULL)`
	if l.part != "" {
		q = `CREATE TABLE IF NOT EXISTS schema_part_migrations (
		part       TEXT NOT NULL,
		version    INTEGER NOT NULL,
		applied_at TEXT NOT NULL,
		PRIMARY KEY (part, version))`
	}
	_, err := tx.ExecContext(ctx, q)
	return err
}

func (l ledger) current(ctx context.Context, tx *sql.Tx) (int, error) {
	var v int
	if l.part == "" {
		err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
		return v, err
	}
	err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_part_migrations WHERE part = ?`, l.part).Scan(&v)
	return v, err
}

func (l ledger) record(ctx context.Context, tx *sql.Tx, version int) error {
	at := time.Now().UTC().Format(time.RFC3339Nano)
	if l.part == "" {
		_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, version, at)
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO schema_part_migrations (part, version, applied_at) VALUES (?, ?, ?)`, l.part, version, at)
	return err
}

func checkMigrations(ms []Migration) error {
	prev := 0
	for i, m := range ms {
		switch {
		case m.Version <= prev:
			return fmt.Errorf("migration #%d has version %d, want > %d", i, m.Version, prev)
		case (m.SQL == "") == (m.Func == nil):
			return fmt.Errorf("migration %d: set exactly one of SQL and Func", m.Version)
		}
		prev = m.Version
	}
	return nil
}

func migrate(ctx context.Context, db *DB, s *sql.DB, l ledger, ms []Migration) error {
	tx, err := beginRetry(ctx, s)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op

	if err := l.create(ctx, tx); err != nil {
		return fmt.Errorf("create migration ledger: %w", err)
	}
	current, err := l.current(ctx, tx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	latest := 0
	if len(ms) > 0 {
		latest = ms[len(ms)-1].Version
	}
	if current > latest {
		return fmt.Errorf("schema version %d is newer than this program knows (%d): refusing to run an old binary on new data", current, latest)
	}
	applied := 0
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		if m.Func != nil {
			err = m.Func(ctx, tx)
		} else {
			_, err = tx.ExecContext(ctx, m.SQL)
		}
		if err != nil {
			return fmt.Errorf("migration %d failed (rolled back): %w", m.Version, err)
		}
		if err := l.record(ctx, tx, m.Version); err != nil {
			return fmt.Errorf("record migration %d: %w", m.Version, err)
		}
		applied++
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit migrations: %w", err)
	}
	if applied > 0 {
		args := []any{"module", l.module, "from", current, "to", latest}
		if l.part != "" {
			args = append(args, "part", l.part)
		}
		db.cfg.logger.InfoContext(ctx, "store migrated", args...)
	}
	return nil
}

// beginRetry starts an IMMEDIATE transaction, waiting for as long as ctx
// allows: busy_timeout (5s) is right for a request, but a worker starting
// while another process runs a long migration should wait for it, not die.
func beginRetry(ctx context.Context, s *sql.DB) (*sql.Tx, error) {
	for {
		tx, err := s.BeginTx(ctx, nil)
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY {
			if err != nil {
				return nil, fmt.Errorf("begin: %w", err)
			}
			return tx, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("begin: %w (gave up: %w)", err, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// migrationFileRe names a migration file: its version, then a name.
var migrationFileRe = regexp.MustCompile(`^([0-9]{1,6})_[a-z0-9_]+\.sql$`)

// MigrationsFrom reads a module's SQL migrations from dir in fsys (an
// embed.FS of the module's schema files, so the schema is SQL that editors
// and sqlite3 read, not a Go string): one file per version named
// <version>_<name>.sql (001_products.sql, 002_stock_version.sql), in
// version order. Any other file in dir is an error, as are a version used
// twice and an empty file, so a misnamed schema file cannot be skipped
// silently. Append Func migrations to the result where a step needs Go.
func MigrationsFrom(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("store: migrations in %s: %w", dir, err)
	}
	var ms []Migration
	seen := map[int]string{}
	for _, e := range entries {
		m := migrationFileRe.FindStringSubmatch(e.Name())
		if e.IsDir() || m == nil {
			return nil, fmt.Errorf("store: migrations in %s: %s is not named <version>_<name>.sql", dir, e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		if v == 0 {
			return nil, fmt.Errorf("store: migrations in %s: %s: versions start at 1", dir, e.Name())
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("store: migrations in %s: %s and %s have the same version %d", dir, prev, e.Name(), v)
		}
		seen[v] = e.Name()
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("store: migration %s: %w", e.Name(), err)
		}
		if strings.TrimSpace(string(b)) == "" {
			return nil, fmt.Errorf("store: migration %s is empty", e.Name())
		}
		ms = append(ms, Migration{Version: v, SQL: string(b)})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
	return ms, nil
}
