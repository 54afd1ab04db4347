package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
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
// logged in full and answered without details. A version conflict on a
// request that came with If-Match is 412 rather than 409 (see endpoint).
func (m *Module) writeError(w http.ResponseWriter, r *http.Request, err error) {
	be := bus.AsError(err)
	status, ok := statusOf[be.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if be.Code == bus.CodeConflict && r.Header.Get("If-Match") != "" && contract.IsVersionConflict(be) {
		status = http.StatusPreconditionFailed
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
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return bus.Errorf(bus.CodeInvalid, "request body: a JSON object is required")
	}
	return bus.DecodeStrict(body, v)
}

// readBody reads a request body of at most bus.MaxBodySize bytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, bus.MaxBodySize))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, bus.Errorf(bus.CodeInvalid, "request body larger than %d bytes", bus.MaxBodySize)
	}
	if err != nil {
		return nil, bus.Errorf(bus.CodeInvalid, "read request body: %v", err)
	}
	return body, nil
}

// endpoint serves one bus endpoint over HTTP: build makes the request from
// the HTTP request (path, query, body; see fromBody and fromPath), status
// is the success status.
//
// Optimistic concurrency over HTTP (DESIGN.md, Conventions) is done here
// once, for every route:
//
//   - A reply that is one versioned entity (it implements
//     contract.Versioned) goes out with a strong entity tag of its
//     version: ETag: "3".
//   - A write route binds If-Match into its request's expected version
//     with the ifMatch binder: If-Match: "3" is the same as "version": 3 in
//     the body. Both given and different is 400, and so is an If-Match that
//     is not one quoted integer (a weak tag, a list, *): the version is the
//     only precondition evaluated. Routes that do not bind it ignore it.
//   - A version conflict (contract.IsVersionConflict) answers 412
//     Precondition Failed when the request came with If-Match, else 409;
//     the body is the usual error, code conflict. Other conflicts (a slug
//     taken) stay 409 either way.
//
// A route adopts it with no code of its own beyond the ifMatch binder: its
// entity type gets an ETagVersion method in contract, and the request's
// Version field is bound (see categoryRoutes).
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
		if v, ok := any(resp).(contract.Versioned); ok {
			w.Header().Set("ETag", entityTag(v.ETagVersion()))
		}
		writeJSON(w, status, resp)
	}
}

// entityTag is the strong ETag of version v: the number, quoted.
func entityTag(v int64) string { return `"` + strconv.FormatInt(v, 10) + `"` }

// ifMatchVersion returns the version of r's If-Match header, and whether
// there is one; anything but one strong tag of a positive integer is
// invalid.
func ifMatchVersion(r *http.Request) (int64, bool, error) {
	values := r.Header.Values("If-Match")
	if len(values) == 0 {
		return 0, false, nil
	}
	h := strings.TrimSpace(strings.Join(values, ","))
	bad := bus.Errorf(bus.CodeInvalid, `If-Match %q: want the entity's ETag, one quoted version such as "3"`, h)
	if len(h) < 3 || h[0] != '"' || h[len(h)-1] != '"' {
		return 0, true, bad
	}
	v, err := strconv.ParseInt(h[1:len(h)-1], 10, 64)
	if err != nil || v < 1 {
		return 0, true, bad
	}
	return v, true, nil
}

// A binder fills one field of a decoded contract request from the HTTP
// request: a path parameter, a header, a query parameter.
type binder struct {
	query string // the query parameter it reads, if any
	bind  func(r *http.Request) error
}

// fromBody returns a build function that decodes the JSON body straight
// into the contract's request type, then runs the binders that binds
// returns for it. A field added to the contract thus works over HTTP with
// no change here; the binders only add what the path and headers say.
func fromBody[Req any](binds func(req *Req) []binder) func(http.ResponseWriter, *http.Request) (Req, error) {
	return func(w http.ResponseWriter, r *http.Request) (Req, error) {
		var req Req
		if err := decodeBody(w, r, &req); err != nil {
			return req, err
		}
		return req, bind(r, binds(&req))
	}
}

