package product

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
)

// The MongoDB store's writes to existing products, each with its events
// in the same single-document write as its change (see mongoStore):
// update, delete and delete_many (through outbox.DeleteWith), and
// adjust_stock (a compare-and-set on the stock document).

// Update reserves the SKUs p adds and creates the stock of its new
// variants, writes the document if it is still at the previous version
// and still indexed under the closure it was read with, then releases the
// SKUs and stock p dropped. On a replica set all of it is one
// transaction; without transactions a failed write undoes the first steps
// (only what this write reserved: its op token), and the release of what
// p dropped runs on the compensation context, since the write committed.
//
// The filter names the category_tree read, so that a re-index
// (SetClosures, after a category moved) landing between the read and the
// write is not overwritten with the old closure: the write misses, and
// an Update that keeps the closure (nil) reads the new one and tries
// again; one that brings a closure of its own answers errVersion, so the
// caller retries with a closure computed from the moved tree.
//
// The write sets every field but _id and the outbox, and pushes the
// update's events onto the outbox, rather than replacing the document: a
// replace would have to carry the events pending in the document read
// (re-adding any the relay removed since, and dropping its lease, so that
// another relay could publish the new event before the old), while $set
// with outbox.Push leaves the pending events and the lease as they are.
func (s *mongoStore) Update(ctx context.Context, p contract.Product, closure []string, events Events) error {
	return s.write(ctx, func(ctx context.Context) error { return s.update(ctx, p, closure, events) })
}

// treeAttempts bounds Update's re-reads of a closure that re-indexes
// keep moving.
const treeAttempts = 20

func (s *mongoStore) update(ctx context.Context, p contract.Product, closure []string, events Events) error {
	old, err := s.current(ctx, p.ID)
	if err != nil {
		return err
	}
	if old.Version != p.Version-1 {
		return errVersion
	}
	oldSKUs, oldIDs := map[string]bool{}, map[string]bool{}
	for _, v := range old.Variants {
		oldSKUs[v.SKU], oldIDs[v.ID] = true, true
	}
	newSKUs, newIDs := map[string]bool{}, map[string]bool{}
	var addSKUs []string
	var addVariants []contract.Variant
	for _, v := range p.Variants {
		newSKUs[v.SKU], newIDs[v.ID] = true, true
		if !oldSKUs[v.SKU] {
			addSKUs = append(addSKUs, v.SKU)
		}
		if !oldIDs[v.ID] {
			addVariants = append(addVariants, v)
		}
	}
	var dropSKUs, dropIDs []string
	for _, v := range old.Variants {
		if !newSKUs[v.SKU] {
			dropSKUs = append(dropSKUs, v.SKU)
		}
		if !newIDs[v.ID] {
			dropIDs = append(dropIDs, v.ID)
		}
	}
	op := newOp()
	if err := s.reserve(ctx, p.ID, op, addSKUs); err != nil {
		return err
	}
	undo := func(err error) error {
		if inTx(ctx) {
			return err
		}
		return errors.Join(err, s.undo(ctx, func(ctx context.Context) error {
			return errors.Join(s.dropStock(ctx, variantIDs(addVariants)), s.release(ctx, p.ID, op, addSKUs))
		}))
	}
	if err := s.step(ctx, "update:reserved"); err != nil {
		return undo(err)
	}
	if err := s.addStock(ctx, p.ID, addVariants); err != nil {
		return undo(err)
	}
	var d doc
	for attempt := 1; ; attempt++ {
		tree := closure
		if tree == nil {
			tree = old.CategoryTree
		}
		d = toDoc(p, tree)
		d.Op = op
		evs, err := build(events, p, d.CategoryTree)
		if err != nil {
			return undo(err)
		}
		set, err := fields(d)
		if err != nil {
			return undo(fmt.Errorf("update product %s: %w", p.ID, err))
		}
		update := bson.D{{Key: "$set", Value: set}}
		if len(evs) > 0 {
			update = append(update, outbox.Push(evs...))
		}
		if err := s.step(ctx, "update:write"); err != nil {
			return undo(err)
		}
		filter := bson.D{{Key: "_id", Value: p.ID}, {Key: "version", Value: p.Version - 1}, {Key: "category_tree", Value: old.CategoryTree}}
		res, err := s.products.UpdateOne(ctx, filter, update)
		switch {
		case store.IsDuplicate(err):
			if uerr := undo(nil); uerr != nil {
				return uerr
			}
			return errSlugTaken
		case err != nil && store.Unclear(err) && !inTx(ctx) && s.landed(ctx, p.ID, op):
		case err != nil:
			return undo(fmt.Errorf("update product %s: %w", p.ID, err))
		case res.MatchedCount == 0:
			cur, err := s.current(ctx, p.ID)
			if err == nil && cur.Version == p.Version-1 && closure == nil && attempt < treeAttempts {
				old.CategoryTree = cur.CategoryTree // re-indexed meanwhile
				continue
			}
			if uerr := undo(nil); uerr != nil {
				return uerr
			}
			if errors.Is(err, store.ErrNotFound) {
				return err
			}
			return errVersion
		}
		break
	}
	return errors.Join(s.recount(ctx, []*doc{&old}, []*doc{&d}), s.finish(ctx, func(ctx context.Context) error {
		return errors.Join(s.release(ctx, p.ID, "", dropSKUs), s.dropStock(ctx, dropIDs))
	}))
}

