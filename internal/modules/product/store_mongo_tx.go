package product

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/shopengine/shop/internal/store"
)

// How the MongoDB store makes a write of several documents (a product,
// its SKU reservations and its stock) safe, chosen when it opens
// (store.MongoTransactions):
//
//   - with transactions (a replica set): the steps run in one
//     multi-document transaction (store.MongoTx), so they commit together
//     or not at all, and the undo steps below are never needed;
//   - without (FerretDB, a standalone server): the steps run in order as
//     single-document writes, readers going through the product document,
//     which is written last on create and first on delete. A failed step
//     undoes the earlier ones (undo), on a context of its own
//     (store.Compensation: a request whose deadline passed still cleans
//     up), releasing only what this write made (its op token); after an
//     unclear error the write reads its product back (landed) before it
//     undoes anything. What a crash still leaves (a reservation or a stock
//     document without its product) the orphan sweep (Sweep) removes.

// write runs steps in one transaction when the server has them, else
// directly (steps then undo their own failures).
func (s *mongoStore) write(ctx context.Context, steps func(ctx context.Context) error) error {
	if !s.tx {
		return steps(ctx)
	}
	return store.MongoTx(ctx, s.db, steps)
}

// inTx reports whether ctx runs in a transaction, where a failure aborts
// everything and there is nothing to undo.
func inTx(ctx context.Context) bool { return mongo.SessionFromContext(ctx) != nil }

// undo runs a compensation step on its own context.
func (s *mongoStore) undo(ctx context.Context, step func(ctx context.Context) error) error {
	cctx, cancel := store.Compensation(ctx)
	defer cancel()
	if err := step(cctx); err != nil {
		return fmt.Errorf("undo: %w", err)
	}
	return nil
}

// landed reads product id back after an unclear error of the write with
// token op: true when that write's content is there.
func (s *mongoStore) landed(ctx context.Context, id, op string) bool {
	cctx, cancel := store.Compensation(ctx)
	defer cancel()
	var d struct {
		Op string `bson:"op"`
	}
	err := s.products.FindOne(cctx, bson.D{{Key: "_id", Value: id}}, options.FindOne().SetProjection(bson.D{{Key: "op", Value: 1}})).Decode(&d)
	return err == nil && d.Op == op
}

// newOp returns a fresh write token.
func newOp() string { return uuid.NewString() }

// step calls the test hook, if any, at a named point of a write; an
// error stops the write there, as a crash or a failed step would.
func (s *mongoStore) step(ctx context.Context, name string) error {
	if s.hook != nil {
		return s.hook(ctx, name)
	}
	return nil
}
