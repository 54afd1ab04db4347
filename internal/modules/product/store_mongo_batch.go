package product

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/shopengine/shop/internal/store"
)

// Insert of several products (create_many) is batched: one $in lookup of
// the slugs, then one unordered InsertMany each of the SKU reservations,
// the stock and the product documents, instead of four round trips per
// product. The items the batch cannot settle (a slug or SKU taken, where
// the item may retry with its next candidate; a slug twice in the batch)
// go through the one-by-one path (insertAll) afterwards. On a replica set
// the batch is one transaction (a conflict in it sends every item down
// the one-by-one path). On a hard error the results so far come back with
// the error: the products created (whose events are committed in their
// documents, so the relay announces them) and, for the rest, that error.
func (s *mongoStore) Insert(ctx context.Context, items []NewProduct) ([]Inserted, error) {
	if len(items) < 2 {
		return s.insertOneByOne(ctx, items)
	}
	out := make([]Inserted, len(items))
	settled, err := s.insertBatch(ctx, items, out)
	if err != nil {
		return failRest(out, settled, err), err
	}
	var rest []int
	for i := range items {
		if !settled[i] {
			rest = append(rest, i)
		}
	}
	if len(rest) == 0 {
		return out, nil
	}
	sub := make([]NewProduct, len(rest))
	for k, i := range rest {
		sub[k] = items[i]
	}
	res, err := s.insertOneByOne(ctx, sub)
	for k, i := range rest {
		if k < len(res) {
			out[i], settled[i] = res[k], res[k].ID != "" && res[k].Err == nil || res[k].Skipped
		}
	}
	if err != nil {
		return failRest(out, settled, err), err
	}
	return out, nil
}

// insertOneByOne is insertAll on this store, keeping what it created when
// it stops on a hard error.
func (s *mongoStore) insertOneByOne(ctx context.Context, items []NewProduct) ([]Inserted, error) {
	var done []Inserted
	for i := range items {
		res, err := insertAll(ctx, items[i:i+1], s.slugOwner, s.insert)
		if err != nil {
			return done, err
		}
		done = append(done, res[0])
	}
	return done, nil
}

// failRest gives the unsettled results the hard error that stopped Insert.
func failRest(out []Inserted, settled []bool, err error) []Inserted {
	for i := range out {
		if !settled[i] && out[i].Err == nil {
			out[i].Err = err
		}
	}
	return out
}

// insertBatch writes the items it can in one go, records their results in
// out and reports which items it settled.
func (s *mongoStore) insertBatch(ctx context.Context, items []NewProduct, out []Inserted) ([]bool, error) {
	settled := make([]bool, len(items))
	slugs := make([]string, len(items))
	for i, it := range items {
		slugs[i] = it.Product.Slug
	}
	cur, err := s.products.Find(ctx, bson.D{{Key: "slug", Value: in(slugs)}}, options.Find().SetProjection(bson.D{{Key: "slug", Value: 1}}))
	if err != nil {
		return settled, fmt.Errorf("find slugs: %w", err)
	}
	var found []doc
	if err := cur.All(ctx, &found); err != nil {
		return settled, fmt.Errorf("find slugs: %w", err)
	}
	taken := map[string]string{}
	for _, d := range found {
		taken[d.Slug] = d.ID
	}
	var batch []int // items written in the batch
	var docs []doc
	seen := map[string]bool{}
	for i, it := range items {
		p := it.Product
		if id, ok := taken[p.Slug]; ok && it.SkipExisting {
			out[i], settled[i] = Inserted{ID: id, Slug: p.Slug, Skipped: true}, true
			continue
		}
		if _, ok := taken[p.Slug]; ok || seen[p.Slug] {
			continue // the one-by-one path retries or answers it
		}
		seen[p.Slug] = true
		evs, err := build(it.Events, p, indexedUnder(p.CategoryIDs, it.Closure))
		if err != nil {
			return settled, err
		}
		d := toDoc(p, it.Closure)
		d.Outbox = evs
		batch, docs = append(batch, i), append(docs, d)
	}
	if len(batch) == 0 {
		return settled, nil
	}
	op := newOp()
	var created []int // positions in batch
	write := func(ctx context.Context) error {
		var err error
		created, err = s.insertDocs(ctx, op, items, batch, docs)
		return err
	}
	if s.tx {
		err = store.MongoTx(ctx, s.db, write)
		if store.IsDuplicate(err) {
			return settled, nil // a conflict: every item one by one
		}
	} else {
		err = write(ctx)
	}
	for _, k := range created {
		i := batch[k]
		out[i], settled[i] = Inserted{ID: docs[k].ID, Slug: docs[k].Slug, Product: items[i].Product}, true
	}
	return settled, err
}

