package feed

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// model is a read model as a module keeps one: a keyed map, fed by apply.
// It also checks the Tailer's promises: per key, versions never go back,
// and each (key, version) comes once between resets — except the one
// repeat the Tailer documents: a MongoDB write so late that Put re-stamped
// it may be read at both seqs more than Grace apart (seen on FerretDB under
// a load average of 20 on 2 cores). Those are counted, not failed.
type model struct {
	t      testing.TB
	mu     sync.Mutex
	state  map[string]Change
	resets [][]Change // the changes of every reset call
	seen   map[string]int64
	at     map[string]time.Time // "key@version" → when applied
	calls  int
	repeat int // (key, version) applied again: the re-stamp case
}

func newModel(t testing.TB) *model {
	return &model{t: t, state: map[string]Change{}, seen: map[string]int64{}, at: map[string]time.Time{}}
}

func (m *model) apply(cs []Change, reset bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	now := time.Now()
	if reset {
		m.state = map[string]Change{}
		m.seen = map[string]int64{}
		m.resets = append(m.resets, slices.Clone(cs))
	}
	for _, c := range cs {
		switch v, ok := m.seen[c.Key]; {
		case ok && c.Version < v:
			m.t.Errorf("apply: %s version %d after %d", c.Key, c.Version, v)
		case ok && c.Version == v:
			m.repeat++
		}
		m.seen[c.Key] = c.Version
		m.at[fmt.Sprintf("%s@%d", c.Key, c.Version)] = now
		if c.Deleted {
			delete(m.state, c.Key)
		} else {
			m.state[c.Key] = c
		}
	}
}

// render is the state as "key@version=body ..." in key order.
func (m *model) render() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return render(m.state)
}

func render(state map[string]Change) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(state)) {
		c := state[k]
		fmt.Fprintf(&b, "%s@%d=%s ", k, c.Version, c.Body)
	}
	return b.String()
}

func stateOf(cs []Change) map[string]Change {
	m := map[string]Change{}
	for _, c := range cs {
		if !c.Deleted {
			m[c.Key] = c
		}
	}
	return m
}

// converge waits until every model renders want, failing after within: the
// correctness deadline, not a speed measurement.
func converge(t testing.TB, within time.Duration, want string, models ...*model) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var bad []int
		for i, m := range models {
			if m.render() != want {
				bad = append(bad, i)
			}
		}
		if len(bad) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, i := range bad {
				t.Errorf("model %d after %v:\n got  %s\n want %s", i, within, models[i].render(), want)
			}
			t.FailNow()
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// eventually polls cond until within passes.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func startTailer(t testing.TB, l Log, m *model, opts TailerOptions) *Tailer {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	tl := NewTailer(l, m.apply, opts)
	if err := tl.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tl.Stop(ctx); err != nil {
			t.Errorf("stop tailer: %v", err)
		}
	})
	select {
	case <-tl.Loaded():
	case <-time.After(10 * time.Second):
		t.Fatalf("snapshot not loaded: %v", tl.Ready(context.Background()))
	}
	return tl
}
