package cart

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
)

// mongoStore keeps one document per cart in "carts", its lines embedded,
// written whole by single-document operations in the subset FerretDB
// honours: an insert (the unique owner key makes a second cart of one
// owner a duplicate), a replace filtered on _id and version (the
// compare-and-set of every change), deletes. With FerretDB the client
// must use one connection for the compare-and-set to hold under
// concurrency (store.WithMongoClientOptions; storetest does it).
type mongoStore struct {
	db    *mongo.Database
	carts *mongo.Collection
}

func openMongoStore(ctx context.Context, db *store.DB) (*mongoStore, error) {
	idx := func(name string, unique bool, keys ...string) mongo.IndexModel {
		d := bson.D{}
		for _, k := range keys {
			d = append(d, bson.E{Key: k, Value: 1})
		}
		return mongo.IndexModel{Keys: d, Options: options.Index().SetName(name).SetUnique(unique)}
	}
	mdb, err := db.Mongo(ctx, contract.CartQueue, store.Indexes{
		"carts": {idx("key_unique", true, "key"), idx("by_updated", false, "updated_at", "_id"), idx("by_expiry", false, "expires_at"), outbox.Index()},
	})
	if err != nil {
		return nil, err
	}
	return &mongoStore{db: mdb, carts: mdb.Collection("carts")}, nil
}

func (s *mongoStore) Outbox() outbox.Source { return outbox.Mongo(s.db, s.carts.Name()) }

func (s *mongoStore) ByOwner(ctx context.Context, key string) (Stored, error) {
	c, err := store.FindOne[Stored](ctx, s.carts, bson.D{{Key: "key", Value: key}})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return c, fmt.Errorf("load cart: %w", err)
	}
	return normalTimes(c), err
}

// normalTimes gives decoded times the location the SQLite store gives
// them (UTC), so both backends read back what was written.
func normalTimes(c Stored) Stored {
	c.UpdatedAt = c.UpdatedAt.UTC()
	if !c.ExpiresAt.IsZero() {
		c.ExpiresAt = c.ExpiresAt.UTC()
	}
	return c
}

func (s *mongoStore) Insert(ctx context.Context, c Stored) error {
	_, err := s.carts.InsertOne(ctx, c)
	if store.IsDuplicate(err) {
		return fmt.Errorf("insert cart %s: %w", c.ID, store.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("insert cart %s: %w", c.ID, err)
	}
	return nil
}

func (s *mongoStore) Save(ctx context.Context, c Stored) error {
	res, err := s.carts.ReplaceOne(ctx, bson.D{{Key: "_id", Value: c.ID}, {Key: "version", Value: c.Version - 1}}, c)
	if err != nil {
		return fmt.Errorf("save cart %s: %w", c.ID, err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("save cart %s at version %d: %w", c.ID, c.Version-1, store.MissedDocument(ctx, s.carts, c.ID))
	}
	return nil
}

func (s *mongoStore) Delete(ctx context.Context, id string) error {
	if _, err := s.carts.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}}); err != nil {
		return fmt.Errorf("delete cart %s: %w", id, err)
	}
	return nil
}

func (s *mongoStore) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	res, err := s.carts.DeleteMany(ctx, bson.D{{Key: "expires_at", Value: bson.D{{Key: "$lt", Value: now}}}})
	if err != nil {
		return 0, fmt.Errorf("sweep expired carts: %w", err)
	}
	return int(res.DeletedCount), nil
}

func (s *mongoStore) List(ctx context.Context, after *Position, limit int) ([]Stored, int, error) {
	total, err := s.carts.CountDocuments(ctx, bson.D{})
	if err != nil {
		return nil, 0, fmt.Errorf("count carts: %w", err)
	}
	filter := bson.D{}
	if after != nil {
		filter = bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: "updated_at", Value: bson.D{{Key: "$gt", Value: after.UpdatedAt}}}},
			bson.D{{Key: "updated_at", Value: after.UpdatedAt}, {Key: "_id", Value: bson.D{{Key: "$gt", Value: after.ID}}}},
		}}}
	}
	cur, err := s.carts.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "updated_at", Value: 1}, {Key: "_id", Value: 1}}).
		SetLimit(int64(limit)).SetProjection(bson.D{{Key: outbox.Field, Value: 0}}))
	if err != nil {
		return nil, 0, fmt.Errorf("list carts: %w", err)
	}
	var docs []Stored
	if err := cur.All(ctx, &docs); err != nil {
		return nil, 0, fmt.Errorf("list carts: %w", err)
	}
	for i := range docs {
		docs[i] = normalTimes(docs[i])
	}
	return docs, int(total), nil
}
