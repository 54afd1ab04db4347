package modules

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/auth"
	"github.com/shopengine/shop/internal/modules/web"
	"github.com/shopengine/shop/internal/store"
)

const (
	goodPW  = "correct horse battery staple"
	otherPW = "tangerine submarine orchestra"
)

// authConfig is a shop for the auth HTTP tests: bcrypt at its minimum
// cost (the cost rule has its own test in package auth).
func authConfig(t testing.TB) Config {
	return Config{DatabaseURL: store.SQLiteURL(t.TempDir()), AdminToken: adminToken, Dev: true,
		Auth: auth.Config{BcryptCost: bcrypt.MinCost, AllowWeakCost: true}}
}

// httpReply is a response with its body read.
type httpReply struct {
	*http.Response
	body []byte
}

func (r httpReply) cookie(name string) *http.Cookie {
	for _, c := range r.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (r httpReply) code(t *testing.T) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error.Message == "" {
		t.Fatalf("not an API error: %d %s", r.StatusCode, r.body)
	}
	return e.Error.Code
}

// send makes a request with the given headers ("Cookie: x" included).
func (s *shop) send(t *testing.T, method, path, body string, headers ...string) httpReply {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return httpReply{resp, b}
}

func bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

func cookie(token string) []string { return []string{"Cookie", "shop_session=" + token} }

// login signs in for a bearer token.
func (s *shop) login(t *testing.T, email, pw string) string {
	t.Helper()
	r := s.send(t, "POST", "/api/v1/auth/login", fmt.Sprintf(`{"email":%q,"password":%q,"bearer":true}`, email, pw))
	if r.StatusCode != 200 {
		t.Fatalf("login %s: %d %s", email, r.StatusCode, r.body)
	}
	var g struct{ Token string }
	if err := json.Unmarshal(r.body, &g); err != nil || g.Token == "" {
		t.Fatalf("login reply %s", r.body)
	}
	return g.Token
}

func (s *shop) status(t *testing.T, want int, method, path, body string, headers ...string) httpReply {
	t.Helper()
	r := s.send(t, method, path, body, headers...)
	if r.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, r.StatusCode, r.body, want)
	}
	return r
}

