package product

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/shopengine/shop/internal/outbox"
)

// sweepChunk is how many reservations or stock documents the sweep looks
// at per round trip.
const sweepChunk = 1000

// Sweep removes what a write without transactions can leave behind when
// it dies between its steps: SKU reservations and stock documents made
// before `before` whose product is gone or does not list them. Younger
// ones may belong to a write still in flight and are left alone. Stock
// documents go with outbox.DeleteWith, so stock events still pending in
// them are published, not lost. On a replica set the writes are
// transactions and there is nothing to find; the sweep then costs one
// read of each collection.
func (s *mongoStore) Sweep(ctx context.Context, before time.Time) (int, error) {
	n, err := s.sweep(ctx, s.skus, before, func(p doc, id string) bool {
		for _, v := range p.Variants {
			if v.SKU == id {
				return true
			}
		}
		return false
	}, func(ctx context.Context, ids []string) error {
		_, err := s.skus.DeleteMany(ctx, bson.D{{Key: "_id", Value: in(ids)}})
		return err
	})
	if err != nil {
		return n, fmt.Errorf("sweep SKU reservations: %w", err)
	}
	m, err := s.sweep(ctx, s.stock, before, func(p doc, id string) bool {
		for _, v := range p.Variants {
			if v.ID == id {
				return true
			}
		}
		return false
	}, func(ctx context.Context, ids []string) error {
		_, err := outbox.DeleteWith(ctx, s.db, s.stock.Name(), ids)
		return err
	})
	if err != nil {
		return n + m, fmt.Errorf("sweep stock: %w", err)
	}
	return n + m, nil
}

// sweep walks coll's documents ({_id, product_id, at}) made before
// `before` in chunks, and removes those that listed says their product
// does not hold.
func (s *mongoStore) sweep(ctx context.Context, coll *mongo.Collection, before time.Time,
	listed func(p doc, id string) bool, remove func(ctx context.Context, ids []string) error,
) (int, error) {
	old := bson.D{{Key: "$or", Value: bson.A{
		bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: before}}}},
		bson.D{{Key: "at", Value: bson.D{{Key: "$exists", Value: false}}}},
	}}}
	removed, after := 0, ""
	for {
		filter := append(bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}}}, old...)
		cur, err := coll.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(sweepChunk).
			SetProjection(bson.D{{Key: "product_id", Value: 1}}))
		if err != nil {
			return removed, err
		}
		var docs []struct {
			ID        string `bson:"_id"`
			ProductID string `bson:"product_id"`
		}
		if err := cur.All(ctx, &docs); err != nil {
			return removed, err
		}
		if len(docs) == 0 {
			return removed, nil
		}
		after = docs[len(docs)-1].ID
		var pids []string
		for _, d := range docs {
			pids = append(pids, d.ProductID)
		}
		pcur, err := s.products.Find(ctx, bson.D{{Key: "_id", Value: in(pids)}}, options.Find().SetProjection(bson.D{{Key: "variants", Value: 1}}))
		if err != nil {
			return removed, err
		}
		var ps []doc
		if err := pcur.All(ctx, &ps); err != nil {
			return removed, err
		}
		byID := make(map[string]doc, len(ps))
		for _, p := range ps {
			byID[p.ID] = p
		}
		var orphans []string
		for _, d := range docs {
			if p, ok := byID[d.ProductID]; !ok || !listed(p, d.ID) {
				orphans = append(orphans, d.ID)
			}
		}
		if len(orphans) > 0 {
			if err := remove(ctx, orphans); err != nil {
				return removed, err
			}
			removed += len(orphans)
		}
		if len(docs) < sweepChunk {
			return removed, nil
		}
	}
}
