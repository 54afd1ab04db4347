package feed

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The cursor is a low watermark: everything read is applied at once, but
// the cursor passes a missing seq only when a later write filled it or the
// grace expired. Driven through a fake log that places seqs by hand.
func TestTailerWatermark(t *testing.T) {
	const grace = 400 * time.Millisecond
	opts := TailerOptions{Poll: 10 * time.Millisecond, Grace: grace}

	t.Run("late write within the grace is applied", func(t *testing.T) {
		f := newFakeLog()
		m := newModel(t)
		tl := startTailer(t, f, m, opts)
		f.place("a", 1, 1, false)
		f.place("b", 2, 1, false)
		f.place("d", 4, 1, false) // 3 is allocated, not yet written
		converge(t, time.Second, render(map[string]Change{"a": {Version: 1, Body: body("a")}, "b": {Version: 1, Body: body("b")}, "d": {Version: 1, Body: body("d")}}), m)
		// The cursor moves just after the apply the model shows: wait for
		// it to reach 2, and never past 2 while seq 3 is within its grace.
		eventually(t, grace/2, "cursor at 2, held before seq 3 within its grace", func() bool { return tl.Seq() == 2 })
		time.Sleep(grace / 4)
		if s := tl.Seq(); s != 2 {
			t.Fatalf("cursor = %d, want 2: seq 3 is still within its grace", s)
		}
		f.place("c", 3, 1, false)
		eventually(t, time.Second, "seq 3 applied and passed", func() bool { return strings.Contains(m.render(), "c@1") && tl.Seq() == 4 })
	})

	t.Run("permanent gap holds the cursor for the grace only", func(t *testing.T) {
		f := newFakeLog()
		m := newModel(t)
		tl := startTailer(t, f, m, opts)
		f.place("a", 1, 1, false)
		f.place("c", 3, 1, false) // 2 never comes
		eventually(t, time.Second, "a and c applied", func() bool { return strings.Contains(m.render(), "c@1") })
		began := time.Now()
		// Changes above the gap are not held back.
		f.place("d", 4, 1, false)
		f.place("a", 5, 2, true) // a deleted: its old seq 1 becomes a hole too
		eventually(t, time.Second, "d and the delete of a applied", func() bool {
			r := m.render()
			return strings.Contains(r, "d@1") && !strings.Contains(r, "a@")
		})
		if s := tl.Seq(); s > 1 && time.Since(began) < grace/2 {
			t.Fatalf("cursor passed the gap at 2 (now %d) within half the grace", s)
		}
		eventually(t, grace+time.Second, "cursor past the permanent gap", func() bool { return tl.Seq() == 5 })
	})

	t.Run("rewrites and re-reads apply each version once", func(t *testing.T) {
		f := newFakeLog()
		m := newModel(t)
		tl := startTailer(t, f, m, opts)
		f.place("a", 1, 1, false)
		f.place("b", 3, 1, false) // gap at 2: every poll reads a and b again
		time.Sleep(10 * opts.Poll)
		f.place("a", 4, 2, false) // rewrite: seq 1 is now a hole
		eventually(t, grace+time.Second, "cursor at 4", func() bool { return tl.Seq() == 4 })
		f.mu.Lock()
		polls := f.since
		f.mu.Unlock()
		m.mu.Lock()
		defer m.mu.Unlock()
		if polls < 10 || len(m.at) != 3 {
			t.Fatalf("%d reads applied %d (key, version) pairs, want 3: %v", polls, len(m.at), m.at)
		}
	})

	t.Run("lookback catches a write in flight at snapshot time", func(t *testing.T) {
		f := newFakeLog()
		for i, k := range []string{"a", "b", "c", "d", "e", "f", "g"} {
			f.place(k, int64(i+1), 1, false)
		}
		f.place("i", 9, 1, false) // 8 allocated before the snapshot, written after
		m := newModel(t)
		tl := startTailer(t, f, m, opts)
		if got := len(m.resets[0]); got != 8 {
			t.Fatalf("snapshot had %d entries, want 8", got)
		}
		f.place("h", 8, 1, false)
		eventually(t, time.Second, "h applied", func() bool { return strings.Contains(m.render(), "h@1") })
		eventually(t, time.Second, "cursor at 9", func() bool { return tl.Seq() == 9 })
		if len(m.at) != 9 {
			t.Errorf("%d applications, want 9: the lookback window re-read the snapshot's entries", len(m.at))
		}
	})

	t.Run("no lookback on a gapless log", func(t *testing.T) {
		f := &gaplessFake{newFakeLog()}
		f.place("a", 5, 1, false)
		f.place("b", 7, 1, false)
		m := newModel(t)
		tl := startTailer(t, f, m, opts)
		if s := tl.Seq(); s != 7 {
			t.Fatalf("cursor after the snapshot = %d, want 7", s)
		}
		f.place("c", 9, 1, false) // 8: a hole for ever (SQLite never has one in flight)
		eventually(t, grace/2, "cursor past 8 at once", func() bool { return tl.Seq() == 9 })
	})
}

