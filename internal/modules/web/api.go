package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/shopengine/shop/internal/bus"
)

// callTimeout bounds each bus call an HTTP request makes.
const callTimeout = 5 * time.Second

// statusOf maps a bus error code to its HTTP status.
var statusOf = map[bus.Code]int{
	bus.CodeInvalid:      http.StatusBadRequest,
	bus.CodeUnauthorized: http.StatusUnauthorized,
	bus.CodeForbidden:    http.StatusForbidden,
	bus.CodeNotFound:     http.StatusNotFound,
	bus.CodeConflict:     http.StatusConflict,
	bus.CodeUnavailable:  http.StatusServiceUnavailable,
	bus.CodeThrottled:    http.StatusTooManyRequests,
	bus.CodeTimeout:      http.StatusServiceUnavailable,
	bus.CodeInternal:     http.StatusInternalServerError,
}

// apiError is the body of every API error: {"error": {"code", "message"}}.
type apiError struct {
	Error struct {
		Code    bus.Code `json:"code"`
		Message string   `json:"message"`
	} `json:"error"`
}

// writeError answers with err's code and message. Internal errors are
// logged in full and answered without details.
func (m *Module) writeError(w http.ResponseWriter, r *http.Request, err error) {
	be := bus.AsError(err)
	status, ok := statusOf[be.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	var body apiError
	body.Error.Code, body.Error.Message = be.Code, be.Message
	if be.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((be.RetryAfter+time.Second-1)/time.Second)))
	}
	if be.Code == bus.CodeInternal {
		m.cfg.Log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "request_id", middleware.GetReqID(r.Context()), "err", err)
		body.Error.Message = "internal error; see the server log, request id " + middleware.GetReqID(r.Context())
	}
	writeJSON(w, status, body)
}

// decodeBody reads a JSON request body of at most bus.MaxBodySize bytes
// into v with the bus's strict rules: no unknown fields, no wrong types.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, bus.MaxBodySize))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return bus.Errorf(bus.CodeInvalid, "request body larger than %d bytes", bus.MaxBodySize)
	}
	if err != nil {
		return bus.Errorf(bus.CodeInvalid, "read request body: %v", err)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return bus.Errorf(bus.CodeInvalid, "request body: a JSON object is required")
	}
	return bus.DecodeStrict(body, v)
}

// endpoint serves one bus endpoint over HTTP: build makes the request from
// the HTTP request (path, query, body), status is the success status.
func endpoint[Req, Resp any](m *Module, e bus.Endpoint[Req, Resp], status int, build func(w http.ResponseWriter, r *http.Request) (Req, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req, err := build(w, r)
		if err != nil {
			m.writeError(w, r, err)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
		defer cancel()
		ctx = bus.WithMeta(ctx, bus.Meta{TraceID: middleware.GetReqID(r.Context()), Principal: principal(r.Context())})
		resp, err := bus.Call(ctx, m.cfg.Bus, e, req)
		if err != nil {
			m.writeError(w, r, err)
			return
		}
		writeJSON(w, status, resp)
	}
}

// principal is the encoded principal of the request's caller, as
// authenticate found it ("" for anonymous).
func principal(ctx context.Context) string { return callerOf(ctx).p.String() }

// requireAdmin admits admins: users with role admin, and requests bearing
// the admin token (a machine principal, for scripts and the seeder).
func (m *Module) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := callerOf(r.Context())
		switch {
		case c.err != nil:
			m.writeError(w, r, c.err)
		case c.p.Anonymous():
			m.unauthorized(w, r, "admin routes need an admin's session or Authorization: Bearer <admin token>")
		case !c.p.IsAdmin():
			m.writeError(w, r, bus.Errorf(bus.CodeForbidden, "admin routes are for admins"))
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// pathParam returns a URL parameter; chi has already unescaped the path.
func pathParam(r *http.Request, name string) string { return chi.URLParam(r, name) }

// boolQuery reads an optional true/false query parameter.
func boolQuery(r *http.Request, name string) (bool, error) {
	switch v := r.URL.Query().Get(name); v {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	default:
		return false, bus.Errorf(bus.CodeInvalid, "query %s=%q: want true or false", name, v)
	}
}

// notFound and methodNotAllowed keep the API's error shape for routing errors.
func (m *Module) notFound(w http.ResponseWriter, r *http.Request) {
	m.writeError(w, r, bus.Errorf(bus.CodeNotFound, "no route for %s %s", r.Method, r.URL.Path))
}

func (m *Module) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	var body apiError
	body.Error.Code, body.Error.Message = bus.CodeInvalid, fmt.Sprintf("method %s not allowed on %s", r.Method, r.URL.Path)
	writeJSON(w, http.StatusMethodNotAllowed, body)
}
