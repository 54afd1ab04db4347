package category

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
)

// doc is a category as stored in MongoDB, with the events of its writes
// that the relay has not published yet (the outbox travels in the
// document, so the single-document write that changes the category
// records its events too).
type doc struct {
	ID          string         `bson:"_id"`
	Name        string         `bson:"name"`
	Slug        string         `bson:"slug"`
	Description string         `bson:"description"`
	ParentID    string         `bson:"parent_id"`
	Position    int            `bson:"position"`
	Version     int64          `bson:"version"`
	CreatedAt   time.Time      `bson:"created_at"`
	UpdatedAt   time.Time      `bson:"updated_at"`
	Outbox      outbox.Pending `bson:"outbox,omitempty"`
}

func toDoc(c contract.Category, events []outbox.Event) doc {
	return doc{ID: c.ID, Name: c.Name, Slug: c.Slug, Description: c.Description, ParentID: c.ParentID, Position: c.Position,
		Version: c.Version, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, Outbox: events}
}

func (d doc) category() contract.Category {
	c := contract.Category{ID: d.ID, Name: d.Name, Slug: d.Slug, Description: d.Description, ParentID: d.ParentID, Position: d.Position,
		Version: d.Version, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
	if c.Version < 1 {
		c.Version = 1 // written before categories had versions
	}
	return c
}

// atVersion matches a document at version v. Documents written before
// categories had versions have no version field and read as version 1, so
// version 1 matches them too ($in with null matches a missing field, on
// FerretDB as on MongoDB).
func atVersion(v int64) bson.E {
	if v == 1 {
		return bson.E{Key: "version", Value: bson.D{{Key: "$in", Value: bson.A{int64(1), nil}}}}
	}
	return bson.E{Key: "version", Value: v}
}

// mongoStore keeps categories in "categories" and the write revision in
// "meta". On a replica set each write and its revision bump are one
// transaction, so no reader sees the write without the revision. Without
// transactions (FerretDB, a standalone server) the bump follows the
// write (a reader that sees the new revision also sees the write, which
// came first), on a context of its own (store.Compensation), also when
// the write failed half-way (a move whose renumbering failed); a bump
// that fails even then does not fail the write that committed (the
// caller's retry would make a second category, "-2"): it is logged and
// made again before this process next reads the revision.
//
// Every write is a single-document operation (the subset FerretDB
// honours); a checked write names the version in its filter and sets the
// next one, so a lost race matches nothing and changes nothing. A write's
// events go into its document in that same operation (outbox.Push); a
// delete seals the documents' versions, then records its events and
// deletes them with outbox.DeleteWith.
type mongoStore struct {
	db         *mongo.Database
	coll, meta *mongo.Collection
	log        *slog.Logger
	// tx: the server runs multi-document transactions (see write).
	tx bool
	// behind: a bump failed; Revision makes it first.
	behind atomic.Bool
	// hook, in tests, is called at named points of a write; an error
	// stops the write there, as a crash would.
	hook func(ctx context.Context, step string) error
}

func openMongoStore(ctx context.Context, db *store.DB) (*mongoStore, error) {
	mdb, err := db.Mongo(ctx, contract.CategoryQueue, store.Indexes{"categories": {
		{Keys: bson.D{{Key: "slug", Value: 1}}, Options: options.Index().SetUnique(true).SetName("slug_unique")},
		{Keys: bson.D{{Key: "parent_id", Value: 1}, {Key: "position", Value: 1}}, Options: options.Index().SetName("by_parent")},
		outbox.Index(),
	}})
	if err != nil {
		return nil, err
	}
	tx, err := store.MongoTransactions(ctx, mdb)
	if err != nil {
		return nil, err
	}
	return &mongoStore{db: mdb, coll: mdb.Collection("categories"), meta: mdb.Collection("meta"), log: db.Logger(), tx: tx}, nil
}

// Outbox is the pending events in the category documents (found through
// their outbox.Index), and those of deletes in the outbox collection.
func (s *mongoStore) Outbox() outbox.Source { return outbox.Mongo(s.db, s.coll.Name()) }

var revisionID = bson.D{{Key: "_id", Value: "revision"}}

// bump advances the revision.
func (s *mongoStore) bump(ctx context.Context) error {
	_, err := s.meta.UpdateOne(ctx, revisionID, bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: int64(1)}}}}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("bump category revision: %w", err)
	}
	return nil
}

