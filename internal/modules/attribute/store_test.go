package attribute

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

var storeTime = time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)

func newGroup(name, slug string, pos int) contract.AttributeGroup {
	return contract.AttributeGroup{ID: uuid.Must(uuid.NewV7()).String(), Name: name, Slug: slug, Position: pos, Version: 1, CreatedAt: storeTime, UpdatedAt: storeTime}
}

func newDefinition(code, groupID string, typ contract.AttributeType, pos int, values ...string) contract.AttributeDefinition {
	d := contract.AttributeDefinition{ID: uuid.Must(uuid.NewV7()).String(), Code: code, Name: "The " + code, GroupID: groupID, Type: typ,
		Position: pos, Filterable: true, Version: 1, CreatedAt: storeTime, UpdatedAt: storeTime}
	for _, v := range values {
		d.Values = append(d.Values, contract.AllowedValue{Code: v, Label: "Label " + v})
	}
	if typ == contract.AttributeNumber {
		d.Unit = "kg"
	}
	return d
}

// TestStore is the store suite, run on every backend this machine reaches.
func TestStore(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		s, err := OpenStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}

		// Groups.
		tech, looks := newGroup("Technical", "technical", 0), newGroup("Looks", "looks", 1)
		for _, g := range []contract.AttributeGroup{looks, tech} {
			if err := s.InsertGroup(ctx, g); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := s.Group(ctx, tech.ID); err != nil || got != tech {
			t.Fatalf("Group = %+v, %v; want %+v", got, err, tech)
		}
		if _, err := s.Group(ctx, uuid.NewString()); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Group missing: %v", err)
		}
		if err := s.InsertGroup(ctx, newGroup("Other", "technical", 2)); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("duplicate slug: %v", err)
		}
		gs, err := s.Groups(ctx)
		if err != nil || !slices.Equal(groupIDs(gs), []string{tech.ID, looks.ID}) {
			t.Fatalf("Groups = %v, %v", groupIDs(gs), err)
		}

		// UpdateGroup is checked on the version and bumps it.
		later := storeTime.Add(time.Hour)
		upd := tech
		upd.Name, upd.Slug, upd.UpdatedAt = "Tech", "tech", later
		if err := s.UpdateGroup(ctx, upd, 1); err != nil {
			t.Fatal(err)
		}
		upd.Version = 2
		if got, _ := s.Group(ctx, tech.ID); got != upd {
			t.Fatalf("after update %+v, want %+v", got, upd)
		}
		stale := upd
		stale.Name = "Stale"
		if err := s.UpdateGroup(ctx, stale, 1); !errors.Is(err, store.ErrStale) {
			t.Fatalf("stale update: %v", err)
		}
		if got, _ := s.Group(ctx, tech.ID); got != upd {
			t.Fatalf("a stale update changed %+v", got)
		}
		stale.Slug = "looks"
		if err := s.UpdateGroup(ctx, stale, 2); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("update to a taken slug: %v", err)
		}
		if err := s.UpdateGroup(ctx, newGroup("X", "x", 0), 1); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update missing group: %v", err)
		}

		// ReorderGroups touches (and bumps) only the groups that move, and
		// announces those, as it leaves them.
		evenLater := later.Add(time.Hour)
		var movedGroups []contract.AttributeGroup
		if err := s.ReorderGroups(ctx, []string{looks.ID, tech.ID}, evenLater, func(g contract.AttributeGroup) ([]outbox.Event, error) {
			movedGroups = append(movedGroups, g)
			return nil, nil
		}); err != nil {
			t.Fatal(err)
		}
		gs, _ = s.Groups(ctx)
		if !slices.Equal(groupIDs(gs), []string{looks.ID, tech.ID}) || gs[0].Position != 0 || gs[1].Position != 1 || !gs[1].UpdatedAt.Equal(evenLater) ||
			gs[0].Version != 2 || gs[1].Version != 3 {
			t.Fatalf("after reorder %+v", gs)
		}
		if !slices.Equal(movedGroups, gs) {
			t.Fatalf("reorder announced %+v, want %+v", movedGroups, gs)
		}
		if err := s.ReorderGroups(ctx, []string{looks.ID, tech.ID}, evenLater.Add(time.Hour), unannounced[contract.AttributeGroup](t)); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Group(ctx, tech.ID); !got.UpdatedAt.Equal(evenLater) || got.Version != 3 {
			t.Fatalf("unchanged group touched: %v, version %d", got.UpdatedAt, got.Version)
		}

		// Definitions, with allowed values kept in order.
		weight := newDefinition("weight", tech.ID, contract.AttributeNumber, 0)
		color := newDefinition("color", looks.ID, contract.AttributeMultiselect, 0, "red", "green", "blue")
		material := newDefinition("material", tech.ID, contract.AttributeSelect, 1, "wood", "steel")
		for _, d := range []contract.AttributeDefinition{material, color, weight} {
			if err := s.InsertDefinition(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := s.Definition(ctx, color.ID); err != nil || !reflect.DeepEqual(got, color) {
			t.Fatalf("Definition = %+v, %v; want %+v", got, err, color)
		}
		if got, err := s.Definition(ctx, weight.ID); err != nil || !reflect.DeepEqual(got, weight) || got.Values != nil {
			t.Fatalf("Definition without values = %#v, %v", got, err)
		}
		if got, err := s.DefinitionByCode(ctx, "material"); err != nil || !reflect.DeepEqual(got, material) {
			t.Fatalf("DefinitionByCode = %+v, %v", got, err)
		}
		if _, err := s.DefinitionByCode(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("DefinitionByCode missing: %v", err)
		}
		if _, err := s.Definition(ctx, uuid.NewString()); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Definition missing: %v", err)
		}
		if err := s.InsertDefinition(ctx, newDefinition("weight", looks.ID, contract.AttributeText, 1)); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("duplicate code: %v", err)
		}
		ds, err := s.GroupDefinitions(ctx, tech.ID)
		if err != nil || !slices.Equal(definitionIDs(ds), []string{weight.ID, material.ID}) {
			t.Fatalf("GroupDefinitions = %v, %v", definitionIDs(ds), err)
		}
		all, err := s.Definitions(ctx)
		if err != nil || len(all) != 3 {
			t.Fatalf("Definitions = %v, %v", definitionIDs(all), err)
		}

		// UpdateDefinition writes everything, placement included, checked
		// on the version.
		changed := material
		changed.Code, changed.Name, changed.Type = "materials", "Materials", contract.AttributeMultiselect
		changed.Values = []contract.AllowedValue{{Code: "wood", Label: "Timber"}, {Code: "glass", Label: "Glass"}}
		changed.Filterable, changed.Required, changed.UpdatedAt = false, true, later
		changed.Position = 7
		if err := s.UpdateDefinition(ctx, changed, 1); err != nil {
			t.Fatal(err)
		}
		want := changed
		want.Version = 2
		if got, _ := s.Definition(ctx, material.ID); !reflect.DeepEqual(got, want) {
			t.Fatalf("after update %+v, want %+v", got, want)
		}
		changed.Name = "Stale"
		if err := s.UpdateDefinition(ctx, changed, 1); !errors.Is(err, store.ErrStale) {
			t.Fatalf("stale update: %v", err)
		}
		if got, _ := s.Definition(ctx, material.ID); !reflect.DeepEqual(got, want) {
			t.Fatalf("a stale update changed %+v", got)
		}
		changed.Code = "color"
		if err := s.UpdateDefinition(ctx, changed, 2); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("update to a taken code: %v", err)
		}
		if err := s.UpdateDefinition(ctx, newDefinition("x", tech.ID, contract.AttributeText, 0), 1); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update missing: %v", err)
		}

		// ReorderDefinitions moves between groups, and announces what it
		// moves.
		var movedDefs []contract.AttributeDefinition
		if err := s.ReorderDefinitions(ctx, looks.ID, []string{material.ID, color.ID}, evenLater, func(d contract.AttributeDefinition) ([]outbox.Event, error) {
			movedDefs = append(movedDefs, d)
			return nil, nil
		}); err != nil {
			t.Fatal(err)
		}
		ds, _ = s.GroupDefinitions(ctx, looks.ID)
		if !slices.Equal(definitionIDs(ds), []string{material.ID, color.ID}) || ds[0].GroupID != looks.ID || ds[1].Position != 1 || !ds[1].UpdatedAt.Equal(evenLater) ||
			ds[0].Version != 3 || ds[1].Version != 2 {
			t.Fatalf("after move %+v", ds)
		}
		if !reflect.DeepEqual(movedDefs, ds) {
			t.Fatalf("reorder announced %+v, want %+v", movedDefs, ds)
		}
		if ds, _ := s.GroupDefinitions(ctx, tech.ID); !slices.Equal(definitionIDs(ds), []string{weight.ID}) {
			t.Fatalf("left behind %v", definitionIDs(ds))
		}
		if err := s.ReorderDefinitions(ctx, looks.ID, []string{material.ID, color.ID}, evenLater.Add(time.Hour), unannounced[contract.AttributeDefinition](t)); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Definition(ctx, color.ID); !got.UpdatedAt.Equal(evenLater) || got.Version != 2 {
			t.Fatalf("unchanged definition touched: %v, version %d", got.UpdatedAt, got.Version)
		}

		// Deletes, checked when given a version.
		if err := s.DeleteDefinition(ctx, weight.ID, 2, nil); !errors.Is(err, store.ErrStale) {
			t.Fatalf("stale delete: %v", err)
		}
		if err := s.DeleteDefinition(ctx, weight.ID, 1, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteDefinition(ctx, weight.ID, 0, nil); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete missing definition: %v", err)
		}
		if err := s.DeleteGroup(ctx, tech.ID, 2, nil); !errors.Is(err, store.ErrStale) {
			t.Fatalf("stale group delete: %v", err)
		}
		if err := s.DeleteGroup(ctx, tech.ID, 0, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteGroup(ctx, tech.ID, 0, nil); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete missing group: %v", err)
		}
		if storetest.BackendOf(t, db).Kind == store.KindSQLite {
			// SQLite's foreign key keeps definitions in existing groups.
			if err := s.DeleteGroup(ctx, looks.ID, 0, nil); !errors.Is(err, errGroupInUse) {
				t.Fatalf("delete group in use: %v", err)
			}
			if err := s.InsertDefinition(ctx, newDefinition("orphan", tech.ID, contract.AttributeText, 0)); !errors.Is(err, errNoGroup) {
				t.Fatalf("insert into missing group: %v", err)
			}
			if err := s.ReorderDefinitions(ctx, tech.ID, []string{color.ID}, evenLater, nil); !errors.Is(err, errNoGroup) {
				t.Fatalf("move into missing group: %v", err)
			}
		}
		if gs, _ := s.Groups(ctx); !slices.Equal(groupIDs(gs), []string{looks.ID}) {
			t.Fatalf("groups left %v", groupIDs(gs))
		}
		if err := s.ReorderGroups(ctx, nil, evenLater, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.ReorderDefinitions(ctx, looks.ID, nil, evenLater, nil); err != nil {
			t.Fatal(err)
		}
	})
}

