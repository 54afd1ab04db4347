package category

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strings"
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

// sqlStore keeps categories in category.db, and the events of its writes
// in the same file's outbox table (outbox.PrepareSQLite), added in each
// write's transaction.
type sqlStore struct {
	db     *sql.DB
	outbox outbox.Source
}

func openSQLStore(ctx context.Context, db *store.DB) (*sqlStore, error) {
	s, src, err := outbox.OpenSQLite(ctx, db, contract.CategoryQueue, schema)
	if err != nil {
		return nil, err
	}
	return &sqlStore{db: s, outbox: src}, nil
}

func (s *sqlStore) Outbox() outbox.Source { return s.outbox }

const columns = `id, name, slug, description, parent_id, position, version, created_at, updated_at`

func scan(row store.Scanner) (contract.Category, error) {
	var c contract.Category
	var created, updated int64
	err := row.Scan(&c.ID, &c.Name, &c.Slug, &c.Description, &c.ParentID, &c.Position, &c.Version, &created, &updated)
	c.CreatedAt, c.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return c, err
}

func (s *sqlStore) Insert(ctx context.Context, c contract.Category, events ...outbox.Event) error {
	return outbox.InTx(ctx, s.db, "insert category "+c.ID, func(tx *sql.Tx) ([]outbox.Event, error) {
		_, err := tx.ExecContext(ctx, `INSERT INTO categories (`+columns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.Name, c.Slug, c.Description, c.ParentID, c.Position, c.Version, c.CreatedAt.UnixMilli(), c.UpdatedAt.UnixMilli())
		if store.IsDuplicate(err) {
			return nil, fmt.Errorf("insert category %s: %w", c.ID, store.ErrDuplicate)
		}
		if err != nil {
			return nil, fmt.Errorf("insert category %s: %w", c.ID, err)
		}
		return events, nil
	})
}

func one(ctx context.Context, q store.Querier, where string, arg any) (contract.Category, error) {
	c, err := store.QueryOne(ctx, q, scan, `SELECT `+columns+` FROM categories WHERE `+where, arg)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return c, fmt.Errorf("load category %v: %w", arg, err)
	}
	return c, err
}

func (s *sqlStore) Get(ctx context.Context, id string) (contract.Category, error) {
	return one(ctx, s.db, `id = ?`, id)
}

func (s *sqlStore) BySlug(ctx context.Context, slug string) (contract.Category, error) {
	return one(ctx, s.db, `slug = ?`, slug)
}

func children(ctx context.Context, q store.Querier, parentID string) ([]contract.Category, error) {
	out, err := store.QueryAll(ctx, q, scan, `SELECT `+columns+` FROM categories WHERE parent_id = ? ORDER BY position, id`, parentID)
	if err != nil {
		return nil, fmt.Errorf("list children of %q: %w", parentID, err)
	}
	return out, nil
}

func (s *sqlStore) Children(ctx context.Context, parentID string) ([]contract.Category, error) {
	return children(ctx, s.db, parentID)
}

func (s *sqlStore) Nodes(ctx context.Context) ([]Node, error) {
	out, err := store.QueryAll(ctx, s.db, func(row store.Scanner) (n Node, err error) {
		return n, row.Scan(&n.ID, &n.ParentID, &n.Name, &n.Slug, &n.Position)
	}, `SELECT id, parent_id, name, slug, position FROM categories ORDER BY parent_id, position, id`)
	if err != nil {
		return nil, fmt.Errorf("load category nodes: %w", err)
	}
	return out, nil
}

func (s *sqlStore) Revision(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT n FROM revision`).Scan(&n); err != nil {
		return 0, fmt.Errorf("category revision: %w", err)
	}
	return n, nil
}

func (s *sqlStore) Update(ctx context.Context, c contract.Category, expected int64, events ...outbox.Event) error {
	return outbox.InTx(ctx, s.db, "update category "+c.ID, func(tx *sql.Tx) ([]outbox.Event, error) {
		res, err := tx.ExecContext(ctx, `UPDATE categories SET name = ?, slug = ?, description = ?, updated_at = ?, version = version + 1
			WHERE id = ? AND version = ?`,
			c.Name, c.Slug, c.Description, c.UpdatedAt.UnixMilli(), c.ID, expected)
		if store.IsDuplicate(err) {
			return nil, fmt.Errorf("update category %s: %w", c.ID, store.ErrDuplicate)
		}
		if err != nil {
			return nil, fmt.Errorf("update category %s: %w", c.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, fmt.Errorf("update category %s at version %d: %w", c.ID, expected, store.MissedRow(ctx, tx, "categories", c.ID))
		}
		return events, nil
	})
}

// execer is what *sql.DB and *sql.Tx share for writes.
type execer interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// reorder puts ids under parentID at 0, 1, …; rows already in place are
// not written, so their versions stay.
func reorder(ctx context.Context, tx execer, parentID string, ids []string, now time.Time) error {
	stmt, err := tx.PrepareContext(ctx, `UPDATE categories SET parent_id = ?1, position = ?2, updated_at = ?3, version = version + 1
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
	return nil
}