// write runs steps, a write of categories, and moves the revision with
// it: in one transaction where the server has them; else after it, on
// the compensation context, whatever steps returned (part of a write
// may have committed), and a failed bump is logged and retried later
// rather than failing a write that happened.
func (s *mongoStore) write(ctx context.Context, steps func(ctx context.Context) error) error {
	if s.tx {
		return store.MongoTx(ctx, s.db, func(ctx context.Context) error {
			if err := steps(ctx); err != nil {
				return err
			}
			return s.bump(ctx)
		})
	}
	err := steps(ctx)
	if herr := s.step(ctx, "bump"); herr != nil {
		return errors.Join(err, herr)
	}
	bctx, cancel := store.Compensation(ctx)
	defer cancel()
	if berr := s.bump(bctx); berr != nil {
		s.behind.Store(true)
		s.log.WarnContext(ctx, "category revision left behind; bumped again before the next read", "err", berr)
	}
	return err
}

// step calls the test hook, if any.
func (s *mongoStore) step(ctx context.Context, name string) error {
	if s.hook != nil {
		return s.hook(ctx, name)
	}
	return nil
}

func (s *mongoStore) Revision(ctx context.Context) (int64, error) {
	if s.behind.Load() {
		if err := s.bump(ctx); err != nil {
			return 0, err
		}
		s.behind.Store(false)
	}
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

func (s *mongoStore) Insert(ctx context.Context, c contract.Category, events ...outbox.Event) error {
	return s.write(ctx, func(ctx context.Context) error {
		_, err := s.coll.InsertOne(ctx, toDoc(c, events))
		if store.IsDuplicate(err) {
			return fmt.Errorf("insert category %s: %w", c.ID, store.ErrDuplicate)
		}
		if err != nil {
			return fmt.Errorf("insert category %s: %w", c.ID, err)
		}
		return nil
	})
}

func (s *mongoStore) one(ctx context.Context, filter bson.D) (contract.Category, error) {
	d, err := store.FindOne[doc](ctx, s.coll, filter)
	return d.category(), err
}

func byID(id string) bson.D { return bson.D{{Key: "_id", Value: id}} }

func (s *mongoStore) Get(ctx context.Context, id string) (contract.Category, error) {
	return s.one(ctx, byID(id))
}

func (s *mongoStore) BySlug(ctx context.Context, slug string) (contract.Category, error) {
	return s.one(ctx, bson.D{{Key: "slug", Value: slug}})
}

func (s *mongoStore) Children(ctx context.Context, parentID string) ([]contract.Category, error) {
	return store.FindAll(ctx, s.coll, bson.D{{Key: "parent_id", Value: parentID}}, bson.D{{Key: "position", Value: 1}, {Key: "_id", Value: 1}}, doc.category)
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

// checked applies set to id if it is at version expected (> 0), with the
// version bump and events in the same single-document update. It sets
// expected+1 rather than incrementing, which is exact for documents that
// have no version field yet.
func (s *mongoStore) checked(ctx context.Context, id string, expected int64, set bson.D, events []outbox.Event) error {
	filter := append(byID(id), atVersion(expected))
	update := bson.D{{Key: "$set", Value: append(set, bson.E{Key: "version", Value: expected + 1})}}
	if len(events) > 0 {
		update = append(update, outbox.Push(events...))
	}
	res, err := s.coll.UpdateOne(ctx, filter, update)
	if store.IsDuplicate(err) {
		return store.ErrDuplicate
	}
	if err != nil {
		return err
	}
	if res.MatchedCount == 0 {
		return store.MissedDocument(ctx, s.coll, id)
	}
	return nil
}

func (s *mongoStore) Update(ctx context.Context, c contract.Category, expected int64, events ...outbox.Event) error {
	return s.write(ctx, func(ctx context.Context) error {
		err := s.checked(ctx, c.ID, expected, bson.D{
			{Key: "name", Value: c.Name}, {Key: "slug", Value: c.Slug},
			{Key: "description", Value: c.Description}, {Key: "updated_at", Value: c.UpdatedAt},
		}, events)
		if err != nil {
			return fmt.Errorf("update category %s at version %d: %w", c.ID, expected, err)
		}
		return nil
	})
}

// reorder is store.Reorder with the version bump every write of a
// category gets: one ordered bulk write of single-document conditional
// updates, touching only the documents that move. It is not atomic across
// documents.
func (s *mongoStore) reorder(ctx context.Context, parentID string, ids []string, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	models := make([]mongo.WriteModel, len(ids))
	for i, id := range ids {
		moved := bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: "position", Value: bson.D{{Key: "$ne", Value: i}}}},
			bson.D{{Key: "parent_id", Value: bson.D{{Key: "$ne", Value: parentID}}}},
		}}}
		models[i] = mongo.NewUpdateOneModel().
			SetFilter(append(byID(id), moved...)).
			SetUpdate(bson.D{
				{Key: "$set", Value: bson.D{{Key: "parent_id", Value: parentID}, {Key: "position", Value: i}, {Key: "updated_at", Value: now}}},
				{Key: "$inc", Value: bson.D{{Key: "version", Value: int64(1)}}},
			})
	}
	if _, err := s.coll.BulkWrite(ctx, models); err != nil {
		return fmt.Errorf("reorder categories under %q: %w", parentID, err)
	}
	return nil
}