// current reads product id as stored, without its pending events.
func (s *mongoStore) current(ctx context.Context, id string) (doc, error) {
	var d doc
	err := s.products.FindOne(ctx, bson.D{{Key: "_id", Value: id}}, options.FindOne().SetProjection(withoutOutbox)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return d, store.ErrNotFound
	}
	if err != nil {
		return d, fmt.Errorf("load product %s: %w", id, err)
	}
	return d, nil
}

// finish runs the clean-up after a committed write: in its transaction,
// or else on the compensation context (the request's may have ended, and
// the write stands either way).
func (s *mongoStore) finish(ctx context.Context, step func(ctx context.Context) error) error {
	if inTx(ctx) {
		return step(ctx)
	}
	return s.undo(ctx, step)
}

// fields returns d's fields for a $set: all but _id (which never changes)
// and the outbox (which only $push and the relay change).
func fields(d doc) (bson.D, error) {
	raw, err := bson.Marshal(d)
	if err != nil {
		return nil, err
	}
	var all bson.D
	if err := bson.Unmarshal(raw, &all); err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(e bson.E) bool { return e.Key == "_id" || e.Key == outbox.Field }), nil
}

// drop removes what belongs to deleted products: their stock documents,
// with outbox.DeleteWith so that stock events still pending in them are
// moved to the outbox collection first, not lost; and their SKUs.
func (s *mongoStore) drop(ctx context.Context, ids []string) error {
	cur, err := s.stock.Find(ctx, bson.D{{Key: "product_id", Value: in(ids)}}, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return fmt.Errorf("find stock: %w", err)
	}
	var stock []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &stock); err != nil {
		return fmt.Errorf("find stock: %w", err)
	}
	vids := make([]string, len(stock))
	for i, d := range stock {
		vids[i] = d.ID
	}
	if err := s.dropStock(ctx, vids); err != nil {
		return err
	}
	if _, err := s.skus.DeleteMany(ctx, bson.D{{Key: "product_id", Value: in(ids)}}); err != nil {
		return fmt.Errorf("release SKUs: %w", err)
	}
	return nil
}

// seal takes a product out of reach of writes at its version before it
// is deleted: one findOneAndUpdate that counts the version on (filtered on
// version when it is > 0), so a concurrent Update (conditional on the old
// version) fails, and the deleted event's version (one past the last
// write) is one no other write has. It returns the product as last
// written, false when no document matched.
//
// A crash between seal and the delete leaves the product at a version
// that no event announced, with its content unchanged: harmless to
// consumers (the next write's event is newer still), and the caller, who
// got no answer, reads the product again.
func (s *mongoStore) seal(ctx context.Context, id string, version int64) (doc, bool, error) {
	filter := bson.D{{Key: "_id", Value: id}}
	if version > 0 {
		filter = append(filter, bson.E{Key: "version", Value: version})
	}
	var d doc
	// No projection: FerretDB v1 has none on findAndModify.
	err := s.products.FindOneAndUpdate(ctx, filter, bson.D{{Key: "$inc", Value: bson.D{{Key: "version", Value: 1}}}},
		options.FindOneAndUpdate().SetReturnDocument(options.Before)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return d, false, nil
	}
	if err != nil {
		return d, false, fmt.Errorf("seal product %s: %w", id, err)
	}
	return d, true, nil
}

// deleted builds the events of the deletion of sealed products, their
// stock as read now.
func (s *mongoStore) deleted(ctx context.Context, sealed []doc, events Events) ([]outbox.Event, error) {
	if events == nil {
		return nil, nil
	}
	ids := make([]string, len(sealed))
	for i, d := range sealed {
		ids[i] = d.ID
	}
	stock, err := s.stockOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	var evs []outbox.Event
	for _, d := range sealed {
		p, err := d.product(stock)
		if err != nil {
			return nil, err
		}
		e, err := build(events, p, d.CategoryTree)
		if err != nil {
			return nil, err
		}
		evs = append(evs, e...)
	}
	return evs, nil
}

