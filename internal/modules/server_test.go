package modules

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/metrics"
	"github.com/shopengine/shop/internal/store"
)

// logBuffer is an io.Writer for a test's slog handler: the server writes
// from its goroutines while the test reads.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// stubCategory serves contract.GetCategory on b: id "missing" is not found,
// "boom" fails inside, any other id is found. It records the trace ids it
// is called with.
type stubCategory struct {
	mu     sync.Mutex
	traces []string
}

func serveStubCategory(t *testing.T, b bus.Bus) *stubCategory {
	t.Helper()
	st := &stubCategory{}
	svc := bus.NewService(contract.CategoryQueue, "stub", nil)
	bus.Handle(svc, contract.GetCategory, func(ctx context.Context, req contract.CategoryID) (contract.Category, error) {
		st.mu.Lock()
		st.traces = append(st.traces, bus.MetaFrom(ctx).TraceID)
		st.mu.Unlock()
		switch req.ID {
		case "missing":
			return contract.Category{}, bus.Errorf(bus.CodeNotFound, "category %s: not found", req.ID)
		case "boom":
			return contract.Category{}, errors.New("disk on fire")
		}
		return contract.Category{ID: req.ID, Name: "Stub"}, nil
	})
	c, err := b.Serve(svc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	return st
}

func (s *stubCategory) lastTrace() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.traces) == 0 {
		return ""
	}
	return s.traces[len(s.traces)-1]
}

