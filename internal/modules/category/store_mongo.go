package category

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
)

// doc is a category as stored in MongoDB.
type doc struct {
	ID          string    `bson:"_id"`
	Name        string    `bson:"name"`
	Slug        string    `bson:"slug"`
	Description string    `bson:"description"`
	ParentID    string    `bson:"parent_id"`
	Position    int       `bson:"position"`
	CreatedAt   time.Time `bson:"created_at"`
	UpdatedAt   time.Time `bson:"updated_at"`
}

func toDoc(c contract.Category) doc { return doc(c) }

func (d doc) category() contract.Category {
	c := contract.Category(d)
	c.CreatedAt, c.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return c
}

// mongoStore keeps categories in "categories" and the write revision in
// "meta", bumped after each write (MongoDB has no triggers; a reader that
// sees the new revision also sees the write, which came first).
type mongoStore struct{ coll, meta *mongo.Collection }

func openMongoStore(ctx context.Context, db *store.DB) (*mongoStore, error) {
	mdb, err := db.Mongo(ctx, contract.CategoryQueue, store.Indexes{"categories": {
		{Keys: bson.D{{Key: "slug", Value: 1}}, Options: options.Index().SetUnique(true).SetName("slug_unique")},
		{Keys: bson.D{{Key: "parent_id", Value: 1}, {Key: "position", Value: 1}}, Options: options.Index().SetName("by_parent")},
	}})
	if err != nil {
		return nil, err
	}
	return &mongoStore{coll: mdb.Collection("categories"), meta: mdb.Collection("meta")}, nil
}

var revisionID = bson.D{{Key: "_id", Value: "revision"}}

// bump advances the revision after a write.
func (s *mongoStore) bump(ctx context.Context) error {
	_, err := s.meta.UpdateOne(ctx, revisionID, bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: int64(1)}}}}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("bump category revision: %w", err)
	}
	return nil
}

func (s *mongoStore) Revision(ctx context.Context) (int64, error) {
	var r struct {
		N int64 `bson:"n"`
	}
	err := s.meta.FindOne(ctx, revisionID).Decode(&r)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("category revision: %w", err)
	}
	return r.N, nil
}

func (s *mongoStore) Insert(ctx context.Context, c contract.Category) error {
	_, err := s.coll.InsertOne(ctx, toDoc(c))
	if store.IsDuplicate(err) {
		return fmt.Errorf("insert category %s: %w", c.ID, store.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("insert category %s: %w", c.ID, err)
	}
	return s.bump(ctx)
}

func (s *mongoStore) one(ctx context.Context, filter bson.D) (contract.Category, error) {
	d, err := store.FindOne[doc](ctx, s.coll, filter)
	return d.category(), err
}

func (s *mongoStore) Get(ctx context.Context, id string) (contract.Category, error) {
	return s.one(ctx, bson.D{{Key: "_id", Value: id}})
}

func (s *mongoStore) BySlug(ctx context.Context, slug string) (contract.Category, error) {
	return s.one(ctx, bson.D{{Key: "slug", Value: slug}})
}

func (s *mongoStore) list(ctx context.Context, filter bson.D, sort bson.D) ([]contract.Category, error) {
	return store.FindAll(ctx, s.coll, filter, sort, doc.category)
}

func (s *mongoStore) Children(ctx context.Context, parentID string) ([]contract.Category, error) {
	return s.list(ctx, bson.D{{Key: "parent_id", Value: parentID}}, bson.D{{Key: "position", Value: 1}, {Key: "_id", Value: 1}})
}

func (s *mongoStore) Nodes(ctx context.Context) ([]Node, error) {
	cur, err := s.coll.Find(ctx, bson.D{}, options.Find().
		SetProjection(bson.D{{Key: "parent_id", Value: 1}, {Key: "name", Value: 1}, {Key: "slug", Value: 1}, {Key: "position", Value: 1}}).
		SetSort(bson.D{{Key: "parent_id", Value: 1}, {Key: "position", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("load category nodes: %w", err)
	}
	var docs []struct {
		ID       string `bson:"_id"`
		ParentID string `bson:"parent_id"`
		Name     string `bson:"name"`
		Slug     string `bson:"slug"`
		Position int    `bson:"position"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("load category nodes: %w", err)
	}
	out := make([]Node, len(docs))
	for i, d := range docs {
		out[i] = Node(d)
	}
	return out, nil
}

func (s *mongoStore) Update(ctx context.Context, c contract.Category) error {
	res, err := s.coll.UpdateByID(ctx, c.ID, bson.D{{Key: "$set", Value: bson.D{
		{Key: "name", Value: c.Name}, {Key: "slug", Value: c.Slug},
		{Key: "description", Value: c.Description}, {Key: "updated_at", Value: c.UpdatedAt},
	}}})
	if store.IsDuplicate(err) {
		return fmt.Errorf("update category %s: %w", c.ID, store.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("update category %s: %w", c.ID, err)
	}
	if res.MatchedCount == 0 {
		return store.ErrNotFound
	}
	return s.bump(ctx)
}

func (s *mongoStore) Reorder(ctx context.Context, parentID string, ids []string, now time.Time) error {
	if err := store.Reorder(ctx, s.coll, "parent_id", parentID, ids, now); err != nil {
		return err
	}
	return s.bump(ctx)
}

func (s *mongoStore) Delete(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := s.coll.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}); err != nil {
		return fmt.Errorf("delete %d categories: %w", len(ids), err)
	}
	return s.bump(ctx)
}
