package main

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/bus/amqp/amqptest"
)

// The broker restarted under load (issue 15, "Faults"): the modules run
// as their own processes over a private RabbitMQ node, which the test
// stops (rabbitmqctl stop_app: every connection drops) and starts again,
// or which closes every connection (close_all_connections), while admins
// write products and shoppers read. Callers get unavailable
// within the deadline, never a hang; the shop serves again soon after the
// broker is back; no event is lost (filter and seo converge on every
// product that exists) and the outbox empties.

const (
	// serverDeadline is web's deadline of a bus call (web.callTimeout).
	serverDeadline = 5 * time.Second
	// clientPatience is a caller's: a little above the server's, so that
	// an answer at the deadline is an answer and anything later a hang.
	clientPatience = serverDeadline + 3*time.Second
	brokerDown     = 3 * time.Second
	loadBefore     = 3 * time.Second
	loadAfter      = 12 * time.Second
	// resumeWithin is the promise: service within 5 s of the broker's
	// return.
	resumeWithin = 5 * time.Second
	// readyWithin bounds every process's /readyz coming back, measured by
	// probing them one after another. Service itself must resume within
	// resumeWithin (first success, last failure); the probes, each up to
	// readyTimeout of checks, answer slower than the service on a loaded
	// machine (once 5.7 s in a full `make test`, against 0.6 s alone).
	readyWithin = 3 * resumeWithin
)

// callRecord is one request of the load.
type callRecord struct {
	kind       string // "create", "search", "get"
	start, end time.Time
	status     int
	code       string // the error object's code
	err        error  // transport error
	created    *createdProduct
}

