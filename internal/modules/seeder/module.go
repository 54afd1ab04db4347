// Package seeder fills every module with a consistent sample shop — the
// catalogue, demo users, articles, the home page's seo override and the
// customers' carts — through the bus only: it owns no data, so it has no
// store (the one module whose package lacks store files). `shop seed`
// runs it, against modules hosted in-process (memory bus) or running
// elsewhere (RabbitMQ).
//
// A run is deterministic for its seed and idempotent: what exists already
// (found by slug, code or email; a cart that has lines) is reused, not
// created again; Reset removes what a run with the same flags would
// create, except the users, which auth cannot delete (their carts are
// emptied instead).
package seeder

import (
	"context"
	"log/slog"
	"time"

	"github.com/shopengine/shop/internal/bus"
)

// Options choose what a run creates.
type Options struct {
	Products int    // how many sample products (categories etc. are fixed)
	Seed     uint64 // same seed, same catalogue
	Reset    bool   // remove what this run would create, first
	// Concurrency is how many product batches are in flight (default 4).
	Concurrency int
	// CatalogueOnly seeds (and resets) the catalogue alone: no users,
	// articles, seo override or carts. For tests of the catalogue pages
	// that make their own content.
	CatalogueOnly bool
}

// Progress receives a run's progress: one Start per stage, Add as items
// are done, End when the stage is over.
type Progress interface {
	Start(stage string, total int)
	Add(n int)
	End()
}

// Counts is what one kind of data saw. Updated counts entities that
// existed but differed from the sample (the seo override) and were set
// back to it.
type Counts struct {
	Created, Existing, Updated, Deleted int
}

// Stage is one stage of a run as the progress saw it: how many items it
// went through and how long it took.
type Stage struct {
	Name    string
	Items   int
	Elapsed time.Duration
}

// Rate is the stage's items per second.
func (s Stage) Rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Items) / s.Elapsed.Seconds()
}

// Summary is a run's result, per kind, with the time of every stage and
// the demo logins.
type Summary struct {
	Categories, AttributeGroups, Attributes, OptionGroups, Products Counts
	Users, Articles, SEOOverrides, Carts                            Counts
	Logins                                                          []Login
	Stages                                                          []Stage
	Elapsed                                                         time.Duration
}

// timed passes progress on and records every stage in the summary.
// Add may come from several goroutines (product batches): they hold the
// run's lock, as for the counts.
type timed struct {
	Progress
	sum   *Summary
	stage Stage
	start time.Time
}

func (t *timed) Start(stage string, total int) {
	t.stage, t.start = Stage{Name: stage}, time.Now()
	t.Progress.Start(stage, total)
}

func (t *timed) Add(n int) {
	t.stage.Items += n
	t.Progress.Add(n)
}

func (t *timed) End() {
	t.stage.Elapsed = time.Since(t.start)
	t.sum.Stages = append(t.sum.Stages, t.stage)
	t.Progress.End()
}

// Module is the seeder.
type Module struct {
	bus bus.Bus
	log *slog.Logger
}

// New returns a seeder that talks to the modules over b.
func New(b bus.Bus, log *slog.Logger) *Module { return &Module{bus: b, log: log} }

// Start implements the module lifecycle; the seeder serves nothing.
func (m *Module) Start(context.Context) error { return nil }

// Stop implements the module lifecycle.
func (m *Module) Stop(context.Context) error { return nil }
