package product

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// List totals come from counters, as SQLite's category_counts, not from
// counting the matches on every page (about a million index keys per page
// of "all published" at a million products): the "counts" collection
// holds one document per (list, status), {_id: key, n}, for every
// product's status under all products, each category it is directly in,
// and each category of its closure. Every write that changes what a
// product is listed under applies the difference: in the write's
// transaction on a replica set, so the counts are exact; without
// transactions, right after the write, on the compensation context (a
// crash in between leaves a count off by one until recountAll).

// countShards spreads each counter over that many documents: a write
// adds to one shard (chosen at random), a read sums them all. In a
// transaction every product write of a status would otherwise write the
// one "all" counter of that status, and concurrent transactions on one
// document conflict and retry; with shards they rarely meet.
const countShards = 8

// countKeys are the counters a product document is counted under.
func countKeys(d *doc) []string {
	if d == nil {
		return nil
	}
	keys := []string{countKey("all", "", d.Status)}
	for _, c := range d.CategoryIDs {
		keys = append(keys, countKey("direct", c, d.Status))
	}
	for _, c := range d.CategoryTree {
		keys = append(keys, countKey("tree", c, d.Status))
	}
	return keys
}

func countKey(list, category, status string) string { return list + "|" + category + "|" + status }

// queryCountKeys are the counters whose sum is q's total.
func queryCountKeys(q Query) []string {
	list := "all"
	switch {
	case q.CategoryID != "" && q.Direct:
		list = "direct"
	case q.CategoryID != "":
		list = "tree"
	}
	if q.Status != "" {
		return []string{countKey(list, q.CategoryID, string(q.Status))}
	}
	keys := make([]string, len(statuses))
	for i, st := range statuses {
		keys[i] = countKey(list, q.CategoryID, string(st))
	}
	return keys
}

// sharded are the documents of counters keys: every shard of each.
func sharded(keys []string) []string {
	out := make([]string, 0, len(keys)*countShards)
	for _, k := range keys {
		for i := range countShards {
			out = append(out, shardKey(k, i))
		}
	}
	return out
}

func shardKey(key string, shard int) string { return key + "#" + strconv.Itoa(shard) }

// recount applies the change from old to new (nil: none) to the counters.
func (s *mongoStore) recount(ctx context.Context, old, new []*doc) error {
	delta := map[string]int64{}
	for _, d := range old {
		for _, k := range countKeys(d) {
			delta[k]--
		}
	}
	for _, d := range new {
		for _, k := range countKeys(d) {
			delta[k]++
		}
	}
	var models []mongo.WriteModel
	keys := make([]string, 0, len(delta))
	for k, n := range delta {
		if n != 0 {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys) // the same order in every writer
	shard := rand.IntN(countShards)
	for _, k := range keys {
		models = append(models, mongo.NewUpdateOneModel().SetFilter(bson.D{{Key: "_id", Value: shardKey(k, shard)}}).
			SetUpdate(bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: delta[k]}}}}).SetUpsert(true))
	}
	if len(models) == 0 {
		return nil
	}
	return s.finish(ctx, func(ctx context.Context) error {
		if _, err := s.counts.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false)); err != nil {
			return fmt.Errorf("count products: %w", err)
		}
		return nil
	})
}

// total is q's number of matches: the sum of at most three counters (of
// countShards documents each).
func (s *mongoStore) total(ctx context.Context, q Query) (int, error) {
	cur, err := s.counts.Find(ctx, bson.D{{Key: "_id", Value: in(sharded(queryCountKeys(q)))}})
	if err != nil {
		return 0, fmt.Errorf("count products: %w", err)
	}
	var docs []struct {
		N int64 `bson:"n"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return 0, fmt.Errorf("count products: %w", err)
	}
	var n int64
	for _, d := range docs {
		n += d.N
	}
	return int(max(n, 0)), nil
}

// countedID marks, in "counts", that the counters have been made from
// the products (recountAll).
const countedID = "counted"

// recountAll makes the counters from the products when they have never
// been made (a database written before they existed), reading the
// products in _id order, chunk by chunk. Writes racing it can leave a
// counter off; it runs once, at the first start of a store with counters.
func (s *mongoStore) recountAll(ctx context.Context) error {
	err := s.counts.FindOne(ctx, bson.D{{Key: "_id", Value: countedID}}).Err()
	if err == nil {
		return nil
	}
	if !errors.Is(err, mongo.ErrNoDocuments) {
		return fmt.Errorf("product counters: %w", err)
	}
	n := map[string]int64{}
	after := ""
	for {
		cur, err := s.products.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}}}, options.Find().
			SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(sweepChunk).
			SetProjection(bson.D{{Key: "status", Value: 1}, {Key: "category_ids", Value: 1}, {Key: "category_tree", Value: 1}}))
		if err != nil {
			return fmt.Errorf("product counters: %w", err)
		}
		var docs []doc
		if err := cur.All(ctx, &docs); err != nil {
			return fmt.Errorf("product counters: %w", err)
		}
		for i := range docs {
			for _, k := range countKeys(&docs[i]) {
				n[k]++
			}
		}
		if len(docs) < sweepChunk {
			break
		}
		after = docs[len(docs)-1].ID
	}
	models := []mongo.WriteModel{}
	for k, v := range n {
		models = append(models, mongo.NewUpdateOneModel().SetFilter(bson.D{{Key: "_id", Value: shardKey(k, 0)}}).
			SetUpdate(bson.D{{Key: "$set", Value: bson.D{{Key: "n", Value: v}}}}).SetUpsert(true))
	}
	models = append(models, mongo.NewUpdateOneModel().SetFilter(bson.D{{Key: "_id", Value: countedID}}).
		SetUpdate(bson.D{{Key: "$set", Value: bson.D{{Key: "n", Value: int64(1)}}}}).SetUpsert(true))
	for start := 0; start < len(models); start += sweepChunk {
		if _, err := s.counts.BulkWrite(ctx, models[start:min(start+sweepChunk, len(models))], options.BulkWrite().SetOrdered(false)); err != nil {
			return fmt.Errorf("product counters: %w", err)
		}
	}
	return nil
}
