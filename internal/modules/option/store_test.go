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
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

var testTime = time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)

func newGroup(code string, valueCodes ...string) contract.OptionGroup {
	g := contract.OptionGroup{ID: newID(), Code: code, Name: "Group " + code, Values: []contract.OptionValue{}, Version: 1, CreatedAt: testTime, UpdatedAt: testTime}
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
		all, err := s.List(ctx, "", 10)
		if err != nil || !slices.Equal(groupIDs(all), []string{colour.ID, size.ID}) || len(all[1].Values) != 3 {
			t.Fatalf("List = %+v, %v", all, err)
		}
		// Keyset pages: the limit counts groups, not their values.
		if page, err := s.List(ctx, "", 1); err != nil || !slices.Equal(groupIDs(page), []string{colour.ID}) {
			t.Fatalf("first page = %v, %v", groupIDs(page), err)
		}
		if page, err := s.List(ctx, "colour", 1); err != nil || !slices.Equal(groupIDs(page), []string{size.ID}) || len(page[0].Values) != 3 {
			t.Fatalf("second page = %+v, %v", page, err)
		}
		if page, err := s.List(ctx, "size", 1); err != nil || len(page) != 0 {
			t.Fatalf("past the end = %+v, %v", page, err)
		}
		if n, err := s.Count(ctx); err != nil || n != 2 {
			t.Fatalf("Count = %d, %v", n, err)
		}
		many, err := s.GetMany(ctx, []string{size.ID, uuid.NewString(), colour.ID})
		if err != nil || len(many) != 2 {
			t.Fatalf("GetMany = %+v, %v", many, err)
		}
		if many, err := s.GetMany(ctx, nil); err != nil || len(many) != 0 {
			t.Fatalf("GetMany(nil) = %+v, %v", many, err)
		}

		// Update: values added, changed, removed and reordered in one
		// checked step.
		later := testTime.Add(time.Hour)
		xl := contract.OptionValue{ID: newID(), Code: "xl", Label: "Extra large"}
		next := clone(size)
		next.Name = "Size"
		next.Values = []contract.OptionValue{next.Values[2], xl, next.Values[0]} // drop m
		next.Values[2].Label = "Small!"
		renumber(next.Values)
		next.UpdatedAt = later
		if err := s.Update(ctx, next, 1); err != nil {
			t.Fatal(err)
		}
		next.Version = 2
		if back, err := s.Get(ctx, size.ID); err != nil || !reflect.DeepEqual(back, next) || !slices.Equal(valueCodes(back), []string{"l", "xl", "s"}) {
			t.Fatalf("after Update: %+v, %v; want %+v", back, err, next)
		}
		// A stale version changes nothing.
		stale := clone(next)
		stale.Name, stale.Values = "Stale", stale.Values[:1]
		if err := s.Update(ctx, stale, 1); !errors.Is(err, store.ErrStale) {
			t.Fatalf("stale Update: %v", err)
		}
		if back, _ := s.Get(ctx, size.ID); !reflect.DeepEqual(back, next) {
			t.Fatalf("a stale Update wrote: %+v", back)
		}
		// A code freed by a removed value may be taken in the same step.
		reuse := clone(next)
		reuse.Values = append(reuse.Values[1:], contract.OptionValue{ID: newID(), Code: "l", Label: "Large again"})
		renumber(reuse.Values)
		if err := s.Update(ctx, reuse, 2); err != nil {
			t.Fatalf("Update reusing a code: %v", err)
		}
		if back, _ := s.Get(ctx, size.ID); !slices.Equal(valueCodes(back), []string{"xl", "s", "l"}) || back.Version != 3 {
			t.Fatalf("after reuse %+v", back)
		}
		taken := clone(reuse)
		taken.Code = "colour"
		if err := s.Update(ctx, taken, 3); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("Update to a taken code: %v", err)
		}
		if err := s.Update(ctx, newGroup("ghost"), 1); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Update missing: %v", err)
		}

		// Concurrent updates expecting one version: exactly one wins.
		var wg sync.WaitGroup
		errs := make(chan error, 10)
		for i := range 10 {
			wg.Go(func() {
				g := clone(colour)
				g.Values = append(g.Values, contract.OptionValue{ID: newID(), Code: fmt.Sprint("c", i), Label: "C"})
				errs <- s.Update(ctx, g, 1)
			})
		}
		wg.Wait()
		close(errs)
		won := 0
		for err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, store.ErrStale):
				t.Fatal(err)
			}
		}
		if back, _ := s.Get(ctx, colour.ID); won != 1 || len(back.Values) != 1 || back.Version != 2 {
			t.Fatalf("%d of 10 racing updates won; stored %+v", won, back)
		}

		if _, err := s.Delete(ctx, size.ID, 1, nil); !errors.Is(err, store.ErrStale) {
			t.Fatalf("stale Delete: %v", err)
		}
		// The delete announces the group as it was last written.
		var announced contract.OptionGroup
		del, err := s.Delete(ctx, size.ID, 3, func(g contract.OptionGroup) ([]outbox.Event, error) {
			announced = g
			return nil, nil
		})
		if err != nil || del.ID != size.ID || len(del.Values) != 3 || !reflect.DeepEqual(announced, del) || del.Version != 3 {
			t.Fatalf("Delete = %+v, %v; announced %+v", del, err, announced)
		}
		if _, err := s.Get(ctx, size.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after delete: %v", err)
		}
		if _, err := s.Delete(ctx, size.ID, 0, nil); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete again: %v", err)
		}
		// The code (and the value codes) are free again.
		if err := s.Insert(ctx, newGroup("size", "s", "m")); err != nil {
			t.Fatalf("reuse code: %v", err)
		}
	})
}

