package feed

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// fakeLog is a Log whose seqs the test places by hand, to drive the
// tailer's gap handling exactly: seqs may appear late, or never.
type fakeLog struct {
	mu      sync.Mutex
	byKey   map[string]Change
	top     int64 // what Snapshot reports
	failing bool
	since   int // Since calls
}

func newFakeLog() *fakeLog { return &fakeLog{byKey: map[string]Change{}} }

func (f *fakeLog) Name() string { return "fake" }

// place writes key at seq, as a MongoDB writer landing its write would.
func (f *fakeLog) place(key string, seq, version int64, deleted bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b []byte
	if !deleted {
		b = body(key)
	}
	f.byKey[key] = Change{Key: key, Seq: seq, Version: version, Deleted: deleted, Body: b}
	f.top = max(f.top, seq)
}

func (f *fakeLog) setFailing(v bool) {
	f.mu.Lock()
	f.failing = v
	f.mu.Unlock()
}

var errFake = errors.New("fake log down")

func (f *fakeLog) Put(context.Context, string, int64, []byte) (bool, error) {
	return false, errors.ErrUnsupported
}
func (f *fakeLog) Delete(context.Context, string, int64) (bool, error) {
	return false, errors.ErrUnsupported
}
func (f *fakeLog) Get(context.Context, string) (Change, error) {
	return Change{}, errors.ErrUnsupported
}
func (f *fakeLog) Compact(context.Context, time.Duration) (int64, error) {
	return 0, errors.ErrUnsupported
}

func (f *fakeLog) Snapshot(context.Context) ([]Change, int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failing {
		return nil, 0, errFake
	}
	var out []Change
	for _, c := range f.byKey {
		if !c.Deleted {
			out = append(out, c)
		}
	}
	return out, f.top, nil
}

func (f *fakeLog) Since(_ context.Context, after int64, limit int) ([]Change, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.since++
	if f.failing {
		return nil, errFake
	}
	var out []Change
	for _, c := range f.byKey {
		if c.Seq > after {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b Change) int { return int(a.Seq - b.Seq) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