// Reorder announces nothing (see Store), so it commits no events.
func (s *sqlStore) Reorder(ctx context.Context, parentID string, ids []string, now time.Time) error {
	return outbox.InTx(ctx, s.db, fmt.Sprintf("reorder under %q", parentID), func(tx *sql.Tx) ([]outbox.Event, error) {
		return nil, reorder(ctx, tx, parentID, ids, now)
	})
}

// Move runs in one transaction, which takes the write lock at BEGIN
// (_txlock=immediate): the check of c's version, its move, the
// renumbering on both sides and the move's events commit together or not
// at all. The events are built from c as read back in the transaction, so
// they carry the version the move made even when none was expected.
func (s *sqlStore) Move(ctx context.Context, c contract.Category, expected int64, oldParent string, order []string, moved announce[contract.Category]) error {
	return outbox.InTx(ctx, s.db, "move category "+c.ID, func(tx *sql.Tx) ([]outbox.Event, error) {
		res, err := tx.ExecContext(ctx, `UPDATE categories SET parent_id = ?, position = ?, updated_at = ?, version = version + 1
			WHERE id = ? AND (?5 = 0 OR version = ?5)`,
			c.ParentID, c.Position, c.UpdatedAt.UnixMilli(), c.ID, expected)
		if err != nil {
			return nil, fmt.Errorf("move category %s: %w", c.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, fmt.Errorf("move category %s at version %d: %w", c.ID, expected, store.MissedRow(ctx, tx, "categories", c.ID))
		}
		if err := reorder(ctx, tx, c.ParentID, order, c.UpdatedAt); err != nil {
			return nil, err
		}
		if oldParent != c.ParentID {
			left, err := children(ctx, tx, oldParent)
			if err != nil {
				return nil, err
			}
			if err := reorder(ctx, tx, oldParent, ids(left), c.UpdatedAt); err != nil {
				return nil, err
			}
		}
		after, err := one(ctx, tx, `id = ?`, c.ID)
		if err != nil {
			return nil, fmt.Errorf("move category %s: %w", c.ID, err)
		}
		evs, err := moved.events(after)
		if err != nil {
			return nil, fmt.Errorf("move category %s: events: %w", c.ID, err)
		}
		return evs, nil
	})
}

// Delete reads the categories it deletes and deletes them in one
// transaction, so their events are built from what the delete removes.
func (s *sqlStore) Delete(ctx context.Context, ids []string, expected int64, deleted announce[contract.Category]) error {
	if len(ids) == 0 {
		return nil
	}
	return outbox.InTx(ctx, s.db, "delete category "+ids[0], func(tx *sql.Tx) ([]outbox.Event, error) {
		args := make([]any, len(ids))
		for i, id := range ids {
			args[i] = id
		}
		in := `(?` + strings.Repeat(",?", len(ids)-1) + `)`
		found, err := store.QueryAll(ctx, tx, scan, `SELECT `+columns+` FROM categories WHERE id IN `+in, args...)
		if err != nil {
			return nil, fmt.Errorf("delete category %s: %w", ids[0], err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM categories WHERE id = ? AND (?2 = 0 OR version = ?2)`, ids[0], expected)
		if err != nil {
			return nil, fmt.Errorf("delete category %s: %w", ids[0], err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, fmt.Errorf("delete category %s at version %d: %w", ids[0], expected, store.MissedRow(ctx, tx, "categories", ids[0]))
		}
		if len(ids) > 1 {
			if _, err := tx.ExecContext(ctx, `DELETE FROM categories WHERE id IN `+in, args...); err != nil {
				return nil, fmt.Errorf("delete the %d descendants of category %s: %w", len(ids)-1, ids[0], err)
			}
		}
		byID := make(map[string]contract.Category, len(found))
		for _, c := range found {
			byID[c.ID] = c
		}
		var evs []outbox.Event
		for _, id := range ids {
			c, ok := byID[id]
			if !ok {
				continue // not there to delete
			}
			e, err := deleted.events(c)
			if err != nil {
				return nil, fmt.Errorf("delete category %s: events: %w", id, err)
			}
			evs = append(evs, e...)
		}
		return evs, nil
	})
}