type gaplessFake struct{ *fakeLog }

func (gaplessFake) gapless() bool { return true }

func TestTailerReadyAndResync(t *testing.T) {
	f := newFakeLog()
	f.place("a", 1, 1, false)
	f.setFailing(true)
	m := newModel(t)
	tl := NewTailer(f, m.apply, TailerOptions{Poll: 10 * time.Millisecond, Resync: 300 * time.Millisecond, StaleAfter: 100 * time.Millisecond, Logger: testLogger(t)})
	ctx := t.Context()
	if err := tl.Ready(ctx); err == nil || !strings.Contains(err.Error(), "feed fake: loading snapshot") {
		t.Fatalf("ready before start: %v", err)
	}
	if err := tl.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tl.Start(ctx); err == nil {
		t.Error("second Start succeeded")
	}
	eventually(t, time.Second, "ready names the snapshot error", func() bool {
		err := tl.Ready(ctx)
		return err != nil && strings.Contains(err.Error(), "loading snapshot: fake log down")
	})
	f.setFailing(false)
	<-tl.Loaded()
	if err := tl.Ready(ctx); err != nil {
		t.Fatalf("ready after the snapshot: %v", err)
	}

	// The store goes away: stale after StaleAfter, a fresh snapshot
	// after Resync once it is back.
	f.setFailing(true)
	eventually(t, time.Second, "ready reports the stale read model", func() bool {
		err := tl.Ready(ctx)
		return err != nil && strings.Contains(err.Error(), "not read for")
	})
	time.Sleep(300 * time.Millisecond)
	f.place("b", 2, 1, false)
	f.setFailing(false)
	eventually(t, 2*time.Second, "a second snapshot", func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return len(m.resets) == 2
	})
	eventually(t, time.Second, "ready again", func() bool { return tl.Ready(ctx) == nil })
	if err := tl.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tl.Ready(ctx); err == nil || !strings.Contains(err.Error(), "stopped") {
		t.Errorf("ready after stop: %v", err)
	}
}

// A panicking callback does not kill the process: the tailer reloads the
// snapshot, so the state it left behind is replaced.
func TestTailerApplyPanic(t *testing.T) {
	f := newFakeLog()
	f.place("a", 1, 1, false)
	m := newModel(t)
	var boom atomic.Bool
	boom.Store(true)
	apply := func(cs []Change, reset bool) {
		if !reset && boom.CompareAndSwap(true, false) {
			panic("module bug")
		}
		m.apply(cs, reset)
	}
	tl := NewTailer(f, apply, TailerOptions{Poll: 10 * time.Millisecond, Logger: testLogger(t)})
	if err := tl.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer tl.Stop(context.Background())
	<-tl.Loaded()
	f.place("b", 2, 1, false)
	eventually(t, 2*time.Second, "b applied by a reloaded snapshot", func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return len(m.resets) == 2 && m.state["b"].Version == 1
	})
}

func TestTailerStopBeforeStart(t *testing.T) {
	tl := NewTailer(newFakeLog(), func([]Change, bool) {}, TailerOptions{})
	if err := tl.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := tl.Start(t.Context()); err == nil {
		t.Error("Start after Stop succeeded")
	}
}

// Run serves a module's bus.Server.Go: it tails in the caller's goroutine
// and returns nil when its context ends.
func TestTailerRun(t *testing.T) {
	f := newFakeLog()
	f.place("a", 1, 1, false)
	m := newModel(t)
	tl := NewTailer(f, m.apply, TailerOptions{Poll: 10 * time.Millisecond, Logger: testLogger(t)})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- tl.Run(ctx) }()
	<-tl.Loaded()
	f.place("b", 2, 1, false)
	eventually(t, within, "b applied", func() bool { return strings.Contains(m.render(), "b@1") })
	if err := tl.Start(t.Context()); err == nil {
		t.Error("Start while running succeeded")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil when its context ends", err)
	}
	if err := tl.Ready(t.Context()); err == nil || !strings.Contains(err.Error(), "stopped") {
		t.Errorf("ready after Run: %v", err)
	}
	if err := tl.Stop(t.Context()); err != nil {
		t.Errorf("Stop after Run: %v", err)
	}
}
