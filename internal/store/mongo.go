package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readconcern"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"
)

// moduleDatabase pins every module database to primary reads, majority
// writes and majority read concern, whatever the URL or the cluster's
// defaults say: the stores' version-guarded loops (read a version, write
// conditionally on it) and their "re-read after an unclear error" depend
// on reading what was acknowledged. With secondaryPreferred a loop reads a
// stale version and spins on conflicts; with w:1 an acknowledged write
// can be rolled back by a failover; with read concern local a reader can
// see a write that is later rolled back. A URL may still tune everything
// else (timeouts, pool, TLS); these three it cannot loosen.
var moduleDatabase = options.Database().
	SetReadPreference(readpref.Primary()).
	SetWriteConcern(writeconcern.Majority()).
	SetReadConcern(readconcern.Majority())

// Indexes lists a module's MongoDB indexes by collection name.
type Indexes map[string][]mongo.IndexModel

// Mongo returns the module's database (prefix + module, "shop_cart" by
// default) after creating its indexes. Creating an index that exists with the
// same definition is a no-op, so every process may do this at start; a
// changed definition under the same name fails here, loudly, instead of
// leaving the old index in place.
func (db *DB) Mongo(ctx context.Context, module string, indexes Indexes) (*mongo.Database, error) {
	if db.kind != KindMongo {
		return nil, fmt.Errorf("store: %s is not a mongodb store", db.url)
	}
	if err := checkModule(module); err != nil {
		return nil, err
	}
	name := db.cfg.prefix + module
	if len(name) > 63 {
		return nil, fmt.Errorf("store: database name %q is longer than 63 bytes", name)
	}
	db.mu.Lock()
	closed := db.closed
	db.mu.Unlock()
	if closed {
		return nil, errClosed
	}
	mdb := db.client.Database(name, moduleDatabase)
	// One index per command: FerretDB v1, the wire-protocol test server,
	// panics (and drops the connection) on a createIndexes that repeats two
	// or more existing indexes, which is what every restart and every
	// second process sends.
	for coll, models := range indexes {
		for _, m := range models {
			if _, err := mdb.Collection(coll).Indexes().CreateOne(ctx, m); err != nil {
				return nil, fmt.Errorf("store: indexes on %s.%s: %w", name, coll, err)
			}
		}
	}
	if len(indexes) > 0 {
		db.cfg.logger.DebugContext(ctx, "store indexes ensured", "database", name, "collections", len(indexes))
	}
	return mdb, nil
}

// mongoClientOptions builds the client options: our timeouts first, then the
// URL (so replicaSet, readPreference, w, connectTimeoutMS... in it win), then
// the caller's adjustments.
func mongoClientOptions(rawURL string, cfg config) (*options.ClientOptions, error) {
	co := options.Client().
		SetConnectTimeout(cfg.timeout).
		SetServerSelectionTimeout(cfg.timeout).
		ApplyURI(rawURL)
	for _, fn := range cfg.mongoOpts {
		fn(co)
	}
	if err := co.Validate(); err != nil {
		return nil, err
	}
	return co, nil
}

// FindOne decodes the document of coll matching filter as D; ErrNotFound
// when none matches. It is the single-document read of every MongoDB store.
func FindOne[D any](ctx context.Context, coll *mongo.Collection, filter any) (D, error) {
	var d D
	err := coll.FindOne(ctx, filter).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return d, ErrNotFound
	}
	if err != nil {
		return d, fmt.Errorf("find in %s: %w", coll.Name(), err)
	}
	return d, nil
}

// FindAll decodes the documents of coll matching filter, in sort order, as
// D and converts each with conv: the list read of every MongoDB store.
func FindAll[D, T any](ctx context.Context, coll *mongo.Collection, filter, sort any, conv func(D) T) ([]T, error) {
	return FindN(ctx, coll, filter, sort, 0, conv)
}

// FindN is FindAll for at most limit documents (0: no limit): the page
// read of a keyset list.
func FindN[D, T any](ctx context.Context, coll *mongo.Collection, filter, sort any, limit int, conv func(D) T) ([]T, error) {
	find := options.Find().SetSort(sort)
	if limit > 0 {
		find.SetLimit(int64(limit))
	}
	cur, err := coll.Find(ctx, filter, find)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", coll.Name(), err)
	}
	var docs []D
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list %s: %w", coll.Name(), err)
	}
	out := make([]T, len(docs))
	for i, d := range docs {
		out[i] = conv(d)
	}
	return out, nil
}

// Reorder puts ids, in that order, at positions 0, 1, … and, when
// parentField is set, under parentID: one ordered bulk write of
// single-document conditional updates (the subset FerretDB honours), which
// touches updated_at only of the documents that move. It is not atomic
// across documents. ReorderRows is its SQL counterpart.
func Reorder(ctx context.Context, coll *mongo.Collection, parentField, parentID string, ids []string, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	models := make([]mongo.WriteModel, len(ids))
	for i, id := range ids {
		moved := bson.D{{Key: "position", Value: bson.D{{Key: "$ne", Value: i}}}}
		set := bson.D{{Key: "position", Value: i}, {Key: "updated_at", Value: now}}
		if parentField != "" {
			moved = bson.D{{Key: "$or", Value: bson.A{moved, bson.D{{Key: parentField, Value: bson.D{{Key: "$ne", Value: parentID}}}}}}}
			set = append(set, bson.E{Key: parentField, Value: parentID})
		}
		models[i] = mongo.NewUpdateOneModel().
			SetFilter(append(bson.D{{Key: "_id", Value: id}}, moved...)).
			SetUpdate(bson.D{{Key: "$set", Value: set}})
	}
	if _, err := coll.BulkWrite(ctx, models); err != nil {
		return fmt.Errorf("reorder %s under %q: %w", coll.Name(), parentID, err)
	}
	return nil
}
