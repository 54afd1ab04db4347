package store

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// A write checked against an expected version ("UPDATE … WHERE id = ? AND
// version = ?", or a filter on _id and version) that matched nothing does
// not say why. These say it, the same way on both backends: ErrNotFound
// when the entity is gone, ErrStale when it is at another version.

// MissedRow is the reason a checked write of row id of table matched no
// row; q is the write's transaction, so the answer is of the same moment.
func MissedRow(ctx context.Context, q Querier, table, id string) error {
	_, err := QueryOne(ctx, q, ScanValue[int], `SELECT 1 FROM `+table+` WHERE id = ?`, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return err
	case err != nil:
		return fmt.Errorf("check %s %s: %w", table, id, err)
	}
	return ErrStale
}

// MissedDocument is the reason a checked write of document id of coll
// matched nothing.
func MissedDocument(ctx context.Context, coll *mongo.Collection, id string) error {
	err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}, options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return ErrNotFound
	case err != nil:
		return fmt.Errorf("check %s %s: %w", coll.Name(), id, err)
	}
	return ErrStale
}
