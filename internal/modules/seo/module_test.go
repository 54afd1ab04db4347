package seo

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/bus/amqp/amqptest"
	"github.com/shopengine/shop/internal/bus/bustest"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/moduletest"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

// start runs the seo module on db and b as the shop does (OpenStore, New,
// Start), until t ends, and waits for its first snapshot. seo publishes
// no events, so it has no outbox and moduletest.Start (which hands a
// module its relay) does not fit it; the rest is moduletest's.
func start(t testing.TB, db *store.DB, b bus.Bus) *Module {
	t.Helper()
	st, err := OpenStore(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	m := New(b, st, moduletest.TestLogger(t))
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), moduletest.StopTimeout)
		defer cancel()
		if err := m.Stop(ctx); err != nil {
			t.Errorf("stop seo: %v", err)
		}
	})
	select {
	case <-m.tailer.Loaded():
	case <-time.After(10 * time.Second):
		t.Fatal("the registry's snapshot did not load")
	}
	return m
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func emit[T any](t testing.TB, b bus.Bus, ev bus.EventType[T], v T) {
	t.Helper()
	if err := bus.Emit(context.Background(), b, ev, v); err != nil {
		t.Fatal(err)
	}
}

// answer is what resolve says of path on b, as expect writes it.
func answer(t testing.TB, b bus.Bus, path string) string {
	t.Helper()
	res := bustest.Call(t, b, contract.Resolve, contract.ResolveRequest{Path: path})
	switch res.Kind {
	case contract.ResolveEntity:
		return fmt.Sprintf("entity %s", res.ID)
	case contract.ResolveRedirect:
		return "redirect " + res.Target
	}
	return string(res.Kind)
}

