package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
)

// SessionCookie is the name of the session cookie.
const SessionCookie = "shop_session"

// resolveTimeout bounds a session resolution: it is on every request's path.
const resolveTimeout = 2 * time.Second

// maxCachedSessions bounds the session cache; past it the cache starts over.
const maxCachedSessions = 10_000

type callerKey struct{}

// caller is who an HTTP request acts for, as authenticate found out.
type caller struct {
	p     contract.Principal
	token string // the session token presented, if it resolved
	// err is why a presented token could not be resolved when auth did
	// not answer (not when it said no): routes that need a user report it
	// instead of a misleading 401.
	err error
}

func callerOf(ctx context.Context) caller {
	c, _ := ctx.Value(callerKey{}).(caller)
	return c
}

// sessionCache remembers resolved sessions for contract.MaxPrincipalCache
// (500 ms): a page view's API calls need one resolution, not one each, and
// a logged-out token still fails on every instance within a second.
type sessionCache struct {
	mu      sync.Mutex
	entries map[[32]byte]cachedSession
}

type cachedSession struct {
	p       contract.Principal
	expires time.Time
}

func (c *sessionCache) get(key [32]byte, now time.Time) (contract.Principal, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !now.Before(e.expires) {
		return contract.Principal{}, false
	}
	return e.p, true
}

func (c *sessionCache) put(key [32]byte, p contract.Principal, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= maxCachedSessions {
		c.entries = map[[32]byte]cachedSession{}
	}
	c.entries[key] = cachedSession{p: p, expires: expires}
}

func (c *sessionCache) forget(key [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, key)
}

// resolveSession asks auth whose token this is, or answers from the cache.
func (m *Module) resolveSession(ctx context.Context, token string) (contract.Principal, error) {
	key := sha256.Sum256([]byte(token))
	now := time.Now()
	if p, ok := m.sessions.get(key, now); ok {
		return p, nil
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	ctx = bus.WithMeta(ctx, bus.Meta{TraceID: middleware.GetReqID(ctx)})
	s, err := bus.Call(ctx, m.cfg.Bus, contract.ResolveSession, contract.ResolveSessionRequest{Token: token})
	if err != nil {
		return contract.Principal{}, err
	}
	exp := now.Add(contract.MaxPrincipalCache)
	if s.ExpiresAt.Before(exp) {
		exp = s.ExpiresAt
	}
	m.sessions.put(key, s.Principal, exp)
	return s.Principal, nil
}

// isAdminToken reports whether token is the configured machine token,
// in constant time (hashing first makes it constant in the length too).
func (m *Module) isAdminToken(token string) bool {
	if m.cfg.AdminToken == "" {
		return false
	}
	want, got := sha256.Sum256([]byte(m.cfg.AdminToken)), sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// authenticate finds who a request acts for: the admin token (a machine
// principal), a bearer session token (API clients) or the session cookie
// (browsers), resolved through auth. An unknown bearer token is refused;
// an unknown cookie is dropped and the request goes on anonymously, so
// a stale cookie never breaks browsing.
func (m *Module) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var token string
		fromCookie := false
		if h := r.Header.Get("Authorization"); h != "" {
			t, ok := strings.CutPrefix(h, "Bearer ")
			if !ok || t == "" {
				m.unauthorized(w, r, "Authorization: want Bearer <token>")
				return
			}
			if m.isAdminToken(t) {
				next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, caller{p: contract.Principal{Machine: contract.MachineAdminToken}})))
				return
			}
			token = t
		} else if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
			token, fromCookie = c.Value, true
		}
		if token == "" {
			next.ServeHTTP(w, r)
			return
		}
		p, err := m.resolveSession(r.Context(), token)
		var c caller
		switch {
		case err == nil:
			c = caller{p: p, token: token}
		case bus.CodeOf(err) == bus.CodeUnauthorized && fromCookie:
			m.clearSessionCookie(w, r)
		case bus.CodeOf(err) == bus.CodeUnauthorized:
			m.unauthorized(w, r, "bearer token: session unknown or expired; sign in again")
			return
		default:
			m.cfg.Log.Warn("session not resolved", "request_id", middleware.GetReqID(r.Context()), "err", err)
			c = caller{err: err}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)))
	})
}

