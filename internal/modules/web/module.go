// Package web is the storefront and gateway: an HTTP front (chi) whose
// handlers talk to the other modules only through internal/contract and the
// bus. It also serves the process's health, readiness and metrics.
package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shopengine/shop/internal/bus"
)

// Config is what the web module needs from its process.
type Config struct {
	Bus     bus.Bus
	Metrics *prometheus.Registry
	// Ready reports whether the process can serve (modules started, bus up).
	Ready func() error
	// AdminToken opens the admin API to "Authorization: Bearer <token>";
	// empty keeps it closed.
	AdminToken string
	// SecureCookies marks the session cookie Secure even on plain HTTP
	// (behind a TLS-terminating proxy); it always is over TLS.
	SecureCookies bool
	// Dev serves development pages (/dev/mail).
	Dev bool
	// Worker is the process's worker index (-1 without a supervisor);
	// /healthz reports it with the pid, so one can see which worker answered.
	Worker int
	Log    *slog.Logger
}

// Module is the web module.
type Module struct {
	cfg      Config
	sessions sessionCache
}

// New returns the web module.
func New(cfg Config) *Module { return &Module{cfg: cfg} }

// Routes mounts the module's handlers on r.
func (m *Module) Routes(r chi.Router) {
	r.Get("/healthz", m.healthz)
	r.Get("/readyz", m.readyz)
	r.Handle("/metrics", promhttp.HandlerFor(m.cfg.Metrics, promhttp.HandlerOpts{Registry: m.cfg.Metrics}))
	if m.cfg.Dev {
		r.Get("/dev/mail", m.devMail)
	}
	r.Route("/api/v1", func(api chi.Router) {
		api.Use(middleware.RequestID, middleware.Recoverer, m.crossOrigin(), m.authenticate)
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
		m.authRoutes(api, admin)
		api.Mount("/admin", admin)
	})
}

// Start implements modules.Service; the server module does the serving.
func (m *Module) Start(context.Context) error { return nil }

// Stop implements modules.Service.
func (m *Module) Stop(context.Context) error { return nil }

// healthz answers while the process is up.
func (m *Module) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, health{Status: "ok", PID: os.Getpid(), Worker: m.cfg.Worker})
}

type health struct {
	Status string `json:"status"`
	PID    int    `json:"pid"`
	Worker int    `json:"worker"`
}

// readyz answers 200 only while the process can do its work.
func (m *Module) readyz(w http.ResponseWriter, _ *http.Request) {
	if err := m.cfg.Ready(); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
