package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// The SQL side's counterparts of FindOne, FindAll and Reorder, so that a
// module's SQLite store reads one row, reads a list and reorders siblings
// the same way as its MongoDB store, with ErrNotFound meaning the same.

// Querier is what the SQL helpers read through: a *sql.DB, *sql.Tx or
// *sql.Conn, so the same read works inside a module's transaction.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Scanner is one result row: a *sql.Row or the current row of *sql.Rows.
// A module writes one scan function per row type against it and uses it
// for single rows and lists alike.
type Scanner interface {
	Scan(dest ...any) error
}

// QueryOne scans the first row of query with scan; ErrNotFound when there
// is none (sql.ErrNoRows never leaves the store). Other errors come back as
// scan or the driver returned them: the caller, who knows what it read,
// names it ("load product %s: %w").
func QueryOne[T any](ctx context.Context, q Querier, scan func(Scanner) (T, error), query string, args ...any) (T, error) {
	v, err := scan(q.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		var zero T
		return zero, ErrNotFound
	}
	return v, err
}

// QueryAll scans every row of query with scan, in the query's order. It
// returns an empty, non-nil slice when nothing matches, as FindAll does.
// Errors are returned unnamed, as by QueryOne.
func QueryAll[T any](ctx context.Context, q Querier, scan func(Scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// ScanValue is the scan function of a one-column query, for QueryOne and
// QueryAll: store.QueryAll(ctx, db, store.ScanValue[string], `SELECT sku …`).
func ScanValue[T any](row Scanner) (T, error) {
	var v T
	err := row.Scan(&v)
	return v, err
}

// identRe is what ReorderRows accepts as a table or column name: they are
// written into the statement, so only plain lower-case identifiers.
var identRe = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// ReorderRows is Reorder for SQL tables: it puts the rows ids, in that
// order, at position 0, 1, … and, when parentColumn is set, under parentID,
// in one transaction. Only the rows that move (another position or
// parent) get updated_at = now, stored as unix milliseconds like every
// timestamp of the SQLite stores; ids not in the table are skipped, as
// Reorder skips missing documents. The table needs id, position and
// updated_at columns (and parentColumn).
//
// A constraint failure (a foreign key on parentColumn, say) comes back
// wrapped, so the caller can still recognise it with errors.As.
func ReorderRows(ctx context.Context, db *sql.DB, table, parentColumn, parentID string, ids []string, now time.Time) error {
	if !identRe.MatchString(table) || parentColumn != "" && !identRe.MatchString(parentColumn) {
		return fmt.Errorf("reorder %q: table %q or parent column %q is not a plain identifier", parentID, table, parentColumn)
	}
	if len(ids) == 0 {
		return nil
	}
	query := `UPDATE ` + table + ` SET position = ?1, updated_at = ?2 WHERE id = ?3 AND position <> ?1`
	if parentColumn != "" {
		query = `UPDATE ` + table + ` SET position = ?1, updated_at = ?2, ` + parentColumn + ` = ?4
			WHERE id = ?3 AND (position <> ?1 OR ` + parentColumn + ` IS NOT ?4)`
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("reorder %s under %q: %w", table, parentID, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	stmt, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return fmt.Errorf("reorder %s under %q: %w", table, parentID, err)
	}
	defer stmt.Close()
	for i, id := range ids {
		args := []any{i, now.UnixMilli(), id}
		if parentColumn != "" {
			args = append(args, parentID)
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("reorder %s %s under %q: %w", table, id, parentID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("reorder %s under %q: commit: %w", table, parentID, err)
	}
	return nil
}