func (m *Module) unauthorized(w http.ResponseWriter, r *http.Request, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="shop"`)
	m.writeError(w, r, bus.Errorf(bus.CodeUnauthorized, "%s", msg))
}

// requireUser admits signed-in users.
func (m *Module) requireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := callerOf(r.Context())
		switch {
		case c.err != nil:
			m.writeError(w, r, c.err)
		case !c.p.IsUser():
			m.unauthorized(w, r, "sign in first")
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// crossOrigin refuses cross-site state-changing requests (Go's
// http.CrossOriginProtection: Sec-Fetch-Site, else Origin against Host;
// requests without either, from non-browser clients, pass), answering
// with deny: the API's error shape, or the storefront's error page.
func (m *Module) crossOrigin(deny http.Handler) func(http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(deny)
	return cop.Handler
}

// setCookie sets one of the shop's secret cookies (the session, the
// guest cart): HttpOnly, so scripts never read it, SameSite=Lax, Secure
// over TLS or with --secure-cookies, until expires.
func (m *Module) setCookie(w http.ResponseWriter, r *http.Request, name, value string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", Expires: expires,
		MaxAge: max(1, int(time.Until(expires).Seconds())), HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: m.cfg.SecureCookies || r.TLS != nil,
	})
}

func (m *Module) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: m.cfg.SecureCookies || r.TLS != nil})
}

func (m *Module) setSessionCookie(w http.ResponseWriter, r *http.Request, g contract.SessionGrant) {
	m.setCookie(w, r, SessionCookie, g.Token, g.ExpiresAt)
}

func (m *Module) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	m.clearCookie(w, r, SessionCookie)
}

// call makes one bus call for r, acting for its caller.
func call[Req, Resp any](m *Module, r *http.Request, e bus.Endpoint[Req, Resp], req Req) (Resp, error) {
	return callAs(m, r, principal(r.Context()), e, req)
}

// callAs is call acting for principal p (encoded): the user a login just
// signed in, before the request carries the session.
func callAs[Req, Resp any](m *Module, r *http.Request, p string, e bus.Endpoint[Req, Resp], req Req) (Resp, error) {
	ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
	defer cancel()
	ctx = bus.WithMeta(ctx, bus.Meta{TraceID: middleware.GetReqID(r.Context()), Principal: p})
	return bus.Call(ctx, m.cfg.Bus, e, req)
}

// noContent serves a bus endpoint whose success has nothing to say.
func noContent[Req, Resp any](m *Module, e bus.Endpoint[Req, Resp], build func(w http.ResponseWriter, r *http.Request) (Req, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req, err := build(w, r)
		if err == nil {
			_, err = call(m, r, e, req)
		}
		if err != nil {
			m.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// credentials is the body of register and login. Bearer asks for the
// token in the reply (API clients) instead of a cookie (browsers), so
// a browser's token is never readable by scripts.
type credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"display_name"`
	Bearer   bool   `json:"bearer"`
}

// grantReply is a new session as HTTP answers it.
type grantReply struct {
	Token     string        `json:"token,omitempty"`
	SessionID string        `json:"session_id"`
	ExpiresAt time.Time     `json:"expires_at"`
	User      contract.User `json:"user"`
}

// startSession registers (register) or logs in, handing auth the token
// the client presented so that it is revoked: a sign-in always gives a new
// session (no fixation), and the old one leaves the cache at once. The
// guest cart of the cookie, if any, is merged into the user's; the bool
// says whether that merge capped a quantity.
func (m *Module) startSession(w http.ResponseWriter, r *http.Request, register bool, email, password, displayName string) (contract.SessionGrant, bool, error) {
	previous := callerOf(r.Context()).token
	var g contract.SessionGrant
	var err error
	if register {
		g, err = call(m, r, contract.Register, contract.RegisterRequest{Email: email, Password: password, Name: displayName, Client: m.clientOf(r), PreviousToken: previous})
	} else {
		g, err = call(m, r, contract.Login, contract.LoginRequest{Email: email, Password: password, Client: m.clientOf(r), PreviousToken: previous})
	}
	if err != nil {
		return g, false, err
	}
	if previous != "" {
		m.sessions.forget(sha256.Sum256([]byte(previous)))
	}
	capped := m.mergeAtLogin(w, r, g)
	return g, capped, nil
}

// signIn serves register and login: the new session goes in a cookie or,
// when asked, in the body; the token the client presented is revoked.
func (m *Module) signIn(register bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body credentials
		if err := decodeBody(w, r, &body); err != nil {
			m.writeError(w, r, err)
			return
		}
		if !register && body.Name != "" {
			m.writeError(w, r, bus.Errorf(bus.CodeInvalid, "display_name: not taken by login"))
			return
		}
		status := http.StatusOK
		if register {
			status = http.StatusCreated
		}
		g, _, err := m.startSession(w, r, register, body.Email, body.Password, body.Name)
		if err != nil {
			m.writeError(w, r, err)
			return
		}
		reply := grantReply{SessionID: g.SessionID, ExpiresAt: g.ExpiresAt, User: g.User}
		if body.Bearer {
			reply.Token = g.Token
		} else {
			m.setSessionCookie(w, r, g)
		}
		writeJSON(w, status, reply)
	}
}