func (s *mongoStore) Reorder(ctx context.Context, parentID string, ids []string, now time.Time) error {
	return s.write(ctx, func(ctx context.Context) error { return s.reorder(ctx, parentID, ids, now) })
}

// unconditionalAttempts bounds the re-reads of a move without an expected
// version that keeps losing the race for the category to other writes.
const unconditionalAttempts = 20

// Move writes c's move as one checked single-document update carrying its
// events. Without an expected version it reads the version the category
// is at and moves it from there, again on a lost race: the events must
// name the version the move makes, and an update's content cannot depend
// on what it finds.
func (s *mongoStore) Move(ctx context.Context, c contract.Category, expected int64, oldParent string, order []string, moved announce[contract.Category]) error {
	return s.write(ctx, func(ctx context.Context) error { return s.move(ctx, c, expected, oldParent, order, moved) })
}

func (s *mongoStore) move(ctx context.Context, c contract.Category, expected int64, oldParent string, order []string, moved announce[contract.Category]) error {
	set := bson.D{{Key: "parent_id", Value: c.ParentID}, {Key: "position", Value: c.Position}, {Key: "updated_at", Value: c.UpdatedAt}}
	for attempt := 1; ; attempt++ {
		at, after := expected, c
		if expected == 0 {
			cur, err := s.Get(ctx, c.ID)
			if err != nil {
				return fmt.Errorf("move category %s: %w", c.ID, err)
			}
			at, after = cur.Version, cur
			after.ParentID, after.Position, after.UpdatedAt = c.ParentID, c.Position, c.UpdatedAt
		}
		after.Version = at + 1
		evs, err := moved.events(after)
		if err != nil {
			return fmt.Errorf("move category %s: events: %w", c.ID, err)
		}
		err = s.checked(ctx, c.ID, at, set, evs)
		if errors.Is(err, store.ErrStale) && expected == 0 && attempt < unconditionalAttempts {
			continue
		}
		if err != nil {
			return fmt.Errorf("move category %s at version %d: %w", c.ID, expected, err)
		}
		break
	}
	err := s.reorder(ctx, c.ParentID, order, c.UpdatedAt)
	if err == nil && oldParent != c.ParentID {
		var left []contract.Category
		if left, err = s.Children(ctx, oldParent); err == nil {
			err = s.reorder(ctx, oldParent, ids(left), c.UpdatedAt)
		}
	}
	return err
}

