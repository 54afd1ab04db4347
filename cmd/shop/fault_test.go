package main

// Faults injected into real processes under load (issue 15, "Faults"):
// workers killed with SIGKILL while many shoppers add to their carts.
// Every loop is bounded and every test ends by itself.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Load shape of the worker-kill faults: every shopper adds each of the
// variants once, quantity 1, so that a line's quantity says exactly how
// many times its add was applied: 1 for an add answered with success, 0
// for one refused, 0 or 1 for one whose outcome the shopper never learnt
// (its connection died with the worker), and never 2.
const (
	faultShoppers = 12
	faultVariants = 60
	// addPause paces each shopper, so that the load outlasts the kills
	// and the replacements' starts (seconds each under -race).
	addPause = 100 * time.Millisecond
	// addTimeout is a shopper's patience: above web's 5 s bus deadline,
	// so that a late answer is an answer and a hang is a failure.
	addTimeout = 15 * time.Second
)

// addOutcome is what a shopper knows of one add.
type addOutcome int

const (
	addOK      addOutcome = iota + 1 // 200: applied
	addRefused                       // 4xx: not applied
	addUnknown                       // 5xx or a dead connection: applied or not
)

// shopper is one client with its own guest cart (the cookie in its jar)
// and its own kept-alive connections.
type shopper struct {
	id      int
	c       *http.Client
	base    string
	outcome map[string]addOutcome // variant → what the add came to
	errs    []string              // the first few unknown outcomes, for the report
}

func newShopper(id int, base string) *shopper {
	jar, _ := cookiejar.New(nil)
	return &shopper{id: id, base: base, outcome: map[string]addOutcome{},
		c: &http.Client{Jar: jar, Timeout: addTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}}
}

// add adds one of variant and records the outcome.
func (s *shopper) add(variant string) addOutcome {
	resp, err := s.c.Post(s.base+"/api/v1/cart/lines", "application/json",
		strings.NewReader(fmt.Sprintf(`{"variant_id":%q,"quantity":1}`, variant)))
	o := addUnknown
	why := ""
	if err != nil {
		why = err.Error()
	} else {
		body, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case rerr != nil:
			why = rerr.Error()
		case resp.StatusCode == http.StatusOK:
			o = addOK
		case resp.StatusCode/100 == 4:
			o, why = addRefused, fmt.Sprintf("%d %s", resp.StatusCode, body)
		default:
			why = fmt.Sprintf("%d %s", resp.StatusCode, body)
		}
	}
	if why != "" && len(s.errs) < 3 {
		s.errs = append(s.errs, why)
	}
	s.outcome[variant] = o
	return o
}

// cart reads the shopper's cart, retrying while the shop recovers, and
// returns variant → quantity.
func (s *shopper) cart(t *testing.T) map[string]int64 {
	t.Helper()
	var last string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := s.c.Get(s.base + "/api/v1/cart")
		if err != nil {
			last = err.Error()
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var c struct {
			ID    string `json:"id"`
			Lines []struct {
				VariantID string `json:"variant_id"`
				Quantity  int64  `json:"quantity"`
			} `json:"lines"`
		}
		if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &c) != nil || c.ID == "" {
			last = fmt.Sprintf("%d %s", resp.StatusCode, body)
			continue
		}
		q := map[string]int64{}
		for _, l := range c.Lines {
			q[l.VariantID] += l.Quantity
		}
		return q
	}
	t.Fatalf("shopper %d: cart not readable within 60 s: %s", s.id, last)
	return nil
}

// faultProducts creates n published products of one variant each (stock
// enough for every shopper) through web at addr and returns the variants.
func faultProducts(t *testing.T, addr string, n int) []string {
	t.Helper()
	var cat entity
	admin(t, addr, "POST", "/api/v1/admin/categories", `{"name":"Fault items"}`, &cat)
	var out []string
	for i := range n {
		var p struct {
			Variants []struct {
				ID string `json:"id"`
			} `json:"variants"`
		}
		admin(t, addr, "POST", "/api/v1/admin/products",
			fmt.Sprintf(`{"name":"Fault item %d","status":"published","category_ids":[%q],"currency":"EUR","price":%d,"variants":[{"stock":1000}]}`, i, cat.ID, 100+i), &p)
		if len(p.Variants) != 1 || p.Variants[0].ID == "" {
			t.Fatalf("product %d: variants %+v, want one", i, p.Variants)
		}
		out = append(out, p.Variants[0].ID)
	}
	return out
}

