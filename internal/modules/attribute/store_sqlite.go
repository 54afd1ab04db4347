package attribute

import (
	"context"
	"database/sql"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
)

// The schema, one file per migration. Released files never change: a
// change of schema is a new file.
var (
	//go:embed schema/001_init.sql
	schemaInit string
	//go:embed schema/002_version.sql
	schemaVersion string
)

var migrations = []store.Migration{
	{Version: 1, SQL: schemaInit},
	{Version: 2, SQL: schemaVersion},
}

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

const groupColumns = `id, name, slug, position, version, created_at, updated_at`

func scanGroup(row store.Scanner) (contract.AttributeGroup, error) {
	var g contract.AttributeGroup
	var created, updated int64
	err := row.Scan(&g.ID, &g.Name, &g.Slug, &g.Position, &g.Version, &created, &updated)
	g.CreatedAt, g.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return g, err
}

func (s *sqlStore) InsertGroup(ctx context.Context, g contract.AttributeGroup) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO attribute_groups (`+groupColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		g.ID, g.Name, g.Slug, g.Position, g.Version, g.CreatedAt.UnixMilli(), g.UpdatedAt.UnixMilli())
	if store.IsDuplicate(err) {
		return fmt.Errorf("insert attribute group %s: %w", g.ID, store.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("insert attribute group %s: %w", g.ID, err)
	}
	return nil
}

func (s *sqlStore) Group(ctx context.Context, id string) (contract.AttributeGroup, error) {
	g, err := store.QueryOne(ctx, s.db, scanGroup, `SELECT `+groupColumns+` FROM attribute_groups WHERE id = ?`, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return g, fmt.Errorf("load attribute group %s: %w", id, err)
	}
	return g, err
}

func (s *sqlStore) Groups(ctx context.Context) ([]contract.AttributeGroup, error) {
	out, err := store.QueryAll(ctx, s.db, scanGroup, `SELECT `+groupColumns+` FROM attribute_groups ORDER BY position, id`)
	if err != nil {
		return nil, fmt.Errorf("list attribute groups: %w", err)
	}
	return out, nil
}

// missedBecause tells, after a checked write matched no row, whether the
// row is gone or at another version.
func (s *sqlStore) missedBecause(ctx context.Context, table, id string) error {
	_, err := store.QueryOne(ctx, s.db, store.ScanValue[int], `SELECT 1 FROM `+table+` WHERE id = ?`, id)
	if errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err != nil {
		return fmt.Errorf("check %s %s: %w", table, id, err)
	}
	return errStale
}

func (s *sqlStore) UpdateGroup(ctx context.Context, g contract.AttributeGroup, expected int64) error {
	res, err := s.db.ExecContext(ctx, `UPDATE attribute_groups SET name = ?, slug = ?, position = ?, updated_at = ?, version = version + 1
		WHERE id = ? AND version = ?`,
		g.Name, g.Slug, g.Position, g.UpdatedAt.UnixMilli(), g.ID, expected)
	if store.IsDuplicate(err) {
		return fmt.Errorf("update attribute group %s: %w", g.ID, store.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("update attribute group %s: %w", g.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("update attribute group %s at version %d: %w", g.ID, expected, s.missedBecause(ctx, "attribute_groups", g.ID))
	}
	return nil
}

func (s *sqlStore) ReorderGroups(ctx context.Context, ids []string, now time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("reorder attribute groups: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `UPDATE attribute_groups SET position = ?1, updated_at = ?2, version = version + 1
		WHERE id = ?3 AND position <> ?1`)
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

func (s *sqlStore) DeleteGroup(ctx context.Context, id string, expected int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM attribute_groups WHERE id = ? AND (?2 = 0 OR version = ?2)`, id, expected)
	if isForeignKey(err) {
		return fmt.Errorf("delete attribute group %s: %w", id, errGroupInUse)
	}
	if err != nil {
		return fmt.Errorf("delete attribute group %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("delete attribute group %s at version %d: %w", id, expected, s.missedBecause(ctx, "attribute_groups", id))
	}
	return nil
}