// seal takes a category out of reach of checked writes before it is
// deleted: one findOneAndUpdate that counts its version on (filtered on
// expected when it is > 0), so a concurrent write conditional on the old
// version fails and the deleted event's version (one past the last write)
// is one no other write announces. It returns the category as last
// written; false when no document matched.
//
// A crash between the seal and the delete leaves the category at a
// version no event announced, its content unchanged: harmless to
// consumers (the next write's event is newer still), and the caller, who
// got no answer, reads it again.
func (s *mongoStore) seal(ctx context.Context, id string, expected int64) (contract.Category, bool, error) {
	filter := byID(id)
	if expected > 0 {
		filter = append(filter, atVersion(expected))
	}
	var d doc
	// No projection: FerretDB v1 has none on findAndModify.
	err := s.coll.FindOneAndUpdate(ctx, filter, bson.D{{Key: "$inc", Value: bson.D{{Key: "version", Value: int64(1)}}}},
		options.FindOneAndUpdate().SetReturnDocument(options.Before)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return contract.Category{}, false, nil
	}
	if err != nil {
		return contract.Category{}, false, fmt.Errorf("seal category %s: %w", id, err)
	}
	return d.category(), true, nil
}

// Delete seals ids[0] at expected first, so a stale version deletes
// nothing, then its descendants (those still there), and deletes them
// with outbox.DeleteWith, which records the events of deleted for them
// (and moves out those still pending in the documents).
//
// On a replica set that is one transaction. Without transactions the
// categories go one at a time, children before parents (ids has parents
// first), each with its own events guarded on its own document: a
// delete that stops half-way (a failover) leaves a smaller tree, never
// a category whose parent is gone, and the events of exactly the
// categories it removed, which the relay publishes; the caller's retry
// deletes the rest.
func (s *mongoStore) Delete(ctx context.Context, ids []string, expected int64, deleted announce[contract.Category]) error {
	if len(ids) == 0 {
		return nil
	}
	return s.write(ctx, func(ctx context.Context) error { return s.delete(ctx, ids, expected, deleted) })
}

func (s *mongoStore) delete(ctx context.Context, ids []string, expected int64, deleted announce[contract.Category]) error {
	var gone []string
	evs := map[string][]outbox.Event{}
	for i, id := range ids {
		want := int64(0)
		if i == 0 {
			want = expected
		}
		c, ok, err := s.seal(ctx, id, want)
		if err != nil {
			return fmt.Errorf("delete category %s: %w", ids[0], err)
		}
		if !ok {
			if i == 0 {
				return fmt.Errorf("delete category %s at version %d: %w", id, expected, store.MissedDocument(ctx, s.coll, id))
			}
			continue // a descendant deleted meanwhile
		}
		e, err := deleted.events(c)
		if err != nil {
			return fmt.Errorf("delete category %s: events: %w", id, err)
		}
		gone, evs[id] = append(gone, id), e
	}
	if inTx := mongo.SessionFromContext(ctx) != nil; inTx {
		var all []outbox.Event
		for _, id := range gone {
			all = append(all, evs[id]...)
		}
		if _, err := outbox.DeleteWith(ctx, s.db, s.coll.Name(), gone, all...); err != nil {
			return fmt.Errorf("delete category %s and %d descendants: %w", ids[0], len(gone)-1, err)
		}
		return nil
	}
	for i := len(gone) - 1; i >= 0; i-- {
		id := gone[i]
		if _, err := outbox.DeleteWith(ctx, s.db, s.coll.Name(), []string{id}, evs[id]...); err != nil {
			return fmt.Errorf("delete category %s (%d of %d in the subtree of %s): %w", id, len(gone)-i, len(gone), ids[0], err)
		}
		if err := s.step(ctx, "delete:one"); err != nil {
			return err
		}
	}
	return nil
}