// Delete seals the product, records the deleted event and deletes the
// document with outbox.DeleteWith (which moves out the events still
// pending in it), then its stock and SKUs: one transaction on a replica
// set. Without transactions the product goes first, so nothing reaches a
// half-deleted product, and its stock and SKUs go on the compensation
// context; a failure between the two leaves them to the orphan sweep,
// and adjust_stock refuses a stock document whose product is gone.
func (s *mongoStore) Delete(ctx context.Context, id string, version int64, events Events) error {
	return s.write(ctx, func(ctx context.Context) error { return s.delete(ctx, id, version, events) })
}

func (s *mongoStore) delete(ctx context.Context, id string, version int64, events Events) error {
	d, ok, err := s.seal(ctx, id, version)
	if err != nil {
		return err
	}
	if !ok {
		n, err := s.products.CountDocuments(ctx, bson.D{{Key: "_id", Value: id}})
		if err != nil {
			return fmt.Errorf("find product %s: %w", id, err)
		}
		if n == 0 {
			return store.ErrNotFound
		}
		return errVersion
	}
	evs, err := s.deleted(ctx, []doc{d}, events)
	if err != nil {
		return fmt.Errorf("delete product %s: %w", id, err)
	}
	if _, err := outbox.DeleteWith(ctx, s.db, s.products.Name(), []string{id}, evs...); err != nil {
		return fmt.Errorf("delete product %s: %w", id, err)
	}
	if err := s.recount(ctx, []*doc{&d}, nil); err != nil {
		return err
	}
	if err := s.step(ctx, "delete:product-gone"); err != nil {
		return err // as a crash here would: the sweep's case
	}
	return s.finish(ctx, func(ctx context.Context) error { return s.drop(ctx, []string{id}) })
}

// DeleteMany is Delete of several products: one transaction on a replica
// set, else the products first and then their stock and SKUs.
func (s *mongoStore) DeleteMany(ctx context.Context, ids []string, events Events) ([]string, error) {
	var deleted []string
	err := s.write(ctx, func(ctx context.Context) error {
		var err error
		deleted, err = s.deleteMany(ctx, ids, events)
		return err
	})
	return deleted, err
}

func (s *mongoStore) deleteMany(ctx context.Context, ids []string, events Events) ([]string, error) {
	var sealed []doc
	var deleted []string
	for _, id := range ids {
		if slices.Contains(deleted, id) {
			continue
		}
		d, ok, err := s.seal(ctx, id, 0)
		if err != nil {
			return nil, err
		}
		if ok {
			sealed, deleted = append(sealed, d), append(deleted, id)
		}
	}
	if len(sealed) == 0 {
		return nil, nil
	}
	evs, err := s.deleted(ctx, sealed, events)
	if err != nil {
		return nil, fmt.Errorf("delete %d products: %w", len(deleted), err)
	}
	if _, err := outbox.DeleteWith(ctx, s.db, s.products.Name(), deleted, evs...); err != nil {
		return nil, fmt.Errorf("delete %d products: %w", len(deleted), err)
	}
	old := make([]*doc, len(sealed))
	for i := range sealed {
		old[i] = &sealed[i]
	}
	if err := s.recount(ctx, old, nil); err != nil {
		return deleted, err
	}
	if err := s.step(ctx, "delete:product-gone"); err != nil {
		return deleted, err
	}
	return deleted, s.finish(ctx, func(ctx context.Context) error { return s.drop(ctx, deleted) })
}

// stockAttempts bounds AdjustStock's compare-and-set loop: each attempt
// that loses does so to a change that won, so a variant under a burst of
// concurrent sales still makes progress; only a sustained storm on one
// variant answers errContended.
const stockAttempts = 100

