package auth

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

// sqlStore keeps the session lookup prepared: it runs on every page view,
// and parsing the statement would cost more than running it.
type sqlStore struct {
	db      *sql.DB
	resolve *sql.Stmt
	// outbox is the relay's source over the outbox table in the same file
	// (outbox.PrepareSQLite), where the user writes add their events.
	outbox outbox.Source
}

func openSQLStore(ctx context.Context, db *store.DB) (*sqlStore, error) {
	s, src, err := outbox.OpenSQLite(ctx, db, contract.AuthQueue, schema)
	if err != nil {
		return nil, err
	}
	resolve, err := s.PrepareContext(ctx, `SELECT `+sessionColumns+`, u.role FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND s.idle_expires_at > ?2`)
	if err != nil {
		return nil, fmt.Errorf("auth store: prepare session lookup: %w", err)
	}
	return &sqlStore{db: s, resolve: resolve, outbox: src}, nil
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

const userColumns = `id, email, name, role, password_hash, version, created_at, updated_at`

func scanUser(row interface{ Scan(...any) error }) (UserRecord, error) {
	var u UserRecord
	var created, updated int64
	err := row.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.PasswordHash, &u.Version, &created, &updated)
	u.CreatedAt, u.UpdatedAt = fromMS(created), fromMS(updated)
	if errors.Is(err, sql.ErrNoRows) {
		return u, store.ErrNotFound
	}
	return u, err
}

// conn is what a user write runs on: the database, or the transaction
// that adds its events.
type conn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// withEvents runs write in a transaction that also adds events to the
// outbox table, committing both or neither. Without events it is one
// statement, as before there was an outbox: most user writes announce
// nothing.
func (s *sqlStore) withEvents(ctx context.Context, events []outbox.Event, write func(conn) error) error {
	if len(events) == 0 {
		return write(s.db)
	}
	return outbox.InTx(ctx, s.db, "user write", func(tx *sql.Tx) ([]outbox.Event, error) {
		return events, write(tx)
	})
}

func (s *sqlStore) InsertUser(ctx context.Context, u UserRecord, events ...outbox.Event) error {
	return s.withEvents(ctx, events, func(q conn) error {
		_, err := q.ExecContext(ctx, `INSERT INTO users (`+userColumns+`, email_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Email, u.Name, u.Role, u.PasswordHash, u.Version, ms(u.CreatedAt), ms(u.UpdatedAt), emailKey(u.Email))
		if store.IsDuplicate(err) {
			return fmt.Errorf("insert user: %w", store.ErrDuplicate)
		}
		if err != nil {
			return fmt.Errorf("insert user %s: %w", u.ID, err)
		}
		return nil
	})
}

func (s *sqlStore) UserByID(ctx context.Context, id string) (UserRecord, error) {
	return scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
}

func (s *sqlStore) UserByEmail(ctx context.Context, email string) (UserRecord, error) {
	return scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email_key = ?`, emailKey(email)))
}

func (s *sqlStore) UpdateUser(ctx context.Context, u UserRecord, expect int64, events ...outbox.Event) error {
	return s.withEvents(ctx, events, func(q conn) error {
		res, err := q.ExecContext(ctx, `UPDATE users SET email = ?, email_key = ?, name = ?, role = ?, password_hash = ?, version = ?, updated_at = ?
			WHERE id = ? AND version = ?`,
			u.Email, emailKey(u.Email), u.Name, u.Role, u.PasswordHash, u.Version, ms(u.UpdatedAt), u.ID, expect)
		if store.IsDuplicate(err) {
			return fmt.Errorf("update user %s: %w", u.ID, store.ErrDuplicate)
		}
		if err != nil {
			return fmt.Errorf("update user %s: %w", u.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if _, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, u.ID)); err != nil {
				return err
			}
			return store.ErrStale
		}
		return nil
	})
}

func (s *sqlStore) ListUsers(ctx context.Context, after string, limit int) ([]contract.User, int, error) {
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count users: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	out := []contract.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("list users: %w", err)
		}
		out = append(out, u.User)
	}
	return out, total, rows.Err()
}

const sessionColumns = `s.id, s.token_hash, s.user_id, s.created_at, s.last_seen_at, s.idle_expires_at, s.expires_at, s.ip, s.user_agent`

func scanSession(row interface{ Scan(...any) error }, extra ...any) (SessionRecord, error) {
	var r SessionRecord
	var created, seen, idle, expires int64
	err := row.Scan(append([]any{&r.ID, &r.TokenHash, &r.UserID, &created, &seen, &idle, &expires, &r.IP, &r.UserAgent}, extra...)...)
	r.CreatedAt, r.LastSeenAt, r.IdleExpiresAt, r.ExpiresAt = fromMS(created), fromMS(seen), fromMS(idle), fromMS(expires)
	if errors.Is(err, sql.ErrNoRows) {
		return r, store.ErrNotFound
	}
	return r, err
}

func (s *sqlStore) InsertSession(ctx context.Context, r SessionRecord) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO sessions (id, token_hash, user_id, created_at, last_seen_at, idle_expires_at, expires_at, ip, user_agent)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.TokenHash, r.UserID, ms(r.CreatedAt), ms(r.LastSeenAt), ms(r.IdleExpiresAt), ms(r.ExpiresAt), r.IP, r.UserAgent)
	if store.IsDuplicate(err) {
		return fmt.Errorf("insert session: %w", store.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("insert session: %w", err)
	}
	return nil
}

