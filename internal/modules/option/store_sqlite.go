package option

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
)

var migrations = []store.Migration{{
	Version: 1,
	SQL: `
CREATE TABLE option_groups (
	id         TEXT PRIMARY KEY,
	code       TEXT NOT NULL UNIQUE,
	name       TEXT NOT NULL,
	version    INTEGER NOT NULL DEFAULT 0, -- bumped by every Modify
	created_at INTEGER NOT NULL,           -- unix milliseconds, as MongoDB keeps dates
	updated_at INTEGER NOT NULL
);
CREATE TABLE option_values (
	id       TEXT PRIMARY KEY,
	group_id TEXT NOT NULL REFERENCES option_groups (id) ON DELETE CASCADE,
	code     TEXT NOT NULL,
	label    TEXT NOT NULL,
	position INTEGER NOT NULL,
	UNIQUE (group_id, code)
);
CREATE INDEX option_values_by_group ON option_values (group_id, position);`,
}}

type sqlStore struct{ db *sql.DB }

func openSQLStore(ctx context.Context, db *store.DB) (*sqlStore, error) {
	s, err := db.SQLite(ctx, contract.OptionQueue, migrations)
	if err != nil {
		return nil, err
	}
	return &sqlStore{db: s}, nil
}

// querier is what *sql.DB and *sql.Tx share for reads.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// execer is what *sql.DB and *sql.Tx share for writes.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

const groupColumns = `id, code, name, created_at, updated_at`

func (s *sqlStore) Insert(ctx context.Context, g contract.OptionGroup) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("insert option group %s: %w", g.ID, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	_, err = tx.ExecContext(ctx, `INSERT INTO option_groups (`+groupColumns+`) VALUES (?, ?, ?, ?, ?)`,
		g.ID, g.Code, g.Name, g.CreatedAt.UnixMilli(), g.UpdatedAt.UnixMilli())
	if err == nil {
		err = insertValues(ctx, tx, g.ID, g.Values)
	}
	if store.IsDuplicate(err) {
		return fmt.Errorf("insert option group %s: %w", g.ID, store.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("insert option group %s: %w", g.ID, err)
	}
	return tx.Commit()
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
func load(ctx context.Context, q querier, where, order string, args ...any) ([]contract.OptionGroup, error) {
	rows, err := q.QueryContext(ctx, `SELECT g.id, g.code, g.name, g.created_at, g.updated_at, v.id, v.code, v.label, v.position
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
		if err := rows.Scan(&g.ID, &g.Code, &g.Name, &created, &updated, &vid, &vcode, &vlabel, &vpos); err != nil {
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

func one(ctx context.Context, q querier, where string, arg any) (contract.OptionGroup, error) {
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

func (s *sqlStore) List(ctx context.Context) ([]contract.OptionGroup, error) {
	return load(ctx, s.db, `1`, "g.code")
}

// Modify runs in one transaction that takes the write lock at BEGIN
// (_txlock=immediate), so concurrent Modifies of any group, from any
// connection or process, run one after the other on the latest state.
func (s *sqlStore) Modify(ctx context.Context, id string, fn func(g *contract.OptionGroup) error) (contract.OptionGroup, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return contract.OptionGroup{}, fmt.Errorf("modify option group %s: %w", id, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	old, err := one(ctx, tx, `g.id = ?`, id)
	if err != nil {
		return contract.OptionGroup{}, err
	}
	g := clone(old)
	if err := fn(&g); err != nil {
		return contract.OptionGroup{}, err
	}
	g.ID, g.CreatedAt = old.ID, old.CreatedAt
	err = s.write(ctx, tx, old, g)
	if store.IsDuplicate(err) {
		return contract.OptionGroup{}, fmt.Errorf("modify option group %s: %w", id, store.ErrDuplicate)
	}
	if err != nil {
		return contract.OptionGroup{}, fmt.Errorf("modify option group %s: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return contract.OptionGroup{}, fmt.Errorf("modify option group %s: %w", id, err)
	}
	return g, nil
}

// write turns old into g: the group row, then the values that went, the
// values that changed and the values that came, in that order (so a code
// freed by a removed value can be taken by a new one).
func (s *sqlStore) write(ctx context.Context, tx *sql.Tx, old, g contract.OptionGroup) error {
	if _, err := tx.ExecContext(ctx, `UPDATE option_groups SET code = ?, name = ?, updated_at = ?, version = version + 1 WHERE id = ?`,
		g.Code, g.Name, g.UpdatedAt.UnixMilli(), g.ID); err != nil {
		return err
	}
	was := make(map[string]contract.OptionValue, len(old.Values))
	for _, v := range old.Values {
		was[v.ID] = v
	}
	var added []contract.OptionValue
	var changed []contract.OptionValue
	for _, v := range g.Values {
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
		if _, err := tx.ExecContext(ctx, `DELETE FROM option_values WHERE id = ? AND group_id = ?`, id, g.ID); err != nil {
			return fmt.Errorf("remove value %s: %w", id, err)
		}
	}
	for _, v := range changed {
		if _, err := tx.ExecContext(ctx, `UPDATE option_values SET code = ?, label = ?, position = ? WHERE id = ? AND group_id = ?`,
			v.Code, v.Label, v.Position, v.ID, g.ID); err != nil {
			return fmt.Errorf("update value %s: %w", v.ID, err)
		}
	}
	return insertValues(ctx, tx, g.ID, added)
}

func (s *sqlStore) Delete(ctx context.Context, id string) (contract.OptionGroup, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return contract.OptionGroup{}, fmt.Errorf("delete option group %s: %w", id, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	g, err := one(ctx, tx, `g.id = ?`, id)
	if err != nil {
		return g, err
	}
	// The values go by ON DELETE CASCADE.
	if _, err := tx.ExecContext(ctx, `DELETE FROM option_groups WHERE id = ?`, id); err != nil {
		return contract.OptionGroup{}, fmt.Errorf("delete option group %s: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return contract.OptionGroup{}, fmt.Errorf("delete option group %s: %w", id, err)
	}
	return g, nil
}
