package cart

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
)

// schema holds the SQLite schema, one file per migration
// (<version>_<name>.sql, read by store.MigrationsFrom). A released file
// never changes: a change of the schema is a new file.
//
//go:embed schema/*.sql
var schema embed.FS

// sqlStore keeps carts in cart.db, one row each.
type sqlStore struct {
	db     *sql.DB
	outbox outbox.Source
}

func openSQLStore(ctx context.Context, db *store.DB) (*sqlStore, error) {
	s, src, err := outbox.OpenSQLite(ctx, db, contract.CartQueue, schema)
	if err != nil {
		return nil, err
	}
	return &sqlStore{db: s, outbox: src}, nil
}

func (s *sqlStore) Outbox() outbox.Source { return s.outbox }

const columns = `id, key, doc, version, updated_at, expires_at`

func scan(row store.Scanner) (Stored, error) {
	var c Stored
	var doc string
	var updated, expires int64
	if err := row.Scan(&c.ID, &c.Key, &doc, &c.Version, &updated, &expires); err != nil {
		return c, err
	}
	if err := json.Unmarshal([]byte(doc), &c); err != nil {
		return c, fmt.Errorf("cart %s doc: %w", c.ID, err)
	}
	c.UpdatedAt = time.UnixMilli(updated).UTC()
	if expires > 0 {
		c.ExpiresAt = time.UnixMilli(expires).UTC()
	}
	return c, nil
}

// row is c's columns after the id and key: doc, version, updated_at,
// expires_at.
func row(c Stored) ([]any, error) {
	doc, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode cart %s: %w", c.ID, err)
	}
	var expires int64
	if !c.ExpiresAt.IsZero() {
		expires = c.ExpiresAt.UnixMilli()
	}
	return []any{string(doc), c.Version, c.UpdatedAt.UnixMilli(), expires}, nil
}

func (s *sqlStore) ByOwner(ctx context.Context, key string) (Stored, error) {
	c, err := store.QueryOne(ctx, s.db, scan, `SELECT `+columns+` FROM carts WHERE key = ?`, key)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return c, fmt.Errorf("load cart: %w", err)
	}
	return c, err
}

func (s *sqlStore) Insert(ctx context.Context, c Stored) error {
	r, err := row(c)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO carts (`+columns+`) VALUES (?, ?, ?, ?, ?, ?)`, append([]any{c.ID, c.Key}, r...)...)
	if store.IsDuplicate(err) {
		return fmt.Errorf("insert cart %s: %w", c.ID, store.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("insert cart %s: %w", c.ID, err)
	}
	return nil
}

func (s *sqlStore) Save(ctx context.Context, c Stored) error {
	r, err := row(c)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE carts SET doc = ?, version = ?, updated_at = ?, expires_at = ? WHERE id = ? AND version = ?`,
		append(r, c.ID, c.Version-1)...)
	if err != nil {
		return fmt.Errorf("save cart %s: %w", c.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("save cart %s at version %d: %w", c.ID, c.Version-1, store.MissedRow(ctx, s.db, "carts", c.ID))
	}
	return nil
}

func (s *sqlStore) Delete(ctx context.Context, id string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM carts WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete cart %s: %w", id, err)
	}
	return nil
}

func (s *sqlStore) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM carts WHERE expires_at > 0 AND expires_at < ?`, now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("sweep expired carts: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (s *sqlStore) List(ctx context.Context, after *Position, limit int) ([]Stored, int, error) {
	total, err := store.QueryOne(ctx, s.db, store.ScanValue[int], `SELECT COUNT(*) FROM carts`)
	if err != nil {
		return nil, 0, fmt.Errorf("count carts: %w", err)
	}
	query, args := `SELECT `+columns+` FROM carts ORDER BY updated_at, id LIMIT ?`, []any{limit}
	if after != nil {
		query = `SELECT ` + columns + ` FROM carts WHERE (updated_at, id) > (?, ?) ORDER BY updated_at, id LIMIT ?`
		args = []any{after.UpdatedAt.UnixMilli(), after.ID, limit}
	}
	out, err := store.QueryAll(ctx, s.db, scan, query, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list carts: %w", err)
	}
	return out, total, nil
}