// TestStoreLegacyVersion: groups from before the version was public read
// as version 1 and take a checked write at 1: SQLite rows at 0 are moved
// up by 002_version.sql; MongoDB documents at 0, or with no version field,
// match version 1.
func TestStoreLegacyVersion(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		zero, none := newGroup("zero", "a"), newGroup("none")
		if db.Kind() == store.KindSQLite {
			migrations, err := store.MigrationsFrom(schema, "schema")
			if err != nil {
				t.Fatal(err)
			}
			raw, err := db.SQLite(ctx, "option", migrations[:1])
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range []contract.OptionGroup{zero, none} {
				if _, err := raw.ExecContext(ctx, `INSERT INTO option_groups (id, code, name, created_at, updated_at) VALUES (?, ?, 'G', 0, 0)`, g.ID, g.Code); err != nil {
					t.Fatal(err)
				}
			}
		}
		s, err := OpenStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if ms, ok := s.(*mongoStore); ok {
			if _, err := ms.coll.InsertOne(ctx, bson.D{{Key: "_id", Value: zero.ID}, {Key: "code", Value: zero.Code}, {Key: "name", Value: "G"},
				{Key: "values", Value: bson.A{}}, {Key: "version", Value: int64(0)}}); err != nil {
				t.Fatal(err)
			}
			if _, err := ms.coll.InsertOne(ctx, bson.D{{Key: "_id", Value: none.ID}, {Key: "code", Value: none.Code}, {Key: "name", Value: "G"},
				{Key: "values", Value: bson.A{}}}); err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range []string{zero.ID, none.ID} {
			g, err := s.Get(ctx, id)
			if err != nil || g.Version != 1 {
				t.Fatalf("legacy group %+v, %v; want version 1", g, err)
			}
			if err := s.Update(ctx, g, 2); !errors.Is(err, store.ErrStale) {
				t.Fatalf("legacy group at 2: %v", err)
			}
			g.Name = "Renamed"
			if err := s.Update(ctx, g, 1); err != nil {
				t.Fatal(err)
			}
			if g, _ = s.Get(ctx, id); g.Version != 2 || g.Name != "Renamed" {
				t.Fatalf("after the write %+v", g)
			}
		}
	})
}
