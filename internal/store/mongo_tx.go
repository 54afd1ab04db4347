package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// MongoDB stores write in one of two ways, chosen once, when the store
// opens, from what the server says it can do (MongoTransactions):
//
//   - a replica set or a sharded cluster (production: rs0) runs a write
//     that touches several documents as one multi-document transaction
//     (MongoTx): it commits whole or not at all;
//   - a server without transactions (a standalone mongod, FerretDB, the
//     wire-protocol test server) runs the same steps as single-document
//     writes, ordered so that readers never see a half-made change, and
//     undoes the earlier steps when a later one fails. The undo runs on
//     Compensation's context, not the request's: a request whose deadline
//     has passed must still clean up after itself.

// MongoTransactions reports whether mdb's server runs multi-document
// transactions: a replica-set member (its hello names the set) or a mongos
// ("isdbgrid"), with logical sessions. FerretDB v1 and a standalone
// mongod answer neither, and have none.
func MongoTransactions(ctx context.Context, mdb *mongo.Database) (bool, error) {
	var hello struct {
		SetName        string `bson:"setName"`
		Msg            string `bson:"msg"`
		SessionTimeout *int64 `bson:"logicalSessionTimeoutMinutes"`
	}
	if err := mdb.RunCommand(ctx, bson.D{{Key: "hello", Value: 1}}).Decode(&hello); err != nil {
		return false, fmt.Errorf("store: hello on %s: %w", mdb.Name(), err)
	}
	return (hello.SetName != "" || hello.Msg == "isdbgrid") && hello.SessionTimeout != nil, nil
}

// MongoTx runs fn in one multi-document transaction on mdb's client, with
// the module database's majority concerns; fn must use the context it is
// given (it carries the session) for every operation that belongs to the
// transaction. The driver retries fn on transient transaction errors (a
// write conflict with a concurrent transaction), so fn must be safe to run
// again from the start: it reads what it needs inside. The retries end at
// ctx's deadline.
func MongoTx(ctx context.Context, mdb *mongo.Database, fn func(ctx context.Context) error) error {
	sess, err := mdb.Client().StartSession()
	if err != nil {
		return fmt.Errorf("store: start session: %w", err)
	}
	defer sess.EndSession(context.WithoutCancel(ctx))
	_, err = sess.WithTransaction(ctx, func(tx context.Context) (any, error) {
		if err := ctx.Err(); err != nil {
			return nil, err // the caller gave up: no more retries
		}
		return nil, fn(tx)
	}, options.Transaction())
	return err
}

// CompensationTimeout bounds an undo step of a write without a
// transaction.
const CompensationTimeout = 10 * time.Second

// Compensation returns the context of an undo step of ctx's write: ctx's
// values without its cancellation (the request's deadline may be what
// made the write fail) and a short deadline of its own.
func Compensation(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), CompensationTimeout)
}

// Unclear reports whether a failed MongoDB write may nevertheless have
// been applied: a network error or a timeout after the request was sent,
// or a write-concern error (the write happened on the primary and may or
// may not survive). A clear refusal (duplicate key, validation) was not
// applied. After an unclear error a store re-reads before it undoes.
func Unclear(err error) bool {
	if err == nil || IsDuplicate(err) {
		return false
	}
	if mongo.IsNetworkError(err) || mongo.IsTimeout(err) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var we mongo.WriteException
	if errors.As(err, &we) && we.WriteConcernError != nil {
		return true
	}
	var bwe mongo.BulkWriteException
	if errors.As(err, &bwe) && bwe.WriteConcernError != nil {
		return true
	}
	return false
}
