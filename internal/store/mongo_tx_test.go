package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
)

// TestUnclear: the errors after which a write may have landed (so a store
// reads back before it undoes) and those that are clear refusals.
func TestUnclear(t *testing.T) {
	dup := mongo.WriteException{WriteErrors: []mongo.WriteError{{Code: 11000, Message: "E11000 duplicate key"}}}
	wc := mongo.WriteException{WriteConcernError: &mongo.WriteConcernError{Code: 64, Message: "waiting for replication timed out"}}
	for _, c := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{dup, false},
		{fmt.Errorf("insert: %w", ErrDuplicate), false},
		{errors.New("document failed validation"), false},
		{context.DeadlineExceeded, true},
		{fmt.Errorf("insert: %w", context.Canceled), true},
		{wc, true},
		{mongo.BulkWriteException{WriteConcernError: &mongo.WriteConcernError{Code: 64}}, true},
	} {
		if got := Unclear(c.err); got != c.want {
			t.Errorf("Unclear(%v) = %t, want %t", c.err, got, c.want)
		}
	}
}

// TestCompensation: the undo context keeps the request's values, not its
// cancellation, and has a deadline of its own.
func TestCompensation(t *testing.T) {
	type key struct{}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	cancel()
	cctx, ccancel := Compensation(ctx)
	defer ccancel()
	if cctx.Err() != nil || cctx.Value(key{}) != "v" {
		t.Fatalf("compensation context: err %v, value %v", cctx.Err(), cctx.Value(key{}))
	}
	if d, ok := cctx.Deadline(); !ok || time.Until(d) > CompensationTimeout {
		t.Fatalf("compensation deadline %v, %t", d, ok)
	}
}