// insertDocs writes the reservations, stock and documents of the batch
// and returns which of docs it created. Without a transaction a document
// whose SKUs or slug turned out taken is undone (only its own
// reservations: op) and left to the one-by-one path.
func (s *mongoStore) insertDocs(ctx context.Context, op string, items []NewProduct, batch []int, docs []doc) ([]int, error) {
	now := time.Now().UTC()
	var res, stock []any
	var resOf, stockOf []int // the batch position of each
	for k, i := range batch {
		p := items[i].Product
		for _, v := range p.Variants {
			res, resOf = append(res, reservation{SKU: v.SKU, ProductID: p.ID, Op: op, At: now}), append(resOf, k)
			stock, stockOf = append(stock, stockDoc{ID: v.ID, ProductID: p.ID, Stock: v.Stock, At: now}), append(stockOf, k)
		}
	}
	failed := map[int]bool{}
	if err := s.insertMany(ctx, s.skus, res, resOf, failed); err != nil {
		return nil, s.undoBatch(ctx, op, items, batch, nil, err)
	}
	if err := s.insertMany(ctx, s.stock, stock, stockOf, failed); err != nil {
		return nil, s.undoBatch(ctx, op, items, batch, nil, err)
	}
	var keep []any
	var keepOf []int
	for k := range docs {
		if !failed[k] {
			docs[k].Op = op
			keep, keepOf = append(keep, docs[k]), append(keepOf, k)
		}
	}
	err := s.insertMany(ctx, s.products, keep, keepOf, failed)
	if err != nil && inTx(ctx) {
		return nil, err
	}
	var bwe mongo.BulkWriteException
	if err != nil && !errors.As(err, &bwe) {
		// Unclear which landed: read them back. If even that fails,
		// undo nothing (the sweep removes what a failed product left).
		var rerr error
		if failed, rerr = s.notLanded(ctx, op, docs, failed); rerr != nil {
			return nil, errors.Join(err, rerr)
		}
	}
	// failed is now exact: the others are created.
	var created []int
	var made []*doc
	for k := range docs {
		if !failed[k] {
			created, made = append(created, k), append(made, &docs[k])
		}
	}
	if len(failed) > 0 {
		err = errors.Join(err, s.undoBatch(ctx, op, items, batch, failed, nil))
	}
	return created, errors.Join(err, s.recount(ctx, nil, made))
}

// insertMany is an unordered InsertMany of docs; of[i] is the batch item
// docs[i] belongs to. Every document a write error names marks its item
// failed; the error is returned unless all were duplicate keys (the
// one-by-one path answers those). Other errors (network, a transaction)
// come back as they are, marking nothing.
func (s *mongoStore) insertMany(ctx context.Context, coll *mongo.Collection, docs []any, of []int, failed map[int]bool) error {
	var todo []any
	var todoOf []int
	for i, d := range docs {
		if !failed[of[i]] {
			todo, todoOf = append(todo, d), append(todoOf, of[i])
		}
	}
	if len(todo) == 0 {
		return nil
	}
	_, err := coll.InsertMany(ctx, todo, options.InsertMany().SetOrdered(false))
	var bwe mongo.BulkWriteException
	if err == nil || !errors.As(err, &bwe) || bwe.WriteConcernError != nil || inTx(ctx) {
		return err
	}
	hard := false
	for _, we := range bwe.WriteErrors {
		failed[todoOf[we.Index]] = true
		if !mongo.IsDuplicateKeyError(we) && !store.IsDuplicate(mongo.CommandError{Message: we.Message}) {
			hard = true
		}
	}
	if hard {
		return err
	}
	return nil
}

// notLanded reads back which documents of the batch are there (an unclear
// error) and marks the others failed.
func (s *mongoStore) notLanded(ctx context.Context, op string, docs []doc, failed map[int]bool) (map[int]bool, error) {
	cctx, cancel := store.Compensation(ctx)
	defer cancel()
	ids := make([]string, len(docs))
	for k, d := range docs {
		ids[k] = d.ID
	}
	cur, err := s.products.Find(cctx, bson.D{{Key: "_id", Value: in(ids)}, {Key: "op", Value: op}}, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return failed, fmt.Errorf("read back a batch: %w", err)
	}
	var there []doc
	if err := cur.All(cctx, &there); err != nil {
		return failed, fmt.Errorf("read back a batch: %w", err)
	}
	landed := map[string]bool{}
	for _, d := range there {
		landed[d.ID] = true
	}
	for k, d := range docs {
		if !landed[d.ID] {
			failed[k] = true
		}
	}
	return failed, nil
}

// undoBatch removes the reservations and stock of the batch's items in
// only (all when only is nil), on the compensation context; in a
// transaction the abort does it.
func (s *mongoStore) undoBatch(ctx context.Context, op string, items []NewProduct, batch []int, only map[int]bool, cause error) error {
	if inTx(ctx) {
		return cause
	}
	return errors.Join(cause, s.undo(ctx, func(ctx context.Context) error {
		var errs []error
		for k, i := range batch {
			if only != nil && !only[k] {
				continue
			}
			p := items[i].Product
			errs = append(errs, s.dropStock(ctx, variantIDs(p.Variants)), s.release(ctx, p.ID, op, skus(p.Variants)))
		}
		return errors.Join(errs...)
	}))
}