func TestAuthAPI(t *testing.T) {
	s := startShop(t, authConfig(t))
	r := s.status(t, 201, "POST", "/api/v1/auth/register", `{"email":"Ann@Example.com","password":"`+goodPW+`","display_name":"Ann"}`)
	c := r.cookie("shop_session")
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure || c.MaxAge < 29*24*3600 {
		t.Fatalf("session cookie %+v", c)
	}
	if strings.Contains(string(r.body), c.Value) || strings.Contains(string(r.body), `"token"`) {
		t.Fatalf("a cookie session's token is in the body: %s", r.body)
	}
	first := c.Value
	var me contract.User
	if err := json.Unmarshal(s.status(t, 200, "GET", "/api/v1/auth/me", "", cookie(first)...).body, &me); err != nil || me.Email != "ann@example.com" || me.Name != "Ann" {
		t.Fatalf("me %+v", me)
	}

	// Rotation at login: a new token; the one presented is revoked.
	r = s.status(t, 200, "POST", "/api/v1/auth/login", `{"email":"ann@example.com","password":"`+goodPW+`"}`, cookie(first)...)
	second := r.cookie("shop_session").Value
	if second == first {
		t.Fatal("login kept the session token")
	}
	waitStatus(t, s, 401, "/api/v1/auth/me", bearer(first))
	s.status(t, 200, "GET", "/api/v1/auth/me", "", cookie(second)...)
	// A stale cookie is dropped on public routes, not an error.
	r = s.status(t, 200, "GET", "/api/v1/categories/tree", "", cookie(first)...)
	if c := r.cookie("shop_session"); c == nil || c.MaxAge >= 0 {
		t.Fatalf("stale cookie not cleared: %+v", c)
	}

	// Sessions: list, revoke the others.
	api := s.login(t, "ann@example.com", goodPW)
	var sessions contract.Page[contract.Session]
	json.Unmarshal(s.status(t, 200, "GET", "/api/v1/auth/sessions", "", bearer(api)...).body, &sessions)
	if sessions.Total != 2 || !sessions.Items[1].Current || sessions.Items[0].IP != "127.0.0.1" {
		t.Fatalf("sessions %+v", sessions)
	}
	s.status(t, 200, "DELETE", "/api/v1/auth/sessions", "", bearer(api)...)
	waitStatus(t, s, 401, "/api/v1/auth/me", bearer(second))

	// Name and password.
	s.status(t, 200, "PATCH", "/api/v1/auth/me", `{"display_name":"Ann B."}`, bearer(api)...)
	s.status(t, 400, "POST", "/api/v1/auth/password", `{"current_password":"`+goodPW+`","new_password":"password123"}`, bearer(api)...)
	s.status(t, 204, "POST", "/api/v1/auth/password", `{"current_password":"`+goodPW+`","new_password":"`+otherPW+`"}`, bearer(api)...)
	s.status(t, 401, "POST", "/api/v1/auth/login", `{"email":"ann@example.com","password":"`+goodPW+`"}`)

	// Password reset through the development mail page.
	s.status(t, 202, "POST", "/api/v1/auth/password-reset", `{"email":"ann@example.com"}`)
	s.status(t, 202, "POST", "/api/v1/auth/password-reset", `{"email":"nobody@example.com"}`)
	token := waitResetToken(t, s)
	s.status(t, 204, "POST", "/api/v1/auth/password-reset/confirm", `{"token":"`+token+`","new_password":"`+goodPW+`"}`)
	s.status(t, 400, "POST", "/api/v1/auth/password-reset/confirm", `{"token":"`+token+`","new_password":"`+goodPW+`"}`)
	waitStatus(t, s, 401, "/api/v1/auth/me", bearer(api)) // reset ends every session

	// Roles: a customer is no admin; a role change ends the sessions.
	ann := s.login(t, "ann@example.com", goodPW)
	if r := s.send(t, "GET", "/api/v1/admin/users", "", bearer(ann)...); r.StatusCode != 403 || r.code(t) != "forbidden" {
		t.Fatalf("customer on admin: %d %s", r.StatusCode, r.body)
	}
	var users contract.Page[contract.User]
	json.Unmarshal(s.status(t, 200, "GET", "/api/v1/admin/users?limit=10", "", bearer(adminToken)...).body, &users)
	if users.Total != 1 || users.Items[0].Email != "ann@example.com" {
		t.Fatalf("users %+v", users)
	}
	s.status(t, 200, "PUT", "/api/v1/admin/users/"+users.Items[0].ID+"/role", fmt.Sprintf(`{"role":"admin","version":%d}`, users.Items[0].Version), bearer(adminToken)...)
	waitStatus(t, s, 401, "/api/v1/auth/me", bearer(ann))
	boss := s.login(t, "ann@example.com", goodPW)
	s.status(t, 201, "POST", "/api/v1/admin/categories", `{"name":"Opened by an admin user"}`, bearer(boss)...)

	// Logout: the token fails, the cookie is cleared.
	r = s.status(t, 204, "POST", "/api/v1/auth/logout", "", bearer(boss)...)
	if c := r.cookie("shop_session"); c == nil || c.MaxAge >= 0 {
		t.Fatalf("logout cookie %+v", c)
	}
	s.status(t, 401, "GET", "/api/v1/auth/me", "", bearer(boss)...)
	s.status(t, 401, "POST", "/api/v1/auth/logout", "")
}

