// Package outbox makes a module's writes and the events announcing them
// commit together, and publishes those events afterwards, at least once,
// in commit order per entity, even when the broker was down at the time or
// the process died between the commit and the publish.
//
// A module that used to write and then publish instead writes the events
// with the change:
//
//   - SQLite: [Add] inserts them into the module's outbox table inside the
//     write's transaction ([PrepareSQLite] makes the table in the module's
//     file when its store opens).
//   - MongoDB: the events travel inside the entity's own document, in its
//     "outbox" array ([Pending] in the document type, [Push] in an update),
//     so the single-document write that changes the entity also records
//     its events — the one atomic unit FerretDB and every MongoDB offer.
//     A delete cannot keep its events in the document it removes, so
//     [DeleteWith] records them in the module's "outbox" collection first,
//     guarded: the relay publishes them only once the documents are gone,
//     and drops them if the delete never happened.
//
// After the commit the module calls [Relay.Notify]; the relay, one per
// module instance, claims pending events (a lease, so instances sharing a
// store don't publish the same events at once, and a key's events are
// claimed together so their order holds), publishes each with publisher
// confirms under its committed id (bus.WithEventID), and removes it only
// after the confirm. It also polls, for events left by a process that
// died. Consumers must be idempotent: every event carries its entity's
// version, and a consumer ignores one that is not newer than what it holds.
package outbox

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/shopengine/shop/internal/bus"
)

// Event is one pending event: written in the same commit as the change it
// announces, published by the relay.
type Event struct {
	// ID is the event's id on the bus (bus.Event.ID), the same on every
	// publish of it.
	ID    string `bson:"id"`
	Topic string `bson:"topic"`
	// Key is the entity the event is about; a key's events are published
	// in the order they were committed.
	Key  string    `bson:"key"`
	Body []byte    `bson:"body"` // JSON
	At   time.Time `bson:"at"`   // when it was committed (UTC, milliseconds)
}

// New returns the pending event of type et about key with payload, under
// a fresh id.
func New[T any](et bus.EventType[T], key string, payload T) (Event, error) {
	if err := bus.ValidateTopic(et.Topic); err != nil {
		return Event{}, err
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return Event{}, fmt.Errorf("encode event %s %s: %w", et.Topic, key, err)
	}
	if len(body) > bus.MaxBodySize {
		return Event{}, fmt.Errorf("event %s %s: body of %d bytes exceeds the limit of %d", et.Topic, key, len(body), bus.MaxBodySize)
	}
	return Event{
		ID:    uuid.Must(uuid.NewV7()).String(),
		Topic: et.Topic,
		Key:   key,
		Body:  body,
		At:    time.Now().UTC().Truncate(time.Millisecond),
	}, nil
}
