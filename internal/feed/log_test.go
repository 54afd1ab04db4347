package feed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

func openLog(t testing.TB, db *store.DB, name string) Log {
	t.Helper()
	l, err := Open(context.Background(), db, "demo", name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

func body(s string) []byte { return []byte(fmt.Sprintf(`{"v":%q}`, s)) }

func TestLogVersionRule(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		l := openLog(t, db, "items")
		type step struct {
			op      string // put or delete
			version int64
			body    string
			applied bool
			// the entry afterwards
			wantVersion int64
			wantDeleted bool
			wantBody    string
		}
		for _, tc := range []struct {
			name  string
			steps []step
		}{
			{"first write", []step{{"put", 1, "a", true, 1, false, "a"}}},
			{"newer wins", []step{{"put", 1, "a", true, 1, false, "a"}, {"put", 2, "b", true, 2, false, "b"}}},
			{"equal is a redelivery", []step{{"put", 2, "a", true, 2, false, "a"}, {"put", 2, "b", false, 2, false, "a"}}},
			{"older is ignored", []step{{"put", 5, "a", true, 5, false, "a"}, {"put", 3, "b", false, 5, false, "a"}}},
			{"delete", []step{{"put", 1, "a", true, 1, false, "a"}, {"delete", 2, "", true, 2, true, ""}}},
			{"old delete is ignored", []step{{"put", 4, "a", true, 4, false, "a"}, {"delete", 3, "", false, 4, false, "a"}}},
			{"put after delete at older version is ignored", []step{{"delete", 4, "", true, 4, true, ""}, {"put", 3, "a", false, 4, true, ""}}},
			{"resurrect at newer version", []step{{"put", 1, "a", true, 1, false, "a"}, {"delete", 2, "", true, 2, true, ""}, {"put", 3, "c", true, 3, false, "c"}}},
			{"delete of an unknown key leaves a tombstone", []step{{"delete", 7, "", true, 7, true, ""}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				key := strings.ReplaceAll(tc.name, " ", "-")
				var lastSeq int64
				for i, s := range tc.steps {
					var (
						applied bool
						err     error
					)
					if s.op == "put" {
						applied, err = l.Put(ctx, key, s.version, body(s.body))
					} else {
						applied, err = l.Delete(ctx, key, s.version)
					}
					if err != nil || applied != s.applied {
						t.Fatalf("step %d %s v%d: applied=%v err=%v, want applied=%v", i, s.op, s.version, applied, err, s.applied)
					}
					c, err := l.Get(ctx, key)
					if err != nil {
						t.Fatalf("step %d: get: %v", i, err)
					}
					wantBody := ""
					if s.wantBody != "" {
						wantBody = string(body(s.wantBody))
					}
					if c.Key != key || c.Version != s.wantVersion || c.Deleted != s.wantDeleted || string(c.Body) != wantBody {
						t.Fatalf("step %d: entry %+v (body %s), want version %d deleted %v body %s", i, c, c.Body, s.wantVersion, s.wantDeleted, wantBody)
					}
					switch {
					case applied && c.Seq <= lastSeq:
						t.Fatalf("step %d: seq %d after %d, want it to grow", i, c.Seq, lastSeq)
					case !applied && c.Seq != lastSeq:
						t.Fatalf("step %d: a refused write moved the seq from %d to %d", i, lastSeq, c.Seq)
					}
					lastSeq = c.Seq
				}
			})
		}
		if _, err := l.Get(ctx, "never-written"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("get of a missing key: %v, want store.ErrNotFound", err)
		}
	})
}

func TestLogSinceAndSnapshot(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		l := openLog(t, db, "items")
		if all, top, err := l.Snapshot(ctx); err != nil || len(all) != 0 || top != 0 {
			t.Fatalf("empty snapshot = %v, %d, %v", all, top, err)
		}
		for i, k := range []string{"a", "b", "c", "d"} {
			mustPut(t, l, k, 1, fmt.Sprint(i))
		}
		mustPut(t, l, "b", 2, "b2") // b moves to the end
		if ok, err := l.Delete(ctx, "c", 2); !ok || err != nil {
			t.Fatalf("delete c: %v %v", ok, err)
		}
		all, err := l.Since(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if got := keysOf(all); got != "a d b c-" {
			t.Fatalf("since 0 = %s, want a d b c- (seq order, tombstone included)", got)
		}
		for i := 1; i < len(all); i++ {
			if all[i].Seq <= all[i-1].Seq {
				t.Fatalf("since is not in seq order: %+v", all)
			}
		}
		page, err := l.Since(ctx, all[0].Seq, 2)
		if err != nil || keysOf(page) != "d b" {
			t.Fatalf("since %d limit 2 = %s, %v; want d b", all[0].Seq, keysOf(page), err)
		}
		if rest, err := l.Since(ctx, all[len(all)-1].Seq, 10); err != nil || len(rest) != 0 {
			t.Fatalf("since the top = %v, %v; want nothing", rest, err)
		}

		snap, top, err := l.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := keysOf(sortedByKey(snap)); got != "a b d" {
			t.Errorf("snapshot = %s, want a b d: tombstones excluded", got)
		}
		if top != all[len(all)-1].Seq {
			t.Errorf("snapshot seq = %d, want the top seq %d", top, all[len(all)-1].Seq)
		}
		for _, c := range snap {
			if c.Key == "b" && (c.Version != 2 || string(c.Body) != string(body("b2"))) {
				t.Errorf("snapshot b = %+v, want version 2 body b2", c)
			}
		}

		// Only tombstones: the snapshot is empty but still names the seq.
		l2 := openLog(t, db, "gone")
		mustPut(t, l2, "x", 1, "x")
		if ok, err := l2.Delete(ctx, "x", 2); !ok || err != nil {
			t.Fatal(ok, err)
		}
		if snap, top, err := l2.Snapshot(ctx); err != nil || len(snap) != 0 || top == 0 {
			t.Errorf("snapshot of tombstones only = %v, %d, %v; want none and a seq", snap, top, err)
		}
	})
}

