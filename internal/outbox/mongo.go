package outbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Pending is the field in which an entity document keeps its unpublished
// events; a module's document type has
//
//	Outbox outbox.Pending `bson:"outbox,omitempty"`
//
// and sets it on insert (or on a whole-document replace, after the events
// the document already held), or adds to it with [Push] in an update.
type Pending []Event

// Field is the document field of [Pending].
const Field = "outbox"

// pendingKey is how the relay finds documents with pending events: those
// with an event id in their outbox, which the sparse index of [Index]
// holds — only the few documents with pending events, not the whole
// collection (an emptied outbox array has no id to index).
const pendingKey = Field + ".id"

// Index is the index a module creates on every collection whose documents
// carry events, so that the relay's search for pending events reads the
// index of the pending few instead of scanning the collection:
//
//	store.Indexes{"products": {..., outbox.Index()}}
func Index() mongo.IndexModel {
	return mongo.IndexModel{
		Keys:    bson.D{{Key: pendingKey, Value: 1}},
		Options: options.Index().SetSparse(true).SetName("outbox_pending"),
	}
}

// leaseField is the relay's claim on a document's events (unix ms).
const leaseField = "outbox_lease"

// Collection is the module's collection for events that have no entity
// document to travel in (deletes, see [DeleteWith]).
const Collection = "outbox"

// Push returns the update operator that adds events to a document's
// outbox, for the update that makes the change they announce:
//
//	bson.D{{Key: "$set", Value: ...}, outbox.Push(ev)}
func Push(events ...Event) bson.E {
	return bson.E{Key: "$push", Value: bson.D{{Key: Field, Value: bson.D{{Key: "$each", Value: events}}}}}
}

// loose is an event recorded in the outbox collection.
type loose struct {
	ID    string    `bson:"_id"`
	Event Event     `bson:"event"`
	Gone  *gone     `bson:"gone,omitempty"`
	Lease int64     `bson:"outbox_lease,omitempty"`
	At    time.Time `bson:"at"`
}

// gone is the guard of a delete's events: the documents that must have
// disappeared before they may be published.
type gone struct {
	Coll string   `bson:"coll"`
	IDs  []string `bson:"ids"`
}

// DeleteWith deletes the documents of coll with the given ids and records
// events announcing it, in the module's outbox collection. Events still
// pending in the documents move there too, so the delete loses none.
//
// The two writes cannot be one atomic unit without a transaction, so they
// are ordered and guarded: the events are recorded first, naming the
// documents; then the documents are deleted. The relay publishes the
// events only when none of the documents is left, and drops them when the
// documents are still there a minute later (the delete failed or never
// ran), so a crash between the two writes loses nothing and announces
// nothing false.
func DeleteWith(ctx context.Context, db *mongo.Database, coll string, ids []string, events ...Event) (deleted int64, err error) {
	byID := bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}
	// Events still pending in the documents would go with them: move
	// them out first, unguarded (they announce writes that happened),
	// under their own ids, which sort before the delete's.
	var docs []any
	cur, err := db.Collection(coll).Find(ctx, append(byID, bson.E{Key: pendingKey, Value: bson.D{{Key: "$exists", Value: true}}}))
	if err != nil {
		return 0, fmt.Errorf("outbox: read pending events of %s: %w", coll, err)
	}
	var held []struct {
		Outbox []Event `bson:"outbox"`
	}
	if err := cur.All(ctx, &held); err != nil {
		return 0, fmt.Errorf("outbox: read pending events of %s: %w", coll, err)
	}
	for _, h := range held {
		for _, e := range h.Outbox {
			docs = append(docs, loose{ID: e.ID, Event: e, At: e.At})
		}
	}
	for _, e := range events {
		docs = append(docs, loose{ID: e.ID, Event: e, Gone: &gone{Coll: coll, IDs: ids}, At: e.At})
	}
	if len(docs) > 0 && mongo.SessionFromContext(ctx) != nil {
		// In a transaction a duplicate key aborts everything: leave out
		// the events already recorded (moved by an earlier attempt that
		// ran without one) instead of tripping over them.
		var err error
		if docs, err = unrecorded(ctx, db, docs); err != nil {
			return 0, err
		}
	}
	if len(docs) > 0 {
		// Unordered: an event the relay moved already (a retry) is a
		// duplicate key, and the others still go in.
		_, err := db.Collection(Collection).InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
		if err != nil && !onlyDuplicates(err) {
			return 0, fmt.Errorf("outbox: record delete events for %s: %w", coll, err)
		}
	}
	res, err := db.Collection(coll).DeleteMany(ctx, byID)
	if err != nil {
		return 0, fmt.Errorf("delete from %s: %w", coll, err)
	}
	return res.DeletedCount, nil
}

