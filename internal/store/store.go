// Package store opens the database that the modules keep their data in.
//
// One URL picks the backend for the whole process:
//
//	sqlite:///abs/dir, sqlite://./rel/dir   embedded SQLite, one file per module (<dir>/<module>.db)
//	mongodb://h1,h2/?replicaSet=rs0         MongoDB, one database per module (shop_<module>)
//	mongodb+srv://cluster.example.net/      MongoDB via DNS seed list
//
// A module never sees the URL: it asks the [DB] for its own *sql.DB (with its
// migrations applied) or its own *mongo.Database (with its indexes ensured),
// and keeps to it, so the data of each module stays its own on one machine as
// on a cluster. Test suites get every reachable backend from package
// storetest.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/shopengine/shop/internal/redact"
)

// DefaultURL is used when no database URL is configured: a data directory
// beside the working directory, so a fresh machine needs no server.
const DefaultURL = "sqlite://./shop-data"

// DefaultPrefix is prepended to the module name to form its MongoDB database.
const DefaultPrefix = "shop_"

// DefaultTimeout bounds connecting to MongoDB and selecting a server, so that
// an unreachable cluster fails a request (or readiness) instead of hanging it.
const DefaultTimeout = 10 * time.Second

// Kind is the backend a [DB] talks to.
type Kind string

// The backends.
const (
	KindSQLite Kind = "sqlite"
	KindMongo  Kind = "mongodb"
)

// Option tunes [Open].
type Option func(*config)

type config struct {
	logger    *slog.Logger
	prefix    string
	timeout   time.Duration
	mongoOpts []func(*options.ClientOptions)
}

// WithLogger sets the logger for opening, migrations and index builds
// (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithDatabasePrefix sets the prefix of the per-module MongoDB databases
// (default "shop_"). Tests use a unique prefix to get an isolated store on a
// shared server; two shops may share one cluster with different prefixes.
func WithDatabasePrefix(p string) Option { return func(c *config) { c.prefix = p } }

// WithTimeout sets the MongoDB connect and server-selection timeouts
// (default 10s). connectTimeoutMS / serverSelectionTimeoutMS in the URL win.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithMongoClientOptions lets the caller adjust the MongoDB client options
// after the URL has been applied; it has the last word. storetest uses it to
// pin FerretDB clients to one connection.
func WithMongoClientOptions(fn func(*options.ClientOptions)) Option {
	return func(c *config) { c.mongoOpts = append(c.mongoOpts, fn) }
}

// DB is the process-wide handle on the configured backend. Open it once per
// process and hand it to every module; it is safe for concurrent use.
type DB struct {
	kind   Kind
	url    string // redacted, for messages
	cfg    config
	dir    string        // KindSQLite: absolute data directory
	client *mongo.Client // KindMongo

	mu     sync.Mutex
	sqls   map[string]*sql.DB // KindSQLite: per module, opened on first use
	closed bool
}

var prefixRe = regexp.MustCompile(`^[A-Za-z0-9_-]*$`)

// Open parses rawURL and prepares the backend. For SQLite it resolves the
// directory (relative to the working directory, now), creates it if missing
// and checks that it is readable and writable, so that a bad directory fails
// at start rather than at the first write. For MongoDB it builds the client
// without contacting the server (the driver connects lazily, in the
// background; a mongodb+srv URL is resolved here, through DNS); call
// [DB.Ping] to wait for the cluster.
func Open(ctx context.Context, rawURL string, opts ...Option) (*DB, error) {
	cfg := config{logger: slog.Default(), prefix: DefaultPrefix, timeout: DefaultTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	if !prefixRe.MatchString(cfg.prefix) {
		return nil, fmt.Errorf("store: database prefix %q: only letters, digits, _ and - are allowed", cfg.prefix)
	}
	rawURL = strings.TrimSpace(rawURL)
	kind, dir, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	db := &DB{kind: kind, url: redact.URL(rawURL), cfg: cfg, sqls: map[string]*sql.DB{}}
	switch kind {
	case KindSQLite:
		if db.dir, err = prepareDir(dir); err != nil {
			return nil, err
		}
		db.url = SQLiteURL(db.dir)
	case KindMongo:
		co, err := mongoClientOptions(rawURL, cfg)
		if err != nil {
			return nil, fmt.Errorf("store: mongodb URL %s: %w", db.url, err)
		}
		if db.client, err = mongo.Connect(co); err != nil {
			return nil, fmt.Errorf("store: connect %s: %w", db.url, err)
		}
	}
	cfg.logger.InfoContext(ctx, "store opened", "kind", kind, "url", db.url)
	return db, nil
}

// SQLiteURL returns the database URL of a SQLite data directory, escaping
// what URL syntax would otherwise misread (%, ?, # and the like), so that
// Open(SQLiteURL(dir)) uses exactly dir. A relative dir is resolved by Open.
func SQLiteURL(dir string) string {
	if !filepath.IsAbs(dir) && !strings.HasPrefix(dir, ".") {
		dir = "./" + dir
	}
	return "sqlite://" + (&url.URL{Path: dir}).EscapedPath()
}

// parseURL splits a database URL into its kind and, for SQLite, the
// directory as written (not yet made absolute).
func parseURL(raw string) (Kind, string, error) {
	raw = strings.TrimSpace(raw)
	switch {
	case raw == "":
		return "", "", errors.New("store: empty database URL (want sqlite:///dir or mongodb://host)")
	case strings.HasPrefix(raw, "sqlite://"):
		if strings.ContainsAny(raw, "?#") {
			return "", "", fmt.Errorf("store: %q: sqlite URLs take no query or fragment (escape ? and # in a path as %%3F and %%23)", raw)
		}
		u, err := url.Parse(raw)
		if err != nil {
			return "", "", fmt.Errorf("store: bad sqlite URL: %w", err)
		}
		if u.User != nil {
			return "", "", fmt.Errorf("store: %q: sqlite URLs take no user", raw)
		}
		// sqlite://./rel parses as host "." and path "/rel": rejoin them.
		dir := u.Host + u.Path
		if dir == "" {
			return "", "", fmt.Errorf("store: %q names no directory (want sqlite:///abs/dir or sqlite://./rel/dir)", raw)
		}
		return KindSQLite, dir, nil
	case strings.HasPrefix(raw, "mongodb://"), strings.HasPrefix(raw, "mongodb+srv://"):
		return KindMongo, "", nil
	}
	scheme, _, ok := strings.Cut(raw, "://")
	if !ok {
		return "", "", fmt.Errorf("store: %q is not a URL (want sqlite:///dir or mongodb://host)", redact.URL(raw))
	}
	return "", "", fmt.Errorf("store: unknown database URL scheme %q (want sqlite, mongodb or mongodb+srv)", scheme)
}

// prepareDir makes dir absolute, creates it if needed and proves that files
// can be listed, created and removed in it.
func prepareDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("store: sqlite directory %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return "", fmt.Errorf("store: create sqlite directory: %w", err)
	}
	if _, err := os.ReadDir(abs); err != nil {
		return "", fmt.Errorf("store: sqlite directory is not readable: %w", err)
	}
	f, err := os.CreateTemp(abs, ".write-check-*")
	if err != nil {
		return "", fmt.Errorf("store: sqlite directory is not writable: %w", err)
	}
	f.Close()
	if err := os.Remove(f.Name()); err != nil {
		return "", fmt.Errorf("store: sqlite directory is not writable: %w", err)
	}
	return abs, nil
}