// waitStatus polls path until it answers want, for at most 1 s: the
// guarantee for a revoked token on every instance.
func waitStatus(t *testing.T, s *shop, want int, path string, headers []string) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for {
		r := s.send(t, "GET", path, "", headers...)
		if r.StatusCode == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s still %d %s after 1 s, want %d", path, r.StatusCode, r.body, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitResetToken(t *testing.T, s *shop) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := s.send(t, "GET", "/dev/mail", "")
		if _, rest, ok := strings.Cut(string(r.body), "?token="); ok {
			token, _, _ := strings.Cut(rest, "\n")
			return token
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reset mail on /dev/mail: %d %s", r.StatusCode, r.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAuthSecureCookie(t *testing.T) {
	cfg := authConfig(t)
	cfg.SecureCookies = true
	s := startShop(t, cfg)
	r := s.status(t, 201, "POST", "/api/v1/auth/register", `{"email":"ann@example.com","password":"`+goodPW+`"}`)
	if c := r.cookie("shop_session"); c == nil || !c.Secure || !c.HttpOnly {
		t.Fatalf("cookie %+v", c)
	}
	if r := s.send(t, "GET", "/dev/mail", ""); r.StatusCode != 200 || !strings.Contains(string(r.body), "DEVELOPMENT ONLY") {
		t.Fatalf("dev mail: %d %s", r.StatusCode, r.body)
	}
}

// TestAuthLogoutEverywhere: two workers (two Apps, each with its own
// in-process bus) on one data directory; a token logged out on one fails
// on the other within a second.
func TestAuthLogoutEverywhere(t *testing.T) {
	cfg := authConfig(t)
	a, b := startShop(t, cfg), startShop(t, cfg)
	a.status(t, 201, "POST", "/api/v1/auth/register", `{"email":"ann@example.com","password":"`+goodPW+`"}`)
	token := a.login(t, "ann@example.com", goodPW)
	b.status(t, 200, "GET", "/api/v1/auth/me", "", bearer(token)...) // cached on b now
	start := time.Now()
	a.status(t, 204, "POST", "/api/v1/auth/logout", "", bearer(token)...)
	waitStatus(t, b, 401, "/api/v1/auth/me", bearer(token))
	waitStatus(t, a, 401, "/api/v1/auth/me", bearer(token))
	t.Logf("logged-out token refused on the other worker after %v", time.Since(start))
}

func TestAuthThrottleHTTP(t *testing.T) {
	s := startShop(t, authConfig(t))
	s.status(t, 201, "POST", "/api/v1/auth/register", `{"email":"ann@example.com","password":"`+goodPW+`"}`)
	bad := `{"email":"ann@example.com","password":"` + otherPW + `"}`
	for range 4 {
		s.status(t, 401, "POST", "/api/v1/auth/login", bad)
	}
	r := s.status(t, 429, "POST", "/api/v1/auth/login", `{"email":"ann@example.com","password":"`+goodPW+`"}`)
	if r.Header.Get("Retry-After") != "1" || r.code(t) != "throttled" {
		t.Fatalf("throttled: Retry-After %q, %s", r.Header.Get("Retry-After"), r.body)
	}
	time.Sleep(1100 * time.Millisecond)
	s.login(t, "ann@example.com", goodPW)
}

// TestAuthEnumeration: an unknown email and a wrong password get the same
// status and body; a reset answers the same for both.
func TestAuthEnumeration(t *testing.T) {
	s := startShop(t, authConfig(t))
	s.status(t, 201, "POST", "/api/v1/auth/register", `{"email":"ann@example.com","password":"`+goodPW+`"}`)
	wrong := s.send(t, "POST", "/api/v1/auth/login", `{"email":"ann@example.com","password":"`+otherPW+`"}`)
	unknown := s.send(t, "POST", "/api/v1/auth/login", `{"email":"bob@example.com","password":"`+otherPW+`"}`)
	if wrong.StatusCode != 401 || wrong.StatusCode != unknown.StatusCode || string(wrong.body) != string(unknown.body) {
		t.Fatalf("wrong password %d %s; unknown email %d %s", wrong.StatusCode, wrong.body, unknown.StatusCode, unknown.body)
	}
	known := s.send(t, "POST", "/api/v1/auth/password-reset", `{"email":"ann@example.com"}`)
	nobody := s.send(t, "POST", "/api/v1/auth/password-reset", `{"email":"bob@example.com"}`)
	if known.StatusCode != 202 || known.StatusCode != nobody.StatusCode || string(known.body) != string(nobody.body) {
		t.Fatalf("reset known %d %s; unknown %d %s", known.StatusCode, known.body, nobody.StatusCode, nobody.body)
	}
	// Registering a taken email says no more than that.
	r := s.status(t, 409, "POST", "/api/v1/auth/register", `{"email":"ANN@example.com","password":"`+otherPW+`"}`)
	if strings.Contains(string(r.body), "ann@example.com") {
		t.Fatalf("conflict tells too much: %s", r.body)
	}
}

func TestCrossOriginProtection(t *testing.T) {
	s := startShop(t, authConfig(t))
	host := strings.TrimPrefix(s.url, "http://")
	body := `{"email":"ann@example.com","password":"` + goodPW + `"}`
	for _, h := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
		{"Origin", "http://evil.example"},
	} {
		r := s.send(t, "POST", "/api/v1/auth/register", body, h...)
		if r.StatusCode != 403 || r.code(t) != "forbidden" {
			t.Fatalf("%v: %d %s", h, r.StatusCode, r.body)
		}
	}
	s.status(t, 403, "POST", "/api/v1/admin/categories", `{"name":"x"}`, append(bearer(adminToken), "Sec-Fetch-Site", "cross-site")...)
	// Nothing was written by the refused requests.
	var users contract.Page[contract.User]
	json.Unmarshal(s.status(t, 200, "GET", "/api/v1/admin/users", "", bearer(adminToken)...).body, &users)
	if users.Total != 0 {
		t.Fatalf("a cross-site POST registered %+v", users)
	}
	// Same origin passes; so do safe methods from anywhere.
	s.status(t, 201, "POST", "/api/v1/auth/register", body, "Sec-Fetch-Site", "same-origin")
	s.status(t, 200, "POST", "/api/v1/auth/login", body, "Origin", "http://"+host)
	s.status(t, 200, "GET", "/api/v1/categories/tree", "", "Sec-Fetch-Site", "cross-site")
}

