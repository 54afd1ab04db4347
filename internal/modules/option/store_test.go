package option

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

var testTime = time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)

func newGroup(code string, valueCodes ...string) contract.OptionGroup {
	g := contract.OptionGroup{ID: newID(), Code: code, Name: "Group " + code, Values: []contract.OptionValue{}, CreatedAt: testTime, UpdatedAt: testTime}
	for i, c := range valueCodes {
		g.Values = append(g.Values, contract.OptionValue{ID: newID(), Code: c, Label: "Label " + c, Position: i})
	}
	return g
}

func groupIDs(gs []contract.OptionGroup) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.ID
	}
	return out
}

func valueCodes(g contract.OptionGroup) []string {
	out := make([]string, len(g.Values))
	for i, v := range g.Values {
		out[i] = v.Code
	}
	return out
}

// TestStore is the store suite, run on every backend this machine reaches.
func TestStore(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		s, err := OpenStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		size := newGroup("size", "s", "m", "l")
		colour := newGroup("colour")
		for _, g := range []contract.OptionGroup{size, colour} {
			if err := s.Insert(ctx, g); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := s.Get(ctx, size.ID); err != nil || !reflect.DeepEqual(got, size) {
			t.Fatalf("Get = %+v, %v; want %+v", got, err, size)
		}
		if got, err := s.Get(ctx, colour.ID); err != nil || !reflect.DeepEqual(got, colour) {
			t.Fatalf("Get (no values) = %#v, %v; want %#v", got, err, colour)
		}
		if got, err := s.ByCode(ctx, "size"); err != nil || got.ID != size.ID {
			t.Fatalf("ByCode = %+v, %v", got, err)
		}
		if _, err := s.Get(ctx, uuid.NewString()); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get missing: %v", err)
		}
		if _, err := s.ByCode(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("ByCode missing: %v", err)
		}
		if err := s.Insert(ctx, newGroup("size")); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("duplicate code: %v", err)
		}
		all, err := s.List(ctx)
		if err != nil || !slices.Equal(groupIDs(all), []string{colour.ID, size.ID}) || len(all[1].Values) != 3 {
			t.Fatalf("List = %+v, %v", all, err)
		}
		many, err := s.GetMany(ctx, []string{size.ID, uuid.NewString(), colour.ID})
		if err != nil || len(many) != 2 {
			t.Fatalf("GetMany = %+v, %v", many, err)
		}
		if many, err := s.GetMany(ctx, nil); err != nil || len(many) != 0 {
			t.Fatalf("GetMany(nil) = %+v, %v", many, err)
		}

		// Modify: values added, changed, removed and reordered in one step.
		later := testTime.Add(time.Hour)
		xl := contract.OptionValue{ID: newID(), Code: "xl", Label: "Extra large"}
		got, err := s.Modify(ctx, size.ID, func(g *contract.OptionGroup) error {
			g.Name = "Size"
			g.Values = []contract.OptionValue{g.Values[2], xl, g.Values[0]} // drop m
			g.Values[2].Label = "Small!"
			renumber(g.Values)
			g.UpdatedAt = later
			g.CreatedAt = later // ignored: created_at stays
			return nil
		})
		if err != nil || got.Name != "Size" || !slices.Equal(valueCodes(got), []string{"l", "xl", "s"}) || !got.CreatedAt.Equal(testTime) {
			t.Fatalf("Modify = %+v, %v", got, err)
		}
		if back, err := s.Get(ctx, size.ID); err != nil || !reflect.DeepEqual(back, got) {
			t.Fatalf("after Modify: %+v, %v; want %+v", back, err, got)
		}
		// A code freed by a removed value may be taken in the same step.
		got, err = s.Modify(ctx, size.ID, func(g *contract.OptionGroup) error {
			g.Values = append(g.Values[1:], contract.OptionValue{ID: newID(), Code: "l", Label: "Large again"})
			renumber(g.Values)
			return nil
		})
		if err != nil || !slices.Equal(valueCodes(got), []string{"xl", "s", "l"}) {
			t.Fatalf("Modify reusing a code = %+v, %v", got, err)
		}
		// fn's error aborts without writing.
		stop := errors.New("stop")
		if _, err := s.Modify(ctx, size.ID, func(g *contract.OptionGroup) error {
			g.Name = "Changed"
			return stop
		}); !errors.Is(err, stop) {
			t.Fatalf("Modify with failing fn: %v", err)
		}
		if back, _ := s.Get(ctx, size.ID); back.Name != "Size" {
			t.Fatalf("failed Modify wrote: %+v", back)
		}
		if _, err := s.Modify(ctx, size.ID, func(g *contract.OptionGroup) error { g.Code = "colour"; return nil }); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("Modify to a taken code: %v", err)
		}
		if _, err := s.Modify(ctx, uuid.NewString(), func(*contract.OptionGroup) error { return nil }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Modify missing: %v", err)
		}

		// Concurrent Modifies of one group are all kept.
		var wg sync.WaitGroup
		errs := make(chan error, 10)
		for i := range 10 {
			wg.Go(func() {
				_, err := s.Modify(ctx, colour.ID, func(g *contract.OptionGroup) error {
					g.Values = append(g.Values, contract.OptionValue{ID: newID(), Code: fmt.Sprint("c", i), Label: "C", Position: len(g.Values)})
					return nil
				})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if back, _ := s.Get(ctx, colour.ID); len(back.Values) != 10 {
			t.Fatalf("after concurrent modifies: %d values", len(back.Values))
		}

		del, err := s.Delete(ctx, size.ID)
		if err != nil || del.ID != size.ID || len(del.Values) != 3 {
			t.Fatalf("Delete = %+v, %v", del, err)
		}
		if _, err := s.Get(ctx, size.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after delete: %v", err)
		}
		if _, err := s.Delete(ctx, size.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete again: %v", err)
		}
		// The code (and the value codes) are free again.
		if err := s.Insert(ctx, newGroup("size", "s", "m")); err != nil {
			t.Fatalf("reuse code: %v", err)
		}
	})
}