const definitionColumns = `id, code, name, group_id, type, allowed_values, unit, filterable, required, position, version, created_at, updated_at`

func scanDefinition(row store.Scanner) (contract.AttributeDefinition, error) {
	var d contract.AttributeDefinition
	var values string
	var created, updated int64
	err := row.Scan(&d.ID, &d.Code, &d.Name, &d.GroupID, &d.Type, &values, &d.Unit, &d.Filterable, &d.Required, &d.Position, &d.Version, &created, &updated)
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
	_, err = s.db.ExecContext(ctx, `INSERT INTO attribute_definitions (`+definitionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.Code, d.Name, d.GroupID, d.Type, values, d.Unit, d.Filterable, d.Required, d.Position, d.Version, d.CreatedAt.UnixMilli(), d.UpdatedAt.UnixMilli())
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
	d, err := store.QueryOne(ctx, s.db, scanDefinition, `SELECT `+definitionColumns+` FROM attribute_definitions WHERE `+where, arg)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return d, fmt.Errorf("load attribute %v: %w", arg, err)
	}
	return d, err
}

func (s *sqlStore) Definition(ctx context.Context, id string) (contract.AttributeDefinition, error) {
	return s.oneDefinition(ctx, `id = ?`, id)
}

func (s *sqlStore) DefinitionByCode(ctx context.Context, code string) (contract.AttributeDefinition, error) {
	return s.oneDefinition(ctx, `code = ?`, code)
}

func (s *sqlStore) definitions(ctx context.Context, query string, args ...any) ([]contract.AttributeDefinition, error) {
	out, err := store.QueryAll(ctx, s.db, scanDefinition, `SELECT `+definitionColumns+` FROM attribute_definitions `+query, args...)
	if err != nil {
		return nil, fmt.Errorf("list attributes: %w", err)
	}
	return out, nil
}

func (s *sqlStore) GroupDefinitions(ctx context.Context, groupID string) ([]contract.AttributeDefinition, error) {
	return s.definitions(ctx, `WHERE group_id = ? ORDER BY position, id`, groupID)
}

func (s *sqlStore) Definitions(ctx context.Context) ([]contract.AttributeDefinition, error) {
	return s.definitions(ctx, `ORDER BY group_id, position, id`)
}

func (s *sqlStore) UpdateDefinition(ctx context.Context, d contract.AttributeDefinition, expected int64) error {
	values, err := encodeValues(d.Values)
	if err != nil {
		return fmt.Errorf("update attribute %s: %w", d.ID, err)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE attribute_definitions SET code = ?, name = ?, group_id = ?, type = ?, allowed_values = ?, unit = ?,
		filterable = ?, required = ?, position = ?, updated_at = ?, version = version + 1 WHERE id = ? AND version = ?`,
		d.Code, d.Name, d.GroupID, d.Type, values, d.Unit, d.Filterable, d.Required, d.Position, d.UpdatedAt.UnixMilli(), d.ID, expected)
	switch {
	case store.IsDuplicate(err):
		return fmt.Errorf("update attribute %s: %w", d.ID, store.ErrDuplicate)
	case isForeignKey(err):
		return fmt.Errorf("update attribute %s: group %s: %w", d.ID, d.GroupID, errNoGroup)
	case err != nil:
		return fmt.Errorf("update attribute %s: %w", d.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("update attribute %s at version %d: %w", d.ID, expected, s.missedBecause(ctx, "attribute_definitions", d.ID))
	}
	return nil
}

func (s *sqlStore) ReorderDefinitions(ctx context.Context, groupID string, ids []string, now time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("reorder attributes in %s: %w", groupID, err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `UPDATE attribute_definitions SET group_id = ?1, position = ?2, updated_at = ?3, version = version + 1
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

func (s *sqlStore) DeleteDefinition(ctx context.Context, id string, expected int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM attribute_definitions WHERE id = ? AND (?2 = 0 OR version = ?2)`, id, expected)
	if err != nil {
		return fmt.Errorf("delete attribute %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("delete attribute %s at version %d: %w", id, expected, s.missedBecause(ctx, "attribute_definitions", id))
	}
	return nil
}