// await waits up to within until every path answers as wanted on b, and
// returns how long that took.
func await(t testing.TB, b bus.Bus, within time.Duration, want map[string]string) time.Duration {
	t.Helper()
	began := time.Now()
	for {
		bad := ""
		for p, w := range want {
			if got := answer(t, b, p); got != w {
				bad = fmt.Sprintf("resolve(%q) = %s, want %s", p, got, w)
				break
			}
		}
		if bad == "" {
			return time.Since(began)
		}
		if time.Since(began) > within {
			t.Fatalf("after %v: %s", within, bad)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// eventWait bounds how long an event takes to reach a consumer.
const eventWait = 10 * time.Second

func productEvent(id, slug string, status contract.ProductStatus, version int64) contract.ProductEvent {
	return contract.ProductEvent{ID: id, Slug: slug, Name: slug, Status: status, Currency: "EUR", Version: version}
}

// exercise is the module's behaviour as the other modules' events drive
// it: published on pub, resolved through b.
func exercise(t *testing.T, pub, b bus.Bus) {
	p := newID()
	emit(t, pub, contract.ProductCreated, productEvent(p, "red-shoe", contract.ProductDraft, 1))
	emit(t, pub, contract.ProductStatusChanged, productEvent(p, "red-shoe", contract.ProductPublished, 2))
	await(t, b, eventWait, map[string]string{"/p/red-shoe": "entity " + p})
	emit(t, pub, contract.ProductUpdated, productEvent(p, "scarlet-shoe", contract.ProductPublished, 3))
	await(t, b, eventWait, map[string]string{"/p/scarlet-shoe": "entity " + p, "/p/red-shoe": "redirect /p/scarlet-shoe"})
	// An old event delivered again changes nothing.
	emit(t, pub, contract.ProductUpdated, productEvent(p, "red-shoe", contract.ProductPublished, 2))
	marker := newID()
	emit(t, pub, contract.ProductCreated, productEvent(marker, "marker", contract.ProductPublished, 1))
	await(t, b, eventWait, map[string]string{"/p/marker": "entity " + marker})
	await(t, b, 0, map[string]string{"/p/scarlet-shoe": "entity " + p, "/p/red-shoe": "redirect /p/scarlet-shoe"})
	// Archived: not public, not gone; deleted: gone.
	emit(t, pub, contract.ProductStatusChanged, productEvent(p, "scarlet-shoe", contract.ProductArchived, 4))
	await(t, b, eventWait, map[string]string{"/p/scarlet-shoe": "not_found", "/p/red-shoe": "not_found"})
	emit(t, pub, contract.ProductDeleted, productEvent(p, "scarlet-shoe", contract.ProductArchived, 5))
	await(t, b, eventWait, map[string]string{"/p/scarlet-shoe": "gone", "/p/red-shoe": "gone"})

	// Categories: a rename of the root moves its descendants; products
	// (/p/…) are not under categories and stay.
	men, shoes, boots := newID(), newID(), newID()
	emit(t, pub, contract.CategoryCreated, contract.CategoryEvent{ID: men, Version: 1, Slug: "men", Name: "Men"})
	emit(t, pub, contract.CategoryCreated, contract.CategoryEvent{ID: shoes, Version: 1, Slug: "shoes", Name: "Shoes", ParentID: men, AncestorIDs: []string{men}})
	emit(t, pub, contract.CategoryCreated, contract.CategoryEvent{ID: boots, Version: 1, Slug: "boots", Name: "Boots", ParentID: shoes, AncestorIDs: []string{men, shoes}})
	await(t, b, eventWait, map[string]string{"/men/shoes/boots": "entity " + boots})
	emit(t, pub, contract.CategoryUpdated, contract.CategoryEvent{ID: men, Version: 2, Slug: "gents", Name: "Gents"})
	await(t, b, eventWait, map[string]string{
		"/gents/shoes/boots": "entity " + boots, "/men/shoes/boots": "redirect /gents/shoes/boots", "/men": "redirect /gents",
		"/p/marker": "entity " + marker,
	})
	women := newID()
	emit(t, pub, contract.CategoryCreated, contract.CategoryEvent{ID: women, Version: 1, Slug: "women", Name: "Women"})
	emit(t, pub, contract.CategoryMoved, contract.CategoryEvent{ID: shoes, Version: 2, Slug: "shoes", Name: "Shoes", ParentID: women, AncestorIDs: []string{women}})
	await(t, b, eventWait, map[string]string{"/women/shoes/boots": "entity " + boots, "/men/shoes/boots": "redirect /women/shoes/boots", "/gents/shoes": "redirect /women/shoes"})
	emit(t, pub, contract.CategoryDeleted, contract.CategoryEvent{ID: boots, Version: 2, Slug: "boots", ParentID: shoes})
	await(t, b, eventWait, map[string]string{"/women/shoes/boots": "gone", "/women/shoes": "entity " + shoes})

	// Articles: public when the event says so.
	a := newID()
	now := time.Now().UTC().Truncate(time.Second)
	ev := contract.ArticleEvent{ID: a, Version: 1, Slug: "hello", Title: "Hello", Status: contract.ArticleDraft, UpdatedAt: now}
	emit(t, pub, contract.ArticleCreated, ev)
	ev.Version, ev.Public, ev.Status, ev.PublishedAt = 2, true, contract.ArticlePublished, &now
	emit(t, pub, contract.ArticleMadePublic, ev)
	await(t, b, eventWait, map[string]string{"/blog/hello": "entity " + a})
	ev.Version, ev.Public, ev.Status = 3, false, contract.ArticleDraft
	emit(t, pub, contract.ArticleMadePrivate, ev)
	await(t, b, eventWait, map[string]string{"/blog/hello": "not_found"})
	ev.Version = 4
	emit(t, pub, contract.ArticleDeleted, ev)
	await(t, b, eventWait, map[string]string{"/blog/hello": "gone"})
}

func TestSEOModule(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := moduletest.NewBus(t)
		start(t, db, b)
		exercise(t, b, b)
	})
}

// TestSEOModuleAMQP: the same with the module, the publisher of the events
// and the caller on separate RabbitMQ connections.
func TestSEOModuleAMQP(t *testing.T) {
	url := amqptest.URL(t)
	opts := amqptest.Options(t, url)
	server, client := amqptest.Dial(t, url, opts), amqptest.Dial(t, url, opts)
	start(t, storetest.SQLite(t), server)
	exercise(t, client, client)
}

// within is the registry's promise: a change works on every instance in
// a second.
const within = time.Second

// follow checks that a change consumed by one instance reaches the others
// within a second: pubs[i] publishes to instance i's consumers (its own
// memory bus) or to the shared queue (RabbitMQ), and calls[i] asks
// instance i.
func follow(t *testing.T, pubs, calls []bus.Bus) {
	p := newID()
	emit(t, pubs[0], contract.ProductCreated, productEvent(p, "first", contract.ProductPublished, 1))
	first := awaitAny(t, calls, map[string]string{"/p/first": "entity " + p})
	for i, b := range calls {
		lag := await(t, b, within, map[string]string{"/p/first": "entity " + p})
		t.Logf("instance %d answered %v after instance %d", i, lag, first)
	}
	// A slug change and a category rename consumed elsewhere.
	root, child := newID(), newID()
	last := pubs[len(pubs)-1]
	emit(t, last, contract.ProductUpdated, productEvent(p, "second", contract.ProductPublished, 2))
	emit(t, last, contract.CategoryCreated, contract.CategoryEvent{ID: root, Version: 1, Slug: "toys"})
	emit(t, last, contract.CategoryCreated, contract.CategoryEvent{ID: child, Version: 1, Slug: "cars", ParentID: root, AncestorIDs: []string{root}})
	// Events of different topics may be consumed in any order: the
	// registry learns of /toys only if the created comes before the rename.
	awaitAny(t, calls, map[string]string{"/toys/cars": "entity " + child})
	emit(t, last, contract.CategoryUpdated, contract.CategoryEvent{ID: root, Version: 2, Slug: "games"})
	want := map[string]string{"/p/second": "entity " + p, "/p/first": "redirect /p/second", "/games/cars": "entity " + child, "/toys/cars": "redirect /games/cars"}
	first = awaitAny(t, calls, want)
	for i, b := range calls {
		lag := await(t, b, within, want)
		t.Logf("instance %d answered %v after instance %d", i, lag, first)
	}
}

// awaitAny waits until one of the instances answers as wanted, and
// returns which.
func awaitAny(t *testing.T, calls []bus.Bus, want map[string]string) int {
	t.Helper()
	deadline := time.Now().Add(eventWait)
	for time.Now().Before(deadline) {
		for i, b := range calls {
			ok := true
			for p, w := range want {
				if answer(t, b, p) != w {
					ok = false
					break
				}
			}
			if ok {
				return i
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("no instance answered %v within %v", want, eventWait)
	return -1
}

// Two workers on the memory bus: each has its own in-process bus, so an
// event reaches only the instance it was published to; the other follows
// through the feed within a second.
func TestInstancesFollowOnMemoryBuses(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b1, b2 := moduletest.NewBus(t), moduletest.NewBus(t)
		start(t, db, b1)
		start(t, storetest.Another(t, db), b2)
		follow(t, []bus.Bus{b1, b2}, []bus.Bus{b1, b2})
	})
}

// Two instances on RabbitMQ compete for the seo queue and its event
// subscriptions: whichever consumes an event, both answer within a second.
// Each is asked through its own connection's in-process view: a request
// on the shared queue reaches either, so each instance is asked directly.
func TestInstancesFollowOnAMQP(t *testing.T) {
	url := amqptest.URL(t)
	opts := amqptest.Options(t, url)
	db := storetest.SQLite(t)
	m1 := start(t, db, amqptest.Dial(t, url, opts))
	m2 := start(t, storetest.Another(t, db), amqptest.Dial(t, url, opts))
	pub := amqptest.Dial(t, url, opts)
	follow(t, []bus.Bus{pub, pub}, []bus.Bus{direct(t, m1), direct(t, m2)})
}

// direct is a bus on which resolve reaches m alone: an in-process bus
// serving m's own handlers, so a test can ask one instance of several
// that share a RabbitMQ queue.
func direct(t *testing.T, m *Module) bus.Bus {
	b := moduletest.NewBus(t)
	c, err := b.Serve(m.Service)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop(context.Background()) })
	return b
}

