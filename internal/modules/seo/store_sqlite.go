package seo

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"time"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/feed"
	"github.com/shopengine/shop/internal/store"
)

// schema holds the SQLite schema, one file per migration
// (<version>_<name>.sql). A released file never changes.
//
//go:embed schema/*.sql
var schema embed.FS

// sqlStore keeps overrides in seo.db, beside the registry's feed table.
type sqlStore struct {
	db       *sql.DB
	registry feed.Log
}

func openSQLStore(ctx context.Context, db *store.DB) (*sqlStore, error) {
	ms, err := store.MigrationsFrom(schema, "schema")
	if err != nil {
		return nil, err
	}
	s, err := db.SQLite(ctx, contract.SEOQueue, ms)
	if err != nil {
		return nil, fmt.Errorf("open seo store: %w", err)
	}
	reg, err := feed.Open(ctx, db, contract.SEOQueue, registryFeed)
	if err != nil {
		return nil, err
	}
	return &sqlStore{db: s, registry: reg}, nil
}

func (s *sqlStore) Registry() feed.Log { return s.registry }

func scanOverride(row store.Scanner) (contract.SEOOverride, error) {
	var o contract.SEOOverride
	var id string
	var updated int64
	err := row.Scan(&id, &o.Title, &o.Description, &o.Canonical, &o.Robots, &o.OGImage, &o.Version, &updated)
	o.SEOOverrideKey, o.UpdatedAt = keyOf(id), time.UnixMilli(updated).UTC()
	return o, err
}

func (s *sqlStore) Override(ctx context.Context, key string) (contract.SEOOverride, error) {
	o, err := store.QueryOne(ctx, s.db, scanOverride,
		`SELECT id, title, description, canonical, robots, og_image, version, updated_at FROM overrides WHERE id = ?`, key)
	if err != nil {
		return o, fmt.Errorf("override %s: %w", key, err)
	}
	return o, nil
}

func (s *sqlStore) PutOverride(ctx context.Context, key string, o contract.SEOOverride, expected int64) error {
	args := []any{key, o.Title, o.Description, o.Canonical, o.Robots, o.OGImage, o.Version, o.UpdatedAt.UnixMilli()}
	if expected == 0 {
		_, err := s.db.ExecContext(ctx, `INSERT INTO overrides (id, title, description, canonical, robots, og_image, version, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, args...)
		if store.IsDuplicate(err) {
			return fmt.Errorf("create override %s: %w", key, store.ErrDuplicate)
		}
		if err != nil {
			return fmt.Errorf("create override %s: %w", key, err)
		}
		return nil
	}
	res, err := s.db.ExecContext(ctx, `UPDATE overrides SET title = ?2, description = ?3, canonical = ?4, robots = ?5, og_image = ?6,
		version = ?7, updated_at = ?8 WHERE id = ?1 AND version = ?9`, append(args, expected)...)
	return s.checked(ctx, "update", key, res, err)
}

func (s *sqlStore) DeleteOverride(ctx context.Context, key string, expected int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM overrides WHERE id = ? AND (? = 0 OR version = ?)`, key, expected, expected)
	return s.checked(ctx, "delete", key, res, err)
}

// checked turns a checked write that matched no row into its reason.
func (s *sqlStore) checked(ctx context.Context, what, key string, res sql.Result, err error) error {
	if err != nil {
		return fmt.Errorf("%s override %s: %w", what, key, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	return fmt.Errorf("%s override %s: %w", what, key, store.MissedRow(ctx, s.db, "overrides", key))
}