// getWith sends a GET with extra headers and returns the response with its
// body read.
func getWith(t *testing.T, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func readiness(t *testing.T, url string) (int, Readiness) {
	t.Helper()
	resp, body := getWith(t, url+"/readyz", nil)
	var rd Readiness
	if err := json.Unmarshal([]byte(body), &rd); err != nil {
		t.Fatalf("/readyz body %q: %v", body, err)
	}
	return resp.StatusCode, rd
}

func TestReadyzChecksBusAndStoreByName(t *testing.T) {
	dir := t.TempDir()
	s := startShop(t, Config{Targets: []string{contract.CategoryQueue}, DatabaseURL: store.SQLiteURL(dir)})
	code, rd := readiness(t, s.url)
	want := map[string]string{"bus": "ok", "store": "ok"}
	if code != http.StatusOK || rd.Status != StatusReady || !mapsEqual(rd.Checks, want) {
		t.Fatalf("/readyz: %d %+v, want 200 ready %v", code, rd, want)
	}
	// The data directory disappears (a volume unmounted): the store's ping
	// fails, and /readyz says so by name.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	code, rd = readiness(t, s.url)
	if code != http.StatusServiceUnavailable || rd.Status != StatusUnavailable || rd.Checks["bus"] != "ok" ||
		!strings.Contains(rd.Checks["store"], "sqlite directory") {
		t.Fatalf("/readyz without the data directory: %d %+v, want 503 naming the store", code, rd)
	}
	if err := rd.Err(); err == nil || !strings.Contains(err.Error(), "store: ") {
		t.Fatalf("Readiness.Err: %v", err)
	}
	// /healthz only says the process is up.
	if resp, body := getWith(t, s.url+"/healthz", nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"status":"ok"`) {
		t.Fatalf("/healthz: %d %s", resp.StatusCode, body)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// readModule is a hosted module that has started but reports err from
// Ready, as a read model loading its snapshot does.
type readModule struct{ err error }

func (readModule) Start(context.Context) error   { return nil }
func (readModule) Stop(context.Context) error    { return nil }
func (m readModule) Ready(context.Context) error { return m.err }

func TestReadyzNamesModuleThatIsNotReady(t *testing.T) {
	app, err := New(Config{Targets: []string{contract.CategoryQueue}, BusURL: "memory://", DatabaseURL: store.SQLiteURL(t.TempDir()),
		Worker: -1, NoServer: true, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if rd := app.Readiness(t.Context()); rd.Status != StatusUnavailable || rd.Checks["process"] != "starting" {
		t.Fatalf("before Start: %+v, want unavailable, starting", rd)
	}
	if err := app.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Stop(10 * time.Second) })
	// No server runs (NoServer), so nothing reads services while the test
	// adds a read model that is still loading, the way a module would be
	// hosted.
	app.services["filter"] = readModule{errors.New("loading snapshot")}
	rec := httptest.NewRecorder()
	app.readyz(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	var rd Readiness
	if err := json.Unmarshal(rec.Body.Bytes(), &rd); err != nil {
		t.Fatalf("%s: %v", rec.Body, err)
	}
	want := map[string]string{"bus": "ok", "store": "ok", "filter": "loading snapshot"}
	if rec.Code != http.StatusServiceUnavailable || rd.Status != StatusUnavailable || !mapsEqual(rd.Checks, want) {
		t.Fatalf("/readyz: %d %s, want 503 with %v", rec.Code, rec.Body, want)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	// Loaded: ready.
	app.services["filter"] = readModule{}
	if rd := app.Readiness(t.Context()); rd.Status != StatusReady || rd.Checks["filter"] != "ok" {
		t.Fatalf("after loading: %+v", rd)
	}
	if err := app.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if rd := app.Readiness(t.Context()); rd.Status != StatusUnavailable || rd.Checks["process"] != "stopping" {
		t.Fatalf("after Stop: %+v, want unavailable, stopping", rd)
	}
}

func TestReadinessBoundsASlowCheck(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	rd := runChecks(ctx, []readyCheck{
		{"bus", func(context.Context) error { return nil }},
		{"store", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
		// A check that ignores its context must not hold the probe either.
		{"stuck", func(context.Context) error { time.Sleep(time.Second); return nil }},
	})
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Fatalf("checks took %v, want them cut at the 50ms deadline", took)
	}
	if rd.Status != StatusUnavailable || rd.Checks["bus"] != "ok" ||
		!strings.Contains(rd.Checks["store"], "no answer in time") || !strings.Contains(rd.Checks["stuck"], "no answer in time") {
		t.Fatalf("%+v", rd)
	}
}

func TestServerIsAddedToServingProcessesOnly(t *testing.T) {
	o, err := processOrder(Config{Targets: []string{contract.CategoryQueue}})
	if err != nil || !slices.Equal(o, []string{BusConn, Store, contract.CategoryQueue, Server}) {
		t.Fatalf("serving category: %v %v, want the server last", o, err)
	}
	o, err = processOrder(Config{Targets: []string{contract.CategoryQueue}, NoServer: true})
	if err != nil || slices.Contains(o, Server) {
		t.Fatalf("category without the server: %v %v", o, err)
	}
	if _, err := New(Config{Targets: []string{Web}, BusURL: "memory://", DatabaseURL: "sqlite://" + t.TempDir(), NoServer: true}); err == nil ||
		!strings.Contains(err.Error(), "HTTP server") {
		t.Fatalf("web without the server: %v, want a refusal", err)
	}
	for _, m := range Selectable() {
		o, err := processOrder(Config{Targets: []string{m}})
		if err != nil || !slices.Contains(o, Server) {
			t.Errorf("--only=%s: %v %v, want the server", m, o, err)
		}
	}
}

// webShop runs web alone with a stub category on its bus, logging at Info
// into the returned buffer.
func webShop(t *testing.T) (*shop, *stubCategory, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	s := startShop(t, Config{Targets: []string{Web}, DatabaseURL: store.SQLiteURL(t.TempDir()), Log: slog.New(slog.NewTextHandler(logs, nil))})
	return s, serveStubCategory(t, s.app.Bus()), logs
}

func TestRequestIDIsEchoedLoggedAndTheBusTraceID(t *testing.T) {
	s, stub, logs := webShop(t)

	resp, body := getWith(t, s.url+"/api/v1/categories/c1", http.Header{"X-Request-Id": {"trace-me-123"}})
	if resp.StatusCode != 200 || !strings.Contains(body, `"Stub"`) {
		t.Fatalf("get: %d %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("X-Request-Id"); got != "trace-me-123" {
		t.Fatalf("X-Request-Id echoed %q, want the caller's", got)
	}
	if got := stub.lastTrace(); got != "trace-me-123" {
		t.Fatalf("trace id on the bus %q, want the request id", got)
	}

	// Ids that are too long or not printable are replaced, consistently.
	for _, bad := range []string{strings.Repeat("x", 65), "two words", "tab\there", "é-accent"} {
		resp, _ := getWith(t, s.url+"/api/v1/categories/c2", http.Header{"X-Request-Id": {bad}})
		got := resp.Header.Get("X-Request-Id")
		if got == "" || got == bad || !validRequestID(got) {
			t.Fatalf("incoming id %q: echoed %q, want a fresh valid id", bad, got)
		}
		if trace := stub.lastTrace(); trace != got {
			t.Fatalf("incoming id %q: trace id %q, echoed %q: want the same", bad, trace, got)
		}
	}
	// Without one, a fresh id.
	resp, _ = getWith(t, s.url+"/healthz", nil)
	if resp.Header.Get("X-Request-Id") == "" {
		t.Fatal("/healthz has no X-Request-Id")
	}

	// One Info line per request with everything; probes only at Debug.
	line := regexp.MustCompile(`(?m)^.*msg="http request".*$`)
	var found bool
	for _, l := range line.FindAllString(logs.String(), -1) {
		if strings.Contains(l, "route=/healthz") {
			t.Fatalf("probe logged at Info: %s", l)
		}
		if strings.Contains(l, "request_id=trace-me-123") {
			found = true
			for _, want := range []string{"level=INFO", "method=GET", "route=/api/v1/categories/{id}", "path=/api/v1/categories/c1",
				"status=200", "bytes=", "duration="} {
				if !strings.Contains(l, want) {
					t.Errorf("access log line lacks %s: %s", want, l)
				}
			}
		}
	}
	if !found {
		t.Fatalf("no access log line for the request:\n%s", logs)
	}
}

func TestHTTPMetricsLabelByRoutePattern(t *testing.T) {
	s, _, _ := webShop(t)
	for _, p := range []string{"/api/v1/categories/c1", "/api/v1/categories/missing", "/api/v1/categories/boom",
		"/api/v1/no-such-thing-42", "/no-such-page-42", "/healthz"} {
		getWith(t, s.url+p, nil)
	}
	req, _ := http.NewRequest("BREW", s.url+"/api/v1/categories/c1", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	_, body := getWith(t, s.url+"/metrics", nil)
	for _, want := range []string{
		`shop_http_request_duration_seconds_count{method="GET",route="/api/v1/categories/{id}",status="200"} 1`,
		`shop_http_request_duration_seconds_count{method="GET",route="/api/v1/categories/{id}",status="404"} 1`,
		`shop_http_request_duration_seconds_count{method="GET",route="/api/v1/categories/{id}",status="500"} 1`,
		`shop_http_request_duration_seconds_count{method="GET",route="unmatched",status="404"} 1`,
		// A storefront path no slug names is a 404 of the catch-all route.
		`shop_http_request_duration_seconds_count{method="GET",route="/*",status="404"} 1`,
		`shop_http_request_duration_seconds_count{method="other",route="unmatched",status="405"} 1`,
		`shop_http_request_duration_seconds_count{method="GET",route="/healthz",status="200"} 1`,
		`shop_http_requests_in_flight 1`, // this scrape
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, raw := range []string{"c1", "no-such", "BREW", "boom"} {
		if regexp.MustCompile(`(?m)^shop_http_\S*` + raw).MatchString(body) {
			t.Errorf("a raw path or method (%s) became a label", raw)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}

func TestPingListsWebWithItsRoutes(t *testing.T) {
	s, _, _ := webShop(t)
	for _, id := range []string{"c1", "missing", "boom"} {
		getWith(t, s.url+"/api/v1/categories/"+id, nil)
	}
	getWith(t, s.url+"/api/v1/no-such-thing", nil)
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	infos, err := s.app.Bus().Ping(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var web *bus.Info
	for i := range infos {
		if infos[i].Name == Web {
			web = &infos[i]
		}
	}
	if web == nil {
		t.Fatalf("ping does not list web: %+v", infos)
	}
	ops := map[string]bus.EndpointInfo{}
	for _, e := range web.Endpoints {
		ops[e.Op] = e
		// The storefront's catch-all and static files are routes with a
		// wildcard; no other wildcard, and no raw path, is an endpoint.
		if strings.Contains(e.Op, "no-such") || (strings.Contains(e.Op, "*") && e.Op != "GET /*" && e.Op != "GET /static/*") {
			t.Errorf("endpoint %q: only routes are endpoints", e.Op)
		}
	}
	get := ops["GET /api/v1/categories/{id}"]
	// 200, 404 and 500: three requests, one error (404 is a correct answer).
	if get.Requests != 3 || get.Errors != 1 || get.MeanLatency <= 0 {
		t.Fatalf("GET /api/v1/categories/{id}: %+v, want 3 requests, 1 error, a mean latency", get)
	}
	for _, op := range []string{"POST /api/v1/admin/categories", "GET /api/v1/products", "PATCH /api/v1/admin/categories/{id}"} {
		if e, ok := ops[op]; !ok || e.Requests != 0 {
			t.Errorf("endpoint %s: %+v, %v; want it listed, unused", op, e, ok)
		}
	}
}

func TestHandlerPanicIsA500CountedAndLogged(t *testing.T) {
	// The server's router alone, with a route that panics mounted the way
	// a module mounts its own.
	logs := &logBuffer{}
	a := &App{cfg: Config{Worker: -1}, log: slog.New(slog.NewTextHandler(logs, nil)), metrics: metrics.New(-1)}
	a.router = a.newRouter()
	a.router.Get("/boom/{n}", func(http.ResponseWriter, *http.Request) { panic("kaboom") })
	srv := httptest.NewServer(a.router)
	defer srv.Close()

	resp, body := getWith(t, srv.URL+"/boom/1", http.Header{"X-Request-Id": {"panic-1"}})
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, `"code":"internal"`) || !strings.Contains(body, "panic-1") {
		t.Fatalf("panicking handler: %d %s, want a 500 naming the request id", resp.StatusCode, body)
	}
	// The server goes on.
	if resp, _ := getWith(t, srv.URL+"/healthz", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz after a panic: %d", resp.StatusCode)
	}
	_, metricsBody := getWith(t, srv.URL+"/metrics", nil)
	if want := `shop_http_request_duration_seconds_count{method="GET",route="/boom/{n}",status="500"} 1`; !strings.Contains(metricsBody, want) {
		t.Fatalf("/metrics lacks %s", want)
	}
	l := logs.String()
	for _, want := range []string{`msg="http handler panic"`, "panic=kaboom", "request_id=panic-1", "stack=", `msg="http request"`, "status=500"} {
		if !strings.Contains(l, want) {
			t.Errorf("log lacks %s:\n%s", want, l)
		}
	}
}
