package option

import (
	"context"
	"database/sql"
	"embed"
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

// sqlStore keeps groups and their values in option.db, and the events of
// its writes in the same file's outbox table (outbox.PrepareSQLite),
// added in each write's transaction.
type sqlStore struct {
	db     *sql.DB
	outbox outbox.Source
}

func openSQLStore(ctx context.Context, db *store.DB) (*sqlStore, error) {
	s, src, err := outbox.OpenSQLite(ctx, db, contract.OptionQueue, schema)
	if err != nil {
		return nil, err
	}
	return &sqlStore{db: s, outbox: src}, nil
}

func (s *sqlStore) Outbox() outbox.Source { return s.outbox }

// execer is what *sql.DB and *sql.Tx share for writes.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

const groupColumns = `id, code, name, version, created_at, updated_at`

// Insert writes the group, its values and its events in one transaction.
func (s *sqlStore) Insert(ctx context.Context, g contract.OptionGroup, events ...outbox.Event) error {
	what := "insert option group " + g.ID
	return outbox.InTx(ctx, s.db, what, func(tx *sql.Tx) ([]outbox.Event, error) {
		_, err := tx.ExecContext(ctx, `INSERT INTO option_groups (`+groupColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
			g.ID, g.Code, g.Name, g.Version, g.CreatedAt.UnixMilli(), g.UpdatedAt.UnixMilli())
		if err == nil {
			err = insertValues(ctx, tx, g.ID, g.Values)
		}
		if store.IsDuplicate(err) {
			return nil, fmt.Errorf("%s: %w", what, store.ErrDuplicate)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		return events, nil
	})
}

func insertValues(ctx context.Context, db execer, groupID string, vs []contract.OptionValue) error {
	for _, v := range vs {
		if _, err := db.ExecContext(ctx, `INSERT INTO option_values (id, group_id, code, label, position) VALUES (?, ?, ?, ?, ?)`,
			v.ID, groupID, v.Code, v.Label, v.Position); err != nil {
			return fmt.Errorf("value %s: %w", v.ID, err)
		}
	}
	return nil
}

// load reads the groups matching where (a condition on option_groups g)
// with their values, ordered by order, in one statement: one snapshot, so a
// group never comes back with the values of another moment.
func load(ctx context.Context, q store.Querier, where, order string, args ...any) ([]contract.OptionGroup, error) {
	rows, err := q.QueryContext(ctx, `SELECT g.id, g.code, g.name, g.version, g.created_at, g.updated_at, v.id, v.code, v.label, v.position
		FROM option_groups g LEFT JOIN option_values v ON v.group_id = g.id
		WHERE `+where+` ORDER BY `+order+`, g.id, v.position, v.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("load option groups: %w", err)
	}
	defer rows.Close()
	out := []contract.OptionGroup{}
	for rows.Next() {
		var g contract.OptionGroup
		var created, updated int64
		var vid, vcode, vlabel sql.NullString
		var vpos sql.NullInt64
		if err := rows.Scan(&g.ID, &g.Code, &g.Name, &g.Version, &created, &updated, &vid, &vcode, &vlabel, &vpos); err != nil {
			return nil, fmt.Errorf("load option groups: %w", err)
		}
		if n := len(out); n == 0 || out[n-1].ID != g.ID {
			g.CreatedAt, g.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
			g.Values = []contract.OptionValue{}
			out = append(out, g)
		}
		if vid.Valid {
			last := &out[len(out)-1]
			last.Values = append(last.Values, contract.OptionValue{ID: vid.String, Code: vcode.String, Label: vlabel.String, Position: int(vpos.Int64)})
		}
	}
	return out, rows.Err()
}

func one(ctx context.Context, q store.Querier, where string, arg any) (contract.OptionGroup, error) {
	gs, err := load(ctx, q, where, "g.id", arg)
	if err != nil {
		return contract.OptionGroup{}, err
	}
	if len(gs) == 0 {
		return contract.OptionGroup{}, store.ErrNotFound
	}
	return gs[0], nil
}

func (s *sqlStore) Get(ctx context.Context, id string) (contract.OptionGroup, error) {
	return one(ctx, s.db, `g.id = ?`, id)
}

func (s *sqlStore) ByCode(ctx context.Context, code string) (contract.OptionGroup, error) {
	return one(ctx, s.db, `g.code = ?`, code)
}

func (s *sqlStore) GetMany(ctx context.Context, ids []string) ([]contract.OptionGroup, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return load(ctx, s.db, `g.id IN (?`+strings.Repeat(",?", len(ids)-1)+`)`, "g.id", args...)
}

// List pages on the groups (the LIMIT is on them, not on the joined rows
// of their values).
func (s *sqlStore) List(ctx context.Context, after string, limit int) ([]contract.OptionGroup, error) {
	return load(ctx, s.db, `g.id IN (SELECT id FROM option_groups WHERE code > ? ORDER BY code LIMIT ?)`, "g.code", after, limit)
}

func (s *sqlStore) Count(ctx context.Context) (int, error) {
	n, err := store.QueryOne(ctx, s.db, store.ScanValue[int], `SELECT COUNT(*) FROM option_groups`)
	if err != nil {
		return 0, fmt.Errorf("count option groups: %w", err)
	}
	return n, nil
}

// Update runs in one transaction that takes the write lock at BEGIN
// (_txlock=immediate): the checked write of the group row comes first, so
// the values read after it are those of the expected version, and the
// rewrite of the values and the events commit with it or not at all.
func (s *sqlStore) Update(ctx context.Context, g contract.OptionGroup, expected int64, events ...outbox.Event) error {
	what := "update option group " + g.ID
	return outbox.InTx(ctx, s.db, what, func(tx *sql.Tx) ([]outbox.Event, error) {
		res, err := tx.ExecContext(ctx, `UPDATE option_groups SET code = ?, name = ?, updated_at = ?, version = version + 1 WHERE id = ? AND version = ?`,
			g.Code, g.Name, g.UpdatedAt.UnixMilli(), g.ID, expected)
		if err == nil {
			if n, _ := res.RowsAffected(); n == 0 {
				err = store.MissedRow(ctx, tx, "option_groups", g.ID)
			}
		}
		if err == nil {
			var old contract.OptionGroup
			if old, err = one(ctx, tx, `g.id = ?`, g.ID); err == nil {
				err = writeValues(ctx, tx, g.ID, old.Values, g.Values)
			}
		}
		if store.IsDuplicate(err) {
			return nil, fmt.Errorf("%s: %w", what, store.ErrDuplicate)
		}
		if err != nil {
			return nil, fmt.Errorf("%s at version %d: %w", what, expected, err)
		}
		return events, nil
	})
}

// writeValues turns the values old into values: the values that went, the
// values that changed and the values that came, in that order (so a code
// freed by a removed value can be taken by a new one).
func writeValues(ctx context.Context, tx *sql.Tx, groupID string, old, values []contract.OptionValue) error {
	was := make(map[string]contract.OptionValue, len(old))
	for _, v := range old {
		was[v.ID] = v
	}
	var added []contract.OptionValue
	var changed []contract.OptionValue
	for _, v := range values {
		w, ok := was[v.ID]
		switch {
		case !ok:
			added = append(added, v)
		case w != v:
			changed = append(changed, v)
		}
		delete(was, v.ID)
	}
	for id := range was {
		if _, err := tx.ExecContext(ctx, `DELETE FROM option_values WHERE id = ? AND group_id = ?`, id, groupID); err != nil {
			return fmt.Errorf("remove value %s: %w", id, err)
		}
	}
	for _, v := range changed {
		if _, err := tx.ExecContext(ctx, `UPDATE option_values SET code = ?, label = ?, position = ? WHERE id = ? AND group_id = ?`,
			v.Code, v.Label, v.Position, v.ID, groupID); err != nil {
			return fmt.Errorf("update value %s: %w", v.ID, err)
		}
	}
	return insertValues(ctx, tx, groupID, added)
}

// Delete reads the group, deletes it and adds the events deleted builds
// from what it read, in one transaction.
func (s *sqlStore) Delete(ctx context.Context, id string, expected int64, deleted announce[contract.OptionGroup]) (contract.OptionGroup, error) {
	what := "delete option group " + id
	var g contract.OptionGroup
	err := outbox.InTx(ctx, s.db, what, func(tx *sql.Tx) ([]outbox.Event, error) {
		var err error
		if g, err = one(ctx, tx, `g.id = ?`, id); err != nil {
			return nil, err
		}
		// The values go by ON DELETE CASCADE; the version is checked in
		// the statement, under the write lock taken at BEGIN.
		res, err := tx.ExecContext(ctx, `DELETE FROM option_groups WHERE id = ? AND (?2 = 0 OR version = ?2)`, id, expected)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, fmt.Errorf("%s at version %d: %w", what, expected, store.ErrStale)
		}
		evs, err := deleted.events(g)
		if err != nil {
			return nil, fmt.Errorf("%s: events: %w", what, err)
		}
		return evs, nil
	})
	if err != nil {
		return contract.OptionGroup{}, err
	}
	return g, nil
}