// unrecorded returns those of docs (loose events) not yet in the outbox
// collection.
func unrecorded(ctx context.Context, db *mongo.Database, docs []any) ([]any, error) {
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.(loose).ID
	}
	cur, err := db.Collection(Collection).Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("outbox: read recorded events: %w", err)
	}
	var have []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &have); err != nil {
		return nil, fmt.Errorf("outbox: read recorded events: %w", err)
	}
	if len(have) == 0 {
		return docs, nil
	}
	known := make(map[string]bool, len(have))
	for _, h := range have {
		known[h.ID] = true
	}
	out := docs[:0:0]
	for _, d := range docs {
		if !known[d.(loose).ID] {
			out = append(out, d)
		}
	}
	return out, nil
}

// onlyDuplicates reports whether every write error of a bulk insert is a
// duplicate key.
func onlyDuplicates(err error) bool {
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil || len(bwe.WriteErrors) == 0 {
		return false
	}
	for _, we := range bwe.WriteErrors {
		if !mongo.IsDuplicateKeyError(we) {
			return false
		}
	}
	return true
}

// guardTimeout is how long the events of a delete wait for its documents
// to disappear before they are dropped as the events of a delete that
// did not happen.
const guardTimeout = time.Minute

// mongoSource is a module's MongoDB database: its entity collections, each
// document holding its pending events, and the outbox collection.
type mongoSource struct {
	db    *mongo.Database
	colls []string
}

// Mongo returns the source of a relay over db: the pending events in the
// documents of the named collections, and the outbox collection.
func Mongo(db *mongo.Database, collections ...string) Source {
	return mongoSource{db: db, colls: collections}
}

func (s mongoSource) String() string { return "mongodb outbox " + s.db.Name() }

// mongoRef is where a claimed event lives.
type mongoRef struct {
	coll  string
	id    any  // the document's _id (a bson.RawValue, as read)
	loose bool // a document of the outbox collection
}