func TestLogBadInput(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		l := openLog(t, db, "items")
		for _, tc := range []struct {
			name    string
			key     string
			version int64
			body    []byte
		}{
			{"empty key", "", 1, body("a")},
			{"long key", strings.Repeat("k", MaxKeySize+1), 1, body("a")},
			{"not UTF-8", "\xff", 1, body("a")},
			{"zero version", "k", 0, body("a")},
			{"negative version", "k", -1, body("a")},
			{"empty body", "k", 1, nil},
			{"not JSON", "k", 1, []byte(`{"a":`)},
			{"oversize body", "k", 1, []byte(`"` + strings.Repeat("x", MaxBodySize) + `"`)},
		} {
			if _, err := l.Put(ctx, tc.key, tc.version, tc.body); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "feed items") {
				t.Errorf("%s: put: %v, want ErrInvalid naming the feed", tc.name, err)
			}
		}
		if _, err := l.Delete(ctx, "", 1); !errors.Is(err, ErrInvalid) {
			t.Errorf("delete with an empty key: %v", err)
		}
		if _, err := l.Since(ctx, 0, 0); !errors.Is(err, ErrInvalid) {
			t.Errorf("since limit 0: %v", err)
		}
		// Operator-looking keys are plain keys.
		mustPut(t, l, `{"$gt": ""}`, 1, "x")
		if c, err := l.Get(ctx, `{"$gt": ""}`); err != nil || c.Version != 1 {
			t.Errorf("operator-looking key: %+v, %v", c, err)
		}
		if all, _, _ := l.Snapshot(ctx); len(all) != 1 {
			t.Errorf("bad input was written: %+v", all)
		}
		for _, name := range []string{"", "Items", "a-b", "a b", strings.Repeat("x", 40)} {
			if _, err := Open(ctx, db, "demo", name); err == nil {
				t.Errorf("feed name %q accepted", name)
			}
		}
	})
}

func TestLogCompact(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		l := openLog(t, db, "items")
		mustPut(t, l, "live", 1, "x")
		for _, k := range []string{"old1", "old2", "top"} {
			mustPut(t, l, k, 1, "x")
			if _, err := l.Delete(ctx, k, 2); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := l.Compact(ctx, time.Hour); err != nil || n != 0 {
			t.Fatalf("compact of young tombstones removed %d, %v", n, err)
		}
		time.Sleep(5 * time.Millisecond)
		n, err := l.Compact(ctx, time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		left, _ := l.Since(ctx, 0, 100)
		switch db.Kind() {
		case store.KindSQLite:
			// The top seq's tombstone stays: SQLite allocates MAX(seq)+1.
			if n != 2 || keysOf(left) != "live top-" {
				t.Errorf("compact removed %d, left %s; want 2, live top-", n, keysOf(left))
			}
		default:
			if n != 3 || keysOf(left) != "live" {
				t.Errorf("compact removed %d, left %s; want 3, live", n, keysOf(left))
			}
		}
		// Seqs never go back, whatever was compacted.
		top := left[len(left)-1].Seq
		mustPut(t, l, "new", 1, "x")
		if c, _ := l.Get(ctx, "new"); c.Seq <= top {
			t.Errorf("seq after compaction = %d, want > %d", c.Seq, top)
		}
		if _, err := l.Get(ctx, "old1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("compacted tombstone: %v, want store.ErrNotFound", err)
		}
	})
}

// The feed's table lives in the module's own file beside the module's
// migrated tables, in either start order, across restarts.
func TestSQLiteFeedInModuleFile(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	moduleMigrations := []store.Migration{
		{Version: 1, SQL: `CREATE TABLE things (id TEXT PRIMARY KEY)`},
		{Version: 2, SQL: `ALTER TABLE things ADD COLUMN n INTEGER`},
	}
	for i := range 2 {
		db, err := store.Open(ctx, store.SQLiteURL(dir), store.WithLogger(testLogger(t)))
		if err != nil {
			t.Fatal(err)
		}
		var l Log
		if i == 0 {
			l = openLog(t, db, "things")
			if _, err := db.SQLite(ctx, "demo", moduleMigrations); err != nil {
				t.Fatalf("module after feed: %v", err)
			}
		} else {
			if _, err := db.SQLite(ctx, "demo", moduleMigrations); err != nil {
				t.Fatalf("module before feed: %v", err)
			}
			l = openLog(t, db, "things")
		}
		mustPut(t, l, fmt.Sprint("k", i), 1, "x")
		if all, _, err := l.Snapshot(ctx); err != nil || len(all) != i+1 {
			t.Fatalf("restart %d: snapshot %v, %v", i, all, err)
		}
		db.Close(ctx)
	}
}

func mustPut(t testing.TB, l Log, key string, version int64, b string) {
	t.Helper()
	ok, err := l.Put(context.Background(), key, version, body(b))
	if err != nil || !ok {
		t.Fatalf("put %s v%d: applied=%v err=%v", key, version, ok, err)
	}
}

// keysOf lists keys in order, a tombstone marked with "-".
func keysOf(cs []Change) string {
	var b strings.Builder
	for i, c := range cs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(c.Key)
		if c.Deleted {
			b.WriteByte('-')
		}
	}
	return b.String()
}

func sortedByKey(cs []Change) []Change {
	out := slices.Clone(cs)
	slices.SortFunc(out, func(a, b Change) int { return strings.Compare(a.Key, b.Key) })
	return out
}
