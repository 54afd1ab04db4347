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
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
)

// groupDoc is an attribute group as stored in MongoDB, with the events of
// its writes that the relay has not published yet (the outbox travels in
// the document, so the single-document write that changes the group
// records its events too).
type groupDoc struct {
	ID        string    `bson:"_id"`
	Name      string    `bson:"name"`
	Slug      string    `bson:"slug"`
	Position  int       `bson:"position"`
	Version   int64     `bson:"version"`
	CreatedAt time.Time `bson:"created_at"`
	UpdatedAt time.Time `bson:"updated_at"`
	// Defs counts the definitions in the group: the guarded counter that
	// stands in for SQLite's foreign key (see mongoStore).
	Defs   int64          `bson:"defs"`
	Outbox outbox.Pending `bson:"outbox,omitempty"`
}

func toGroupDoc(g contract.AttributeGroup, events []outbox.Event) groupDoc {
	return groupDoc{ID: g.ID, Name: g.Name, Slug: g.Slug, Position: g.Position, Version: g.Version,
		CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt, Outbox: events}
}

func (d groupDoc) group() contract.AttributeGroup {
	return contract.AttributeGroup{ID: d.ID, Name: d.Name, Slug: d.Slug, Position: d.Position, Version: legacyVersion(d.Version),
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
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
// allowed values are an array in the document, always present, and its
// pending events another, like groupDoc's.
type definitionDoc struct {
	ID         string         `bson:"_id"`
	Code       string         `bson:"code"`
	Name       string         `bson:"name"`
	GroupID    string         `bson:"group_id"`
	Type       string         `bson:"type"`
	Values     []valueDoc     `bson:"values"`
	Unit       string         `bson:"unit"`
	Filterable bool           `bson:"filterable"`
	Required   bool           `bson:"required"`
	Position   int            `bson:"position"`
	Version    int64          `bson:"version"`
	CreatedAt  time.Time      `bson:"created_at"`
	UpdatedAt  time.Time      `bson:"updated_at"`
	Outbox     outbox.Pending `bson:"outbox,omitempty"`
}

func valueDocs(vs []contract.AllowedValue) []valueDoc {
	out := make([]valueDoc, len(vs))
	for i, v := range vs {
		out[i] = valueDoc(v)
	}
	return out
}

func toDefinitionDoc(d contract.AttributeDefinition, events []outbox.Event) definitionDoc {
	return definitionDoc{
		ID: d.ID, Code: d.Code, Name: d.Name, GroupID: d.GroupID, Type: string(d.Type), Values: valueDocs(d.Values),
		Unit: d.Unit, Filterable: d.Filterable, Required: d.Required, Position: d.Position, Version: d.Version,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, Outbox: events,
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
//
// The definition → group foreign key, which SQLite enforces, is a guarded
// counter here: each group counts its definitions (groupDoc.Defs). A
// definition enters a group by first adding one to the group's counter
// (matching no document when the group is gone: errNoGroup), and leaves
// by subtracting one after it left; a group is deleted only by a seal
// conditional on a zero counter (else errGroupInUse). Whichever of a
// concurrent create and delete comes first makes the other fail, so no
// definition is left in a deleted group. A crash between the steps can
// only leave the counter too high (the group then refuses deletion), never
// too low. On a replica set the steps of a write are also one
// transaction.
//
// Every write is a single-document operation (the subset FerretDB
// honours): a checked write names the version in its filter and sets the
// next one, so a lost race matches nothing and changes nothing; its events
// go into its document in that same operation (outbox.Push). A delete
// seals the document's version, then records its events and deletes it
// with outbox.DeleteWith. Nothing ties a definition to its group in the
// database, so the logic checks the group before writing and refuses to
// delete a group that has definitions.
type mongoStore struct {
	db           *mongo.Database
	groups, defs *mongo.Collection
	tx           bool // the server runs multi-document transactions
	// hook, in tests, is called at named points of a write.
	hook func(ctx context.Context, step string) error
}

func openMongoStore(ctx context.Context, db *store.DB) (*mongoStore, error) {
	mdb, err := db.Mongo(ctx, contract.AttributeQueue, store.Indexes{
		"groups": {
			{Keys: bson.D{{Key: "slug", Value: 1}}, Options: options.Index().SetUnique(true).SetName("slug_unique")},
			{Keys: bson.D{{Key: "position", Value: 1}}, Options: options.Index().SetName("by_position")},
			outbox.Index(),
		},
		"definitions": {
			{Keys: bson.D{{Key: "code", Value: 1}}, Options: options.Index().SetUnique(true).SetName("code_unique")},
			{Keys: bson.D{{Key: "group_id", Value: 1}, {Key: "position", Value: 1}}, Options: options.Index().SetName("by_group")},
			outbox.Index(),
		},
	})
	if err != nil {
		return nil, err
	}
	tx, err := store.MongoTransactions(ctx, mdb)
	if err != nil {
		return nil, err
	}
	s := &mongoStore{db: mdb, groups: mdb.Collection("groups"), defs: mdb.Collection("definitions"), tx: tx}
	if err := s.countLegacy(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// countLegacy gives the groups written before the counter existed their
// count of definitions, once.
func (s *mongoStore) countLegacy(ctx context.Context) error {
	cur, err := s.groups.Find(ctx, bson.D{{Key: "defs", Value: bson.D{{Key: "$exists", Value: false}}}}, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return fmt.Errorf("find attribute groups without a count: %w", err)
	}
	var legacy []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &legacy); err != nil {
		return fmt.Errorf("find attribute groups without a count: %w", err)
	}
	for _, g := range legacy {
		n, err := s.defs.CountDocuments(ctx, bson.D{{Key: "group_id", Value: g.ID}})
		if err != nil {
			return fmt.Errorf("count attributes of group %s: %w", g.ID, err)
		}
		if _, err := s.groups.UpdateOne(ctx, bson.D{{Key: "_id", Value: g.ID}, {Key: "defs", Value: bson.D{{Key: "$exists", Value: false}}}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "defs", Value: n}}}}); err != nil {
			return fmt.Errorf("count attributes of group %s: %w", g.ID, err)
		}
	}
	return nil
}

// write runs steps in one transaction where the server has them.
func (s *mongoStore) write(ctx context.Context, steps func(ctx context.Context) error) error {
	if !s.tx {
		return steps(ctx)
	}
	return store.MongoTx(ctx, s.db, steps)
}

// enter adds one to group's count of definitions before a definition
// enters it: errNoGroup when the group is gone (or being deleted).
func (s *mongoStore) enter(ctx context.Context, group string) error {
	res, err := s.groups.UpdateOne(ctx, byID(group), bson.D{{Key: "$inc", Value: bson.D{{Key: "defs", Value: int64(1)}}}})
	if err != nil {
		return fmt.Errorf("count attribute group %s: %w", group, err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("attribute group %s: %w", group, errNoGroup)
	}
	return nil
}

// leave subtracts one from group's count after a definition left it (or
// failed to enter): in the write's transaction, else on the compensation
// context, since what it counts has happened.
func (s *mongoStore) leave(ctx context.Context, group string) error {
	if mongo.SessionFromContext(ctx) == nil {
		var cancel context.CancelFunc
		ctx, cancel = store.Compensation(ctx)
		defer cancel()
	}
	if _, err := s.groups.UpdateOne(ctx, bson.D{{Key: "_id", Value: group}, {Key: "defs", Value: bson.D{{Key: "$gt", Value: 0}}}},
		bson.D{{Key: "$inc", Value: bson.D{{Key: "defs", Value: int64(-1)}}}}); err != nil {
		return fmt.Errorf("count attribute group %s: %w", group, err)
	}
	return nil
}

func (s *mongoStore) step(ctx context.Context, name string) error {
	if s.hook != nil {
		return s.hook(ctx, name)
	}
	return nil
}

// Outbox is the pending events in the group and definition documents
// (found through their outbox.Index), and those of deletes in the outbox
// collection.
func (s *mongoStore) Outbox() outbox.Source {
	return outbox.Mongo(s.db, s.groups.Name(), s.defs.Name())
}

func byID(id string) bson.D { return bson.D{{Key: "_id", Value: id}} }

// update sets set on document id of coll if it is at version expected
// (> 0), setting version expected+1 and adding events in the same
// single-document update (exact also for documents without a version
// field yet).
func update(ctx context.Context, coll *mongo.Collection, id string, expected int64, set bson.D, events []outbox.Event) error {
	upd := bson.D{{Key: "$set", Value: append(set, bson.E{Key: "version", Value: expected + 1})}}
	if len(events) > 0 {
		upd = append(upd, outbox.Push(events...))
	}
	res, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, atVersion(expected)}, upd)
	if store.IsDuplicate(err) {
		return store.ErrDuplicate
	}
	if err != nil {
		return err
	}
	if res.MatchedCount == 0 {
		return store.MissedDocument(ctx, coll, id)
	}
	return nil
}

// remove deletes document id of coll at version expected (0: any) with
// the events deleted builds from it as last written (conv reads it). It
// seals the document first: one findOneAndUpdate that counts its version
// on (filtered on expected when it is > 0), so a concurrent checked write
// fails and the deleted event's version (one past the last write) is one
// no other write announces; then outbox.DeleteWith records the events and
// deletes the document. A crash between the two leaves the document at a
// version no event announced, its content unchanged: harmless to
// consumers, and the caller, who got no answer, reads it again.
func remove[D, T any](ctx context.Context, db *mongo.Database, coll *mongo.Collection, id string, expected int64, guard bson.D, conv func(D) T, deleted announce[T]) error {
	filter := byID(id)
	if expected > 0 {
		filter = append(filter, atVersion(expected))
	}
	filter = append(filter, guard...)
	var d D
	// No projection: FerretDB v1 has none on findAndModify.
	err := coll.FindOneAndUpdate(ctx, filter, bson.D{{Key: "$inc", Value: bson.D{{Key: "version", Value: int64(1)}}}},
		options.FindOneAndUpdate().SetReturnDocument(options.Before)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return store.MissedDocument(ctx, coll, id)
	}
	if err != nil {
		return fmt.Errorf("seal: %w", err)
	}
	evs, err := deleted.events(conv(d))
	if err != nil {
		return fmt.Errorf("events: %w", err)
	}
	_, err = outbox.DeleteWith(ctx, db, coll.Name(), []string{id}, evs...)
	return err
}

// reorderAttempts bounds the re-reads of a document that keeps changing
// under a renumbering.
const reorderAttempts = 20

// reorder is store.Reorder with the version bump every write gets and the
// events of each document it moves: ids at positions 0, 1, … (and, with
// parentField, under parentID). Each document that moves gets one checked
// single-document update, at the version it was read at, carrying the
// events moved builds from it as moved (place says where it is and puts
// it at a position) — an update's content cannot depend on what it finds,
// so a document written meanwhile is read again. It is not atomic across
// documents.
//
// enter, when set, runs before a document moves under parentID from
// another parent (from): it returns the step to run once the move is
// over (committed or not), the definitions' group counter.
func reorder[D, T any](ctx context.Context, coll *mongo.Collection, parentField, parentID string, ids []string, now time.Time,
	conv func(D) T, place func(x *T, pos int, now time.Time) (version int64, moves bool), moved announce[T],
	enter func(ctx context.Context, x T) (after func(moved bool) error, err error),
) error {
	for i, id := range ids {
		for attempt := 1; ; attempt++ {
			d, err := store.FindOne[D](ctx, coll, byID(id))
			if errors.Is(err, store.ErrNotFound) {
				break // gone: nothing to place
			}
			if err != nil {
				return fmt.Errorf("reorder %s under %q: %w", coll.Name(), parentID, err)
			}
			x := conv(d)
			at, moves := place(&x, i, now)
			if !moves {
				break
			}
			evs, err := moved.events(x)
			if err != nil {
				return fmt.Errorf("reorder %s %s: events: %w", coll.Name(), id, err)
			}
			set := bson.D{{Key: "position", Value: i}, {Key: "updated_at", Value: now}}
			if parentField != "" {
				set = append(set, bson.E{Key: parentField, Value: parentID})
			}
			after := func(bool) error { return nil }
			if enter != nil {
				if after, err = enter(ctx, conv(d)); err != nil {
					return fmt.Errorf("reorder %s %s under %q: %w", coll.Name(), id, parentID, err)
				}
			}
			err = update(ctx, coll, id, at, set, evs)
			if aerr := after(err == nil); aerr != nil {
				return errors.Join(err, aerr)
			}
			if errors.Is(err, store.ErrStale) && attempt < reorderAttempts {
				continue
			}
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("reorder %s %s under %q: %w", coll.Name(), id, parentID, err)
			}
			break
		}
	}
	return nil
}

