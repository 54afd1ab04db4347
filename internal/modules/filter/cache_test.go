package filter

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/moduletest"
	"github.com/shopengine/shop/internal/store/storetest"
)

// Over the bus (the cached handler), every search answers what the index
// answers directly, while batches change the catalogue between rounds:
// a reply kept from an earlier revision would differ. Asked twice in a
// revision, a search is answered from the cache.
func TestReplyCacheAnswersTheCurrentIndex(t *testing.T) {
	ctx := context.Background()
	st, err := OpenStore(ctx, storetest.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	b := moduletest.NewBus(t)
	m := New(b, st, moduletest.TestLogger(t))
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), moduletest.StopTimeout)
		defer cancel()
		if err := m.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	select {
	case <-m.tailer.Loaded():
	case <-time.After(10 * time.Second):
		t.Fatal("snapshot not loaded")
	}
	g := newGenCatalog(3)
	m.index.Apply(append(g.definitions(), g.addProducts(400)...), false)
	reqs := make([]contract.SearchRequest, 25)
	for i := range reqs {
		reqs[i] = g.randomRequest()
	}
	hits := 0
	for round := range 4 {
		for _, req := range reqs {
			want, err := m.index.Search(req)
			if err != nil {
				t.Fatal(err)
			}
			wantJSON, _ := json.Marshal(want)
			for ask := range 2 {
				got, err := bus.Call(ctx, b, contract.Search, req)
				if err != nil {
					t.Fatalf("round %d %s: %v", round, describe(req), err)
				}
				if gotJSON, _ := json.Marshal(got); string(gotJSON) != string(wantJSON) {
					t.Fatalf("round %d ask %d %s: the bus answered\n%s\nthe index\n%s", round, ask, describe(req), gotJSON, wantJSON)
				}
			}
			body, _ := json.Marshal(req)
			if _, ok := m.replies.get(m.index.Revision(), body); ok {
				hits++
			}
		}
		m.index.Apply(g.mutate(60), false)
	}
	if hits < len(reqs)*4*9/10 {
		t.Fatalf("%d of %d searches kept", hits, len(reqs)*4)
	}
	// A bad request is refused as by bus.Handle, and nothing is kept.
	if _, err := bus.Call(ctx, b, contract.Search, contract.SearchRequest{PageSize: 0}); bus.CodeOf(err) != bus.CodeInvalid {
		t.Fatalf("page_size 0: %v", err)
	}
}

// The cache holds one revision: a newer one starts it over, an older
// one (a search that read the revision before a batch landed) is not
// kept, and its bounds hold.
func TestReplyCacheRevisions(t *testing.T) {
	var c replyCache
	c.put(2, []byte("a"), []byte("A2"))
	if got, ok := c.get(2, []byte("a")); !ok || string(got) != "A2" {
		t.Fatalf("kept: %q %v", got, ok)
	}
	if _, ok := c.get(3, []byte("a")); ok {
		t.Fatal("a reply of revision 2 served at 3")
	}
	c.put(1, []byte("b"), []byte("B1"))
	if _, ok := c.get(1, []byte("b")); ok {
		t.Fatal("an older revision's reply kept")
	}
	c.put(3, []byte("b"), []byte("B3"))
	if _, ok := c.get(2, []byte("a")); ok || len(c.replies) != 1 {
		t.Fatalf("revision 2 left after 3: %d replies", len(c.replies))
	}
	for i := range replyCacheEntries + 10 {
		c.put(3, []byte{byte(i), byte(i >> 8)}, []byte("x"))
	}
	if len(c.replies) > replyCacheEntries {
		t.Fatalf("%d replies kept, bound %d", len(c.replies), replyCacheEntries)
	}
}
