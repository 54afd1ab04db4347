package seo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/feed"
	"github.com/shopengine/shop/internal/store"
)

// overrideDoc is an override as stored in MongoDB.
type overrideDoc struct {
	ID          string    `bson:"_id"`
	Title       string    `bson:"title"`
	Description string    `bson:"description"`
	Canonical   string    `bson:"canonical"`
	Robots      string    `bson:"robots"`
	OGImage     string    `bson:"og_image"`
	Version     int64     `bson:"version"`
	UpdatedAt   time.Time `bson:"updated_at"`
}

func (d overrideDoc) override() contract.SEOOverride {
	return contract.SEOOverride{SEOOverrideKey: keyOf(d.ID), Title: d.Title, Description: d.Description, Canonical: d.Canonical,
		Robots: d.Robots, OGImage: d.OGImage, Version: d.Version, UpdatedAt: d.UpdatedAt.UTC()}
}

// mongoStore keeps overrides in "overrides" of shop_seo, beside the
// registry's feed collections. Each write is one single-document
// operation whose filter names the expected version.
type mongoStore struct {
	overrides *mongo.Collection
	registry  feed.Log
}

func openMongoStore(ctx context.Context, db *store.DB) (*mongoStore, error) {
	mdb, err := db.Mongo(ctx, contract.SEOQueue, nil)
	if err != nil {
		return nil, fmt.Errorf("open seo store: %w", err)
	}
	reg, err := feed.Open(ctx, db, contract.SEOQueue, registryFeed)
	if err != nil {
		return nil, err
	}
	return &mongoStore{overrides: mdb.Collection("overrides"), registry: reg}, nil
}

func (s *mongoStore) Registry() feed.Log { return s.registry }

func (s *mongoStore) Override(ctx context.Context, key string) (contract.SEOOverride, error) {
	d, err := store.FindOne[overrideDoc](ctx, s.overrides, bson.D{{Key: "_id", Value: key}})
	if err != nil {
		return contract.SEOOverride{}, fmt.Errorf("override %s: %w", key, err)
	}
	return d.override(), nil
}

func (s *mongoStore) PutOverride(ctx context.Context, key string, o contract.SEOOverride, expected int64) error {
	d := overrideDoc{ID: key, Title: o.Title, Description: o.Description, Canonical: o.Canonical, Robots: o.Robots,
		OGImage: o.OGImage, Version: o.Version, UpdatedAt: o.UpdatedAt}
	if expected == 0 {
		_, err := s.overrides.InsertOne(ctx, d)
		if store.IsDuplicate(err) {
			return fmt.Errorf("create override %s: %w", key, store.ErrDuplicate)
		}
		if err != nil {
			return fmt.Errorf("create override %s: %w", key, err)
		}
		return nil
	}
	res, err := s.overrides.ReplaceOne(ctx, bson.D{{Key: "_id", Value: key}, {Key: "version", Value: expected}}, d)
	if err != nil {
		return fmt.Errorf("update override %s: %w", key, err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("update override %s: %w", key, store.MissedDocument(ctx, s.overrides, key))
	}
	return nil
}

func (s *mongoStore) DeleteOverride(ctx context.Context, key string, expected int64) error {
	filter := bson.D{{Key: "_id", Value: key}}
	if expected > 0 {
		filter = append(filter, bson.E{Key: "version", Value: expected})
	}
	res, err := s.overrides.DeleteOne(ctx, filter)
	if err != nil {
		return fmt.Errorf("delete override %s: %w", key, err)
	}
	if res.DeletedCount == 0 {
		return fmt.Errorf("delete override %s: %w", key, store.MissedDocument(ctx, s.overrides, key))
	}
	return nil
}
