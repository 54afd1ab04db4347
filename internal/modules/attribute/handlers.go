package attribute

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/validate"
)

// The handlers are split by concern: this file has what groups and
// definitions share, handlers_groups.go and handlers_definitions.go the
// endpoints of each, validate.go the check of product values and
// events.go the events.

const (
	maxNameLen = 200
	maxUnitLen = 20
	// usageTimeout bounds the question to the product module; it gets at
	// most half of the caller's remaining time, so that an unreachable
	// product module is answered as unavailable before the caller gives up.
	usageTimeout = 5 * time.Second
)

func checkID(field, id string) error { return validate.ID(field, id) }

func checkName(name string) (string, error) { return validate.Name("name", name, maxNameLen) }

func checkPosition(pos *int) error {
	if pos != nil && *pos < 0 {
		return bus.Errorf(bus.CodeInvalid, "position %d: must be 0 or more", *pos)
	}
	return nil
}

// insertAt returns list with id at position pos (nil: last), and the index.
func insertAt(list []string, id string, pos *int) ([]string, int) {
	at := len(list)
	if pos != nil {
		at = min(*pos, len(list))
	}
	return slices.Insert(slices.Clone(list), at, id), at
}

func without(list []string, id string) []string {
	return slices.DeleteFunc(slices.Clone(list), func(x string) bool { return x == id })
}

// checkExpected refuses early, with the exact versions, a write whose
// expected version (0: any) what ("attribute group 0198…") is no longer
// at; the store's checked write still guards the race after it.
func checkExpected(what string, have, want int64) error {
	if want > 0 && have != want {
		return contract.VersionConflict(what, have, want)
	}
	return nil
}

// writeError maps a failed write of what, expected at version want, to
// the bus error the caller gets; reload reads the version it is at now
// when the write lost a race after checkExpected.
func writeError(err error, what string, want int64, reload func() (int64, error)) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return bus.Errorf(bus.CodeNotFound, "%s not found", what)
	case errors.Is(err, store.ErrStale):
		have, rerr := reload()
		if rerr != nil {
			return rerr
		}
		return contract.VersionConflict(what, have, want)
	}
	return err
}

// loadGroup returns the group, or not_found.
func (m *Module) loadGroup(ctx context.Context, id string) (contract.AttributeGroup, error) {
	g, err := m.store.Group(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return g, bus.Errorf(bus.CodeNotFound, "attribute group %s not found", id)
	}
	return g, err
}

// loadDefinition returns the definition, or not_found.
func (m *Module) loadDefinition(ctx context.Context, id string) (contract.AttributeDefinition, error) {
	d, err := m.store.Definition(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return d, bus.Errorf(bus.CodeNotFound, "attribute %s not found", id)
	}
	return d, err
}