type createdProduct struct {
	ID   string `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
}

func (r callRecord) ok() bool   { return r.err == nil && r.status/100 == 2 }
func (r callRecord) hung() bool { return r.err != nil && isTimeout(r.err) }
func (r callRecord) unavailable() bool {
	return r.err == nil && r.status == http.StatusServiceUnavailable && r.code == "unavailable"
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// loadCall makes one request and records what came of it.
func loadCall(c *http.Client, kind, method, u, body string) callRecord {
	r := callRecord{kind: kind, start: time.Now()}
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		r.err, r.end = err, time.Now()
		return r
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	r.end, r.status, r.err = time.Now(), resp.StatusCode, err
	if r.status/100 != 2 {
		var e struct {
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		_ = json.Unmarshal(raw, &e)
		r.code = e.Error.Code
	} else if kind == "create" {
		r.created = &createdProduct{}
		if json.Unmarshal(raw, r.created) != nil || r.created.ID == "" {
			r.code, r.status = "bad reply: "+string(raw), 0
			r.created = nil
		}
	}
	return r
}

// brokerFault takes the broker away from its clients and gives it back.
type brokerFault struct {
	// run makes the fault and returns when clients could connect again.
	run func(t *testing.T, node *amqptest.Node) (back time.Time)
	// outage: the broker refuses clients for seconds, so some callers
	// must be answered unavailable.
	outage bool
}

func TestBrokerRestartedUnderLoad(t *testing.T) {
	brokerFaultUnderLoad(t, brokerFault{outage: true, run: func(t *testing.T, node *amqptest.Node) time.Time {
		downAt := time.Now()
		node.StopApp(t)
		stopped := time.Now()
		time.Sleep(brokerDown)
		up := node.StartApp(t)
		t.Logf("broker: stop_app took %v; down %v; AMQP back %v after start_app",
			stopped.Sub(downAt).Round(time.Millisecond), up.Sub(stopped).Round(time.Millisecond), up.Sub(stopped.Add(brokerDown)).Round(time.Millisecond))
		return up
	}})
}

// TestBrokerConnectionsClosedUnderLoad: the broker stays up and closes
// every client connection at once (rabbitmqctl close_all_connections).
func TestBrokerConnectionsClosedUnderLoad(t *testing.T) {
	brokerFaultUnderLoad(t, brokerFault{run: func(t *testing.T, node *amqptest.Node) time.Time {
		node.Ctl(t, "close_all_connections", "--global", "fault test")
		return time.Now()
	}})
}

// brokerFaultUnderLoad runs the modules over a private node, makes the
// fault during a load of product writes and reads, and checks the
// answers, the recovery and that no event was lost.
func brokerFaultUnderLoad(t *testing.T, fault brokerFault) {
	node := amqptest.StartNode(t) // a private node: nothing else to clean
	dataDir := t.TempDir()
	env := []string{"SHOP_ADMIN_TOKEN=" + testAdminToken}
	args := []string{"--workers=0", "--bus-url=" + node.URL, "--bus-prefix=" + amqptest.Prefix(), "--database-url=sqlite://" + dataDir}
	var procs []*server
	for _, only := range []string{"category,attribute,option", "product", "filter", "seo", "web"} {
		procs = append(procs, startServe(t, env, append(args, "--only="+only)...))
	}
	web := procs[len(procs)-1]
	dumpLogs := func() string {
		var b strings.Builder
		for _, p := range procs {
			_ = p.cmd.Process.Kill()
		}
		for _, p := range procs {
			select {
			case <-p.done:
			case <-time.After(10 * time.Second):
			}
			fmt.Fprintf(&b, "--- %s:\n%s\n", strings.Join(p.cmd.Args[2:], " "), p.logs)
		}
		return b.String()
	}
	for _, p := range procs {
		r := searcher{name: p.addr, client: newConnClient(), addr: p.addr}
		awaitReady(t, r)
	}
	var cat entity
	admin(t, web.addr, "POST", "/api/v1/admin/categories", `{"name":"Restart"}`, &cat)
	var seedProduct createdProduct
	admin(t, web.addr, "POST", "/api/v1/admin/products", productBody("Restart seed", cat.ID), &seedProduct)
	// Filter knows the category before the load searches it (else: 404).
	pollFor(t, 30*time.Second, func() (bool, string) {
		return searchIDs(web.addr, cat.ID)[seedProduct.ID], "the seed product is not in search"
	}, dumpLogs)

	// The load: writers create products, readers search and read one.
	base := "http://" + web.addr
	var mu sync.Mutex
	var records []callRecord
	stop := make(chan struct{})
	var wg sync.WaitGroup
	worker := func(pause time.Duration, next func(c *http.Client, i int) callRecord) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: clientPatience}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r := next(c, i)
				mu.Lock()
				records = append(records, r)
				mu.Unlock()
				time.Sleep(pause)
			}
		}()
	}
	for w := range 4 {
		worker(150*time.Millisecond, func(c *http.Client, i int) callRecord {
			return loadCall(c, "create", "POST", base+"/api/v1/admin/products", productBody(fmt.Sprintf("Restart w%d n%d", w, i), cat.ID))
		})
	}
	worker(100*time.Millisecond, func(c *http.Client, _ int) callRecord {
		return loadCall(c, "search", "GET", base+"/api/v1/search?category="+cat.ID+"&page_size=10", "")
	})
	worker(100*time.Millisecond, func(c *http.Client, _ int) callRecord {
		return loadCall(c, "get", "GET", base+"/api/v1/products/"+seedProduct.ID, "")
	})

	// The outbox of product, sampled throughout: how deep the outage
	// made it, and when it was first empty again after the return.
	productDB := filepath.Join(dataDir, "product.db")
	var depthMu sync.Mutex
	var maxDepth int
	var emptyAt time.Time
	var backAt time.Time
	monitorStop := make(chan struct{})
	monitorDone := make(chan struct{})
	go func() {
		defer close(monitorDone)
		for {
			select {
			case <-monitorStop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			n, err := outboxDepth(productDB)
			if err != nil {
				continue // a reader beside the writer may be refused a moment
			}
			depthMu.Lock()
			maxDepth = max(maxDepth, n)
			if n == 0 && !backAt.IsZero() && emptyAt.IsZero() {
				emptyAt = time.Now()
			}
			depthMu.Unlock()
		}
	}()

	time.Sleep(loadBefore)
	downAt := time.Now()
	up := fault.run(t, node)
	depthMu.Lock()
	backAt = up // the broker takes connections again
	depthMu.Unlock()

	// The products written up to the return, followed from the return on
	// (while the load goes on) until filter and seo show every one.
	mu.Lock()
	var early []createdProduct
	for _, r := range records {
		if r.created != nil {
			early = append(early, *r.created)
		}
	}
	mu.Unlock()
	converged := make(chan time.Duration, 1)
	go func() {
		search, seo := map[string]bool{}, map[string]string{}
		for _, p := range early {
			search[p.ID], seo[p.ID] = true, p.Slug
		}
		for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			for id := range searchIDs(web.addr, cat.ID) {
				delete(search, id)
			}
			for id, slug := range seo {
				if resolvesTo(web.addr, "/p/"+slug) == id {
					delete(seo, id)
				}
			}
			if len(search) == 0 && len(seo) == 0 {
				converged <- time.Since(up)
				return
			}
		}
		converged <- -1
	}()
	// Readiness (the containers' health checks): every process is ready
	// again once its bus is back.
	readyAfter := time.Duration(-1)
	var unready string // the last process found unready, and why
	if poll(30*time.Second, func() bool {
		for _, p := range procs {
			resp, err := newConnClient().Get("http://" + p.addr + "/readyz")
			if err != nil {
				unready = fmt.Sprintf("%s at %v: %v", p.addr, time.Since(up).Round(time.Millisecond), err)
				return false
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				unready = fmt.Sprintf("%s at %v: %d %s", p.addr, time.Since(up).Round(time.Millisecond), resp.StatusCode, body)
				return false
			}
		}
		return true
	}) {
		readyAfter = time.Since(up)
	}
	time.Sleep(time.Until(up.Add(loadAfter)))
	close(stop)
	wg.Wait()

	// Replies: every one a success or unavailable within the deadline.
	var ok, unavailable, hangs, other int
	var maxUnavailable time.Duration
	var firstOKAfter, lastFailAfter time.Duration = -1, -1
	var problems []string
	var created []createdProduct
	for _, r := range records {
		lat := r.end.Sub(r.start)
		switch {
		case r.ok():
			ok++
			if r.created != nil {
				created = append(created, *r.created)
			}
			if !r.start.Before(backAt) && firstOKAfter < 0 {
				firstOKAfter = r.end.Sub(backAt)
			}
		case r.unavailable():
			unavailable++
			maxUnavailable = max(maxUnavailable, lat)
		case r.hung():
			hangs++
			problems = append(problems, fmt.Sprintf("%s hung: no answer within %v (started %v after the fault)", r.kind, clientPatience, r.start.Sub(downAt).Round(time.Millisecond)))
		default:
			other++
			problems = append(problems, fmt.Sprintf("%s: %d %q %v after %v (started %v after the fault), want a success or 503 unavailable",
				r.kind, r.status, r.code, r.err, lat.Round(time.Millisecond), r.start.Sub(downAt).Round(time.Millisecond)))
		}
		if !r.ok() && r.end.After(backAt) {
			lastFailAfter = max(lastFailAfter, r.end.Sub(backAt))
		}
	}
	t.Logf("%d requests: %d ok, %d unavailable (max latency %v, deadline %v), %d hangs, %d other",
		len(records), ok, unavailable, maxUnavailable.Round(time.Millisecond), serverDeadline, hangs, other)
	t.Logf("after the broker's return: first success %v, last failure %v", firstOKAfter.Round(time.Millisecond), lastFailAfter.Round(time.Millisecond))
	if fault.outage && unavailable == 0 {
		problems = append(problems, "no request was answered unavailable: did the broker go down during the load?")
	}
	if maxUnavailable > serverDeadline+time.Second {
		problems = append(problems, fmt.Sprintf("an unavailable answer took %v, beyond the deadline %v", maxUnavailable, serverDeadline))
	}
	if firstOKAfter < 0 || lastFailAfter > resumeWithin {
		problems = append(problems, fmt.Sprintf("service did not resume within %v of the broker's return (first success %v, last failure %v)", resumeWithin, firstOKAfter, lastFailAfter))
	}
	t.Logf("every process ready again %v after the broker's return", readyAfter.Round(time.Millisecond))
	if readyAfter < 0 || readyAfter > readyWithin {
		problems = append(problems, fmt.Sprintf("the processes were not all ready within %v of the broker's return (%v); last unready: %s", readyWithin, readyAfter, unready))
	}
	if len(problems) > 0 {
		t.Fatalf("%d problems:\n%s\n%s", len(problems), strings.Join(problems[:min(30, len(problems))], "\n"), dumpLogs())
	}

	// No event lost: every product that exists — each create answered
	// with success, and any whose answer the outage swallowed after the
	// commit — reaches filter's search and seo's registry; the outbox
	// empties.
	exist := listProducts(t, web.addr)
	for _, p := range created {
		if _, ok := exist[p.ID]; !ok {
			t.Fatalf("product %s %q was answered 201 but is not in the catalogue\n%s", p.ID, p.Name, dumpLogs())
		}
	}
	t.Logf("%d products created with success, %d exist (with the seed)", len(created), len(exist))
	earlyConverged := <-converged
	if earlyConverged < 0 {
		t.Fatalf("the %d products written up to the broker's return did not all reach search and seo within 90 s\n%s", len(early), dumpLogs())
	}
	outboxEmpty := pollFor(t, 60*time.Second, func() (bool, string) {
		n, err := outboxDepth(productDB)
		return err == nil && n == 0, fmt.Sprintf("%d events pending in product's outbox (%v)", n, err)
	}, dumpLogs)
	close(monitorStop)
	<-monitorDone
	if emptyAt.IsZero() {
		emptyAt = outboxEmpty
	}
	pollFor(t, 60*time.Second, func() (bool, string) {
		got := searchIDs(web.addr, cat.ID)
		var missing []string
		for id := range exist {
			if !got[id] {
				missing = append(missing, id)
			}
		}
		return len(missing) == 0 && len(got) == len(exist), fmt.Sprintf("search has %d of %d products, missing %v", len(got), len(exist), missing[:min(5, len(missing))])
	}, dumpLogs)
	unresolved := map[string]string{}
	for id, slug := range exist {
		unresolved[id] = slug
	}
	pollFor(t, 60*time.Second, func() (bool, string) {
		for id, slug := range unresolved {
			if resolvesTo(web.addr, "/p/"+slug) == id {
				delete(unresolved, id)
			}
		}
		return len(unresolved) == 0, fmt.Sprintf("%d products seo does not resolve", len(unresolved))
	}, dumpLogs)
	t.Logf("outbox: at most %d pending, first empty %v after the broker's return; the %d products written up to the return were in search and seo %v after it; all %d converged after the load",
		maxDepth, emptyAt.Sub(up).Round(time.Millisecond), len(early), earlyConverged.Round(time.Millisecond), len(exist))
}

// productBody is a published product of one variant in category cat.
func productBody(name, cat string) string {
	return fmt.Sprintf(`{"name":%q,"status":"published","category_ids":[%q],"currency":"EUR","price":1000,"variants":[{"stock":5}]}`, name, cat)
}

// pollFor polls cond every 50 ms until it holds, failing with its last
// word (and logs) after timeout; it returns when cond held.
func pollFor(t *testing.T, timeout time.Duration, cond func() (bool, string), logs func() string) time.Time {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s\n%s", timeout, why, logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// listProducts pages through the admin product list: id → slug.
func listProducts(t *testing.T, addr string) map[string]string {
	t.Helper()
	out := map[string]string{}
	cursor := ""
	for range 1000 {
		var page struct {
			Items []struct {
				ID   string `json:"id"`
				Slug string `json:"slug"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		q := "/api/v1/admin/products?page_size=100"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		admin(t, addr, "GET", q, "", &page)
		for _, it := range page.Items {
			out[it.ID] = it.Slug
		}
		if page.NextCursor == "" {
			return out
		}
		cursor = page.NextCursor
	}
	t.Fatal("product list: more than 1000 pages")
	return nil
}