// TestStoreVersionRace: of concurrent updates that expect the same
// version, exactly one wins; the others learn that the version moved.
func TestStoreVersionRace(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		s, err := OpenStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		g := newGroup("G", "g", 0)
		d := newDefinition("size", g.ID, contract.AttributeSelect, 0, "s", "m")
		if err := s.InsertGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertDefinition(ctx, d); err != nil {
			t.Fatal(err)
		}
		const n = 8
		errs := make(chan error, 2*n)
		for i := range n {
			go func() {
				x := d
				x.Name, x.UpdatedAt = fmt.Sprint("writer ", i), d.UpdatedAt.Add(time.Second)
				errs <- s.UpdateDefinition(ctx, x, 1)
			}()
			go func() {
				x := g
				x.Name, x.UpdatedAt = fmt.Sprint("writer ", i), g.UpdatedAt.Add(time.Second)
				errs <- s.UpdateGroup(ctx, x, 1)
			}()
		}
		won := 0
		for range 2 * n {
			switch err := <-errs; {
			case err == nil:
				won++
			case !errors.Is(err, store.ErrStale):
				t.Fatal(err)
			}
		}
		if won != 2 {
			t.Fatalf("%d updates won, want one per row", won)
		}
	})
}

// TestStoreLegacyVersion: documents from before versions existed (no
// version field) read as version 1 and take a checked write at 1; SQLite
// rows get version 1 from 002_version.sql.
func TestStoreLegacyVersion(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		g := newGroup("Old", "old", 0)
		d := newDefinition("old", g.ID, contract.AttributeText, 0)
		if db.Kind() == store.KindSQLite {
			migrations, err := store.MigrationsFrom(schema, "schema")
			if err != nil {
				t.Fatal(err)
			}
			raw, err := db.SQLite(ctx, "attribute", migrations[:1])
			if err != nil {
				t.Fatal(err)
			}
			if _, err := raw.ExecContext(ctx, `INSERT INTO attribute_groups (id, name, slug, position, created_at, updated_at) VALUES (?, 'Old', 'old', 0, 0, 0)`, g.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := raw.ExecContext(ctx, `INSERT INTO attribute_definitions (id, code, name, group_id, type, filterable, required, position, created_at, updated_at)
				VALUES (?, 'old', 'Old', ?, 'text', 0, 0, 0, 0, 0)`, d.ID, g.ID); err != nil {
				t.Fatal(err)
			}
		}
		s, err := OpenStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if ms, ok := s.(*mongoStore); ok {
			if _, err := ms.groups.InsertOne(ctx, bson.D{{Key: "_id", Value: g.ID}, {Key: "name", Value: "Old"}, {Key: "slug", Value: "old"}, {Key: "position", Value: 0}}); err != nil {
				t.Fatal(err)
			}
			if _, err := ms.defs.InsertOne(ctx, bson.D{{Key: "_id", Value: d.ID}, {Key: "code", Value: "old"}, {Key: "name", Value: "Old"},
				{Key: "group_id", Value: g.ID}, {Key: "type", Value: "text"}, {Key: "values", Value: bson.A{}}, {Key: "position", Value: 0}}); err != nil {
				t.Fatal(err)
			}
		}
		gotG, err := s.Group(ctx, g.ID)
		if err != nil || gotG.Version != 1 {
			t.Fatalf("legacy group %+v, %v; want version 1", gotG, err)
		}
		gotD, err := s.Definition(ctx, d.ID)
		if err != nil || gotD.Version != 1 {
			t.Fatalf("legacy definition %+v, %v; want version 1", gotD, err)
		}
		if err := s.UpdateGroup(ctx, gotG, 2); !errors.Is(err, store.ErrStale) {
			t.Fatalf("legacy group at 2: %v", err)
		}
		gotG.Name = "Renamed"
		if err := s.UpdateGroup(ctx, gotG, 1); err != nil {
			t.Fatal(err)
		}
		gotD.Name = "Renamed"
		if err := s.UpdateDefinition(ctx, gotD, 1); err != nil {
			t.Fatal(err)
		}
		if g, _ := s.Group(ctx, g.ID); g.Version != 2 || g.Name != "Renamed" {
			t.Fatalf("group after the write %+v", g)
		}
		if d, _ := s.Definition(ctx, d.ID); d.Version != 2 || d.Name != "Renamed" {
			t.Fatalf("definition after the write %+v", d)
		}
	})
}

// unannounced is the announce of a write that must announce nothing.
func unannounced[T any](t *testing.T) announce[T] {
	return func(x T) ([]outbox.Event, error) {
		t.Errorf("announced %+v", x)
		return nil, nil
	}
}
