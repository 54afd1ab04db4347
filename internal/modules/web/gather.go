package web

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/shopengine/shop/internal/bus"
)

// pageBudget bounds everything a page's GET does on the bus, session
// resolution included: a page with a module down answers (degraded, or
// 503) within it instead of waiting for the bus's own timeouts.
const pageBudget = 900 * time.Millisecond

// withPageBudget gives every storefront GET its deadline. Form posts keep
// the API's callTimeout: a login's password hash may take longer than a
// page, and a write must not be cut off half-way by a page's budget.
func withPageBudget(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), pageBudget)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// gatherer runs the bus calls of one page in parallel under the page's
// deadline. A required part failing fails the page (Wait returns its
// error); an optional part failing is logged and named in Degraded, and
// the page renders without it.
type gatherer struct {
	m        *Module
	r        *http.Request
	wg       sync.WaitGroup
	mu       sync.Mutex
	err      error
	degraded []string
	notices  []notice
}

func (m *Module) gather(r *http.Request) *gatherer { return &gatherer{m: m, r: r} }

// Required runs fn, which the page cannot do without.
func (g *gatherer) Required(part string, fn func(r *http.Request) error) { g.run(part, true, "", fn) }

// Optional runs fn, whose part the page can leave out; when it fails,
// explain (if not empty) is shown to the shopper as a notice.
func (g *gatherer) Optional(part, explain string, fn func(r *http.Request) error) {
	g.run(part, false, explain, fn)
}

func (g *gatherer) run(part string, required bool, explain string, fn func(*http.Request) error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		err := fn(g.r)
		if err == nil {
			return
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		if required {
			if g.err == nil || bus.CodeOf(g.err) == bus.CodeNotFound {
				// Unavailability outranks not-found: a 503 says "try
				// again", which is the truth when a part did not answer.
				g.err = err
			}
			return
		}
		g.degraded = append(g.degraded, part)
		if explain != "" {
			g.notices = append(g.notices, notice{Kind: "warn", Text: explain})
		}
		g.m.cfg.Log.Warn("page part degraded", "part", part, "path", g.r.URL.Path,
			"request_id", middleware.GetReqID(g.r.Context()), "err", err)
	}()
}

// Wait waits for every part and returns the first required part's error
// (unavailable ones first); the optional parts that failed and their
// notices are then in degraded and notices.
func (g *gatherer) Wait() error {
	g.wg.Wait()
	return g.err
}

// errDeadline reports whether err is the page's budget running out.
func errDeadline(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || bus.CodeOf(err) == bus.CodeTimeout
}
