package option

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
)

// doc is an option group as stored in MongoDB: one document with its
// values embedded, so that every write of a group is a single-document
// operation (the subset FerretDB honours), guarded by version.
type doc struct {
	ID        string     `bson:"_id"`
	Code      string     `bson:"code"`
	Name      string     `bson:"name"`
	Values    []valueDoc `bson:"values"`
	Version   int64      `bson:"version"`
	CreatedAt time.Time  `bson:"created_at"`
	UpdatedAt time.Time  `bson:"updated_at"`
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
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
	for i, v := range d.Values {
		g.Values[i] = contract.OptionValue(v)
	}
	return g
}

// mongoStore keeps groups in "groups".
type mongoStore struct{ coll *mongo.Collection }

func openMongoStore(ctx context.Context, db *store.DB) (*mongoStore, error) {
	mdb, err := db.Mongo(ctx, contract.OptionQueue, store.Indexes{"groups": {
		{Keys: bson.D{{Key: "code", Value: 1}}, Options: options.Index().SetUnique(true).SetName("code_unique")},
	}})
	if err != nil {
		return nil, err
	}
	return &mongoStore{coll: mdb.Collection("groups")}, nil
}

func (s *mongoStore) Insert(ctx context.Context, g contract.OptionGroup) error {
	_, err := s.coll.InsertOne(ctx, doc{ID: g.ID, Code: g.Code, Name: g.Name, Values: toValueDocs(g.Values),
		CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt})
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
	d, err := s.find(ctx, bson.D{{Key: "_id", Value: id}})
	return d.group(), err
}

func (s *mongoStore) ByCode(ctx context.Context, code string) (contract.OptionGroup, error) {
	d, err := s.find(ctx, bson.D{{Key: "code", Value: code}})
	return d.group(), err
}

func (s *mongoStore) list(ctx context.Context, filter bson.D) ([]contract.OptionGroup, error) {
	return store.FindAll(ctx, s.coll, filter, bson.D{{Key: "code", Value: 1}}, doc.group)
}

func (s *mongoStore) GetMany(ctx context.Context, ids []string) ([]contract.OptionGroup, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return s.list(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
}

func (s *mongoStore) List(ctx context.Context) ([]contract.OptionGroup, error) {
	return s.list(ctx, bson.D{})
}

// modifyAttempts bounds the optimistic retries of one Modify.
const modifyAttempts = 50

// Modify reads the group, applies fn and writes it back with one updateOne
// conditioned on the version it read; a lost race re-reads and retries
// after a short jittered pause.
func (s *mongoStore) Modify(ctx context.Context, id string, fn func(g *contract.OptionGroup) error) (contract.OptionGroup, error) {
	for attempt := range modifyAttempts {
		d, err := s.find(ctx, bson.D{{Key: "_id", Value: id}})
		if err != nil {
			return contract.OptionGroup{}, err
		}
		old := d.group()
		g := clone(old)
		if err := fn(&g); err != nil {
			return contract.OptionGroup{}, err
		}
		g.ID, g.CreatedAt = old.ID, old.CreatedAt
		res, err := s.coll.UpdateOne(ctx,
			bson.D{{Key: "_id", Value: id}, {Key: "version", Value: d.Version}},
			bson.D{{Key: "$set", Value: bson.D{
				{Key: "code", Value: g.Code}, {Key: "name", Value: g.Name},
				{Key: "values", Value: toValueDocs(g.Values)}, {Key: "updated_at", Value: g.UpdatedAt},
				{Key: "version", Value: d.Version + 1},
			}}})
		if store.IsDuplicate(err) {
			return contract.OptionGroup{}, fmt.Errorf("modify option group %s: %w", id, store.ErrDuplicate)
		}
		if err != nil {
			return contract.OptionGroup{}, fmt.Errorf("modify option group %s: %w", id, err)
		}
		if res.MatchedCount == 1 {
			return g, nil
		}
		// Another writer got there first (or deleted it: the next find says).
		pause := time.Duration(1+rand.IntN(1<<min(attempt, 5))) * time.Millisecond
		select {
		case <-ctx.Done():
			return contract.OptionGroup{}, ctx.Err()
		case <-time.After(pause):
		}
	}
	return contract.OptionGroup{}, fmt.Errorf("modify option group %s: %w", id, ErrContended)
}

func (s *mongoStore) Delete(ctx context.Context, id string) (contract.OptionGroup, error) {
	var d doc
	err := s.coll.FindOneAndDelete(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return contract.OptionGroup{}, store.ErrNotFound
	}
	if err != nil {
		return contract.OptionGroup{}, fmt.Errorf("delete option group %s: %w", id, err)
	}
	return d.group(), nil
}