// Claim leases documents with pending events, one at a time with
// findOneAndUpdate (a single-document atomic step, which FerretDB
// honours), until n events are claimed or none is left. A document's
// events are claimed together, in their array order: commit order.
func (s mongoSource) Claim(ctx context.Context, n int, lease time.Duration) ([]Claimed, error) {
	var out []Claimed
	for _, coll := range s.colls {
		for len(out) < n {
			now := time.Now().UnixMilli()
			var doc struct {
				ID     bson.RawValue `bson:"_id"`
				Outbox []Event       `bson:"outbox"`
			}
			err := s.db.Collection(coll).FindOneAndUpdate(ctx,
				bson.D{
					{Key: pendingKey, Value: bson.D{{Key: "$exists", Value: true}}},
					{Key: "$or", Value: bson.A{
						bson.D{{Key: leaseField, Value: bson.D{{Key: "$exists", Value: false}}}},
						bson.D{{Key: leaseField, Value: bson.D{{Key: "$lt", Value: now}}}},
					}},
				},
				bson.D{{Key: "$set", Value: bson.D{{Key: leaseField, Value: now + lease.Milliseconds()}}}},
				options.FindOneAndUpdate().SetReturnDocument(options.After),
			).Decode(&doc)
			if errors.Is(err, mongo.ErrNoDocuments) {
				break
			}
			if err != nil {
				return out, fmt.Errorf("outbox: claim in %s: %w", coll, err)
			}
			ref := &mongoRef{coll: coll, id: doc.ID} // shared by the document's events
			for _, e := range doc.Outbox {
				out = append(out, Claimed{Event: e, handle: ref})
			}
		}
	}
	for len(out) < n {
		now := time.Now().UnixMilli()
		var l loose
		err := s.db.Collection(Collection).FindOneAndUpdate(ctx,
			bson.D{{Key: "$or", Value: bson.A{
				bson.D{{Key: leaseField, Value: bson.D{{Key: "$exists", Value: false}}}},
				bson.D{{Key: leaseField, Value: bson.D{{Key: "$lt", Value: now}}}},
			}}},
			bson.D{{Key: "$set", Value: bson.D{{Key: leaseField, Value: now + lease.Milliseconds()}}}},
			options.FindOneAndUpdate().SetSort(bson.D{{Key: "_id", Value: 1}}).SetReturnDocument(options.After),
		).Decode(&l)
		if errors.Is(err, mongo.ErrNoDocuments) {
			break
		}
		if err != nil {
			return out, fmt.Errorf("outbox: claim in %s: %w", Collection, err)
		}
		ref := &mongoRef{coll: Collection, id: l.ID, loose: true}
		if l.Gone != nil {
			left, err := s.db.Collection(l.Gone.Coll).CountDocuments(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: l.Gone.IDs}}}})
			if err != nil {
				return out, fmt.Errorf("outbox: check delete of %s: %w", l.Gone.Coll, err)
			}
			if left > 0 {
				if time.Since(l.At) > guardTimeout {
					// The delete these events announce did not happen.
					if _, err := s.db.Collection(Collection).DeleteOne(ctx, bson.D{{Key: "_id", Value: l.ID}}); err != nil {
						return out, fmt.Errorf("outbox: drop events of a failed delete: %w", err)
					}
				}
				continue // not yet: its lease makes the next claim skip it for a while
			}
		}
		out = append(out, Claimed{Event: l.Event, handle: ref})
	}
	return out, nil
}

// Done removes published events: from their document's outbox with an
// exact $pullAll (the published elements as they were read, which
// FerretDB matches too), releasing the lease in the same update; or the
// outbox collection's document.
func (s mongoSource) Done(ctx context.Context, events []Claimed) error {
	for _, g := range byDocument(events) {
		ref := g.ref
		var err error
		if ref.loose {
			_, err = s.db.Collection(ref.coll).DeleteOne(ctx, bson.D{{Key: "_id", Value: ref.id}})
		} else {
			_, err = s.db.Collection(ref.coll).UpdateOne(ctx, bson.D{{Key: "_id", Value: ref.id}}, bson.D{
				{Key: "$pullAll", Value: bson.D{{Key: Field, Value: g.events}}},
				{Key: "$unset", Value: bson.D{{Key: leaseField, Value: ""}}},
			})
		}
		if err != nil {
			return fmt.Errorf("outbox: remove published events from %s: %w", ref.coll, err)
		}
	}
	return nil
}

// Release gives up the leases on events that were not published.
func (s mongoSource) Release(ctx context.Context, events []Claimed) error {
	for _, g := range byDocument(events) {
		if _, err := s.db.Collection(g.ref.coll).UpdateOne(ctx, bson.D{{Key: "_id", Value: g.ref.id}},
			bson.D{{Key: "$unset", Value: bson.D{{Key: leaseField, Value: ""}}}}); err != nil {
			return fmt.Errorf("outbox: release lease in %s: %w", g.ref.coll, err)
		}
	}
	return nil
}

type docEvents struct {
	ref    *mongoRef
	events []Event
}

// byDocument groups consecutive claimed events of one document.
func byDocument(events []Claimed) []docEvents {
	var out []docEvents
	for _, c := range events {
		ref := c.handle.(*mongoRef)
		if n := len(out); n > 0 && out[n-1].ref == ref {
			out[n-1].events = append(out[n-1].events, c.Event)
			continue
		}
		out = append(out, docEvents{ref: ref, events: []Event{c.Event}})
	}
	return out
}