func TestAuthAPIBadInput(t *testing.T) {
	s := startShop(t, authConfig(t))
	tests := []struct {
		name, path, body, mention string
	}{
		{"malformed JSON", "/api/v1/auth/register", `{"email":`, "malformed JSON"},
		{"empty body", "/api/v1/auth/register", ``, "JSON object is required"},
		{"unknown field", "/api/v1/auth/register", `{"email":"a@example.com","password":"` + goodPW + `","role":"admin"}`, `"role"`},
		{"wrong type", "/api/v1/auth/register", `{"email":"a@example.com","password":12345678}`, `"password"`},
		{"operator injection", "/api/v1/auth/login", `{"email":{"$gt":""},"password":"x"}`, `"email"`},
		{"operator injection in reset", "/api/v1/auth/password-reset", `{"email":{"$ne":null}}`, `"email"`},
		{"control characters", "/api/v1/auth/register", `{"email":"a\u0000b@example.com","password":"` + goodPW + `"}`, "email"},
		{"control characters in name", "/api/v1/auth/register", `{"email":"a@example.com","password":"` + goodPW + `","display_name":"a\u001bb"}`, "display_name"},
		{"two @", "/api/v1/auth/register", `{"email":"a@b@example.com","password":"` + goodPW + `"}`, "email"},
		{"long email", "/api/v1/auth/register", `{"email":"` + strings.Repeat("a", 250) + `@example.com","password":"` + goodPW + `"}`, "email"},
		{"short password", "/api/v1/auth/register", `{"email":"a@example.com","password":"short"}`, "password"},
		{"long password", "/api/v1/auth/register", `{"email":"a@example.com","password":"` + strings.Repeat("x", 129) + `"}`, "password"},
		{"common password", "/api/v1/auth/register", `{"email":"a@example.com","password":"password1"}`, "password"},
		{"oversize body", "/api/v1/auth/register", `{"email":"` + strings.Repeat("x", 1<<20) + `"}`, "larger than"},
		{"trailing data", "/api/v1/auth/login", `{"email":"a@example.com","password":"x"} {}`, "after the JSON"},
		{"bad reset token", "/api/v1/auth/password-reset/confirm", `{"token":"nope","new_password":"` + goodPW + `"}`, "token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.send(t, "POST", tt.path, tt.body)
			var e struct {
				Error struct{ Code, Message string }
			}
			_ = json.Unmarshal(r.body, &e)
			if r.StatusCode != 400 || e.Error.Code != "invalid" || !strings.Contains(e.Error.Message, tt.mention) {
				t.Fatalf("%d %s, want 400 mentioning %s", r.StatusCode, r.body, tt.mention)
			}
		})
	}
	if r := s.send(t, "GET", "/api/v1/admin/users?limit=many", "", bearer(adminToken)...); r.StatusCode != 400 {
		t.Fatalf("bad limit: %d %s", r.StatusCode, r.body)
	}
	if r := s.send(t, "GET", "/api/v1/auth/me", "", "Authorization", "Basic abc"); r.StatusCode != 401 {
		t.Fatalf("basic auth: %d %s", r.StatusCode, r.body)
	}
	// Nothing was written.
	var users contract.Page[contract.User]
	json.Unmarshal(s.status(t, 200, "GET", "/api/v1/admin/users", "", bearer(adminToken)...).body, &users)
	if users.Total != 0 {
		t.Fatalf("bad input wrote %+v", users)
	}
}

