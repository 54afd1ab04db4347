package feed

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopengine/shop/internal/store"
)

// schema is the feed table's migration list, kept under the part
// "feed_<name>" so that it never meets the module's own versions.
// written_at is unix milliseconds, as the module stores keep dates. The
// partial index serves Compact only.
const schemaV1 = `
CREATE TABLE {t} (
	key        TEXT PRIMARY KEY,
	seq        INTEGER NOT NULL UNIQUE,
	version    INTEGER NOT NULL,
	deleted    INTEGER NOT NULL,
	body       BLOB,
	written_at INTEGER NOT NULL
);
CREATE INDEX {t}_tombstones ON {t} (written_at) WHERE deleted = 1;`

type sqliteLog struct {
	name string
	db   *sql.DB
	q    sqliteQueries
	// put, get and since are the queries run per event and per poll,
	// prepared once: parsing the put anew for every write was a third of
	// its cost.
	put, get, since *sql.Stmt
}

type sqliteQueries struct {
	put, get, snapshot, since, compact string
}

func openSQLite(ctx context.Context, db *store.DB, module, name string) (*sqliteLog, error) {
	t := table(name)
	s, err := db.SQLitePart(ctx, module, t, []store.Migration{{Version: 1, SQL: strings.ReplaceAll(schemaV1, "{t}", t)}})
	if err != nil {
		return nil, fmt.Errorf("feed %s: open: %w", name, err)
	}
	r := strings.NewReplacer("{t}", t)
	l := &sqliteLog{name: name, db: s, q: sqliteQueries{
		// One statement: SQLite takes the write lock when a writing
		// statement starts, so reading MAX(seq) and writing the row are one
		// atomic step, as in an IMMEDIATE transaction, and seqs commit in
		// order. The WHERE makes an old or equal version change nothing
		// (0 rows affected) and spend no seq.
		put: r.Replace(`INSERT INTO {t} (key, seq, version, deleted, body, written_at)
			VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM {t}), ?2, ?3, ?4, ?5)
			ON CONFLICT (key) DO UPDATE SET seq = excluded.seq, version = excluded.version,
				deleted = excluded.deleted, body = excluded.body, written_at = excluded.written_at
			WHERE excluded.version > {t}.version`),
		get: r.Replace(`SELECT key, seq, version, deleted, body FROM {t} WHERE key = ?`),
		// One statement is one read snapshot (WAL), so the entries and
		// the top seq agree. The top has a row of its own (live = 0),
		// there even when nothing is live.
		snapshot: r.Replace(`SELECT 0, COALESCE(MAX(seq), 0), '', 0, NULL FROM {t}
			UNION ALL
			SELECT 1, seq, key, version, body FROM {t} WHERE deleted = 0`),
		since: r.Replace(`SELECT key, seq, version, deleted, body FROM {t} WHERE seq > ? ORDER BY seq LIMIT ?`),
		// The row holding the top seq stays, tombstone or not: Put
		// allocates MAX(seq)+1, and removing the top would hand its seq out
		// again to a write that tailers, already past it, would never read.
		compact: r.Replace(`DELETE FROM {t} WHERE deleted = 1 AND written_at < ?
			AND seq < (SELECT MAX(seq) FROM {t})`),
	}}
	for _, p := range []struct {
		st    **sql.Stmt
		query string
	}{{&l.put, l.q.put}, {&l.get, l.q.get}, {&l.since, l.q.since}} {
		if *p.st, err = s.PrepareContext(ctx, p.query); err != nil {
			return nil, fmt.Errorf("feed %s: prepare: %w", name, err)
		}
	}
	return l, nil
}

func (l *sqliteLog) Name() string  { return l.name }
func (l *sqliteLog) gapless() bool { return true }

func (l *sqliteLog) Put(ctx context.Context, key string, version int64, body []byte) (bool, error) {
	return checkedWrite(ctx, l.name, l.write, key, version, false, body)
}

func (l *sqliteLog) Delete(ctx context.Context, key string, version int64) (bool, error) {
	return checkedWrite(ctx, l.name, l.write, key, version, true, nil)
}

func (l *sqliteLog) write(ctx context.Context, key string, version int64, deleted bool, body []byte) (bool, error) {
	res, err := l.put.ExecContext(ctx, key, version, deleted, body, store.Now().UnixMilli())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

// writeAll commits entries in one transaction (IMMEDIATE: the store's DSN
// takes the write lock at BEGIN), each with the put statement.
func (l *sqliteLog) writeAll(ctx context.Context, entries []Entry) (applied []bool, err error) {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		} else if err = tx.Commit(); err != nil {
			applied, err = nil, fmt.Errorf("commit: %w", err)
		}
	}()
	put := tx.StmtContext(ctx, l.put)
	defer put.Close()
	now := store.Now().UnixMilli()
	applied = make([]bool, len(entries))
	for i, e := range entries {
		res, err := put.ExecContext(ctx, e.Key, e.Version, e.Deleted, e.Body, now)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Key, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Key, err)
		}
		applied[i] = n == 1
	}
	return applied, nil
}

func scanChange(row interface{ Scan(...any) error }) (Change, error) {
	var c Change
	err := row.Scan(&c.Key, &c.Seq, &c.Version, &c.Deleted, &c.Body)
	return c, err
}

func (l *sqliteLog) Get(ctx context.Context, key string) (Change, error) {
	c, err := scanChange(l.get.QueryRowContext(ctx, key))
	if errors.Is(err, sql.ErrNoRows) {
		return Change{}, fmt.Errorf("feed %s: get %s: %w", l.name, key, store.ErrNotFound)
	}
	if err != nil {
		return Change{}, fmt.Errorf("feed %s: get %s: %w", l.name, key, err)
	}
	return c, nil
}

func (l *sqliteLog) Snapshot(ctx context.Context) ([]Change, int64, error) {
	rows, err := l.db.QueryContext(ctx, l.q.snapshot)
	if err != nil {
		return nil, 0, fmt.Errorf("feed %s: snapshot: %w", l.name, err)
	}
	defer rows.Close()
	var (
		top int64
		out []Change
	)
	for rows.Next() {
		var (
			live bool
			c    Change
		)
		if err := rows.Scan(&live, &c.Seq, &c.Key, &c.Version, &c.Body); err != nil {
			return nil, 0, fmt.Errorf("feed %s: snapshot: %w", l.name, err)
		}
		if !live {
			top = c.Seq
			continue
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("feed %s: snapshot: %w", l.name, err)
	}
	return out, top, nil
}

func (l *sqliteLog) Since(ctx context.Context, after int64, limit int) ([]Change, error) {
	if err := checkLimit(limit); err != nil {
		return nil, fmt.Errorf("feed %s: since %d: %w", l.name, after, err)
	}
	rows, err := l.since.QueryContext(ctx, after, limit)
	if err != nil {
		return nil, fmt.Errorf("feed %s: since %d: %w", l.name, after, err)
	}
	defer rows.Close()
	var out []Change
	for rows.Next() {
		c, err := scanChange(rows)
		if err != nil {
			return nil, fmt.Errorf("feed %s: since %d: %w", l.name, after, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("feed %s: since %d: %w", l.name, after, err)
	}
	return out, nil
}

func (l *sqliteLog) Compact(ctx context.Context, olderThan time.Duration) (int64, error) {
	res, err := l.db.ExecContext(ctx, l.q.compact, store.Now().Add(-olderThan).UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("feed %s: compact: %w", l.name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("feed %s: compact: %w", l.name, err)
	}
	return n, nil
}