func (s *mongoStore) InsertGroup(ctx context.Context, g contract.AttributeGroup, events ...outbox.Event) error {
	_, err := s.groups.InsertOne(ctx, toGroupDoc(g, events))
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

func (s *mongoStore) UpdateGroup(ctx context.Context, g contract.AttributeGroup, expected int64, events ...outbox.Event) error {
	err := update(ctx, s.groups, g.ID, expected, bson.D{
		{Key: "name", Value: g.Name}, {Key: "slug", Value: g.Slug}, {Key: "position", Value: g.Position}, {Key: "updated_at", Value: g.UpdatedAt},
	}, events)
	if err != nil {
		return fmt.Errorf("update attribute group %s at version %d: %w", g.ID, expected, err)
	}
	return nil
}

func (s *mongoStore) ReorderGroups(ctx context.Context, ids []string, now time.Time, moved announce[contract.AttributeGroup]) error {
	return reorder(ctx, s.groups, "", "", ids, now, groupDoc.group, func(g *contract.AttributeGroup, pos int, now time.Time) (int64, bool) {
		at := g.Version
		if g.Position == pos {
			return at, false
		}
		g.Position, g.UpdatedAt, g.Version = pos, now, at+1
		return at, true
	}, moved, nil)
}

func (s *mongoStore) DeleteGroup(ctx context.Context, id string, expected int64, deleted announce[contract.AttributeGroup]) error {
	// The seal matches only a group that counts no definitions: a
	// definition entering it first makes the delete fail, and once the
	// group is gone no definition can enter it.
	err := s.write(ctx, func(ctx context.Context) error {
		return remove(ctx, s.db, s.groups, id, expected, bson.D{{Key: "defs", Value: bson.D{{Key: "$in", Value: bson.A{int64(0), nil}}}}}, groupDoc.group, deleted)
	})
	if errors.Is(err, store.ErrStale) {
		// At the version, or any: was it the counter that refused?
		if g, gerr := store.FindOne[groupDoc](ctx, s.groups, byID(id)); gerr == nil && g.Defs > 0 && (expected == 0 || legacyVersion(g.Version) == expected) {
			err = errGroupInUse
		}
	}
	if err != nil {
		return fmt.Errorf("delete attribute group %s at version %d: %w", id, expected, err)
	}
	return nil
}

// InsertDefinition enters the group (its counter), then inserts the
// definition; a failed insert leaves the group again, unless the error
// is unclear and the definition is there after all.
func (s *mongoStore) InsertDefinition(ctx context.Context, d contract.AttributeDefinition, events ...outbox.Event) error {
	return s.write(ctx, func(ctx context.Context) error { return s.insertDefinition(ctx, d, events) })
}

func (s *mongoStore) insertDefinition(ctx context.Context, d contract.AttributeDefinition, events []outbox.Event) error {
	if err := s.enter(ctx, d.GroupID); err != nil {
		return fmt.Errorf("insert attribute %s: %w", d.ID, err)
	}
	err := s.step(ctx, "definition:entered")
	if err == nil {
		_, err = s.defs.InsertOne(ctx, toDefinitionDoc(d, events))
	}
	if err != nil && store.Unclear(err) && mongo.SessionFromContext(ctx) == nil {
		if _, ferr := store.FindOne[definitionDoc](context.WithoutCancel(ctx), s.defs, byID(d.ID)); ferr == nil {
			return nil // it landed
		}
	}
	if err != nil && mongo.SessionFromContext(ctx) == nil {
		err = errors.Join(err, s.leave(ctx, d.GroupID))
	}
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

// UpdateDefinition moving d to another group enters the new group
// first and leaves the old one after (or the new one again, when the
// write failed).
func (s *mongoStore) UpdateDefinition(ctx context.Context, d contract.AttributeDefinition, expected int64, events ...outbox.Event) error {
	return s.write(ctx, func(ctx context.Context) error { return s.updateDefinition(ctx, d, expected, events) })
}

func (s *mongoStore) updateDefinition(ctx context.Context, d contract.AttributeDefinition, expected int64, events []outbox.Event) error {
	old, err := store.FindOne[definitionDoc](ctx, s.defs, byID(d.ID))
	if err != nil {
		return fmt.Errorf("update attribute %s at version %d: %w", d.ID, expected, err)
	}
	after, err := s.moveTo(ctx, old.GroupID, d.GroupID)
	if err != nil {
		return fmt.Errorf("update attribute %s: %w", d.ID, err)
	}
	err = update(ctx, s.defs, d.ID, expected, bson.D{
		{Key: "code", Value: d.Code}, {Key: "name", Value: d.Name}, {Key: "group_id", Value: d.GroupID}, {Key: "type", Value: string(d.Type)},
		{Key: "values", Value: valueDocs(d.Values)}, {Key: "unit", Value: d.Unit},
		{Key: "filterable", Value: d.Filterable}, {Key: "required", Value: d.Required},
		{Key: "position", Value: d.Position}, {Key: "updated_at", Value: d.UpdatedAt},
	}, events)
	if aerr := after(err == nil); aerr != nil {
		err = errors.Join(err, aerr)
	}
	if err != nil {
		return fmt.Errorf("update attribute %s at version %d: %w", d.ID, expected, err)
	}
	return nil
}

// moveTo enters group to before a definition moves there from group
// from, and returns what to do once the move is over: leave from if it
// moved, else leave to again. Nothing when the group stays.
func (s *mongoStore) moveTo(ctx context.Context, from, to string) (func(moved bool) error, error) {
	if from == to {
		return func(bool) error { return nil }, nil
	}
	if err := s.enter(ctx, to); err != nil {
		return nil, err
	}
	return func(moved bool) error {
		if mongo.SessionFromContext(ctx) != nil && !moved {
			return nil // the transaction aborts the enter
		}
		if moved {
			return s.leave(ctx, from)
		}
		return s.leave(ctx, to)
	}, nil
}

func (s *mongoStore) ReorderDefinitions(ctx context.Context, groupID string, ids []string, now time.Time, moved announce[contract.AttributeDefinition]) error {
	return reorder(ctx, s.defs, "group_id", groupID, ids, now, definitionDoc.definition, func(d *contract.AttributeDefinition, pos int, now time.Time) (int64, bool) {
		at := d.Version
		if d.Position == pos && d.GroupID == groupID {
			return at, false
		}
		d.Position, d.GroupID, d.UpdatedAt, d.Version = pos, groupID, now, at+1
		return at, true
	}, moved, func(ctx context.Context, d contract.AttributeDefinition) (func(bool) error, error) {
		return s.moveTo(ctx, d.GroupID, groupID)
	})
}

// DeleteDefinition deletes the definition, then leaves its group.
func (s *mongoStore) DeleteDefinition(ctx context.Context, id string, expected int64, deleted announce[contract.AttributeDefinition]) error {
	err := s.write(ctx, func(ctx context.Context) error {
		var group string
		err := remove(ctx, s.db, s.defs, id, expected, nil, func(d definitionDoc) contract.AttributeDefinition {
			group = d.GroupID
			return d.definition()
		}, deleted)
		if err != nil {
			return err
		}
		return s.leave(ctx, group)
	})
	if err != nil {
		return fmt.Errorf("delete attribute %s at version %d: %w", id, expected, err)
	}
	return nil
}
