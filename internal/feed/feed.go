package feed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/shopengine/shop/internal/store"
)

// Change is one entry of a read model: the latest state of one key.
type Change struct {
	Key     string
	Seq     int64  // position in the feed; a rewrite of a key moves it to a new seq
	Version int64  // the source entity's version (from its event)
	Deleted bool   // a tombstone: tailers must drop the key
	Body    []byte // JSON; empty for a tombstone
}

// Log is one named feed in a module's store (table or collection
// "feed_<name>"). It is safe for concurrent use, and several processes may
// write and read the same feed.
type Log interface {
	// Name is the feed's name, as given to Open.
	Name() string
	// Put writes key's body at version unless the stored version is >=
	// version (an old or redelivered event): then applied=false and nothing
	// changes. Each applied write gets the next seq.
	Put(ctx context.Context, key string, version int64, body []byte) (applied bool, err error)
	// Delete writes a tombstone at version under the same rule.
	Delete(ctx context.Context, key string, version int64) (applied bool, err error)
	// Get returns key's entry, a tombstone included; store.ErrNotFound when
	// the key was never written or its tombstone was compacted.
	Get(ctx context.Context, key string) (Change, error)
	// Snapshot returns every live (non-deleted) entry, in no particular
	// order, and the seq to tail from: every change above it is not in the
	// snapshot or is in it and will come again.
	Snapshot(ctx context.Context) ([]Change, int64, error)
	// Since returns entries (tombstones included) with seq > after, in seq
	// order, at most limit (1 ≤ limit ≤ MaxLimit).
	Since(ctx context.Context, after int64, limit int) ([]Change, error)
	// Compact removes tombstones written more than olderThan ago and
	// reports how many. See the package doc for why that is safe.
	Compact(ctx context.Context, olderThan time.Duration) (int64, error)
}

// gapless is implemented by logs whose seq allocation and write commit as
// one step (SQLite): a tailer that reads seq n has every committed seq below
// n, so a missing one is a permanent hole (a rewritten key, a compacted
// tombstone), never a write in flight, and the cursor may pass it at once.
type gapless interface{ gapless() bool }

// Limits on what Put accepts, so that bad input fails clearly instead of
// deep in a driver (MongoDB's _id index takes at most 1 KiB keys).
const (
	MaxKeySize  = 512
	MaxBodySize = 1 << 20
	// MaxLimit bounds one Since read.
	MaxLimit = 10000
)

// Defaults: the tailer's and the compaction's.
const (
	DefaultPoll     = 100 * time.Millisecond
	DefaultGrace    = 2 * time.Second
	DefaultLookback = 1000
	DefaultBatch    = 1000
	// DefaultTombstoneAge is how long Compact should keep tombstones.
	DefaultTombstoneAge = time.Hour
	// DefaultResync must stay well below the tombstone age: a tailer cut
	// off from its store for longer reloads a snapshot instead of tailing.
	DefaultResync     = 30 * time.Minute
	DefaultStaleAfter = 10 * time.Second
)

// ErrInvalid marks a Put or Delete refused for its input (empty or
// oversize key, non-positive version, body that is not JSON).
var ErrInvalid = errors.New("invalid")

// nameRe keeps feed names usable in table and collection names.
var nameRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// Open returns the feed name of module on db's backend, creating its table
// (SQLite, in the module's own file) or indexes (MongoDB, in the module's
// database). Every process that serves the read model opens it.
func Open(ctx context.Context, db *store.DB, module, name string) (Log, error) {
	if !nameRe.MatchString(name) {
		return nil, fmt.Errorf("feed %q: invalid name (want lower-case letters, digits and _)", name)
	}
	switch db.Kind() {
	case store.KindSQLite:
		return openSQLite(ctx, db, module, name)
	case store.KindMongo:
		return openMongo(ctx, db, module, name)
	}
	return nil, fmt.Errorf("feed %s: unsupported store kind %q", name, db.Kind())
}

func table(name string) string { return "feed_" + name }

// checkedWrite is Put and Delete on every backend: the input checked, then
// the backend's one write, its errors named after the feed and the key.
func checkedWrite(ctx context.Context, name string, write func(ctx context.Context, key string, version int64, deleted bool, body []byte) (bool, error),
	key string, version int64, deleted bool, body []byte) (bool, error) {
	what := "put"
	if deleted {
		what = "delete"
	}
	if err := checkPut(key, version, body, deleted); err != nil {
		return false, fmt.Errorf("feed %s: %s %q: %w", name, what, key, err)
	}
	ok, err := write(ctx, key, version, deleted, body)
	if err != nil {
		return false, fmt.Errorf("feed %s: %s %s: %w", name, what, key, err)
	}
	return ok, nil
}

// checkPut validates a write before it reaches the store.
func checkPut(key string, version int64, body []byte, tombstone bool) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty key", ErrInvalid)
	case len(key) > MaxKeySize:
		return fmt.Errorf("%w: key of %d bytes exceeds %d", ErrInvalid, len(key), MaxKeySize)
	case !utf8.ValidString(key):
		return fmt.Errorf("%w: key is not UTF-8", ErrInvalid)
	case version <= 0:
		return fmt.Errorf("%w: version %d, want > 0", ErrInvalid, version)
	case tombstone:
		return nil
	case len(body) == 0:
		return fmt.Errorf("%w: empty body (use Delete for a tombstone)", ErrInvalid)
	case len(body) > MaxBodySize:
		return fmt.Errorf("%w: body of %d bytes exceeds %d", ErrInvalid, len(body), MaxBodySize)
	case !json.Valid(body):
		return fmt.Errorf("%w: body is not JSON", ErrInvalid)
	}
	return nil
}

func checkLimit(limit int) error {
	if limit < 1 || limit > MaxLimit {
		return fmt.Errorf("%w: limit %d, want 1..%d", ErrInvalid, limit, MaxLimit)
	}
	return nil
}

// Entry is one write of Write: a body under key at version, or a
// tombstone (Deleted, no body).
type Entry struct {
	Key     string
	Version int64
	Deleted bool
	Body    []byte
}

// batchWriter is a Log that commits several writes in one transaction
// (SQLite): a burst of events costs one commit instead of one each.
type batchWriter interface {
	writeAll(ctx context.Context, entries []Entry) ([]bool, error)
}

// Write writes entries in order, as Put and Delete would one by one, and
// reports which were applied. Every entry is checked first: one that Put
// would refuse (ErrInvalid) fails the call and nothing is written. On
// SQLite the writes commit together or not at all; on MongoDB, which has
// no transactions to offer here, they are written one after another, so
// an error may leave the first ones written (harmless: a write is
// idempotent by version, and the caller redoes them).
func Write(ctx context.Context, l Log, entries []Entry) ([]bool, error) {
	for i, e := range entries {
		if err := checkPut(e.Key, e.Version, e.Body, e.Deleted); err != nil {
			return nil, fmt.Errorf("feed %s: write [%d] %q: %w", l.Name(), i, e.Key, err)
		}
	}
	if bw, ok := l.(batchWriter); ok {
		applied, err := bw.writeAll(ctx, entries)
		if err != nil {
			return nil, fmt.Errorf("feed %s: write %d entries: %w", l.Name(), len(entries), err)
		}
		return applied, nil
	}
	applied := make([]bool, len(entries))
	for i, e := range entries {
		var err error
		if e.Deleted {
			applied[i], err = l.Delete(ctx, e.Key, e.Version)
		} else {
			applied[i], err = l.Put(ctx, e.Key, e.Version, e.Body)
		}
		if err != nil {
			return nil, err
		}
	}
	return applied, nil
}
