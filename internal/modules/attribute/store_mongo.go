package attribute

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

// groupDoc is an attribute group as stored in MongoDB.
type groupDoc struct {
	ID        string    `bson:"_id"`
	Name      string    `bson:"name"`
	Slug      string    `bson:"slug"`
	Position  int       `bson:"position"`
	CreatedAt time.Time `bson:"created_at"`
	UpdatedAt time.Time `bson:"updated_at"`
}

func (d groupDoc) group() contract.AttributeGroup {
	g := contract.AttributeGroup(d)
	g.CreatedAt, g.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return g
}

// valueDoc is one allowed value, kept as a sub-document of its definition.
type valueDoc struct {
	Code  string `bson:"code"`
	Label string `bson:"label"`
}

// definitionDoc is an attribute definition as stored in MongoDB; its
// allowed values are an array in the document, always present.
type definitionDoc struct {
	ID         string     `bson:"_id"`
	Code       string     `bson:"code"`
	Name       string     `bson:"name"`
	GroupID    string     `bson:"group_id"`
	Type       string     `bson:"type"`
	Values     []valueDoc `bson:"values"`
	Unit       string     `bson:"unit"`
	Filterable bool       `bson:"filterable"`
	Required   bool       `bson:"required"`
	Position   int        `bson:"position"`
	CreatedAt  time.Time  `bson:"created_at"`
	UpdatedAt  time.Time  `bson:"updated_at"`
}

func valueDocs(vs []contract.AllowedValue) []valueDoc {
	out := make([]valueDoc, len(vs))
	for i, v := range vs {
		out[i] = valueDoc(v)
	}
	return out
}

func toDefinitionDoc(d contract.AttributeDefinition) definitionDoc {
	return definitionDoc{
		ID: d.ID, Code: d.Code, Name: d.Name, GroupID: d.GroupID, Type: string(d.Type), Values: valueDocs(d.Values),
		Unit: d.Unit, Filterable: d.Filterable, Required: d.Required, Position: d.Position, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
	}
}

func (d definitionDoc) definition() contract.AttributeDefinition {
	out := contract.AttributeDefinition{
		ID: d.ID, Code: d.Code, Name: d.Name, GroupID: d.GroupID, Type: contract.AttributeType(d.Type),
		Unit: d.Unit, Filterable: d.Filterable, Required: d.Required, Position: d.Position,
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
	}
	for _, v := range d.Values {
		out.Values = append(out.Values, contract.AllowedValue(v))
	}
	return out
}

// mongoStore keeps groups in "groups" and definitions in "definitions".
// Every write is a single-document operation (the subset FerretDB
// honours); nothing ties a definition to its group in the database, so
// the logic checks the group before writing and refuses to delete a group
// that has definitions.
type mongoStore struct{ groups, defs *mongo.Collection }

func openMongoStore(ctx context.Context, db *store.DB) (*mongoStore, error) {
	mdb, err := db.Mongo(ctx, contract.AttributeQueue, store.Indexes{
		"groups": {
			{Keys: bson.D{{Key: "slug", Value: 1}}, Options: options.Index().SetUnique(true).SetName("slug_unique")},
			{Keys: bson.D{{Key: "position", Value: 1}}, Options: options.Index().SetName("by_position")},
		},
		"definitions": {
			{Keys: bson.D{{Key: "code", Value: 1}}, Options: options.Index().SetUnique(true).SetName("code_unique")},
			{Keys: bson.D{{Key: "group_id", Value: 1}, {Key: "position", Value: 1}}, Options: options.Index().SetName("by_group")},
		},
	})
	if err != nil {
		return nil, err
	}
	return &mongoStore{groups: mdb.Collection("groups"), defs: mdb.Collection("definitions")}, nil
}

func byID(id string) bson.D { return bson.D{{Key: "_id", Value: id}} }

// changedOrMissing tells, after a compare-and-swap matched nothing,
// whether the document is gone or was changed.
func changedOrMissing(ctx context.Context, coll *mongo.Collection, id string) error {
	err := coll.FindOne(ctx, byID(id), options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("check %s %s: %w", coll.Name(), id, err)
	}
	return errChanged
}