// AdjustStock is a compare-and-set on the variant's stock document: it
// reads the stock and its version, checks the bounds, and writes the new
// level and version with the stock_changed event in one update filtered
// on {_id, version}, retried when another change won the race. The event
// thus carries the exact level and StockVersion it commits; the product
// in it (name, closure, the other variants' stock) is read once, just
// before, and is advisory.
func (s *mongoStore) AdjustStock(ctx context.Context, variantID string, delta int64, events StockEvents) (contract.StockLevel, error) {
	defer s.stockLocks.lock(variantID)()
	sd, err := s.stockDoc(ctx, variantID)
	if err != nil {
		return contract.StockLevel{}, err
	}
	// The product is read whatever events says: a stock document whose
	// product is gone (a delete that failed half-way, without
	// transactions) or no longer lists the variant is an orphan, not
	// stock to sell.
	d, err := s.current(ctx, sd.ProductID)
	if errors.Is(err, store.ErrNotFound) {
		return contract.StockLevel{}, store.ErrNotFound // an orphan, for the sweep
	}
	if err != nil {
		return contract.StockLevel{}, fmt.Errorf("adjust stock of %s: %w", variantID, err)
	}
	stock, err := s.stockOf(ctx, []string{d.ID})
	if err != nil {
		return contract.StockLevel{}, err
	}
	p, err := d.product(stock)
	if err != nil {
		return contract.StockLevel{}, err
	}
	closure := d.CategoryTree
	k := slices.IndexFunc(p.Variants, func(v contract.Variant) bool { return v.ID == variantID })
	if k < 0 {
		return contract.StockLevel{}, store.ErrNotFound // not (or no longer) a variant of the product
	}
	sku := p.Variants[k].SKU
	for attempt := 1; ; attempt++ {
		next := sd.Stock + delta
		if next < 0 || next > contract.MaxStock {
			return contract.StockLevel{}, errStock
		}
		l := contract.StockLevel{VariantID: variantID, ProductID: sd.ProductID, SKU: sku, Stock: next, StockVersion: sd.Version + 1}
		update := bson.D{{Key: "$set", Value: bson.D{{Key: "stock", Value: next}, {Key: "version", Value: l.StockVersion}}}}
		if events != nil {
			p.TotalStock = 0
			for i := range p.Variants {
				if p.Variants[i].ID == variantID {
					p.Variants[i].Stock = next
				}
				p.TotalStock += p.Variants[i].Stock
			}
			evs, err := events(p, closure, l)
			if err != nil {
				return contract.StockLevel{}, fmt.Errorf("events of stock of %s: %w", variantID, err)
			}
			if len(evs) > 0 {
				update = append(update, outbox.Push(evs...))
			}
		}
		filter := bson.D{{Key: "_id", Value: variantID}, {Key: "version", Value: sd.Version}}
		if sd.Version == 0 {
			// Written before stock versions were counted: no field yet.
			filter = bson.D{{Key: "_id", Value: variantID}, {Key: "$or", Value: bson.A{
				bson.D{{Key: "version", Value: 0}}, bson.D{{Key: "version", Value: bson.D{{Key: "$exists", Value: false}}}},
			}}}
		}
		res, err := s.stock.UpdateOne(ctx, filter, update)
		if err != nil {
			return contract.StockLevel{}, fmt.Errorf("adjust stock of %s: %w", variantID, err)
		}
		if res.MatchedCount == 1 {
			return l, nil
		}
		if attempt == stockAttempts {
			return contract.StockLevel{}, fmt.Errorf("adjust stock of %s: %d attempts lost to concurrent changes: %w", variantID, attempt, errContended)
		}
		// Lost the race: back off a little (jittered, so the losers
		// spread out), then read the level the winner left.
		select {
		case <-time.After(rand.N(time.Duration(min(attempt, 20)) * 100 * time.Microsecond)):
		case <-ctx.Done():
			return contract.StockLevel{}, fmt.Errorf("adjust stock of %s: %w", variantID, ctx.Err())
		}
		if sd, err = s.stockDoc(ctx, variantID); err != nil {
			return contract.StockLevel{}, err
		}
	}
}

// stockDoc reads a variant's stock document, without its pending events.
func (s *mongoStore) stockDoc(ctx context.Context, variantID string) (stockDoc, error) {
	var sd stockDoc
	err := s.stock.FindOne(ctx, bson.D{{Key: "_id", Value: variantID}}, options.FindOne().SetProjection(withoutOutbox)).Decode(&sd)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return sd, store.ErrNotFound
	}
	if err != nil {
		return sd, fmt.Errorf("read stock of %s: %w", variantID, err)
	}
	return sd, nil
}

// keyedMutex is a mutex per key, held only while in use.
type keyedMutex struct {
	mu   sync.Mutex
	held map[string]*keyedEntry
}

type keyedEntry struct {
	sync.Mutex
	users int
}

// lock locks key and returns its unlock.
func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.held == nil {
		k.held = map[string]*keyedEntry{}
	}
	e := k.held[key]
	if e == nil {
		e = &keyedEntry{}
		k.held[key] = e
	}
	e.users++
	k.mu.Unlock()
	e.Lock()
	return func() {
		e.Unlock()
		k.mu.Lock()
		if e.users--; e.users == 0 {
			delete(k.held, key)
		}
		k.mu.Unlock()
	}
}
