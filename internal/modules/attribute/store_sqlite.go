package attribute

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

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

// sqlStore keeps groups and definitions in attribute.db, and the events
// of its writes in the same file's outbox table (outbox.PrepareSQLite),
// added in each write's transaction. A foreign key ties definitions to
// their group, so a group cannot be deleted under a definition created at
// the same moment.
type sqlStore struct {
	db     *sql.DB
	outbox outbox.Source
}

func openSQLStore(ctx context.Context, db *store.DB) (*sqlStore, error) {
	s, src, err := outbox.OpenSQLite(ctx, db, contract.AttributeQueue, schema)
	if err != nil {
		return nil, err
	}
	return &sqlStore{db: s, outbox: src}, nil
}

func (s *sqlStore) Outbox() outbox.Source { return s.outbox }

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

func (s *sqlStore) InsertGroup(ctx context.Context, g contract.AttributeGroup, events ...outbox.Event) error {
	return outbox.InTx(ctx, s.db, "insert attribute group "+g.ID, func(tx *sql.Tx) ([]outbox.Event, error) {
		_, err := tx.ExecContext(ctx, `INSERT INTO attribute_groups (`+groupColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			g.ID, g.Name, g.Slug, g.Position, g.Version, g.CreatedAt.UnixMilli(), g.UpdatedAt.UnixMilli())
		if store.IsDuplicate(err) {
			return nil, fmt.Errorf("insert attribute group %s: %w", g.ID, store.ErrDuplicate)
		}
		if err != nil {
			return nil, fmt.Errorf("insert attribute group %s: %w", g.ID, err)
		}
		return events, nil
	})
}

func (s *sqlStore) Group(ctx context.Context, id string) (contract.AttributeGroup, error) {
	return group(ctx, s.db, id)
}