// workerKill is one planned SIGKILL: which supervised serve loses a
// worker, and (filled in by the run) what happened.
type workerKill struct {
	what    string       // "cart", "product", ...
	p       *supervised  // the serve whose worker dies
	avoid   func() []int // pids not to pick, asked at the kill (nil: none)
	victim  int
	newPID  int
	forked  time.Duration // kill → a new child
	serving time.Duration // kill → the new child answers /healthz
	// onKill runs at the kill; the load records its progress in it.
	onKill          func()
	atAdd, inFlight int64
}

// kill SIGKILLs one of k.p's workers and waits for its replacement to
// answer /healthz.
func (k *workerKill) kill(t *testing.T) {
	t.Helper()
	p := k.p
	var avoid, before []int
	if k.avoid != nil {
		avoid = k.avoid()
	}
	if !poll(60*time.Second, func() bool {
		before = p.children()
		for _, pid := range before {
			if !slices.Contains(avoid, pid) && execedWorker(pid) {
				k.victim = pid
				return true
			}
		}
		return false
	}) {
		p.fatalf("%s: no running worker to kill (children %v, avoiding %v)", k.what, before, avoid)
	}
	if err := syscall.Kill(k.victim, syscall.SIGKILL); err != nil {
		p.fatalf("kill -9 %s worker %d: %v", k.what, k.victim, err)
	}
	at := time.Now()
	if k.onKill != nil {
		k.onKill()
	}
	if !poll(10*time.Second, func() bool { return !alive(k.victim) }) {
		p.fatalf("%s worker %d alive 10 s after kill -9", k.what, k.victim)
	}
	if !poll(60*time.Second, func() bool {
		for _, pid := range p.children() {
			if !slices.Contains(before, pid) {
				k.newPID = pid
				return true
			}
		}
		return false
	}) {
		p.fatalf("%s: no replacement for worker %d within 60 s of kill -9 (children %v)", k.what, k.victim, p.children())
	}
	k.forked = time.Since(at)
	c := newConnClient()
	c.Timeout = 2 * time.Second
	if !poll(90*time.Second, func() bool {
		h, err := healthz(c, p.addr)
		return err == nil && h.PID == k.newPID
	}) {
		p.fatalf("%s: replacement worker %d did not answer /healthz within 90 s of kill -9 %d", k.what, k.newPID, k.victim)
	}
	k.serving = time.Since(at)
}

