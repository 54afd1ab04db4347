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
	Version   int64     `bson:"version"`
	CreatedAt time.Time `bson:"created_at"`
	UpdatedAt time.Time `bson:"updated_at"`
}

func (d groupDoc) group() contract.AttributeGroup {
	g := contract.AttributeGroup(d)
	g.CreatedAt, g.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	g.Version = legacyVersion(d.Version)
	return g
}

// legacyVersion reads the version of a document written before versions
// existed (no field: 0) as 1.
func legacyVersion(v int64) int64 { return max(v, 1) }

// atVersion matches a document at version v; at 1 also one without a
// version field ($in with null matches a missing field, on FerretDB as
// on MongoDB).
func atVersion(v int64) bson.E {
	if v == 1 {
		return bson.E{Key: "version", Value: bson.D{{Key: "$in", Value: bson.A{int64(1), nil}}}}
	}
	return bson.E{Key: "version", Value: v}
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
	Version    int64      `bson:"version"`
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
		Unit: d.Unit, Filterable: d.Filterable, Required: d.Required, Position: d.Position, Version: d.Version,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
	}
}

func (d definitionDoc) definition() contract.AttributeDefinition {
	out := contract.AttributeDefinition{
		ID: d.ID, Code: d.Code, Name: d.Name, GroupID: d.GroupID, Type: contract.AttributeType(d.Type),
		Unit: d.Unit, Filterable: d.Filterable, Required: d.Required, Position: d.Position, Version: legacyVersion(d.Version),
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
	}
	for _, v := range d.Values {
		out.Values = append(out.Values, contract.AllowedValue(v))
	}
	return out
}

// mongoStore keeps groups in "groups" and definitions in "definitions".
// Every write is a single-document operation (the subset FerretDB
// honours): a checked write names the version in its filter and sets the
// next one, so a lost race matches nothing and changes nothing. Nothing ties a definition to its group in the database, so
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

// missedBecause tells, after a checked write matched nothing, whether
// the document is gone or at another version.
func missedBecause(ctx context.Context, coll *mongo.Collection, id string) error {
	err := coll.FindOne(ctx, byID(id), options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("check %s %s: %w", coll.Name(), id, err)
	}
	return errStale
}

// update sets set on document id of coll if it is at version expected
// (> 0), setting version expected+1 in the same single-document update
// (exact also for documents without a version field yet).
func update(ctx context.Context, coll *mongo.Collection, id string, expected int64, set bson.D) error {
	res, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, atVersion(expected)},
		bson.D{{Key: "$set", Value: append(set, bson.E{Key: "version", Value: expected + 1})}})
	if store.IsDuplicate(err) {
		return store.ErrDuplicate
	}
	if err != nil {
		return err
	}
	if res.MatchedCount == 0 {
		return missedBecause(ctx, coll, id)
	}
	return nil
}

// remove deletes document id of coll at version expected (0: any).
func remove(ctx context.Context, coll *mongo.Collection, id string, expected int64) error {
	filter := byID(id)
	if expected > 0 {
		filter = append(filter, atVersion(expected))
	}
	res, err := coll.DeleteOne(ctx, filter)
	if err != nil {
		return err
	}
	if res.DeletedCount == 0 {
		return missedBecause(ctx, coll, id)
	}
	return nil
}

// reorder is store.Reorder with the version bump every write gets: ids
// at positions 0, 1, … (and, with parentField, under parentID), as one
// ordered bulk write of single-document conditional updates that touches
// only the documents that move. It is not atomic across documents.
func reorder(ctx context.Context, coll *mongo.Collection, parentField, parentID string, ids []string, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	models := make([]mongo.WriteModel, len(ids))
	for i, id := range ids {
		moved := bson.D{{Key: "position", Value: bson.D{{Key: "$ne", Value: i}}}}
		set := bson.D{{Key: "position", Value: i}, {Key: "updated_at", Value: now}}
		if parentField != "" {
			moved = bson.D{{Key: "$or", Value: bson.A{moved, bson.D{{Key: parentField, Value: bson.D{{Key: "$ne", Value: parentID}}}}}}}
			set = append(set, bson.E{Key: parentField, Value: parentID})
		}
		models[i] = mongo.NewUpdateOneModel().
			SetFilter(append(byID(id), moved...)).
			SetUpdate(bson.D{{Key: "$set", Value: set}, {Key: "$inc", Value: bson.D{{Key: "version", Value: int64(1)}}}})
	}
	if _, err := coll.BulkWrite(ctx, models); err != nil {
		return fmt.Errorf("reorder %s under %q: %w", coll.Name(), parentID, err)
	}
	return nil
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

func (s *mongoStore) UpdateGroup(ctx context.Context, g contract.AttributeGroup, expected int64) error {
	err := update(ctx, s.groups, g.ID, expected, bson.D{
		{Key: "name", Value: g.Name}, {Key: "slug", Value: g.Slug}, {Key: "position", Value: g.Position}, {Key: "updated_at", Value: g.UpdatedAt},
	})
	if err != nil {
		return fmt.Errorf("update attribute group %s at version %d: %w", g.ID, expected, err)
	}
	return nil
}

func (s *mongoStore) ReorderGroups(ctx context.Context, ids []string, now time.Time) error {
	return reorder(ctx, s.groups, "", "", ids, now)
}

func (s *mongoStore) DeleteGroup(ctx context.Context, id string, expected int64) error {
	if err := remove(ctx, s.groups, id, expected); err != nil {
		return fmt.Errorf("delete attribute group %s at version %d: %w", id, expected, err)
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

func (s *mongoStore) UpdateDefinition(ctx context.Context, d contract.AttributeDefinition, expected int64) error {
	err := update(ctx, s.defs, d.ID, expected, bson.D{
		{Key: "code", Value: d.Code}, {Key: "name", Value: d.Name}, {Key: "group_id", Value: d.GroupID}, {Key: "type", Value: string(d.Type)},
		{Key: "values", Value: valueDocs(d.Values)}, {Key: "unit", Value: d.Unit},
		{Key: "filterable", Value: d.Filterable}, {Key: "required", Value: d.Required},
		{Key: "position", Value: d.Position}, {Key: "updated_at", Value: d.UpdatedAt},
	})
	if err != nil {
		return fmt.Errorf("update attribute %s at version %d: %w", d.ID, expected, err)
	}
	return nil
}

func (s *mongoStore) ReorderDefinitions(ctx context.Context, groupID string, ids []string, now time.Time) error {
	return reorder(ctx, s.defs, "group_id", groupID, ids, now)
}

func (s *mongoStore) DeleteDefinition(ctx context.Context, id string, expected int64) error {
	if err := remove(ctx, s.defs, id, expected); err != nil {
		return fmt.Errorf("delete attribute %s at version %d: %w", id, expected, err)
	}
	return nil
}
