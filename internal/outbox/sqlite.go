package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/shopengine/shop/internal/store"
)

// sqliteMigrations are the outbox table's schema history, kept as a part
// of the module's file (store.DB.SQLitePart) apart from the module's own
// migrations: the table lives in the module's file, so a write and its
// events share one transaction, while its schema is the outbox's alone.
//
// seq orders the events as committed (SQLite serialises writers, and
// AUTOINCREMENT never reuses a value); lease_until is the claim of a relay
// (unix milliseconds), 0 when unclaimed.
var sqliteMigrations = []store.Migration{{Version: 1, SQL: `
CREATE TABLE outbox (
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	id          TEXT    NOT NULL UNIQUE,
	topic       TEXT    NOT NULL,
	key         TEXT    NOT NULL,
	body        BLOB    NOT NULL,
	at          INTEGER NOT NULL,
	lease_until INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_key ON outbox (key, seq);
CREATE INDEX outbox_lease ON outbox (lease_until);
`}}

// OpenSQLite opens module's SQLite file with the module's schema — the
// migrations in schema's "schema" directory, one <version>_<name>.sql file
// each (store.MigrationsFrom) — and its outbox table, returning the handle
// and the relay's source over it: what every module's SQLite store does
// when it opens.
func OpenSQLite(ctx context.Context, db *store.DB, module string, schema fs.FS) (*sql.DB, Source, error) {
	migrations, err := store.MigrationsFrom(schema, "schema")
	if err != nil {
		return nil, nil, fmt.Errorf("%s schema: %w", module, err)
	}
	s, err := db.SQLite(ctx, module, migrations)
	if err != nil {
		return nil, nil, err
	}
	src, err := PrepareSQLite(ctx, db, module)
	if err != nil {
		return nil, nil, err
	}
	return s, src, nil
}

// InTx runs write in one transaction of db (IMMEDIATE: the store's DSN
// takes the write lock at BEGIN) and commits it with the events write
// returns, so a write and its events commit together or not at all. An
// error from write is returned as it is; what names the write in the
// others.
func InTx(ctx context.Context, db *sql.DB, what string, write func(tx *sql.Tx) ([]Event, error)) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit a no-op
	evs, err := write(tx)
	if err != nil {
		return err
	}
	if err := Add(ctx, tx, evs...); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", what, err)
	}
	return nil
}

// PrepareSQLite creates the outbox table in module's SQLite file, if it
// is not there yet, and returns the relay's source over it. A module's
// SQLite store calls it when it opens.
func PrepareSQLite(ctx context.Context, db *store.DB, module string) (Source, error) {
	s, err := db.SQLitePart(ctx, module, "outbox", sqliteMigrations)
	if err != nil {
		return nil, fmt.Errorf("outbox: prepare %s: %w", module, err)
	}
	return sqliteSource{s}, nil
}

// Add records events in tx, the transaction of the write they announce,
// with one statement prepared for them all: a batch's events (a
// create_many of 100 products) would otherwise each parse it again.
func Add(ctx context.Context, tx *sql.Tx, events ...Event) error {
	if len(events) == 0 {
		return nil
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO outbox (id, topic, key, body, at) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("outbox: add: %w", err)
	}
	defer st.Close()
	for _, e := range events {
		if _, err := st.ExecContext(ctx, e.ID, e.Topic, e.Key, e.Body, e.At.UnixMilli()); err != nil {
			return fmt.Errorf("outbox: add %s %s: %w", e.Topic, e.Key, err)
		}
	}
	return nil
}

// sqliteSource is the outbox table of one module's SQLite file.
type sqliteSource struct{ db *sql.DB }

func (s sqliteSource) String() string { return "sqlite outbox" }

// Claim leases up to n unclaimed events, oldest first, skipping every key
// another relay holds a lease on: a key's events are then published by one
// relay at a time, in seq order. The select and the lease are one
// IMMEDIATE transaction (the store's DSN makes every BEGIN immediate), so
// two relays never claim the same event.
func (s sqliteSource) Claim(ctx context.Context, n int, lease time.Duration) ([]Claimed, error) {
	// Every relay polls: look first, in a plain read (WAL readers take no
	// lock), so an empty outbox costs no IMMEDIATE transaction, which
	// would take the file's write lock from the module's writes four times
	// a second per process.
	var found int
	err := s.db.QueryRowContext(ctx, `SELECT 1 FROM outbox WHERE lease_until < ? LIMIT 1`, time.Now().UnixMilli()).Scan(&found)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("outbox: look for pending events: %w", err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("outbox: claim: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit a no-op
	now := time.Now().UnixMilli()
	rows, err := tx.QueryContext(ctx, `
		SELECT seq, id, topic, key, body, at FROM outbox
		WHERE lease_until < ?1
		  AND key NOT IN (SELECT key FROM outbox WHERE lease_until >= ?1)
		ORDER BY seq LIMIT ?2`, now, n)
	if err != nil {
		return nil, fmt.Errorf("outbox: claim: %w", err)
	}
	var out []Claimed
	var seqs []any
	for rows.Next() {
		var c Claimed
		var seq, at int64
		if err := rows.Scan(&seq, &c.ID, &c.Topic, &c.Key, &c.Body, &at); err != nil {
			rows.Close()
			return nil, fmt.Errorf("outbox: claim: %w", err)
		}
		c.At = time.UnixMilli(at).UTC()
		c.handle = seq
		out = append(out, c)
		seqs = append(seqs, seq)
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("outbox: claim: %w", err)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("outbox: claim: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	args := append([]any{now + lease.Milliseconds()}, seqs...)
	if _, err := tx.ExecContext(ctx, `UPDATE outbox SET lease_until = ? WHERE seq IN (`+placeholders(len(seqs))+`)`, args...); err != nil {
		return nil, fmt.Errorf("outbox: lease: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("outbox: claim: %w", err)
	}
	return out, nil
}

// Done removes published events.
func (s sqliteSource) Done(ctx context.Context, events []Claimed) error {
	return s.bySeq(ctx, `DELETE FROM outbox WHERE seq IN (%s)`, events)
}

// Release gives up the lease on events that were not published, for the
// next attempt (of this relay or another).
func (s sqliteSource) Release(ctx context.Context, events []Claimed) error {
	return s.bySeq(ctx, `UPDATE outbox SET lease_until = 0 WHERE seq IN (%s)`, events)
}

func (s sqliteSource) bySeq(ctx context.Context, query string, events []Claimed) error {
	for len(events) > 0 {
		batch := events[:min(len(events), 500)] // well under SQLite's variable limit
		events = events[len(batch):]
		args := make([]any, len(batch))
		for i, e := range batch {
			args[i] = e.handle
		}
		if _, err := s.db.ExecContext(ctx, fmt.Sprintf(query, placeholders(len(args))), args...); err != nil {
			return fmt.Errorf("outbox: %s: %w", strings.Fields(query)[0], err)
		}
	}
	return nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}