// addsUnderKills runs the cart load through web at base and carries out
// kills one after the other while it runs: the first once a sixth of the
// adds are done, each next once the one before it is served by its
// replacement. Shoppers wait at a gate before their last sixth of adds
// until every kill has been made, so each kill falls within the load.
// Then it checks every cart against what its shopper was told.
func addsUnderKills(t *testing.T, base string, variants []string, kills []*workerKill) {
	t.Helper()
	total := faultShoppers * len(variants)
	shoppers := make([]*shopper, faultShoppers)
	for i := range shoppers {
		shoppers[i] = newShopper(i, base)
		// The first add makes the guest cart and its cookie: it must
		// succeed, before any fault, or the cart could not be found again.
		if o := shoppers[i].add(variants[0]); o != addOK {
			t.Fatalf("shopper %d: first add: %v %v", i, o, shoppers[i].errs)
		}
	}
	var done, inFlight atomic.Int64
	done.Store(faultShoppers)
	allKilled := make(chan struct{})
	gate := len(variants) - len(variants)/6
	var wg sync.WaitGroup
	began := time.Now()
	for i, s := range shoppers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each shopper its own order, so the adds in flight at a kill
			// are of different variants.
			for j := 1; j < len(variants); j++ {
				if j == gate {
					select {
					case <-allKilled:
					case <-time.After(5 * time.Minute):
					}
				}
				inFlight.Add(1)
				s.add(variants[1+(j-1+i*5)%(len(variants)-1)])
				inFlight.Add(-1)
				done.Add(1)
				time.Sleep(addPause)
			}
		}()
	}
	for i, k := range kills {
		want := int64(total / 6 * (2*i + 1)) // a sixth, a half, ...
		if !poll(5*time.Minute, func() bool { return done.Load() >= want || done.Load() >= int64(gate*faultShoppers) }) {
			t.Fatalf("load stalled at %d of %d adds before kill %d", done.Load(), total, i+1)
		}
		k.onKill = func() { k.atAdd, k.inFlight = done.Load(), inFlight.Load() }
		k.kill(t)
		t.Logf("kill %d: %s worker %d after %d of %d adds, %d in flight; replacement %d forked after %v, serving after %v",
			i+1, k.what, k.victim, k.atAdd, total, k.inFlight, k.newPID, k.forked.Round(time.Millisecond), k.serving.Round(time.Millisecond))
	}
	close(allKilled)
	wg.Wait()
	elapsed := time.Since(began)

	var ok, refused, unknown, applied, unknownApplied int
	var problems []string
	for _, s := range shoppers {
		got := s.cart(t)
		for v, q := range got {
			if _, tried := s.outcome[v]; !tried {
				problems = append(problems, fmt.Sprintf("shopper %d: variant %s quantity %d, never added", s.id, v, q))
			}
		}
		for _, v := range variants {
			q := got[v]
			switch o := s.outcome[v]; {
			case o == addOK:
				ok++
				if q != 1 {
					problems = append(problems, fmt.Sprintf("shopper %d: variant %s answered 200, quantity %d (want 1)", s.id, v, q))
				}
			case o == addRefused:
				refused++
				if q != 0 {
					problems = append(problems, fmt.Sprintf("shopper %d: variant %s refused, quantity %d (want 0)", s.id, v, q))
				}
			case o == addUnknown:
				unknown++
				if q == 1 {
					unknownApplied++
				}
				if q > 1 {
					problems = append(problems, fmt.Sprintf("shopper %d: variant %s outcome unknown, quantity %d (want 0 or 1)", s.id, v, q))
				}
			default:
				problems = append(problems, fmt.Sprintf("shopper %d: variant %s never tried", s.id, v))
			}
			applied += int(q)
		}
	}
	var samples []string
	for _, s := range shoppers {
		samples = append(samples, s.errs...)
	}
	t.Logf("%d adds in %v: %d answered 200, %d refused (4xx), %d unknown (%d of them applied); %d applied in all (bounds %d..%d)",
		total, elapsed.Round(time.Millisecond), ok, refused, unknown, unknownApplied, applied, ok, ok+unknown)
	if len(samples) > 0 {
		t.Logf("some failed adds: %s", strings.Join(samples[:min(len(samples), 6)], " | "))
	}
	if applied < ok || applied > ok+unknown {
		problems = append(problems, fmt.Sprintf("%d adds applied, outside [%d answered 200, %d answered 200 or unknown]", applied, ok, ok+unknown))
	}
	if len(problems) > 0 {
		t.Fatalf("%d problems:\n%s", len(problems), strings.Join(problems[:min(len(problems), 30)], "\n"))
	}
	if ok == 0 {
		t.Fatal("no add succeeded: the load never ran")
	}
}

// TestWorkerKilledUnderLoad: `shop serve --workers=2` on the memory bus
// (each worker hosts every module, web included) loses first one worker,
// then the other, to SIGKILL while twelve shoppers add to their carts.
func TestWorkerKilledUnderLoad(t *testing.T) {
	p := startSupervisedEnv(t, []string{"SHOP_ADMIN_TOKEN=" + testAdminToken}, "--workers=2", "--database-url=sqlite://"+t.TempDir())
	first := p.waitWorkers(newConnClient(), 2)
	variants := faultProducts(t, p.addr, faultVariants)
	var originals []int
	for pid := range first {
		originals = append(originals, pid)
	}
	slices.Sort(originals)
	// Every worker here serves cart and product alike: the first kill
	// takes one of the original workers, the second the other original,
	// not the first one's replacement.
	k1 := &workerKill{what: "cart+product #1", p: p}
	k2 := &workerKill{what: "cart+product #2", p: p, avoid: func() []int { return []int{k1.newPID} }}
	addsUnderKills(t, "http://"+p.addr, variants, []*workerKill{k1, k2})
	if !slices.Contains(originals, k1.victim) || !slices.Contains(originals, k2.victim) || k1.victim == k2.victim {
		t.Fatalf("killed %d and %d, want both original workers %v", k1.victim, k2.victim, originals)
	}
}