// searchIDs returns the ids filter's search finds in category cat.
func searchIDs(addr, cat string) map[string]bool {
	got := map[string]bool{}
	c := newConnClient()
	for page := 1; page <= 100; page++ {
		resp, err := c.Get(fmt.Sprintf("http://%s/api/v1/search?category=%s&page_size=100&page=%d", addr, cat, page))
		if err != nil {
			return got
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var r searchReply
		if resp.StatusCode != 200 || json.Unmarshal(body, &r) != nil {
			return got
		}
		for _, it := range r.Items {
			got[it.ID] = true
		}
		if len(r.Items) == 0 || len(got) >= r.Total {
			return got
		}
	}
	return got
}

// resolvesTo returns the entity id seo resolves path to, or "".
func resolvesTo(addr, path string) string {
	resp, err := newConnClient().Get("http://" + addr + "/api/v1/seo/resolve?path=" + url.QueryEscape(path))
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var r struct{ Kind, ID string }
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&r) != nil || r.Kind != "entity" {
		return ""
	}
	return r.ID
}

// outboxDepth counts the events pending in a module's SQLite outbox,
// reading the file the module writes (WAL: a reader beside the writer).
func outboxDepth(path string) (int, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM outbox").Scan(&n); err != nil {
		return 0, fmt.Errorf("outbox depth of %s: %w", path, err)
	}
	return n, nil
}