// fromPath is fromBody for requests without a body (GET, and writes such
// as logout): the request is made from the path, query and headers alone.
// A body that is sent anyway is refused, not ignored: a client that sent
// one meant something by it, and the write must not go ahead as if it had
// not (a malformed body on POST /auth/logout used to end the session).
func fromPath[Req any](binds func(req *Req) []binder) func(http.ResponseWriter, *http.Request) (Req, error) {
	return func(w http.ResponseWriter, r *http.Request) (Req, error) {
		var req Req
		body, err := readBody(w, r)
		if err != nil {
			return req, err
		}
		if len(bytes.TrimSpace(body)) > 0 {
			return req, bus.Errorf(bus.CodeInvalid, "request body: %s %s takes none", r.Method, r.URL.Path)
		}
		return req, bind(r, binds(&req))
	}
}

// empty builds the request of a route that takes nothing: no body, no
// query parameters.
var empty = fromPath(func(*contract.Empty) []binder { return nil })

// fromOptionalBody is fromBody where the body may be left out (DELETE):
// one that is given is decoded as strictly, so that a version in it is
// never silently ignored.
func fromOptionalBody[Req any](binds func(req *Req) []binder) func(http.ResponseWriter, *http.Request) (Req, error) {
	return func(w http.ResponseWriter, r *http.Request) (Req, error) {
		var req Req
		body, err := readBody(w, r)
		if err != nil {
			return req, err
		}
		if err := bus.DecodeStrict(body, &req); err != nil {
			return req, err
		}
		return req, bind(r, binds(&req))
	}
}

// bind runs the binders, after refusing query parameters that none of
// them reads, or that are given twice: a parameter the route ignores
// (?version=3 on a route that takes If-Match) must not let the request
// through as if it had not been sent.
func bind(r *http.Request, binders []binder) error {
	var known []string
	for _, b := range binders {
		if b.query != "" {
			known = append(known, b.query)
		}
	}
	if err := onlyQuery(r.URL.Query(), known...); err != nil {
		return err
	}
	for _, b := range binders {
		if err := b.bind(r); err != nil {
			return err
		}
	}
	return nil
}

// pathID sets *dst, the request's field named field, from path parameter
// param. A body that already set the field to something else contradicts
// the path: invalid, not silently overridden.
func pathID(param, field string, dst *string) binder {
	return binder{bind: func(r *http.Request) error {
		v := pathParam(r, param)
		if *dst != "" && *dst != v {
			return bus.Errorf(bus.CodeInvalid, "%s %q in the body is not the %s of the path (%q): leave it out", field, *dst, field, v)
		}
		*dst = v
		return nil
	}}
}

// ifMatch sets *dst, the request's expected version, from If-Match (see
// endpoint); without the header the body's version stands.
func ifMatch(dst *int64) binder {
	return binder{bind: func(r *http.Request) error {
		v, ok, err := ifMatchVersion(r)
		switch {
		case err != nil:
			return err
		case !ok:
			return nil
		case *dst != 0 && *dst != v:
			return bus.Errorf(bus.CodeInvalid, "version %d in the body and If-Match %q disagree: give one", *dst, entityTag(v))
		}
		*dst = v
		return nil
	}}
}

// queryFlag sets *dst from an optional true/false query parameter.
func queryFlag(name string, dst *bool) binder {
	return binder{query: name, bind: func(r *http.Request) (err error) {
		*dst, err = boolQuery(r, name)
		return err
	}}
}

// queryString sets *dst from an optional query parameter.
func queryString(name string, dst *string) binder {
	return binder{query: name, bind: func(r *http.Request) error {
		*dst = r.URL.Query().Get(name)
		return nil
	}}
}

// queryInt sets *dst from an optional integer query parameter.
func queryInt(name string, dst *int) binder {
	return binder{query: name, bind: func(r *http.Request) (err error) {
		*dst, err = intQuery(r.URL.Query(), name, *dst)
		return err
	}}
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

// onlyQuery refuses query parameters other than known, and repeated ones.
func onlyQuery(q url.Values, known ...string) error {
	for k, vs := range q {
		if !slices.Contains(known, k) {
			if len(known) == 0 {
				return bus.Errorf(bus.CodeInvalid, "query parameter %.40q: this route takes none", k)
			}
			return bus.Errorf(bus.CodeInvalid, "query parameter %.40q: not one this route takes (known: %s)", k, strings.Join(known, ", "))
		}
		if len(vs) > 1 {
			return bus.Errorf(bus.CodeInvalid, "query parameter %.40q: given %d times", k, len(vs))
		}
	}
	return nil
}

// intQuery reads an optional whole-number query parameter.
func intQuery(q url.Values, name string, def int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || len(v) > 9 {
		return 0, bus.Errorf(bus.CodeInvalid, "query %s=%.20q: want a whole number", name, v)
	}
	return n, nil
}