// moduleRe keeps module names usable as file names and database names.
var moduleRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

func checkModule(module string) error {
	if !moduleRe.MatchString(module) {
		return fmt.Errorf("store: invalid module name %q (want lower-case letters, digits and _)", module)
	}
	return nil
}

// Logger is the logger the store was opened with, for the module stores'
// own reports (a compensation that failed, a revision left behind).
func (db *DB) Logger() *slog.Logger { return db.cfg.logger }

// Kind reports the backend, for the rare caller that must choose an
// implementation (a module picking its SQLite or MongoDB store).
func (db *DB) Kind() Kind { return db.kind }

// OpenModule opens a module's store with the opener of db's backend:
// sqlite for SQLite, mongo for MongoDB. It is every module's OpenStore, so
// that a new backend is added here once and not in each module:
//
//	func OpenStore(ctx context.Context, db *store.DB) (Store, error) {
//		return store.OpenModule[Store](ctx, db, contract.CartQueue, openSQLStore, openMongoStore)
//	}
//
// S is the module's store interface; the openers may return their
// concrete types (L and M), which Go cannot check against S at compile
// time, so a store type that does not implement S is an error here, which
// every module's store tests (run on each backend) hit at once. Errors
// name the module.
func OpenModule[S, L, M any](ctx context.Context, db *DB, module string,
	sqlite func(context.Context, *DB) (L, error), mongo func(context.Context, *DB) (M, error),
) (S, error) {
	var zero S
	var opened any
	var err error
	switch db.Kind() {
	case KindSQLite:
		opened, err = sqlite(ctx, db)
	case KindMongo:
		opened, err = mongo(ctx, db)
	default:
		return zero, fmt.Errorf("%s store: unsupported backend %q", module, db.Kind())
	}
	if err != nil {
		return zero, fmt.Errorf("%s store on %s: %w", module, db.Kind(), err)
	}
	s, ok := opened.(S)
	if !ok {
		return zero, fmt.Errorf("%s store: the %s store %T does not implement %v", module, db.Kind(), opened, reflect.TypeFor[S]())
	}
	return s, nil
}

// String returns the URL with any password hidden, for logs.
func (db *DB) String() string { return db.url }

// Dir returns the absolute SQLite data directory, or "" for MongoDB.
func (db *DB) Dir() string { return db.dir }

// Ping checks that the backend answers, for readiness probes: every opened
// SQLite module file, or the MongoDB deployment under the URL's read
// preference.
func (db *DB) Ping(ctx context.Context) error {
	if db.kind == KindMongo {
		if err := db.client.Ping(ctx, nil); err != nil {
			return fmt.Errorf("store: ping %s: %w", db.url, err)
		}
		return nil
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return errClosed
	}
	if _, err := os.Stat(db.dir); err != nil {
		return fmt.Errorf("store: sqlite directory: %w", err)
	}
	for module, s := range db.sqls {
		if err := s.PingContext(ctx); err != nil {
			return fmt.Errorf("store: ping sqlite %s: %w", module, err)
		}
	}
	return nil
}

var errClosed = errors.New("store: closed")

// Close closes every module's SQLite handle or disconnects from MongoDB.
// Handles returned earlier become unusable. Close is idempotent.
func (db *DB) Close(ctx context.Context) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return nil
	}
	db.closed = true
	var errs []error
	for module, s := range db.sqls {
		if err := s.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close sqlite %s: %w", module, err))
		}
	}
	db.sqls = nil
	if db.client != nil {
		if err := db.client.Disconnect(ctx); err != nil {
			errs = append(errs, fmt.Errorf("disconnect %s: %w", db.url, err))
		}
	}
	return errors.Join(errs...)
}

// Now is the current time as every backend stores it exactly: UTC at
// millisecond precision (MongoDB's dates), so a value read back equals the
// value written on SQLite and MongoDB alike.
func Now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }
