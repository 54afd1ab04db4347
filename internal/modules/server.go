package modules

// The internal server module (Server): the HTTP side of every serving
// process, whatever --only says. It owns the router, mounts the process's
// own routes (/healthz, /readyz, /metrics) and the middleware that covers
// every route of every module: request ids, panics, metrics by route
// pattern and the access log. Modules with HTTP routes (web) mount them on
// its router; a process hosting only category still answers its probes,
// which in a ten-service deployment are the containers' health checks.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shopengine/shop/internal/metrics"
)

// The server's own routes. Their access-log lines are at Debug level, so
// that probes every few seconds do not flood the log.
const (
	healthzPath = "/healthz"
	readyzPath  = "/readyz"
	metricsPath = "/metrics"
)

// readyTimeout bounds the checks behind one /readyz: a probe must answer
// before its caller's timeout (1 s by default in Kubernetes, a few seconds
// in compose), and a store that takes longer to answer a ping is not ready.
const readyTimeout = 2 * time.Second

// Readier is implemented by a module that can be started yet not able to
// do its work, such as a read model still loading its snapshot. /readyz
// asks every hosted module that implements it, by name; an error (say,
// "loading snapshot") makes the process unready and is shown as the reason.
// Ready must be cheap and honour ctx: it is called on every probe.
type Readier interface {
	Ready(ctx context.Context) error
}

// HTTPObserver is implemented by a module that keeps statistics of its own
// HTTP routes, as web does for `shop ping`. The server's middleware is the
// one place that sees every request's route pattern and status after
// routing, so it reports each request to every hosted observer, instead of
// each module wrapping its routes a second time. route is the chi route
// pattern or metrics.UnmatchedRoute, never the raw path.
type HTTPObserver interface {
	ObserveHTTP(method, route string, status int, took time.Duration)
}

// Readiness is the answer of /readyz: Status "ready" or "unavailable",
// and each check by name ("bus", "store", a module's name, or "process"
// while starting or stopping) with "ok" or what is wrong.
type Readiness struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// Readiness statuses.
const (
	StatusReady       = "ready"
	StatusUnavailable = "unavailable"
)

// checkOK is the value of a check that passed.
const checkOK = "ok"

// Err is nil when the process is ready, and otherwise names every failed
// check with its reason.
func (r Readiness) Err() error {
	if r.Status == StatusReady {
		return nil
	}
	var failed []string
	for name, v := range r.Checks {
		if v != checkOK {
			failed = append(failed, name+": "+v)
		}
	}
	sort.Strings(failed)
	return fmt.Errorf("not ready: %s", strings.Join(failed, "; "))
}

// processOrder is the start order of cfg's process: the targets with their
// dependencies, and the server module, unless cfg.NoServer. The server is
// added here rather than listed as a dependency of every module because it
// belongs to the process, not to the modules: category needs no HTTP, and
// a command that hosts modules for its own use (shop seed) must not open a
// port. Put last, it starts after the modules it probes (a probe cannot
// pass before they run anyway) and stops first, so HTTP drains while the
// bus and the modules that in-flight requests call are still up.
func processOrder(cfg Config) ([]string, error) {
	targets := cfg.Targets
	if !cfg.NoServer {
		targets = append(slices.Clone(targets), Server)
	}
	o, err := Order(targets)
	if err != nil {
		return nil, err
	}
	if cfg.NoServer && slices.Contains(o, Server) {
		return nil, fmt.Errorf("modules %v need the HTTP server, which this command does not run", cfg.Targets)
	}
	return o, nil
}

// newRouter returns the server's router with the process routes and the
// middleware every module's routes run under.
func (a *App) newRouter() chi.Router {
	r := chi.NewRouter()
	r.Use(dropUntrustedRequestID, middleware.RequestID, a.observe)
	r.Get(healthzPath, a.healthz)
	r.Get(readyzPath, a.readyz)
	r.Handle(metricsPath, promhttp.HandlerFor(a.metrics.Registry, promhttp.HandlerOpts{Registry: a.metrics.Registry}))
	return r
}

// maxRequestIDLen bounds an incoming X-Request-Id that is honoured: the id
// is logged with every line of the request and travels on the bus as the
// trace id, so a client must not be able to put a kilobyte (or a newline)
// there.
const maxRequestIDLen = 64

// dropUntrustedRequestID removes an incoming X-Request-Id that is not short
// and printable, so that middleware.RequestID, which honours whatever it
// finds, makes a fresh one instead.
func dropUntrustedRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id := r.Header.Get(middleware.RequestIDHeader); id != "" && !validRequestID(id) {
			r = r.Clone(r.Context()) // handlers do not modify the Request they are given
			r.Header.Del(middleware.RequestIDHeader)
		}
		next.ServeHTTP(w, r)
	})
}

// validRequestID accepts 1 to maxRequestIDLen visible ASCII characters
// (no spaces, no control characters).
func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// maxLoggedPath bounds the path in an access-log line.
const maxLoggedPath = 256

// observe answers every request with its X-Request-Id, turns a handler
// panic into a 500 for that one request, and, once the request is
// answered, observes it: the HTTP metrics, the hosted HTTPObservers and one
// access-log line (Debug for the server's own routes, Info for the rest).
// It reads a.services without a lock: Start fills it while building, before
// any module (the server included) starts, and never after.
func (a *App) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := middleware.GetReqID(r.Context())
		w.Header().Set(middleware.RequestIDHeader, id)
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		done := a.metrics.HTTPInFlight()
		defer func() {
			p := recover()
			if p != nil && p != http.ErrAbortHandler {
				a.log.Error("http handler panic", "method", r.Method, "path", truncate(r.URL.Path), "request_id", id,
					"panic", p, "stack", string(debug.Stack()))
				if ww.Status() == 0 {
					writeJSON(ww, http.StatusInternalServerError, map[string]any{"error": map[string]string{
						"code": "internal", "message": "internal error; see the server log, request id " + id}})
				}
			}
			done()
			took := time.Since(start)
			status := ww.Status()
			switch {
			case status == 0 && p != nil:
				status = http.StatusInternalServerError // aborted: the client got no answer
			case status == 0:
				status = http.StatusOK // the handler wrote nothing; net/http answers 200
			}
			route := a.routeLabel(r)
			a.metrics.ObserveHTTP(route, r.Method, status, took)
			for _, svc := range a.services {
				if o, ok := svc.(HTTPObserver); ok {
					o.ObserveHTTP(r.Method, route, status, took)
				}
			}
			level := slog.LevelInfo
			if route == healthzPath || route == readyzPath || route == metricsPath {
				level = slog.LevelDebug
			}
			if a.log.Enabled(r.Context(), level) { // a probe costs no log record
				a.log.LogAttrs(r.Context(), level, "http request",
					slog.String("method", r.Method), slog.String("route", route), slog.String("path", truncate(r.URL.Path)),
					slog.Int("status", status), slog.Int("bytes", ww.BytesWritten()), slog.Duration("duration", took),
					slog.String("request_id", id))
			}
			if p == http.ErrAbortHandler {
				panic(p) // net/http's way to abort a response; it logs nothing for it
			}
		}()
		next.ServeHTTP(ww, r)
	})
}

// routeLabel returns the chi route pattern that served r, or
// metrics.UnmatchedRoute. chi reports a request that fell through a mounted
// router ("/api/v1/*") with the mount's pattern; a wildcard pattern is
// therefore checked against the routing tree, so that every path no route
// serves gets the one label, and only a real wildcard route keeps its own.
func (a *App) routeLabel(r *http.Request) string {
	pattern := chi.RouteContext(r.Context()).RoutePattern()
	if pattern == "" {
		return metrics.UnmatchedRoute
	}
	if strings.HasSuffix(pattern, "/*") {
		path := r.URL.RawPath
		if path == "" {
			path = r.URL.Path
		}
		if a.router.Find(chi.NewRouteContext(), r.Method, path) == "" {
			return metrics.UnmatchedRoute
		}
	}
	return pattern
}

func truncate(s string) string {
	if len(s) <= maxLoggedPath {
		return s
	}
	return s[:maxLoggedPath] + "…"
}

// healthz answers while the process is up, with its pid and worker index,
// so that one can see which worker answered.
func (a *App) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, health{Status: "ok", PID: os.Getpid(), Worker: a.cfg.Worker})
}

type health struct {
	Status string `json:"status"`
	PID    int    `json:"pid"`
	Worker int    `json:"worker"`
}

// readyz answers 200 only while the process can do its work, 503 otherwise;
// the body names each check.
func (a *App) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	rd := a.Readiness(ctx)
	status := http.StatusOK
	if rd.Status != StatusReady {
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, rd)
}

// Readiness checks whether the process can do its work: every module has
// started (and none is stopping), the bus is connected, the store (when the
// process has one) answers a real ping, and every hosted module that is a
// Readier is ready. The checks run at once, each bounded by ctx, and by
// readyTimeout when ctx has no deadline; one that does not answer in time
// fails with that.
func (a *App) Readiness(ctx context.Context) Readiness {
	if !a.ready.Load() {
		phase := "starting"
		if a.stopping.Load() {
			phase = "stopping"
		}
		return Readiness{Status: StatusUnavailable, Checks: map[string]string{"process": phase}}
	}
	var checks []readyCheck
	if a.bus != nil {
		checks = append(checks, readyCheck{BusConn, func(context.Context) error { return a.bus.Healthy() }})
	}
	if a.db != nil {
		checks = append(checks, readyCheck{Store, a.db.Ping})
	}
	for name, svc := range a.services {
		if rd, ok := svc.(Readier); ok {
			checks = append(checks, readyCheck{name, rd.Ready})
		}
	}
	return runChecks(ctx, checks)
}

// readyCheck is one named check of Readiness.
type readyCheck struct {
	name string
	fn   func(context.Context) error
}

// runChecks runs the checks concurrently and waits for them until ctx ends
// (readyTimeout after the call when ctx has no deadline).
func runChecks(ctx context.Context, checks []readyCheck) Readiness {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, readyTimeout)
		defer cancel()
	}
	rd := Readiness{Status: StatusReady, Checks: make(map[string]string, len(checks))}
	var mu sync.Mutex
	pending := make(map[string]bool, len(checks))
	for _, c := range checks {
		pending[c.name] = true
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	for _, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.fn(ctx)
			mu.Lock()
			defer mu.Unlock()
			if !pending[c.name] {
				return // answered after the deadline: already reported
			}
			delete(pending, c.name)
			rd.Checks[c.name] = checkResult(err)
		}()
	}
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	mu.Lock()
	defer mu.Unlock()
	for name := range pending {
		rd.Checks[name] = fmt.Sprintf("no answer in time (%v)", ctx.Err())
		delete(pending, name)
	}
	for _, v := range rd.Checks {
		if v != checkOK {
			rd.Status = StatusUnavailable
		}
	}
	// A check that answers later finds itself no longer pending and leaves
	// rd alone.
	return rd
}

func checkResult(err error) string {
	switch {
	case err == nil:
		return checkOK
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer in time: " + err.Error()
	}
	return err.Error()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
