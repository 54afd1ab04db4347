package attribute

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
)

var migrations = []store.Migration{{
	Version: 1,
	SQL: `
CREATE TABLE attribute_groups (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	slug       TEXT NOT NULL UNIQUE,
	position   INTEGER NOT NULL,
	created_at INTEGER NOT NULL, -- unix milliseconds, as MongoDB keeps dates
	updated_at INTEGER NOT NULL
);
CREATE INDEX attribute_groups_by_position ON attribute_groups (position);
CREATE TABLE attribute_definitions (
	id             TEXT PRIMARY KEY,
	code           TEXT NOT NULL UNIQUE,
	name           TEXT NOT NULL,
	group_id       TEXT NOT NULL REFERENCES attribute_groups (id),
	type           TEXT NOT NULL,
	allowed_values TEXT NOT NULL DEFAULT '[]', -- JSON array of {"code","label"}
	unit           TEXT NOT NULL DEFAULT '',
	filterable     INTEGER NOT NULL,
	required       INTEGER NOT NULL,
	position       INTEGER NOT NULL,
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL
);
CREATE INDEX attribute_definitions_by_group ON attribute_definitions (group_id, position);`,
}}

// sqlStore keeps groups and definitions in attribute.db. A foreign key
// ties definitions to their group, so a group cannot be deleted under a
// definition created at the same moment.
type sqlStore struct{ db *sql.DB }

func openSQLStore(ctx context.Context, db *store.DB) (*sqlStore, error) {
	s, err := db.SQLite(ctx, contract.AttributeQueue, migrations)
	if err != nil {
		return nil, err
	}
	return &sqlStore{db: s}, nil
}

func isForeignKey(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

type scanner interface{ Scan(...any) error }

const groupColumns = `id, name, slug, position, created_at, updated_at`

func scanGroup(row scanner) (contract.AttributeGroup, error) {
	var g contract.AttributeGroup
	var created, updated int64
	err := row.Scan(&g.ID, &g.Name, &g.Slug, &g.Position, &created, &updated)
	g.CreatedAt, g.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return g, err
}

func (s *sqlStore) InsertGroup(ctx context.Context, g contract.AttributeGroup) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO attribute_groups (`+groupColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		g.ID, g.Name, g.Slug, g.Position, g.CreatedAt.UnixMilli(), g.UpdatedAt.UnixMilli())
	if store.IsDuplicate(err) {
		return fmt.Errorf("insert attribute group %s: %w", g.ID, store.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("insert attribute group %s: %w", g.ID, err)
	}
	return nil
}

func (s *sqlStore) Group(ctx context.Context, id string) (contract.AttributeGroup, error) {
	g, err := scanGroup(s.db.QueryRowContext(ctx, `SELECT `+groupColumns+` FROM attribute_groups WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return g, store.ErrNotFound
	}
	if err != nil {
		return g, fmt.Errorf("load attribute group %s: %w", id, err)
	}
	return g, nil
}