func group(ctx context.Context, q store.Querier, id string) (contract.AttributeGroup, error) {
	g, err := store.QueryOne(ctx, q, scanGroup, `SELECT `+groupColumns+` FROM attribute_groups WHERE id = ?`, id)
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

// sqlMissedBecause tells, after a checked write matched no row, whether the
// row is gone or at another version.
func sqlMissedBecause(ctx context.Context, q store.Querier, table, id string) error {
	_, err := store.QueryOne(ctx, q, store.ScanValue[int], `SELECT 1 FROM `+table+` WHERE id = ?`, id)
	if errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err != nil {
		return fmt.Errorf("check %s %s: %w", table, id, err)
	}
	return store.ErrStale
}

func (s *sqlStore) UpdateGroup(ctx context.Context, g contract.AttributeGroup, expected int64, events ...outbox.Event) error {
	return outbox.InTx(ctx, s.db, "update attribute group "+g.ID, func(tx *sql.Tx) ([]outbox.Event, error) {
		res, err := tx.ExecContext(ctx, `UPDATE attribute_groups SET name = ?, slug = ?, position = ?, updated_at = ?, version = version + 1
			WHERE id = ? AND version = ?`,
			g.Name, g.Slug, g.Position, g.UpdatedAt.UnixMilli(), g.ID, expected)
		if store.IsDuplicate(err) {
			return nil, fmt.Errorf("update attribute group %s: %w", g.ID, store.ErrDuplicate)
		}
		if err != nil {
			return nil, fmt.Errorf("update attribute group %s: %w", g.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, fmt.Errorf("update attribute group %s at version %d: %w", g.ID, expected, sqlMissedBecause(ctx, tx, "attribute_groups", g.ID))
		}
		return events, nil
	})
}

// renumber runs query (a conditional UPDATE … RETURNING the row, with the
// parameters ?1 position, ?2 updated_at, ?3 id and ?4 the extra arg, if
// any) for each of ids at positions 0, 1, …, and returns the events moved
// builds from the rows it changed, as changed.
func renumber[T any](ctx context.Context, tx *sql.Tx, query string, ids []string, now time.Time, extra []any,
	scan func(store.Scanner) (T, error), moved announce[T],
) ([]outbox.Event, error) {
	stmt, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	var evs []outbox.Event
	for i, id := range ids {
		x, err := scan(stmt.QueryRowContext(ctx, append([]any{i, now.UnixMilli(), id}, extra...)...))
		if errors.Is(err, sql.ErrNoRows) {
			continue // in place already, or gone
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		e, err := moved.events(x)
		if err != nil {
			return nil, fmt.Errorf("%s: events: %w", id, err)
		}
		evs = append(evs, e...)
	}
	return evs, nil
}

func (s *sqlStore) ReorderGroups(ctx context.Context, ids []string, now time.Time, moved announce[contract.AttributeGroup]) error {
	return outbox.InTx(ctx, s.db, "reorder attribute groups", func(tx *sql.Tx) ([]outbox.Event, error) {
		evs, err := renumber(ctx, tx, `UPDATE attribute_groups SET position = ?1, updated_at = ?2, version = version + 1
			WHERE id = ?3 AND position <> ?1 RETURNING `+groupColumns, ids, now, nil, scanGroup, moved)
		if err != nil {
			return nil, fmt.Errorf("reorder attribute groups: %w", err)
		}
		return evs, nil
	})
}

func (s *sqlStore) DeleteGroup(ctx context.Context, id string, expected int64, deleted announce[contract.AttributeGroup]) error {
	return outbox.InTx(ctx, s.db, "delete attribute group "+id, func(tx *sql.Tx) ([]outbox.Event, error) {
		g, err := group(ctx, tx, id)
		if err != nil {
			return nil, fmt.Errorf("delete attribute group %s: %w", id, err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM attribute_groups WHERE id = ? AND (?2 = 0 OR version = ?2)`, id, expected)
		if isForeignKey(err) {
			return nil, fmt.Errorf("delete attribute group %s: %w", id, errGroupInUse)
		}
		if err != nil {
			return nil, fmt.Errorf("delete attribute group %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, fmt.Errorf("delete attribute group %s at version %d: %w", id, expected, store.ErrStale)
		}
		evs, err := deleted.events(g)
		if err != nil {
			return nil, fmt.Errorf("delete attribute group %s: events: %w", id, err)
		}
		return evs, nil
	})
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

func (s *sqlStore) InsertDefinition(ctx context.Context, d contract.AttributeDefinition, events ...outbox.Event) error {
	values, err := encodeValues(d.Values)
	if err != nil {
		return fmt.Errorf("insert attribute %s: %w", d.ID, err)
	}
	return outbox.InTx(ctx, s.db, "insert attribute "+d.ID, func(tx *sql.Tx) ([]outbox.Event, error) {
		_, err := tx.ExecContext(ctx, `INSERT INTO attribute_definitions (`+definitionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.ID, d.Code, d.Name, d.GroupID, d.Type, values, d.Unit, d.Filterable, d.Required, d.Position, d.Version, d.CreatedAt.UnixMilli(), d.UpdatedAt.UnixMilli())
		switch {
		case store.IsDuplicate(err):
			return nil, fmt.Errorf("insert attribute %s: %w", d.ID, store.ErrDuplicate)
		case isForeignKey(err):
			return nil, fmt.Errorf("insert attribute %s: group %s: %w", d.ID, d.GroupID, errNoGroup)
		case err != nil:
			return nil, fmt.Errorf("insert attribute %s: %w", d.ID, err)
		}
		return events, nil
	})
}

func (s *sqlStore) oneDefinition(ctx context.Context, where string, arg any) (contract.AttributeDefinition, error) {
	return oneDefinition(ctx, s.db, where, arg)
}

func oneDefinition(ctx context.Context, q store.Querier, where string, arg any) (contract.AttributeDefinition, error) {
	d, err := store.QueryOne(ctx, q, scanDefinition, `SELECT `+definitionColumns+` FROM attribute_definitions WHERE `+where, arg)
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

func (s *sqlStore) UpdateDefinition(ctx context.Context, d contract.AttributeDefinition, expected int64, events ...outbox.Event) error {
	values, err := encodeValues(d.Values)
	if err != nil {
		return fmt.Errorf("update attribute %s: %w", d.ID, err)
	}
	return outbox.InTx(ctx, s.db, "update attribute "+d.ID, func(tx *sql.Tx) ([]outbox.Event, error) {
		res, err := tx.ExecContext(ctx, `UPDATE attribute_definitions SET code = ?, name = ?, group_id = ?, type = ?, allowed_values = ?, unit = ?,
			filterable = ?, required = ?, position = ?, updated_at = ?, version = version + 1 WHERE id = ? AND version = ?`,
			d.Code, d.Name, d.GroupID, d.Type, values, d.Unit, d.Filterable, d.Required, d.Position, d.UpdatedAt.UnixMilli(), d.ID, expected)
		switch {
		case store.IsDuplicate(err):
			return nil, fmt.Errorf("update attribute %s: %w", d.ID, store.ErrDuplicate)
		case isForeignKey(err):
			return nil, fmt.Errorf("update attribute %s: group %s: %w", d.ID, d.GroupID, errNoGroup)
		case err != nil:
			return nil, fmt.Errorf("update attribute %s: %w", d.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, fmt.Errorf("update attribute %s at version %d: %w", d.ID, expected, sqlMissedBecause(ctx, tx, "attribute_definitions", d.ID))
		}
		return events, nil
	})
}

func (s *sqlStore) ReorderDefinitions(ctx context.Context, groupID string, ids []string, now time.Time, moved announce[contract.AttributeDefinition]) error {
	return outbox.InTx(ctx, s.db, "reorder attributes in "+groupID, func(tx *sql.Tx) ([]outbox.Event, error) {
		evs, err := renumber(ctx, tx, `UPDATE attribute_definitions SET position = ?1, updated_at = ?2, group_id = ?4, version = version + 1
			WHERE id = ?3 AND (group_id <> ?4 OR position <> ?1) RETURNING `+definitionColumns, ids, now, []any{groupID}, scanDefinition, moved)
		if isForeignKey(err) {
			return nil, fmt.Errorf("move attributes to group %s: %w", groupID, errNoGroup)
		}
		if err != nil {
			return nil, fmt.Errorf("reorder attributes in %s: %w", groupID, err)
		}
		return evs, nil
	})
}

func (s *sqlStore) DeleteDefinition(ctx context.Context, id string, expected int64, deleted announce[contract.AttributeDefinition]) error {
	return outbox.InTx(ctx, s.db, "delete attribute "+id, func(tx *sql.Tx) ([]outbox.Event, error) {
		d, err := oneDefinition(ctx, tx, `id = ?`, id)
		if err != nil {
			return nil, fmt.Errorf("delete attribute %s: %w", id, err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM attribute_definitions WHERE id = ? AND (?2 = 0 OR version = ?2)`, id, expected)
		if err != nil {
			return nil, fmt.Errorf("delete attribute %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, fmt.Errorf("delete attribute %s at version %d: %w", id, expected, store.ErrStale)
		}
		evs, err := deleted.events(d)
		if err != nil {
			return nil, fmt.Errorf("delete attribute %s: events: %w", id, err)
		}
		return evs, nil
	})
}
