package auth

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
)

// Store is the auth module's narrow view of its database: users, sessions,
// throttle counters and reset tokens. Both implementations keep to
// single-row (single-document) atomic writes, so that several instances
// of the module share it safely on SQLite and on MongoDB alike, and
// return store.ErrNotFound, store.ErrDuplicate and store.ErrStale the same way.
//
// The user writes that announce something take the events with them (the
// transactional outbox, package outbox): the store commits them in the
// write's own atomic unit — the outbox table in the same SQLite
// transaction, the user's document's "outbox" array in the same MongoDB
// write — so an event exists exactly when its write does, and a failed
// write (a taken email, a stale version) leaves none. The module's relay
// publishes what Outbox holds.
type Store interface {
	// InsertUser adds a user, with the events announcing it; ErrDuplicate
	// when the email is taken, compared case-insensitively by the store
	// itself.
	InsertUser(ctx context.Context, u UserRecord, events ...outbox.Event) error
	UserByID(ctx context.Context, id string) (UserRecord, error)
	UserByEmail(ctx context.Context, email string) (UserRecord, error)
	// UpdateUser writes every field of u, with the events announcing the
	// change, if the stored version is expect (store.ErrStale when it moved,
	// ErrNotFound when there is no user).
	UpdateUser(ctx context.Context, u UserRecord, expect int64, events ...outbox.Event) error
	// ListUsers returns up to limit users with ids after after ("" for
	// the first page) in id order, which is creation order (UUID v7),
	// and the number of users.
	ListUsers(ctx context.Context, after string, limit int) ([]contract.User, int, error)

	InsertSession(ctx context.Context, s SessionRecord) error
	// SessionByToken returns the live session with that token hash (not
	// past its absolute or idle expiry at now) and its user's role.
	SessionByToken(ctx context.Context, tokenHash string, now time.Time) (SessionRecord, contract.Role, error)
	// TouchSession slides a session's idle expiry.
	TouchSession(ctx context.Context, id string, lastSeen, idleExpires time.Time) error
	// Sessions returns a user's live sessions at now, oldest first.
	Sessions(ctx context.Context, userID string, now time.Time) ([]SessionRecord, error)
	// DeleteSession deletes one session of userID; ErrNotFound when the
	// user has no such session.
	DeleteSession(ctx context.Context, userID, id string) error
	// DeleteSessionByToken deletes the session with that token hash, if any.
	DeleteSessionByToken(ctx context.Context, tokenHash string) error
	// DeleteUserSessions deletes every session of userID but except ("":
	// all), returning how many.
	DeleteUserSessions(ctx context.Context, userID, except string) (int, error)

	// AddFailure counts one failure under key, creating the counter with
	// the given expiry, and returns the count: one atomic increment, so
	// instances racing on the same key lose no count.
	AddFailure(ctx context.Context, key string, expires time.Time) (int64, error)
	// BlockUntil raises key's blocked-until time to until (never lowers it).
	BlockUntil(ctx context.Context, key string, until time.Time) error
	// Throttles returns the counters that exist among keys.
	Throttles(ctx context.Context, keys []string) (map[string]Throttle, error)
	// ClearThrottles deletes the counters of keys.
	ClearThrottles(ctx context.Context, keys []string) error

	// InsertResetToken stores a reset token, replacing the user's earlier
	// ones: only the latest mail works.
	InsertResetToken(ctx context.Context, r ResetToken) error
	// TakeResetToken deletes and returns the unexpired token with that
	// hash, so it works once; ErrNotFound otherwise.
	TakeResetToken(ctx context.Context, tokenHash string, now time.Time) (ResetToken, error)
	// DeleteResetTokens deletes every reset token of a user.
	DeleteResetTokens(ctx context.Context, userID string) error

	// Sweep deletes what expired before now: sessions, counters, reset
	// tokens. It returns how many rows or documents went.
	Sweep(ctx context.Context, now time.Time) (int, error)

	// Outbox is where the events the user writes committed wait for the
	// relay.
	Outbox() outbox.Source
}

// UserRecord is a user with its password hash.
type UserRecord struct {
	contract.User
	PasswordHash string
}

// SessionRecord is a session as stored: the token only as its SHA-256.
type SessionRecord struct {
	ID            string
	TokenHash     string
	UserID        string
	CreatedAt     time.Time
	LastSeenAt    time.Time
	IdleExpiresAt time.Time // LastSeenAt + the idle timeout
	ExpiresAt     time.Time // CreatedAt + the absolute lifetime
	IP            string
	UserAgent     string
}

// Throttle is one failure counter.
type Throttle struct {
	Failures     int64
	BlockedUntil time.Time
}

// ResetToken is a password-reset token as stored: its SHA-256.
type ResetToken struct {
	TokenHash string
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// emailKey is the form the stores compare emails in: case-insensitive
// uniqueness is theirs to enforce, whatever the caller normalised.
func emailKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// OpenStore returns the Store for db's backend, with its schema or indexes
// in place.
func OpenStore(ctx context.Context, db *store.DB) (Store, error) {
	switch db.Kind() {
	case store.KindSQLite:
		return openSQLStore(ctx, db)
	case store.KindMongo:
		return openMongoStore(ctx, db)
	}
	return nil, fmt.Errorf("auth store: unsupported backend %s", db.Kind())
}