// TestWorkerKilledUnderLoadOverAMQP is the split shape: cart and product
// are each their own `shop serve --workers=2` over the real RabbitMQ,
// with web (and what product's writes need) in a third process; a cart
// worker, then a product worker, is killed under the load.
func TestWorkerKilledUnderLoadOverAMQP(t *testing.T) {
	url, prefix := brokerPrefix(t)
	env := []string{"SHOP_ADMIN_TOKEN=" + testAdminToken}
	args := []string{"--bus-url=" + url, "--bus-prefix=" + prefix, "--database-url=sqlite://" + t.TempDir()}
	front := startServe(t, env, append(args, "--workers=0", "--only=web,category,attribute,option")...)
	cart := startSupervisedEnv(t, env, append(args, "--workers=2", "--only=cart")...)
	product := startSupervisedEnv(t, env, append(args, "--workers=2", "--only=product")...)
	cart.waitWorkers(newConnClient(), 2)
	product.waitWorkers(newConnClient(), 2)
	variants := faultProducts(t, front.addr, faultVariants)
	addsUnderKills(t, "http://"+front.addr, variants, []*workerKill{{what: "cart", p: cart}, {what: "product", p: product}})
}

// TestRedeliveredCartAddAppliedOnceOverAMQP makes the narrowest window of
// a worker kill happen every time: a cart instance dies (the reply-kill
// fault hook: SIGKILL after the handler's commit, before its reply and
// ack), the broker redelivers the request to the other instance, and
// the add must not be applied a second time.
func TestRedeliveredCartAddAppliedOnceOverAMQP(t *testing.T) {
	url, prefix := brokerPrefix(t)
	env := []string{"SHOP_ADMIN_TOKEN=" + testAdminToken}
	args := []string{"--workers=0", "--bus-url=" + url, "--bus-prefix=" + prefix, "--database-url=sqlite://" + t.TempDir()}
	front := startServe(t, env, append(args, "--only=web,category,attribute,option,product")...)
	startServe(t, env, append(args, "--only=cart")...)
	variants := faultProducts(t, front.addr, 8)
	s := newShopper(0, "http://"+front.addr)
	if o := s.add(variants[0]); o != addOK {
		t.Fatalf("first add: %v %v", o, s.errs)
	}
	doomed := startServe(t, append(env, "SHOP_TEST_FAULT=reply-kill"), append(args, "--only=cart")...)
	awaitReady(t, searcher{name: "doomed cart", client: newConnClient(), addr: doomed.addr})
	died := false
	for _, v := range variants[1:] {
		if o := s.add(v); o != addOK {
			t.Fatalf("add %s: %v %v, want 200 (a redelivered request is answered by the other instance)\ndoomed:\n%s", v, o, s.errs, doomed.logs)
		}
		select {
		case err := <-doomed.done:
			died = true
			if !strings.Contains(doomed.logs.String(), "test fault hook") {
				t.Fatalf("the doomed cart instance exited (%v) without its fault hook:\n%s", err, doomed.logs)
			}
		case <-time.After(200 * time.Millisecond):
		}
		if died {
			break
		}
	}
	if !died {
		t.Fatalf("the doomed cart instance took none of %d adds", len(variants)-1)
	}
	got := s.cart(t)
	for v, o := range s.outcome {
		if got[v] != 1 {
			t.Errorf("variant %s: add %v, quantity %d, want 1", v, o, got[v])
		}
	}
	if !t.Failed() {
		t.Logf("%d adds, each answered 200; the one the killed instance had committed was redelivered and applied once", len(s.outcome))
	}
}
