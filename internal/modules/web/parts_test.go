package web

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/bus/memory"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/moduletest"
)

// memoShop is a seam shop whose one product's name can be changed, with
// parts kept for ttl.
type memoShop struct {
	seamShop
	mu   sync.Mutex
	name string
	fail bool
}

func startMemoShop(t *testing.T, ttl time.Duration) *memoShop {
	b := memory.New(moduletest.TestLogger(t))
	cat := moduletest.NewStub(t, b, contract.CategoryQueue)
	moduletest.Reply(cat, contract.GetCategoryTree, contract.CategoryTree{Count: 2, Roots: []contract.CategoryNode{
		{ID: "c1", Name: "Garden", Slug: "garden", Children: []contract.CategoryNode{{ID: "c2", Name: "Tools", Slug: "garden-tools"}}},
	}})
	s := &memoShop{name: "Spade"}
	s.product = moduletest.NewStub(t, b, contract.ProductQueue)
	moduletest.Handle(s.product, contract.ListProducts, func(context.Context, contract.ListProductsRequest) (contract.Page[contract.ProductSummary], error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.fail {
			return contract.Page[contract.ProductSummary]{}, bus.Errorf(bus.CodeUnavailable, "product down")
		}
		return contract.Page[contract.ProductSummary]{Total: 1, Items: []contract.ProductSummary{
			{ID: "p1", Name: s.name, Slug: "spade", Currency: "EUR", PriceMin: 1999, PriceMax: 1999, TotalStock: 3},
		}}, nil
	})
	s.m, s.url = serveWeb(t, Config{Bus: b, Log: moduletest.TestLogger(t), PartsTTL: ttl})
	return s
}

func (s *memoShop) set(name string, fail bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.name, s.fail = name, fail
}

func (s *memoShop) memoEntries() int {
	s.m.site.memo.mu.Lock()
	defer s.m.site.memo.mu.Unlock()
	return len(s.m.site.memo.pages)
}

// The render memo serves a page rendered before only for the same view:
// the data changing (every page gathers afresh; no parts kept here) is a
// new render.
func TestRenderMemoFollowsTheData(t *testing.T) {
	s := startMemoShop(t, 0)
	const page = "/garden/garden-tools"
	code, _, first := s.get(t, page)
	if code != 200 || !strings.Contains(first, "Spade") {
		t.Fatalf("first: %d\n%.2000s", code, first)
	}
	if _, _, again := s.get(t, page); again != first || s.memoEntries() != 1 {
		t.Fatalf("the same view twice: %d memo entries, same page %v", s.memoEntries(), again == first)
	}
	s.set("Rake", false)
	code, _, changed := s.get(t, page)
	if code != 200 || !strings.Contains(changed, "Rake") || strings.Contains(changed, "Spade") || s.memoEntries() != 2 {
		t.Fatalf("after the product changed: %d, %d memo entries:\n%.2000s", code, s.memoEntries(), changed)
	}
	if got := s.product.Calls("list"); got != 3 {
		t.Fatalf("list called %d times, want once per page (no parts kept with PartsTTL 0)", got)
	}
	// A query that is not valid UTF-8 is rendered without the memo.
	if code, _, _ := s.get(t, page+"?q=%ff"); code != 200 || s.memoEntries() != 2 {
		t.Fatalf("invalid UTF-8 query: %d, %d memo entries", code, s.memoEntries())
	}
}

// With PartsTTL the shared reads are asked once per TTL and never kept
// when they fail.
func TestSharedReadsAreKeptForTheTTL(t *testing.T) {
	s := startMemoShop(t, time.Hour)
	const page = "/garden/garden-tools"
	for range 3 {
		if code, _, body := s.get(t, page); code != 200 || !strings.Contains(body, "Spade") {
			t.Fatalf("%d\n%.2000s", code, body)
		}
	}
	if got := s.product.Calls("list"); got != 1 {
		t.Fatalf("list called %d times within the TTL, want 1", got)
	}

	// An error is not kept: the next page asks again.
	calls := 0
	load := func(fail bool) func() (string, error) {
		return func() (string, error) {
			calls++
			if fail {
				return "", errors.New("down")
			}
			return "answer", nil
		}
	}
	if _, err := sharedBy(s.m, "k", load(true)); err == nil {
		t.Fatal("a failing load answered")
	}
	if v, err := sharedBy(s.m, "k", load(false)); err != nil || v != "answer" || calls != 2 {
		t.Fatalf("after a failure: %q %v, %d loads", v, err, calls)
	}
	if v, err := sharedBy(s.m, "k", load(true)); err != nil || v != "answer" || calls != 2 {
		t.Fatalf("kept answer: %q %v, %d loads", v, err, calls)
	}
	// Past its TTL an entry is gone.
	if _, ok := s.m.parts.get("k", time.Now().Add(2*time.Hour)); ok {
		t.Fatal("an entry outlived its TTL")
	}
	if _, ok := s.m.parts.get("k", time.Now()); !ok {
		t.Fatal("the entry is not kept")
	}
}

// A shared panel encodes as its number (the render memo's key); any other
// as its fields, which a change shows in.
func TestPanelEncoding(t *testing.T) {
	p := facetPanel{Path: "/garden", Groups: []facetGroup{{Code: "colour", Values: []facetValue{{Code: "red", Count: 2}}}}}
	plain, err := json.Marshal(plain(p))
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(p)
	if err != nil || string(got) != string(plain) {
		t.Fatalf("unshared panel: %s %v, want %s", got, err, plain)
	}
	p.Groups[0].Values[0].Count = 3
	if again, _ := json.Marshal(p); string(again) == string(got) {
		t.Fatal("an unshared panel's encoding does not follow its counts")
	}
	a, b := p, p
	a.shared, b.shared = sharedIDs.Add(1), sharedIDs.Add(1)
	ea, _ := json.Marshal(a)
	eb, _ := json.Marshal(b)
	if string(ea) == string(eb) || strings.Contains(string(ea), "colour") {
		t.Fatalf("shared panels: %s and %s", ea, eb)
	}
}

func plain(p facetPanel) plainPanel { return plainPanel(p) }
