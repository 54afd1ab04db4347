package bus

import (
	"context"
	"encoding/json"
	"fmt"
)

// Batches of events. A read model's consumer (filter, seo) writes every
// event into its store; one transaction per event is most of what a burst
// of events (a seed of 100,000 products) costs it. A batch subscription
// hands the consumer the events its queue holds, up to a limit, in order,
// so that it can apply them in one transaction.
//
// The delivery guarantees are those of Subscribe: at least once, in
// order, a failing event retried and then dead-lettered. A batch whose
// handler fails is delivered again one event at a time, so that the
// event that fails is retried and dead-lettered alone, and the others go
// through; consumers are idempotent (by version) anyway.

// BatchHandler handles events in their queue's order; an error asks for
// every one of them again.
type BatchHandler func(ctx context.Context, evs []*Event) error

// MaxEventBatch bounds the events of one batch.
const MaxEventBatch = 1000

// Batcher is a Bus whose subscriptions can deliver batches. A transport
// without it delivers batches of one event (see SubscribeBatch).
type Batcher interface {
	// SubscribeBatch is Subscribe delivering up to max (1 to
	// MaxEventBatch) of the events waiting in the queue to one call of h.
	SubscribeBatch(pattern, group string, max int, h BatchHandler) (Consumer, error)
}

// SubscribeBatch subscribes h to the events of pattern in batches of up to
// max: b's own batches when it is a Batcher, else one event per call.
func SubscribeBatch(b Bus, pattern, group string, max int, h BatchHandler) (Consumer, error) {
	if max < 1 || max > MaxEventBatch {
		return nil, Errorf(CodeInvalid, "subscribe %s: batch of %d, want 1 to %d", pattern, max, MaxEventBatch)
	}
	if bb, ok := b.(Batcher); ok {
		return bb.SubscribeBatch(pattern, group, max, h)
	}
	return b.Subscribe(pattern, group, func(ctx context.Context, ev *Event) error { return h(ctx, []*Event{ev}) })
}

// Delivery is one event of a typed batch: its payload and the event.
type Delivery[T any] struct {
	Payload T
	Event   *Event
}

// OnBatch is On for a batch subscription: fn gets up to max decoded events
// at once. An event whose payload does not decode fails its batch, and so
// fails alone when the batch is delivered again event by event.
func OnBatch[T any](b Bus, ev EventType[T], group string, max int, fn func(ctx context.Context, ds []Delivery[T]) error) (Consumer, error) {
	return SubscribeBatch(b, ev.Topic, group, max, func(ctx context.Context, evs []*Event) error {
		ds := make([]Delivery[T], len(evs))
		for i, e := range evs {
			if err := json.Unmarshal(e.Body, &ds[i].Payload); err != nil {
				return fmt.Errorf("decode event %s %s: %w", e.Topic, e.ID, err)
			}
			ds[i].Event = e
		}
		return fn(ctx, ds)
	})
}
