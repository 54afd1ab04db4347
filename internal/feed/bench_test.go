package feed

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/shopengine/shop/internal/store"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// benchLog returns a SQLite feed holding n live entries with bodies of the
// size of a filter document (~250 bytes), written in one transaction.
func benchLog(b *testing.B, n int) *sqliteLog {
	b.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.SQLiteURL(b.TempDir()), store.WithLogger(discard))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close(ctx) })
	l := openLog(b, db, "products").(*sqliteLog)
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO feed_products (key, seq, version, deleted, body, written_at) VALUES (?, ?, 1, 0, ?, ?)`)
	if err != nil {
		b.Fatal(err)
	}
	now := store.Now().UnixMilli()
	for i := range n {
		body := fmt.Sprintf(`{"id":"0190a4c2-%08d","name":"Product %d","slug":"product-%d","price_min":%d,"price_max":%d,"currency":"EUR","in_stock":true,"category_ids":["c1","c7","c42"],"attrs":{"colour":"red","size":"m"}}`, i, i, i, 1000+i%5000, 2000+i%5000)
		if _, err := st.ExecContext(ctx, fmt.Sprintf("0190a4c2-%08d", i), i+1, []byte(body), now); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return l
}

// BenchmarkSnapshot is the cost of a restart's read: one query for 100k
// live entries.
func BenchmarkSnapshot(b *testing.B) {
	const n = 100_000
	l := benchLog(b, n)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		all, top, err := l.Snapshot(ctx)
		if err != nil || len(all) != n || top != n {
			b.Fatalf("snapshot: %d entries, seq %d, %v", len(all), top, err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkTailerLoad is a restart as a module sees it: a Tailer started
// on 100k entries until its snapshot is applied to a map.
func BenchmarkTailerLoad(b *testing.B) {
	const n = 100_000
	l := benchLog(b, n)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		state := map[string][]byte{}
		tl := NewTailer(l, func(cs []Change, reset bool) {
			for _, c := range cs {
				state[c.Key] = c.Body
			}
		}, TailerOptions{Logger: discard})
		if err := tl.Start(ctx); err != nil {
			b.Fatal(err)
		}
		<-tl.Loaded()
		tl.Stop(ctx)
		if len(state) != n {
			b.Fatalf("loaded %d entries", len(state))
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkPut is one write of a consumer on SQLite: a new version of one
// of 10k keys.
func BenchmarkPut(b *testing.B) {
	l := benchLog(b, 10_000)
	ctx := context.Background()
	body := []byte(`{"name":"Product","price_min":1000,"currency":"EUR"}`)
	b.ReportAllocs()
	v := int64(1)
	for i := 0; b.Loop(); i++ {
		if i%10_000 == 0 {
			v++
		}
		if ok, err := l.Put(ctx, fmt.Sprintf("0190a4c2-%08d", i%10_000), v, body); !ok || err != nil {
			b.Fatalf("put: %v %v", ok, err)
		}
	}
}