// TestAuthThrottleBehindProxy: behind a trusted reverse proxy (the test
// connects from 127.0.0.1, trusted here) two clients, told apart by the
// X-Forwarded-For the proxy appends, are throttled separately, and a
// client cannot take another's key by writing its own entry on the left;
// a session records the client's address. When the peer is not a trusted
// proxy, its X-Forwarded-For is ignored: both "clients" are the peer, and
// share its throttle.
func TestAuthThrottleBehindProxy(t *testing.T) {
	const a, b = "198.51.100.7", "198.51.100.8"
	bad := `{"email":"ann@example.com","password":"` + otherPW + `"}`
	good := `{"email":"ann@example.com","password":"` + goodPW + `","bearer":true}`
	xff := func(v string) []string { return []string{"X-Forwarded-For", v} }
	sessionIPs := func(t *testing.T, s *shop, r httpReply) []string {
		t.Helper()
		var g struct{ Token string }
		if err := json.Unmarshal(r.body, &g); err != nil || g.Token == "" {
			t.Fatalf("login reply %s", r.body)
		}
		var page struct{ Items []struct{ IP string } }
		if err := json.Unmarshal(s.status(t, 200, "GET", "/api/v1/auth/sessions", "", bearer(g.Token)...).body, &page); err != nil {
			t.Fatal(err)
		}
		var ips []string
		for _, it := range page.Items {
			ips = append(ips, it.IP)
		}
		return ips
	}

	t.Run("trusted proxy", func(t *testing.T) {
		cfg := authConfig(t)
		var err error
		if cfg.TrustedProxies, err = web.ParseTrustedProxies("127.0.0.0/8, ::1"); err != nil {
			t.Fatal(err)
		}
		s := startShop(t, cfg)
		s.status(t, 201, "POST", "/api/v1/auth/register", `{"email":"ann@example.com","password":"`+goodPW+`"}`, xff("192.0.2.50")...)
		for range 4 {
			s.status(t, 401, "POST", "/api/v1/auth/login", bad, xff(a)...)
		}
		s.status(t, 429, "POST", "/api/v1/auth/login", bad, xff(a)...)
		// A writes B's address first; the proxy appends A's real one.
		s.status(t, 429, "POST", "/api/v1/auth/login", good, xff(b+", "+a)...)
		// B, behind the same proxy, is not A.
		s.status(t, 401, "POST", "/api/v1/auth/login", bad, xff(b)...)
		r := s.status(t, 200, "POST", "/api/v1/auth/login", good, xff("203.0.113.66, "+b)...)
		if ips := sessionIPs(t, s, r); !slices.Equal(ips, []string{"192.0.2.50", b}) { // register's and B's
			t.Fatalf("session addresses %q, want 192.0.2.50 and B's %s", ips, b)
		}
	})
	t.Run("untrusted peer", func(t *testing.T) {
		cfg := authConfig(t)
		var err error
		if cfg.TrustedProxies, err = web.ParseTrustedProxies("10.0.0.0/8"); err != nil {
			t.Fatal(err)
		}
		s := startShop(t, cfg)
		s.status(t, 201, "POST", "/api/v1/auth/register", `{"email":"ann@example.com","password":"`+goodPW+`"}`)
		for range 4 {
			s.status(t, 401, "POST", "/api/v1/auth/login", bad, xff(a)...)
		}
		s.status(t, 429, "POST", "/api/v1/auth/login", bad, xff(a)...)
		s.status(t, 429, "POST", "/api/v1/auth/login", bad, xff(b)...) // the same peer
		time.Sleep(1100 * time.Millisecond)
		r := s.status(t, 200, "POST", "/api/v1/auth/login", good, xff(b)...)
		if ips := sessionIPs(t, s, r); !slices.Equal(ips, []string{"127.0.0.1", "127.0.0.1"}) { // register's and this login's
			t.Fatalf("session addresses %q, want the peer's", ips)
		}
	})
}