func (s *mongoStore) InsertGroup(ctx context.Context, g contract.AttributeGroup) error {
	_, err := s.groups.InsertOne(ctx, groupDoc(g))
	if store.IsDuplicate(err) {
		return fmt.Errorf("insert attribute group %s: %w", g.ID, store.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("insert attribute group %s: %w", g.ID, err)
	}
	return nil
}

func (s *mongoStore) Group(ctx context.Context, id string) (contract.AttributeGroup, error) {
	d, err := store.FindOne[groupDoc](ctx, s.groups, byID(id))
	return d.group(), err
}

func (s *mongoStore) Groups(ctx context.Context) ([]contract.AttributeGroup, error) {
	return store.FindAll(ctx, s.groups, bson.D{}, bson.D{{Key: "position", Value: 1}, {Key: "_id", Value: 1}}, groupDoc.group)
}

func (s *mongoStore) UpdateGroup(ctx context.Context, g contract.AttributeGroup, was time.Time) error {
	res, err := s.groups.UpdateOne(ctx, bson.D{{Key: "_id", Value: g.ID}, {Key: "updated_at", Value: was}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "name", Value: g.Name}, {Key: "slug", Value: g.Slug}, {Key: "updated_at", Value: g.UpdatedAt}}}})
	if store.IsDuplicate(err) {
		return fmt.Errorf("update attribute group %s: %w", g.ID, store.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("update attribute group %s: %w", g.ID, err)
	}
	if res.MatchedCount == 0 {
		return changedOrMissing(ctx, s.groups, g.ID)
	}
	return nil
}

func (s *mongoStore) ReorderGroups(ctx context.Context, ids []string, now time.Time) error {
	return store.Reorder(ctx, s.groups, "", "", ids, now)
}

func (s *mongoStore) DeleteGroup(ctx context.Context, id string) error {
	res, err := s.groups.DeleteOne(ctx, byID(id))
	if err != nil {
		return fmt.Errorf("delete attribute group %s: %w", id, err)
	}
	if res.DeletedCount == 0 {
		return store.ErrNotFound
	}
	return nil
}

func (s *mongoStore) InsertDefinition(ctx context.Context, d contract.AttributeDefinition) error {
	_, err := s.defs.InsertOne(ctx, toDefinitionDoc(d))
	if store.IsDuplicate(err) {
		return fmt.Errorf("insert attribute %s: %w", d.ID, store.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("insert attribute %s: %w", d.ID, err)
	}
	return nil
}

func (s *mongoStore) oneDefinition(ctx context.Context, filter bson.D) (contract.AttributeDefinition, error) {
	d, err := store.FindOne[definitionDoc](ctx, s.defs, filter)
	return d.definition(), err
}

func (s *mongoStore) Definition(ctx context.Context, id string) (contract.AttributeDefinition, error) {
	return s.oneDefinition(ctx, byID(id))
}

func (s *mongoStore) DefinitionByCode(ctx context.Context, code string) (contract.AttributeDefinition, error) {
	return s.oneDefinition(ctx, bson.D{{Key: "code", Value: code}})
}

func (s *mongoStore) definitions(ctx context.Context, filter, sort bson.D) ([]contract.AttributeDefinition, error) {
	return store.FindAll(ctx, s.defs, filter, sort, definitionDoc.definition)
}

func (s *mongoStore) GroupDefinitions(ctx context.Context, groupID string) ([]contract.AttributeDefinition, error) {
	return s.definitions(ctx, bson.D{{Key: "group_id", Value: groupID}}, bson.D{{Key: "position", Value: 1}, {Key: "_id", Value: 1}})
}

func (s *mongoStore) Definitions(ctx context.Context) ([]contract.AttributeDefinition, error) {
	return s.definitions(ctx, bson.D{}, bson.D{{Key: "group_id", Value: 1}, {Key: "position", Value: 1}, {Key: "_id", Value: 1}})
}

func (s *mongoStore) UpdateDefinition(ctx context.Context, d contract.AttributeDefinition, was time.Time) error {
	res, err := s.defs.UpdateOne(ctx, bson.D{{Key: "_id", Value: d.ID}, {Key: "updated_at", Value: was}},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "code", Value: d.Code}, {Key: "name", Value: d.Name}, {Key: "type", Value: string(d.Type)},
			{Key: "values", Value: valueDocs(d.Values)}, {Key: "unit", Value: d.Unit},
			{Key: "filterable", Value: d.Filterable}, {Key: "required", Value: d.Required}, {Key: "updated_at", Value: d.UpdatedAt},
		}}})
	if store.IsDuplicate(err) {
		return fmt.Errorf("update attribute %s: %w", d.ID, store.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("update attribute %s: %w", d.ID, err)
	}
	if res.MatchedCount == 0 {
		return changedOrMissing(ctx, s.defs, d.ID)
	}
	return nil
}

func (s *mongoStore) ReorderDefinitions(ctx context.Context, groupID string, ids []string, now time.Time) error {
	return store.Reorder(ctx, s.defs, "group_id", groupID, ids, now)
}

func (s *mongoStore) DeleteDefinition(ctx context.Context, id string) error {
	res, err := s.defs.DeleteOne(ctx, byID(id))
	if err != nil {
		return fmt.Errorf("delete attribute %s: %w", id, err)
	}
	if res.DeletedCount == 0 {
		return store.ErrNotFound
	}
	return nil
}