func TestResolveBadInput(t *testing.T) {
	b := moduletest.NewBus(t)
	start(t, storetest.SQLite(t), b)
	for _, tc := range []struct{ path, mention string }{
		{"", "path is required"},
		{"p/x", "path must start with '/'"},
		{"/" + strings.Repeat("a", contract.MaxPathLength), "path is"},
		{"/a\x01b", "path must not contain control"},
		{"/a\nb", "path must not contain control"},
		{"/a?b=c", "path must not contain '?'"},
	} {
		bustest.CallErr(t, b, contract.Resolve, contract.ResolveRequest{Path: tc.path}, bus.CodeInvalid, tc.mention)
	}
	bustest.CallErr(t, b, contract.GetSitemapPage, contract.SitemapPageRequest{N: 0, Limit: 10}, bus.CodeInvalid, "n must")
	bustest.CallErr(t, b, contract.GetSitemapPage, contract.SitemapPageRequest{N: 1, Limit: contract.MaxSitemapPage + 1}, bus.CodeInvalid, "limit")
	bustest.CallErr(t, b, contract.GetSitemapPage, contract.SitemapPageRequest{N: 1, Limit: 10}, bus.CodeNotFound, "sitemap 1")
}

// A burst of product events (a seed) is recorded in batches with the
// rules of one event at a time: a product moved within one batch keeps
// its old slug as a redirect, a redelivered older event changes nothing,
// an event without a version is skipped, and every product resolves.
func TestRecordBurst(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := moduletest.NewBus(t)
		m := start(t, db, b)
		moved := newID()
		changes := []change{
			{1, entry{Type: contract.SEOProduct, ID: moved, Slug: "before", Public: true}},
			{0, entry{Type: contract.SEOProduct, ID: newID(), Slug: "no-version", Public: true}},
			{2, entry{Type: contract.SEOProduct, ID: moved, Slug: "after", Public: true}},
			{1, entry{Type: contract.SEOProduct, ID: moved, Slug: "before", Public: true}}, // redelivered
		}
		want := map[string]string{"/p/before": "redirect /p/after", "/p/after": "entity " + moved, "/p/no-version": "not_found"}
		for i := range 100 {
			id := newID()
			changes = append(changes, change{1, entry{Type: contract.SEOProduct, ID: id, Slug: fmt.Sprintf("item-%d", i), Public: true}})
			want[fmt.Sprintf("/p/item-%d", i)] = "entity " + id
		}
		if err := m.recordAll(t.Context(), changes); err != nil {
			t.Fatal(err)
		}
		await(t, b, eventWait, want)

		// The same over the bus, as a burst of events of one topic.
		burst := map[string]string{}
		for i := range 50 {
			id := newID()
			emit(t, b, contract.ProductCreated, productEvent(id, fmt.Sprintf("burst-%d", i), contract.ProductPublished, 1))
			burst[fmt.Sprintf("/p/burst-%d", i)] = "entity " + id
		}
		await(t, b, 3*eventWait, burst) // FerretDB takes a while under load
	})
}
