// Package web is the storefront and gateway: an HTTP front (chi) whose
// handlers talk to the other modules only through internal/contract and the
// bus. The process's health, readiness and metrics routes are not here:
// they belong to the internal server module, which every serving process
// has, and whose middleware gives every request its id, metrics and
// access-log line.
package web

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/go-chi/chi/v5"
	"golang.org/x/sync/singleflight"

	"github.com/shopengine/shop/internal/bus"
	shopweb "github.com/shopengine/shop/web"
)

// name is the module's name in the registry and in `shop ping`.
const name = "web"

// apiPrefix is where the JSON API is mounted.
const apiPrefix = "/api/v1"

// Config is what the web module needs from its process.
type Config struct {
	Bus bus.Bus
	// AdminToken opens the admin API to "Authorization: Bearer <token>";
	// empty keeps it closed.
	AdminToken string
	// SecureCookies marks the session cookie Secure even on plain HTTP
	// (behind a TLS-terminating proxy); it always is over TLS.
	SecureCookies bool
	// Dev serves development pages (/dev/mail).
	Dev bool
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed (ParseTrustedProxies; see clientIP): the client address
	// auth throttles by is then the one they saw. Empty: none, and the
	// peer's address is the client's.
	TrustedProxies []netip.Prefix
	// PublicURL is the shop's address as users reach it, for the absolute
	// links of the feeds; empty: the scheme and host of each request.
	PublicURL string
	// Assets are the storefront's templates and static files: shopweb.FS()
	// (embedded) unless --dev-assets points at a directory.
	Assets Assets
	// PartsTTL is how long pages reuse the shared catalogue reads
	// (DefaultPartsTTL; parts.go); zero reads them for every page.
	PartsTTL time.Duration
	Log      *slog.Logger
}

// Module is the web module. Its bus Service has no handlers: it is
// announced, so that `shop ping` lists web instances, and its endpoints are
// the HTTP routes ("GET /api/v1/categories/{id}"), each counted by
// ObserveHTTP.
type Module struct {
	bus.Server // announces the instance; Start and Stop
	cfg        Config
	sessions   sessionCache
	site       *site
	seams      seams
	tree       treeCache
	parts      partsCache
	loads      singleflight.Group // the parts cache's loads in flight
}

// New returns the web module, its storefront templates parsed (a broken
// one fails here, at start).
func New(cfg Config) (*Module, error) {
	if cfg.Assets.FS == nil {
		cfg.Assets.FS = shopweb.FS()
	}
	s, err := newSite(cfg.Assets)
	if err != nil {
		return nil, err
	}
	m := &Module{Server: bus.NewServer(cfg.Bus, name, cfg.Log), cfg: cfg, site: s}
	m.seams = m.newSeams()
	return m, nil
}

// Routes mounts the module's handlers on r, and tracks each route as an
// endpoint of the module's Service.
func (m *Module) Routes(r chi.Router) {
	if m.cfg.Dev {
		r.Get("/dev/mail", m.devMail)
	}
	api := chi.NewRouter()
	api.Use(m.crossOrigin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.writeError(w, r, bus.Errorf(bus.CodeForbidden, "cross-origin %s refused: state-changing requests must come from this site", r.Method))
	})), m.authenticate)
	api.NotFound(m.notFound)
	api.MethodNotAllowed(m.methodNotAllowed)
	admin := chi.NewRouter()
	admin.Use(m.requireAdmin)
	admin.NotFound(m.notFound)
	admin.MethodNotAllowed(m.methodNotAllowed)
	m.categoryRoutes(api, admin)
	m.productRoutes(api, admin)
	m.attributeRoutes(api, admin)
	m.optionRoutes(api, admin)
	m.searchRoutes(api)
	m.authRoutes(api, admin)
	m.cartRoutes(api, admin)
	m.articleRoutes(api, admin)
	m.seoRoutes(r, api, admin)
	api.Mount("/admin", admin)
	r.Mount(apiPrefix, api)
	m.track(apiPrefix, api)
	m.feedRoutes(r)
	m.pageRoutes(r) // last: its catch-all takes what no route above serves
}

// track registers every route of routes, under prefix, as an endpoint
// "METHOD pattern" of the Service, with the pattern as chi reports it for a
// served request, so that ObserveHTTP finds it.
func (m *Module) track(prefix string, routes chi.Routes) {
	seen := map[string]bool{}
	_ = chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		// chi's own normalisation of a joined pattern, as RoutePattern does
		// it at run time.
		pattern := (&chi.Context{RoutePatterns: []string{prefix + route}}).RoutePattern()
		if op := method + " " + pattern; !seen[op] {
			seen[op] = true
			m.Service.Track(op)
		}
		return nil
	})
}

// ObserveHTTP counts one request to a route of this module (the server's
// middleware reports every request; others are not tracked and not
// counted). Errors are answers with status 500 or more: the shop's
// failures, including a module that is down (503). A 4xx is a correct
// answer to a client's mistake (an unknown slug, bad input) and counts as
// a request only; Prometheus has every status by route for those.
func (m *Module) ObserveHTTP(method, route string, status int, took time.Duration) {
	m.Service.Record(method+" "+route, took, status >= http.StatusInternalServerError)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
