package store

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
)

// TestStatements: reads through the cache answer as the DB does, from
// many goroutines at once; each query text is prepared once; bad SQL is
// an error, not a kept statement; past MaxStatements queries still run.
func TestStatements(t *testing.T) {
	db := sqlFixture(t)
	st := NewStatements(db)
	q := itemColumns + ` WHERE group_id = ? ORDER BY position`
	want, err := QueryAll(t.Context(), db, scanItem, q, "g1")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for range 40 {
		wg.Go(func() {
			got, err := QueryAll(t.Context(), st, scanItem, q, "g1")
			if err != nil || !slices.Equal(got, want) {
				errs <- fmt.Errorf("got %v, %v; want %v", got, err, want)
			}
			name, err := QueryOne(t.Context(), st, ScanValue[string], `SELECT name FROM groups WHERE id = ?`, "g2")
			if err != nil || name != "two" {
				errs <- fmt.Errorf("one row: %q, %v", name, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := st.Len(); n != 2 {
		t.Errorf("%d statements kept, want 2 (one per query text)", n)
	}
	if _, err := QueryOne(t.Context(), st, ScanValue[string], `SELECT name FROM groups WHERE id = ?`, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("no row: %v, want ErrNotFound", err)
	}
	if _, err := QueryAll(t.Context(), st, ScanValue[string], `SELECT * FROM nowhere`); err == nil {
		t.Error("bad SQL: no error")
	}
	if n := st.Len(); n != 2 {
		t.Errorf("bad SQL was kept: %d statements", n)
	}
	for i := st.Len(); i < MaxStatements+3; i++ {
		v, err := QueryOne(t.Context(), st, ScanValue[int], fmt.Sprintf(`SELECT %d`, i))
		if err != nil || v != i {
			t.Fatalf("query %d: %d, %v", i, v, err)
		}
	}
	if n := st.Len(); n != MaxStatements {
		t.Errorf("%d statements kept, want the bound %d", n, MaxStatements)
	}
}