func (m *Module) logout(w http.ResponseWriter, r *http.Request) {
	if _, err := empty(w, r); err != nil {
		m.writeError(w, r, err)
		return
	}
	if err := m.endSession(w, r); err != nil {
		m.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// endSession logs the caller's session out at auth, drops it from the
// cache and clears the cookie.
func (m *Module) endSession(w http.ResponseWriter, r *http.Request) error {
	c := callerOf(r.Context())
	if _, err := call(m, r, contract.Logout, contract.Empty{}); err != nil {
		return err
	}
	m.sessions.forget(sha256.Sum256([]byte(c.token)))
	m.clearSessionCookie(w, r)
	return nil
}

// authRoutes mounts the account API and the admin user routes.
func (m *Module) authRoutes(public, admin chi.Router) {
	public.Route("/auth", func(a chi.Router) {
		a.NotFound(m.notFound)
		a.MethodNotAllowed(m.methodNotAllowed)
		a.Post("/register", m.signIn(true))
		a.Post("/login", m.signIn(false))
		a.Post("/password-reset", func(w http.ResponseWriter, r *http.Request) {
			var body struct {
				Email string `json:"email"`
			}
			err := decodeBody(w, r, &body)
			if err == nil {
				_, err = call(m, r, contract.RequestPasswordReset, contract.PasswordResetRequest{Email: body.Email, Client: m.clientOf(r)})
			}
			if err != nil {
				m.writeError(w, r, err)
				return
			}
			writeJSON(w, http.StatusAccepted, map[string]string{"status": "if this address has an account, a reset mail is on its way"})
		})
		a.Post("/password-reset/confirm", noContent(m, contract.ConfirmPasswordReset,
			func(w http.ResponseWriter, r *http.Request) (req contract.ConfirmPasswordResetRequest, err error) {
				return req, decodeBody(w, r, &req)
			}))
		a.Group(func(u chi.Router) {
			u.Use(m.requireUser)
			u.Post("/logout", m.logout)
			u.Get("/me", endpoint(m, contract.GetMe, http.StatusOK, empty))
			u.Patch("/me", endpoint(m, contract.ChangeName, http.StatusOK,
				func(w http.ResponseWriter, r *http.Request) (req contract.ChangeNameRequest, err error) {
					return req, decodeBody(w, r, &req)
				}))
			u.Post("/password", noContent(m, contract.ChangePassword,
				func(w http.ResponseWriter, r *http.Request) (req contract.ChangePasswordRequest, err error) {
					return req, decodeBody(w, r, &req)
				}))
			u.Get("/sessions", endpoint(m, contract.ListSessions, http.StatusOK, empty))
			u.Delete("/sessions", endpoint(m, contract.RevokeOtherSessions, http.StatusOK, empty))
			u.Delete("/sessions/{id}", endpoint(m, contract.RevokeSession, http.StatusOK,
				fromPath(func(req *contract.SessionID) []binder { return []binder{pathID("id", "id", &req.ID)} })))
		})
	})

	admin.Get("/users", endpoint(m, contract.ListUsers, http.StatusOK,
		func(_ http.ResponseWriter, r *http.Request) (contract.ListUsersRequest, error) {
			q := r.URL.Query()
			if err := onlyQuery(q, "cursor", "limit"); err != nil {
				return contract.ListUsersRequest{}, err
			}
			limit, err := intQuery(q, "limit", contract.DefaultUserPage)
			return contract.ListUsersRequest{Cursor: q.Get("cursor"), Limit: limit}, err
		}))
	admin.Put("/users/{id}/role", endpoint(m, contract.SetRole, http.StatusOK,
		func(w http.ResponseWriter, r *http.Request) (contract.SetRoleRequest, error) {
			var body struct {
				Role    contract.Role `json:"role"`
				Version int64         `json:"version"`
			}
			err := decodeBody(w, r, &body)
			return contract.SetRoleRequest{ID: pathParam(r, "id"), Role: body.Role, Version: body.Version}, err
		}))
}

// devMail shows the last messages of the development mailer: only with
// --dev, where no mail leaves the machine.
func (m *Module) devMail(w http.ResponseWriter, r *http.Request) {
	page, err := call(m, r, contract.ListMail, contract.Empty{})
	if err != nil {
		http.Error(w, "no development mail: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintf(w, "DEVELOPMENT ONLY: the last %d messages the shop would have mailed (no --smtp-url), newest first.\n\n", page.Total)
	for _, mail := range page.Items {
		fmt.Fprintf(w, "To: %s\nSubject: %s\nDate: %s\n\n%s\n%s\n", mail.To, mail.Subject, mail.Sent.Format(time.RFC1123Z), mail.Body, strings.Repeat("-", 72))
	}
}