// SessionByToken is one indexed join: resolution runs on every page view.
func (s *sqlStore) SessionByToken(ctx context.Context, tokenHash string, now time.Time) (SessionRecord, contract.Role, error) {
	var role contract.Role
	r, err := scanSession(s.resolve.QueryRowContext(ctx, tokenHash, ms(now)), &role)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return r, role, fmt.Errorf("resolve session: %w", err)
	}
	return r, role, err
}

func (s *sqlStore) TouchSession(ctx context.Context, id string, lastSeen, idleExpires time.Time) error {
	// Never backwards, when two instances touch at once.
	if _, err := s.db.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ?, idle_expires_at = ?
		WHERE id = ? AND last_seen_at < ?`, ms(lastSeen), ms(idleExpires), id, ms(lastSeen)); err != nil {
		return fmt.Errorf("touch session %s: %w", id, err)
	}
	return nil
}

func (s *sqlStore) Sessions(ctx context.Context, userID string, now time.Time) ([]SessionRecord, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions s
		WHERE s.user_id = ? AND s.expires_at > ? AND s.idle_expires_at > ? ORDER BY s.created_at, s.id`, userID, ms(now), ms(now))
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	var out []SessionRecord
	for rows.Next() {
		r, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *sqlStore) DeleteSession(ctx context.Context, userID, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE id = ? AND user_id = ?`, id, userID)
	if err != nil {
		return fmt.Errorf("delete session %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

func (s *sqlStore) DeleteSessionByToken(ctx context.Context, tokenHash string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash); err != nil {
		return fmt.Errorf("delete session by token: %w", err)
	}
	return nil
}

func (s *sqlStore) DeleteUserSessions(ctx context.Context, userID, except string) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND id <> ?`, userID, except)
	if err != nil {
		return 0, fmt.Errorf("delete sessions of %s: %w", userID, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

func (s *sqlStore) AddFailure(ctx context.Context, key string, expires time.Time) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `INSERT INTO throttle (key, failures, blocked_until, expires_at) VALUES (?, 1, 0, ?)
		ON CONFLICT (key) DO UPDATE SET failures = failures + 1 RETURNING failures`, key, ms(expires)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count failure: %w", err)
	}
	return n, nil
}

func (s *sqlStore) BlockUntil(ctx context.Context, key string, until time.Time) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE throttle SET blocked_until = ?1 WHERE key = ?2 AND blocked_until < ?1`, ms(until), key); err != nil {
		return fmt.Errorf("block: %w", err)
	}
	return nil
}

func inArgs(keys []string) (string, []any) {
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	return `(?` + strings.Repeat(",?", len(keys)-1) + `)`, args
}

func (s *sqlStore) Throttles(ctx context.Context, keys []string) (map[string]Throttle, error) {
	out := map[string]Throttle{}
	if len(keys) == 0 {
		return out, nil
	}
	in, args := inArgs(keys)
	rows, err := s.db.QueryContext(ctx, `SELECT key, failures, blocked_until FROM throttle WHERE key IN `+in, args...)
	if err != nil {
		return nil, fmt.Errorf("read throttles: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var t Throttle
		var blocked int64
		if err := rows.Scan(&k, &t.Failures, &blocked); err != nil {
			return nil, fmt.Errorf("read throttles: %w", err)
		}
		t.BlockedUntil = fromMS(blocked)
		out[k] = t
	}
	return out, rows.Err()
}

func (s *sqlStore) ClearThrottles(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	in, args := inArgs(keys)
	if _, err := s.db.ExecContext(ctx, `DELETE FROM throttle WHERE key IN `+in, args...); err != nil {
		return fmt.Errorf("clear throttles: %w", err)
	}
	return nil
}

func (s *sqlStore) InsertResetToken(ctx context.Context, r ResetToken) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("insert reset token: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	if _, err := tx.ExecContext(ctx, `DELETE FROM reset_tokens WHERE user_id = ?`, r.UserID); err != nil {
		return fmt.Errorf("replace reset tokens: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO reset_tokens (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		r.TokenHash, r.UserID, ms(r.CreatedAt), ms(r.ExpiresAt)); err != nil {
		return fmt.Errorf("insert reset token: %w", err)
	}
	return tx.Commit()
}

func (s *sqlStore) TakeResetToken(ctx context.Context, tokenHash string, now time.Time) (ResetToken, error) {
	r := ResetToken{TokenHash: tokenHash}
	var created, expires int64
	err := s.db.QueryRowContext(ctx, `DELETE FROM reset_tokens WHERE token_hash = ? AND expires_at > ? RETURNING user_id, created_at, expires_at`,
		tokenHash, ms(now)).Scan(&r.UserID, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return r, store.ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("take reset token: %w", err)
	}
	r.CreatedAt, r.ExpiresAt = fromMS(created), fromMS(expires)
	return r, nil
}

func (s *sqlStore) DeleteResetTokens(ctx context.Context, userID string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM reset_tokens WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("delete reset tokens: %w", err)
	}
	return nil
}

func (s *sqlStore) Sweep(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for _, q := range []string{
		`DELETE FROM sessions WHERE expires_at <= ?1 OR idle_expires_at <= ?1`,
		`DELETE FROM throttle WHERE expires_at <= ?1 AND blocked_until <= ?1`,
		`DELETE FROM reset_tokens WHERE expires_at <= ?1`,
	} {
		res, err := s.db.ExecContext(ctx, q, ms(now))
		if err != nil {
			return total, fmt.Errorf("sweep: %w", err)
		}
		n, _ := res.RowsAffected()
		total += int(n)
	}
	return total, nil
}

func (s *sqlStore) Outbox() outbox.Source { return s.outbox }
