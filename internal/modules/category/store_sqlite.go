package category

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
)

var migrations = []store.Migration{{
	Version: 1,
	SQL: `
CREATE TABLE categories (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL,
	slug        TEXT NOT NULL UNIQUE,
	description TEXT NOT NULL DEFAULT '',
	parent_id   TEXT NOT NULL DEFAULT '',
	position    INTEGER NOT NULL,
	created_at  INTEGER NOT NULL, -- unix milliseconds, as MongoDB keeps dates
	updated_at  INTEGER NOT NULL
);
CREATE INDEX categories_by_parent ON categories (parent_id, position);
-- revision counts writes; triggers keep it in the writing transaction.
CREATE TABLE revision (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
INSERT INTO revision VALUES (1, 0);
CREATE TRIGGER categories_insert AFTER INSERT ON categories BEGIN UPDATE revision SET n = n + 1; END;
CREATE TRIGGER categories_update AFTER UPDATE ON categories BEGIN UPDATE revision SET n = n + 1; END;
CREATE TRIGGER categories_delete AFTER DELETE ON categories BEGIN UPDATE revision SET n = n + 1; END;`,
}}

type sqlStore struct{ db *sql.DB }

func openSQLStore(ctx context.Context, db *store.DB) (*sqlStore, error) {
	s, err := db.SQLite(ctx, contract.CategoryQueue, migrations)
	if err != nil {
		return nil, err
	}
	return &sqlStore{db: s}, nil
}

const columns = `id, name, slug, description, parent_id, position, created_at, updated_at`

func scan(row interface{ Scan(...any) error }) (contract.Category, error) {
	var c contract.Category
	var created, updated int64
	err := row.Scan(&c.ID, &c.Name, &c.Slug, &c.Description, &c.ParentID, &c.Position, &created, &updated)
	c.CreatedAt, c.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return c, err
}

func (s *sqlStore) Insert(ctx context.Context, c contract.Category) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO categories (`+columns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.Name, c.Slug, c.Description, c.ParentID, c.Position, c.CreatedAt.UnixMilli(), c.UpdatedAt.UnixMilli())
	if store.IsDuplicate(err) {
		return fmt.Errorf("insert category %s: %w", c.ID, store.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("insert category %s: %w", c.ID, err)
	}
	return nil
}

func (s *sqlStore) one(ctx context.Context, where string, arg any) (contract.Category, error) {
	c, err := scan(s.db.QueryRowContext(ctx, `SELECT `+columns+` FROM categories WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return c, store.ErrNotFound
	}
	return c, err
}

func (s *sqlStore) Get(ctx context.Context, id string) (contract.Category, error) {
	return s.one(ctx, `id = ?`, id)
}

func (s *sqlStore) BySlug(ctx context.Context, slug string) (contract.Category, error) {
	return s.one(ctx, `slug = ?`, slug)
}

func (s *sqlStore) list(ctx context.Context, query string, args ...any) ([]contract.Category, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+columns+` FROM categories `+query, args...)
	if err != nil {
		return nil, fmt.Errorf("list categories: %w", err)
	}
	defer rows.Close()
	var out []contract.Category
	for rows.Next() {
		c, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("list categories: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (s *sqlStore) Children(ctx context.Context, parentID string) ([]contract.Category, error) {
	return s.list(ctx, `WHERE parent_id = ? ORDER BY position, id`, parentID)
}

func (s *sqlStore) Nodes(ctx context.Context) ([]Node, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, parent_id, name, slug, position FROM categories ORDER BY parent_id, position, id`)
	if err != nil {
		return nil, fmt.Errorf("load category nodes: %w", err)
	}
	defer rows.Close()
	var out []Node
	for rows.Next() {
		var n Node
		if err := rows.Scan(&n.ID, &n.ParentID, &n.Name, &n.Slug, &n.Position); err != nil {
			return nil, fmt.Errorf("load category nodes: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

func (s *sqlStore) Revision(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT n FROM revision`).Scan(&n); err != nil {
		return 0, fmt.Errorf("category revision: %w", err)
	}
	return n, nil
}

func (s *sqlStore) Update(ctx context.Context, c contract.Category) error {
	res, err := s.db.ExecContext(ctx, `UPDATE categories SET name = ?, slug = ?, description = ?, updated_at = ? WHERE id = ?`,
		c.Name, c.Slug, c.Description, c.UpdatedAt.UnixMilli(), c.ID)
	if store.IsDuplicate(err) {
		return fmt.Errorf("update category %s: %w", c.ID, store.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("update category %s: %w", c.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

func (s *sqlStore) Reorder(ctx context.Context, parentID string, ids []string, now time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("reorder under %q: %w", parentID, err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `UPDATE categories SET parent_id = ?1, position = ?2, updated_at = ?3
		WHERE id = ?4 AND (parent_id <> ?1 OR position <> ?2)`)
	if err != nil {
		return fmt.Errorf("reorder under %q: %w", parentID, err)
	}
	defer stmt.Close()
	for i, id := range ids {
		if _, err := stmt.ExecContext(ctx, parentID, i, now.UnixMilli(), id); err != nil {
			return fmt.Errorf("reorder %s under %q: %w", id, parentID, err)
		}
	}
	return tx.Commit()
}

func (s *sqlStore) Delete(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	q := `DELETE FROM categories WHERE id IN (?` + strings.Repeat(",?", len(ids)-1) + `)`
	if _, err := s.db.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("delete %d categories: %w", len(ids), err)
	}
	return nil
}
