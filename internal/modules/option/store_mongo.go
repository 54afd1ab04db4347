package option

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

// doc is an option group as stored in MongoDB: one document with its
// values embedded, so that every write of a group, values included, is a
// single-document operation (the subset FerretDB honours), checked on the
// version in its filter. The events of its writes that the relay has not
// published yet travel in it too, written by that same operation.
type doc struct {
	ID        string         `bson:"_id"`
	Code      string         `bson:"code"`
	Name      string         `bson:"name"`
	Values    []valueDoc     `bson:"values"`
	Version   int64          `bson:"version"`
	CreatedAt time.Time      `bson:"created_at"`
	UpdatedAt time.Time      `bson:"updated_at"`
	Outbox    outbox.Pending `bson:"outbox,omitempty"`
}

type valueDoc struct {
	ID       string `bson:"id"`
	Code     string `bson:"code"`
	Label    string `bson:"label"`
	Position int    `bson:"position"`
}

func toValueDocs(vs []contract.OptionValue) []valueDoc {
	out := make([]valueDoc, len(vs))
	for i, v := range vs {
		out[i] = valueDoc(v)
	}
	return out
}

func (d doc) group() contract.OptionGroup {
	g := contract.OptionGroup{ID: d.ID, Code: d.Code, Name: d.Name, Values: make([]contract.OptionValue, len(d.Values)),
		Version: max(d.Version, 1), CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
	for i, v := range d.Values {
		g.Values[i] = contract.OptionValue(v)
	}
	return g
}

// atVersion matches a document at version v. Documents written before the
// version was public started at 0 (or, before that, had no version
// field); they read as version 1, so version 1 matches them too ($in with
// null matches a missing field, on FerretDB as on MongoDB).
func atVersion(v int64) bson.E {
	if v == 1 {
		return bson.E{Key: "version", Value: bson.D{{Key: "$in", Value: bson.A{int64(1), int64(0), nil}}}}
	}
	return bson.E{Key: "version", Value: v}
}

// mongoStore keeps groups in "groups"; a delete seals the group's
// version, then records its events and deletes it with outbox.DeleteWith.
type mongoStore struct {
	db   *mongo.Database
	coll *mongo.Collection
}

func openMongoStore(ctx context.Context, db *store.DB) (*mongoStore, error) {
	mdb, err := db.Mongo(ctx, contract.OptionQueue, store.Indexes{"groups": {
		{Keys: bson.D{{Key: "code", Value: 1}}, Options: options.Index().SetUnique(true).SetName("code_unique")},
		outbox.Index(),
	}})
	if err != nil {
		return nil, err
	}
	return &mongoStore{db: mdb, coll: mdb.Collection("groups")}, nil
}

// Outbox is the pending events in the group documents (found through
// their outbox.Index), and those of deletes in the outbox collection.
func (s *mongoStore) Outbox() outbox.Source { return outbox.Mongo(s.db, s.coll.Name()) }

func byID(id string) bson.D { return bson.D{{Key: "_id", Value: id}} }

func (s *mongoStore) Insert(ctx context.Context, g contract.OptionGroup, events ...outbox.Event) error {
	_, err := s.coll.InsertOne(ctx, doc{ID: g.ID, Code: g.Code, Name: g.Name, Values: toValueDocs(g.Values),
		Version: g.Version, CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt, Outbox: events})
	if store.IsDuplicate(err) {
		return fmt.Errorf("insert option group %s: %w", g.ID, store.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("insert option group %s: %w", g.ID, err)
	}
	return nil
}

func (s *mongoStore) find(ctx context.Context, filter bson.D) (doc, error) {
	return store.FindOne[doc](ctx, s.coll, filter)
}

func (s *mongoStore) Get(ctx context.Context, id string) (contract.OptionGroup, error) {
	d, err := s.find(ctx, byID(id))
	return d.group(), err
}

func (s *mongoStore) ByCode(ctx context.Context, code string) (contract.OptionGroup, error) {
	d, err := s.find(ctx, bson.D{{Key: "code", Value: code}})
	return d.group(), err
}

func (s *mongoStore) GetMany(ctx context.Context, ids []string) ([]contract.OptionGroup, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return store.FindAll(ctx, s.coll, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}, bson.D{{Key: "_id", Value: 1}}, doc.group)
}

func (s *mongoStore) List(ctx context.Context, after string, limit int) ([]contract.OptionGroup, error) {
	out, err := store.FindN(ctx, s.coll, bson.D{{Key: "code", Value: bson.D{{Key: "$gt", Value: after}}}},
		bson.D{{Key: "code", Value: 1}}, limit, doc.group)
	if err != nil {
		return nil, fmt.Errorf("list option groups: %w", err)
	}
	return out, nil
}

func (s *mongoStore) Count(ctx context.Context) (int, error) {
	n, err := s.coll.CountDocuments(ctx, bson.D{})
	if err != nil {
		return 0, fmt.Errorf("count option groups: %w", err)
	}
	return int(n), nil
}

// Update is one updateOne of the whole group, values and events included,
// filtered on the expected version: a single-document atomic write, which
// FerretDB honours. It sets the fields it owns and pushes onto the outbox,
// so events still pending in the document stay.
func (s *mongoStore) Update(ctx context.Context, g contract.OptionGroup, expected int64, events ...outbox.Event) error {
	upd := bson.D{{Key: "$set", Value: bson.D{
		{Key: "code", Value: g.Code}, {Key: "name", Value: g.Name},
		{Key: "values", Value: toValueDocs(g.Values)}, {Key: "updated_at", Value: g.UpdatedAt},
		{Key: "version", Value: expected + 1},
	}}}
	if len(events) > 0 {
		upd = append(upd, outbox.Push(events...))
	}
	res, err := s.coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: g.ID}, atVersion(expected)}, upd)
	if store.IsDuplicate(err) {
		return fmt.Errorf("update option group %s: %w", g.ID, store.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("update option group %s: %w", g.ID, err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("update option group %s at version %d: %w", g.ID, expected, store.MissedDocument(ctx, s.coll, g.ID))
	}
	return nil
}

// Delete seals the group first: one findOneAndUpdate that counts its
// version on (filtered on expected when it is > 0), so a concurrent
// checked write fails and the deleted event's version (one past the last
// write) is one no other write announces; then outbox.DeleteWith records
// the events deleted builds from the group as sealed and deletes it. A
// crash between the two leaves the group at a version no event announced,
// its content unchanged: harmless to consumers, and the caller, who got
// no answer, reads it again.
func (s *mongoStore) Delete(ctx context.Context, id string, expected int64, deleted announce[contract.OptionGroup]) (contract.OptionGroup, error) {
	filter := byID(id)
	if expected > 0 {
		filter = append(filter, atVersion(expected))
	}
	var d doc
	// No projection: FerretDB v1 has none on findAndModify.
	err := s.coll.FindOneAndUpdate(ctx, filter, bson.D{{Key: "$inc", Value: bson.D{{Key: "version", Value: int64(1)}}}},
		options.FindOneAndUpdate().SetReturnDocument(options.Before)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return contract.OptionGroup{}, fmt.Errorf("delete option group %s at version %d: %w", id, expected, store.MissedDocument(ctx, s.coll, id))
	}
	if err != nil {
		return contract.OptionGroup{}, fmt.Errorf("delete option group %s: seal: %w", id, err)
	}
	g := d.group()
	evs, err := deleted.events(g)
	if err != nil {
		return contract.OptionGroup{}, fmt.Errorf("delete option group %s: events: %w", id, err)
	}
	if _, err := outbox.DeleteWith(ctx, s.db, s.coll.Name(), []string{id}, evs...); err != nil {
		return contract.OptionGroup{}, fmt.Errorf("delete option group %s: %w", id, err)
	}
	return g, nil
}
