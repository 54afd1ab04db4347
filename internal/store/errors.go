package store

import (
	"errors"
	"strings"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Errors every module store returns in the same way, whatever the backend,
// so module logic maps them to bus codes once.
var (
	// ErrNotFound: no row or document matched.
	ErrNotFound = errors.New("not found")
	// ErrDuplicate: a unique key (id, slug, SKU…) is already taken.
	ErrDuplicate = errors.New("duplicate key")
	// ErrStale: a write checked against an expected version found the
	// entity at another one (optimistic concurrency; the module answers
	// conflict).
	ErrStale = errors.New("version moved")
)

// IsDuplicate reports whether err is a unique-constraint violation from
// SQLite or MongoDB.
func IsDuplicate(err error) bool {
	if errors.Is(err, ErrDuplicate) || mongo.IsDuplicateKeyError(err) {
		return true
	}
	// FerretDB v1 (the wire-protocol test server) reports a unique index
	// violated by an UPDATE as an InternalError carrying SQLite's message,
	// where MongoDB answers E11000.
	var ce mongo.CommandError
	if errors.As(err, &ce) && strings.Contains(ce.Message, "UNIQUE constraint failed") {
		return true
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return true
		}
	}
	return false
}
