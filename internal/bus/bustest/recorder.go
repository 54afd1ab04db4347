package bustest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/bus"
)

// Recorded is one event a Recorder received, decoded.
type Recorded[T any] struct {
	Topic string
	Event T
}

// Recorder collects the events matching a pattern, decoded strictly as T
// (an event that does not decode fails the test): what module tests use
// to check which events a handler published and what they carried.
type Recorder[T any] struct {
	mu     sync.Mutex
	events []Recorded[T]
}

// Record subscribes a test group to pattern on b and records what arrives.
func Record[T any](t testing.TB, b bus.Bus, pattern string) *Recorder[T] {
	t.Helper()
	r := &Recorder[T]{}
	if _, err := b.Subscribe(pattern, "test", func(_ context.Context, e *bus.Event) error {
		var v T
		if err := bus.DecodeStrict(e.Body, &v); err != nil {
			t.Errorf("event %s: %v", e.Topic, err)
		}
		r.mu.Lock()
		r.events = append(r.events, Recorded[T]{e.Topic, v})
		r.mu.Unlock()
		return nil
	}); err != nil {
		t.Fatalf("record %s: %v", pattern, err)
	}
	return r
}

// All returns the events received so far, in order.
func (r *Recorder[T]) All() []Recorded[T] {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// Wait waits up to 5 s for at least n events and returns all received.
func (r *Recorder[T]) Wait(t testing.TB, n int) []Recorded[T] {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := r.All()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d events, want %d: %+v", len(got), n, got)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Settle waits until no event has arrived for a moment and returns all.
func (r *Recorder[T]) Settle() []Recorded[T] {
	n := -1
	for {
		time.Sleep(30 * time.Millisecond)
		got := r.All()
		if len(got) == n {
			return got
		}
		n = len(got)
	}
}
