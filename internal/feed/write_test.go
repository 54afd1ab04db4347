package feed

import (
	"errors"
	"slices"
	"testing"

	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

// Write applies a batch as Put and Delete would one by one: the version
// rule per entry (a key written twice in one batch included), seqs in the
// batch's order; an invalid entry fails the batch with nothing written.
func TestWrite(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		l := openLog(t, db, "batch")
		if _, err := l.Put(ctx, "old", 5, body("old5")); err != nil {
			t.Fatal(err)
		}
		_, top, err := l.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		applied, err := Write(ctx, l, []Entry{
			{Key: "a", Version: 1, Body: body("a1")},
			{Key: "old", Version: 4, Body: body("old4")}, // older: refused
			{Key: "b", Version: 1, Body: body("b1")},
			{Key: "a", Version: 2, Body: body("a2")}, // the same key again, newer
			{Key: "old", Version: 6, Deleted: true},
			{Key: "b", Version: 1, Body: body("b1 again")}, // a redelivery
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := []bool{true, false, true, true, true, false}; !slices.Equal(applied, want) {
			t.Fatalf("applied %v, want %v", applied, want)
		}
		changes, err := l.Since(ctx, top, 100)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range changes {
			got = append(got, c.Key+":"+string(c.Body))
		}
		// b's seq is below a's second write's, which moved a past it.
		if want := []string{"b:" + string(body("b1")), "a:" + string(body("a2")), "old:"}; !slices.Equal(got, want) {
			t.Fatalf("changes %v, want %v", got, want)
		}
		if c, err := l.Get(ctx, "old"); err != nil || !c.Deleted || c.Version != 6 {
			t.Fatalf("old: %+v %v", c, err)
		}

		// Bad input anywhere: nothing is written.
		_, err = Write(ctx, l, []Entry{{Key: "c", Version: 1, Body: body("c")}, {Key: "d", Version: 0, Body: body("d")}})
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("version 0: %v, want invalid", err)
		}
		_, err = Write(ctx, l, []Entry{{Key: "c", Version: 1, Body: []byte("not json")}})
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("body not JSON: %v, want invalid", err)
		}
		if _, err := l.Get(ctx, "c"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("c after refused batches: %v, want not found", err)
		}
		if applied, err := Write(ctx, l, nil); err != nil || len(applied) != 0 {
			t.Fatalf("empty batch: %v %v", applied, err)
		}
	})
}