func (s *sqlStore) Groups(ctx context.Context) ([]contract.AttributeGroup, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+groupColumns+` FROM attribute_groups ORDER BY position, id`)
	if err != nil {
		return nil, fmt.Errorf("list attribute groups: %w", err)
	}
	defer rows.Close()
	var out []contract.AttributeGroup
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, fmt.Errorf("list attribute groups: %w", err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// changedOrMissing tells, after a compare-and-swap matched no row, whether
// the row is gone or was changed.
func (s *sqlStore) changedOrMissing(ctx context.Context, table, id string) error {
	var one int
	err := s.db.QueryRowContext(ctx, `SELECT 1 FROM `+table+` WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("check %s %s: %w", table, id, err)
	}
	return errChanged
}

func (s *sqlStore) UpdateGroup(ctx context.Context, g contract.AttributeGroup, was time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE attribute_groups SET name = ?, slug = ?, updated_at = ? WHERE id = ? AND updated_at = ?`,
		g.Name, g.Slug, g.UpdatedAt.UnixMilli(), g.ID, was.UnixMilli())
	if store.IsDuplicate(err) {
		return fmt.Errorf("update attribute group %s: %w", g.ID, store.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("update attribute group %s: %w", g.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return s.changedOrMissing(ctx, "attribute_groups", g.ID)
	}
	return nil
}

func (s *sqlStore) ReorderGroups(ctx context.Context, ids []string, now time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("reorder attribute groups: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `UPDATE attribute_groups SET position = ?1, updated_at = ?2 WHERE id = ?3 AND position <> ?1`)
	if err != nil {
		return fmt.Errorf("reorder attribute groups: %w", err)
	}
	defer stmt.Close()
	for i, id := range ids {
		if _, err := stmt.ExecContext(ctx, i, now.UnixMilli(), id); err != nil {
			return fmt.Errorf("reorder attribute group %s: %w", id, err)
		}
	}
	return tx.Commit()
}

func (s *sqlStore) DeleteGroup(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM attribute_groups WHERE id = ?`, id)
	if isForeignKey(err) {
		return fmt.Errorf("delete attribute group %s: %w", id, errGroupInUse)
	}
	if err != nil {
		return fmt.Errorf("delete attribute group %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

const definitionColumns = `id, code, name, group_id, type, allowed_values, unit, filterable, required, position, created_at, updated_at`

func scanDefinition(row scanner) (contract.AttributeDefinition, error) {
	var d contract.AttributeDefinition
	var values string
	var created, updated int64
	err := row.Scan(&d.ID, &d.Code, &d.Name, &d.GroupID, &d.Type, &values, &d.Unit, &d.Filterable, &d.Required, &d.Position, &created, &updated)
	if err != nil {
		return d, err
	}
	d.CreatedAt, d.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	if err := json.Unmarshal([]byte(values), &d.Values); err != nil {
		return d, fmt.Errorf("attribute %s: allowed values: %w", d.ID, err)
	}
	if len(d.Values) == 0 {
		d.Values = nil
	}
	return d, nil
}

func encodeValues(vs []contract.AllowedValue) (string, error) {
	if vs == nil {
		vs = []contract.AllowedValue{}
	}
	b, err := json.Marshal(vs)
	return string(b), err
}

func (s *sqlStore) InsertDefinition(ctx context.Context, d contract.AttributeDefinition) error {
	values, err := encodeValues(d.Values)
	if err != nil {
		return fmt.Errorf("insert attribute %s: %w", d.ID, err)
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO attribute_definitions (`+definitionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.Code, d.Name, d.GroupID, d.Type, values, d.Unit, d.Filterable, d.Required, d.Position, d.CreatedAt.UnixMilli(), d.UpdatedAt.UnixMilli())
	switch {
	case store.IsDuplicate(err):
		return fmt.Errorf("insert attribute %s: %w", d.ID, store.ErrDuplicate)
	case isForeignKey(err):
		return fmt.Errorf("insert attribute %s: group %s: %w", d.ID, d.GroupID, errNoGroup)
	case err != nil:
		return fmt.Errorf("insert attribute %s: %w", d.ID, err)
	}
	return nil
}

func (s *sqlStore) oneDefinition(ctx context.Context, where string, arg any) (contract.AttributeDefinition, error) {
	d, err := scanDefinition(s.db.QueryRowContext(ctx, `SELECT `+definitionColumns+` FROM attribute_definitions WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return d, store.ErrNotFound
	}
	if err != nil {
		return d, fmt.Errorf("load attribute: %w", err)
	}
	return d, nil
}

func (s *sqlStore) Definition(ctx context.Context, id string) (contract.AttributeDefinition, error) {
	return s.oneDefinition(ctx, `id = ?`, id)
}

func (s *sqlStore) DefinitionByCode(ctx context.Context, code string) (contract.AttributeDefinition, error) {
	return s.oneDefinition(ctx, `code = ?`, code)
}

func (s *sqlStore) definitions(ctx context.Context, query string, args ...any) ([]contract.AttributeDefinition, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+definitionColumns+` FROM attribute_definitions `+query, args...)
	if err != nil {
		return nil, fmt.Errorf("list attributes: %w", err)
	}
	defer rows.Close()
	var out []contract.AttributeDefinition
	for rows.Next() {
		d, err := scanDefinition(rows)
		if err != nil {
			return nil, fmt.Errorf("list attributes: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func (s *sqlStore) GroupDefinitions(ctx context.Context, groupID string) ([]contract.AttributeDefinition, error) {
	return s.definitions(ctx, `WHERE group_id = ? ORDER BY position, id`, groupID)
}

func (s *sqlStore) Definitions(ctx context.Context) ([]contract.AttributeDefinition, error) {
	return s.definitions(ctx, `ORDER BY group_id, position, id`)
}

func (s *sqlStore) UpdateDefinition(ctx context.Context, d contract.AttributeDefinition, was time.Time) error {
	values, err := encodeValues(d.Values)
	if err != nil {
		return fmt.Errorf("update attribute %s: %w", d.ID, err)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE attribute_definitions SET code = ?, name = ?, type = ?, allowed_values = ?, unit = ?,
		filterable = ?, required = ?, updated_at = ? WHERE id = ? AND updated_at = ?`,
		d.Code, d.Name, d.Type, values, d.Unit, d.Filterable, d.Required, d.UpdatedAt.UnixMilli(), d.ID, was.UnixMilli())
	if store.IsDuplicate(err) {
		return fmt.Errorf("update attribute %s: %w", d.ID, store.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("update attribute %s: %w", d.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return s.changedOrMissing(ctx, "attribute_definitions", d.ID)
	}
	return nil
}

func (s *sqlStore) ReorderDefinitions(ctx context.Context, groupID string, ids []string, now time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("reorder attributes in %s: %w", groupID, err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `UPDATE attribute_definitions SET group_id = ?1, position = ?2, updated_at = ?3
		WHERE id = ?4 AND (group_id <> ?1 OR position <> ?2)`)
	if err != nil {
		return fmt.Errorf("reorder attributes in %s: %w", groupID, err)
	}
	defer stmt.Close()
	for i, id := range ids {
		_, err := stmt.ExecContext(ctx, groupID, i, now.UnixMilli(), id)
		if isForeignKey(err) {
			return fmt.Errorf("move attribute %s to group %s: %w", id, groupID, errNoGroup)
		}
		if err != nil {
			return fmt.Errorf("reorder attribute %s in %s: %w", id, groupID, err)
		}
	}
	return tx.Commit()
}

func (s *sqlStore) DeleteDefinition(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM attribute_definitions WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete attribute %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}
