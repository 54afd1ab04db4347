package auth

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/bus/amqp/amqptest"
	"github.com/shopengine/shop/internal/bus/bustest"
	"github.com/shopengine/shop/internal/bus/memory"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/moduletest"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/store/storetest"
)

// Passwords that pass the strength rule.
const (
	pw1 = "correct horse battery staple"
	pw2 = "tangerine submarine orchestra"
	pw3 = "plywood giraffe velvet 42"
)

// mailbox is a Mailer that keeps what it is asked to send.
type mailbox struct {
	mu   sync.Mutex
	mail []contract.Mail
}

func (b *mailbox) Send(_ context.Context, to, subject, body string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.mail = append(b.mail, contract.Mail{To: to, Subject: subject, Body: body})
	return nil
}

func (b *mailbox) wait(t *testing.T, n int) []contract.Mail {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b.mu.Lock()
		got := append([]contract.Mail(nil), b.mail...)
		b.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d mails, want %d", len(got), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// clock is a settable time for throttling tests.
type clock struct{ t atomic.Pointer[time.Time] }

func newClock() *clock {
	c := &clock{}
	c.set(store.Now())
	return c
}
func (c *clock) now() time.Time      { return *c.t.Load() }
func (c *clock) set(t time.Time)     { c.t.Store(&t) }
func (c *clock) add(d time.Duration) { c.set(c.now().Add(d)) }

// harness is a running auth module (moduletest.Start) with what its
// tests control: the mailbox its mail goes to, its clock, and the bus its
// callers use.
type harness struct {
	*moduletest.Harness[*Module]
	bus    bus.Bus // the callers': Harness.Bus, or a RabbitMQ connection of their own
	mail   *mailbox
	clock  *clock
	events *bustest.Recorder[contract.UserEvent]
}

func testConfig() Config {
	return Config{BcryptCost: bcrypt.MinCost, AllowWeakCost: true}
}

// module is the auth module as moduletest starts it, with cfg and on
// clk's time: auth's New takes a Config, and can refuse it.
func module(t testing.TB, cfg Config, clk *clock) moduletest.Spec[Store, *Module] {
	return moduletest.Spec[Store, *Module]{Open: OpenStore,
		New: func(b bus.Bus, st Store, log *slog.Logger) *Module {
			m, err := New(b, st, cfg, log)
			if err != nil {
				t.Fatalf("auth.New: %v", err)
			}
			m.now = clk.now
			return m
		},
		Relay: func(m *Module, r *outbox.Relay) { m.relay = r }}
}

// start runs the module on db with cfg (its mail kept in h.mail unless cfg
// sends it elsewhere) and opts as moduletest.Start takes them: OnBus for
// RabbitMQ, HoldOutbox for an outbox test.
func start(t testing.TB, db *store.DB, cfg Config, opts ...moduletest.Option) *harness {
	t.Helper()
	h := &harness{mail: &mailbox{}, clock: newClock()}
	if cfg.Mailer == nil && cfg.SMTPURL == "" {
		cfg.Mailer = h.mail
	}
	h.Harness = moduletest.Start(t, db, module(t, cfg, h.clock), opts...)
	h.bus = h.Bus
	h.events = bustest.Record[contract.UserEvent](t, h.Bus, "auth.*")
	return h
}

// benchHarness is start for a benchmark: on a fresh SQLite store, quiet,
// on a memory bus unless opts say otherwise.
func benchHarness(b *testing.B, cfg Config, opts ...moduletest.Option) *harness {
	quiet := slog.New(slog.DiscardHandler)
	bb := memory.New(quiet)
	b.Cleanup(func() { _ = bb.Close(context.Background()) })
	cfg.Mailer = &mailbox{}
	return start(b, storetest.SQLite(b), cfg, append([]moduletest.Option{moduletest.OnBus(bb), moduletest.WithLogger(quiet)}, opts...)...)
}

func as(p contract.Principal) context.Context {
	return contract.WithPrincipal(context.Background(), p)
}

func call[Req, Resp any](t *testing.T, ctx context.Context, h *harness, e bus.Endpoint[Req, Resp], req Req) Resp {
	t.Helper()
	resp, err := bus.Call(ctx, h.bus, e, req)
	if err != nil {
		t.Fatalf("%s %+v: %v", e.Op, req, err)
	}
	return resp
}

func callErr[Req, Resp any](t *testing.T, ctx context.Context, h *harness, e bus.Endpoint[Req, Resp], req Req, code bus.Code, mention string) *bus.Error {
	t.Helper()
	_, err := bus.Call(ctx, h.bus, e, req)
	var be *bus.Error
	if !errors.As(err, &be) || be.Code != code || !strings.Contains(be.Message, mention) {
		t.Fatalf("%s %+v: got %v, want %s mentioning %q", e.Op, req, err, code, mention)
	}
	return be
}

var client = contract.Client{IP: "192.0.2.10", UserAgent: "test/1"}

// principal resolves a token.
func (h *harness) principal(t *testing.T, token string) contract.Principal {
	t.Helper()
	return call(t, context.Background(), h, contract.ResolveSession, contract.ResolveSessionRequest{Token: token}).Principal
}

func (h *harness) dead(t *testing.T, token string) {
	t.Helper()
	callErr(t, context.Background(), h, contract.ResolveSession, contract.ResolveSessionRequest{Token: token}, bus.CodeUnauthorized, "session unknown")
}

// exercise is the module's behaviour, the same on every bus.
func exercise(t *testing.T, h *harness) {
	bg := context.Background()
	reg := call(t, bg, h, contract.Register, contract.RegisterRequest{Email: "  Ann@Example.COM ", Password: pw1, Name: "Ann", Client: client})
	if reg.User.Email != "ann@example.com" || reg.User.Role != contract.RoleCustomer || reg.User.Version != 1 || len(reg.Token) != 43 {
		t.Fatalf("registered %+v", reg)
	}
	ann := h.principal(t, reg.Token)
	if ann.UserID != reg.User.ID || ann.Role != contract.RoleCustomer || ann.SessionID != reg.SessionID {
		t.Fatalf("resolved %+v", ann)
	}
	if me := call(t, as(ann), h, contract.GetMe, contract.Empty{}); me.ID != reg.User.ID || me.Name != "Ann" {
		t.Fatalf("me %+v", me)
	}
	callErr(t, bg, h, contract.GetMe, contract.Empty{}, bus.CodeUnauthorized, "sign in")

	// The same email in another case is taken; the message tells nothing more.
	callErr(t, bg, h, contract.Register, contract.RegisterRequest{Email: "ANN@example.com", Password: pw2, Client: client}, bus.CodeConflict, "cannot be registered")

	// Login: a new token every time; the one held before is revoked.
	grant := call(t, bg, h, contract.Login, contract.LoginRequest{Email: "ann@example.com", Password: pw1, Client: client, PreviousToken: reg.Token})
	if grant.Token == reg.Token || grant.SessionID == reg.SessionID {
		t.Fatal("login reused the session")
	}
	h.dead(t, reg.Token)
	second := call(t, bg, h, contract.Login, contract.LoginRequest{Email: "ann@example.com", Password: pw1, Client: client})
	ann = h.principal(t, grant.Token)
	list := call(t, as(ann), h, contract.ListSessions, contract.Empty{})
	if list.Total != 2 || !list.Items[0].Current || list.Items[1].Current || list.Items[0].IP != client.IP || list.Items[0].UserAgent != "test/1" {
		t.Fatalf("sessions %+v", list)
	}

	// Wrong password and unknown email: one answer.
	wrong := callErr(t, bg, h, contract.Login, contract.LoginRequest{Email: "ann@example.com", Password: pw2, Client: client}, bus.CodeUnauthorized, "wrong email or password")
	unknown := callErr(t, bg, h, contract.Login, contract.LoginRequest{Email: "nobody@example.com", Password: pw2, Client: client}, bus.CodeUnauthorized, "wrong email or password")
	if wrong.Message != unknown.Message {
		t.Fatalf("wrong password %q vs unknown email %q", wrong.Message, unknown.Message)
	}

	// Name and password changes; a password change ends the other sessions.
	renamed := call(t, as(ann), h, contract.ChangeName, contract.ChangeNameRequest{Name: "Ann B.", Version: 1})
	if renamed.Name != "Ann B." || renamed.Version != 2 {
		t.Fatalf("renamed %+v", renamed)
	}
	callErr(t, as(ann), h, contract.ChangeName, contract.ChangeNameRequest{Name: "X", Version: 1}, bus.CodeConflict, "version")
	callErr(t, as(ann), h, contract.ChangePassword, contract.ChangePasswordRequest{CurrentPassword: pw2, NewPassword: pw3}, bus.CodeInvalid, "current_password")
	callErr(t, as(ann), h, contract.ChangePassword, contract.ChangePasswordRequest{CurrentPassword: pw1, NewPassword: "password1"}, bus.CodeInvalid, "too common")
	call(t, as(ann), h, contract.ChangePassword, contract.ChangePasswordRequest{CurrentPassword: pw1, NewPassword: pw3})
	h.dead(t, second.Token)
	h.principal(t, grant.Token)
	callErr(t, bg, h, contract.Login, contract.LoginRequest{Email: "ann@example.com", Password: pw1, Client: client}, bus.CodeUnauthorized, "wrong")
	third := call(t, bg, h, contract.Login, contract.LoginRequest{Email: "ann@example.com", Password: pw3, Client: client})

	// Revoke one, revoke the others, log out.
	callErr(t, as(ann), h, contract.RevokeSession, contract.SessionID{ID: "nope"}, bus.CodeInvalid, "id")
	if r := call(t, as(ann), h, contract.RevokeSession, contract.SessionID{ID: third.SessionID}); r.Revoked != 1 {
		t.Fatalf("revoke %+v", r)
	}
	h.dead(t, third.Token)
	fourth := call(t, bg, h, contract.Login, contract.LoginRequest{Email: "ann@example.com", Password: pw3, Client: client})
	if r := call(t, as(ann), h, contract.RevokeOtherSessions, contract.Empty{}); r.Revoked != 1 {
		t.Fatalf("revoke others %+v", r)
	}
	h.dead(t, fourth.Token)
	call(t, as(ann), h, contract.Logout, contract.Empty{})
	h.dead(t, grant.Token)

	// Password reset: the same answer for an unknown email; the token works
	// once and ends every session.
	live := call(t, bg, h, contract.Login, contract.LoginRequest{Email: "ann@example.com", Password: pw3, Client: client})
	call(t, bg, h, contract.RequestPasswordReset, contract.PasswordResetRequest{Email: "nobody@example.com", Client: client})
	call(t, bg, h, contract.RequestPasswordReset, contract.PasswordResetRequest{Email: "ANN@example.com", Client: client})
	mail := h.mail.wait(t, 1)
	if len(mail) != 1 || mail[0].To != "ann@example.com" {
		t.Fatalf("mail %+v", mail)
	}
	token := resetToken(t, mail[0].Body)
	callErr(t, bg, h, contract.ConfirmPasswordReset, contract.ConfirmPasswordResetRequest{Token: token, NewPassword: "qwertyuiop"}, bus.CodeInvalid, "too common")
	call(t, bg, h, contract.ConfirmPasswordReset, contract.ConfirmPasswordResetRequest{Token: token, NewPassword: pw2})
	callErr(t, bg, h, contract.ConfirmPasswordReset, contract.ConfirmPasswordResetRequest{Token: token, NewPassword: pw1}, bus.CodeInvalid, "used or expired")
	h.dead(t, live.Token)
	call(t, bg, h, contract.Login, contract.LoginRequest{Email: "ann@example.com", Password: pw2, Client: client})

	// Admin: create, list in pages, set role (which ends the sessions).
	machine := as(contract.Principal{Machine: contract.MachineCLI})
	callErr(t, as(ann), h, contract.CreateUser, contract.CreateUserRequest{Email: "x@example.com", Password: pw1, Role: contract.RoleAdmin}, bus.CodeForbidden, "admins only")
	boss := call(t, machine, h, contract.CreateUser, contract.CreateUserRequest{Email: "boss@example.com", Password: pw1, Name: "Boss", Role: contract.RoleAdmin})
	callErr(t, machine, h, contract.CreateUser, contract.CreateUserRequest{Email: "BOSS@example.com", Password: pw1, Role: contract.RoleAdmin}, bus.CodeConflict, "already")
	bossGrant := call(t, bg, h, contract.Login, contract.LoginRequest{Email: "boss@example.com", Password: pw1, Client: client})
	bossP := h.principal(t, bossGrant.Token)
	if !bossP.IsAdmin() {
		t.Fatalf("boss %+v", bossP)
	}
	callErr(t, as(ann), h, contract.ListUsers, contract.ListUsersRequest{}, bus.CodeForbidden, "admins only")
	callErr(t, bg, h, contract.ListUsers, contract.ListUsersRequest{}, bus.CodeUnauthorized, "sign in")
	p1 := call(t, as(bossP), h, contract.ListUsers, contract.ListUsersRequest{Limit: 1})
	if p1.Total != 2 || len(p1.Items) != 1 || p1.Items[0].ID != reg.User.ID || p1.NextCursor == "" {
		t.Fatalf("page 1 %+v", p1)
	}
	p2 := call(t, as(bossP), h, contract.ListUsers, contract.ListUsersRequest{Limit: 1, Cursor: p1.NextCursor})
	if len(p2.Items) != 1 || p2.Items[0].ID != boss.ID || p2.NextCursor != "" {
		t.Fatalf("page 2 %+v", p2)
	}
	annNow := call(t, bg, h, contract.Login, contract.LoginRequest{Email: "ann@example.com", Password: pw2, Client: client})
	me := call(t, as(h.principal(t, annNow.Token)), h, contract.GetMe, contract.Empty{})
	callErr(t, as(bossP), h, contract.SetRole, contract.SetRoleRequest{ID: me.ID, Role: contract.RoleAdmin, Version: me.Version - 1}, bus.CodeConflict, "version")
	callErr(t, as(bossP), h, contract.SetRole, contract.SetRoleRequest{ID: me.ID, Role: "root"}, bus.CodeInvalid, "role")
	promoted := call(t, as(bossP), h, contract.SetRole, contract.SetRoleRequest{ID: me.ID, Role: contract.RoleAdmin, Version: me.Version})
	if promoted.Role != contract.RoleAdmin || promoted.Version != me.Version+1 {
		t.Fatalf("promoted %+v", promoted)
	}
	h.dead(t, annNow.Token) // a new role, a new token
	again := call(t, bg, h, contract.Login, contract.LoginRequest{Email: "ann@example.com", Password: pw2, Client: client})
	if p := h.principal(t, again.Token); p.Role != contract.RoleAdmin {
		t.Fatalf("after promotion %+v", p)
	}

	evs := h.events.Wait(t, 3)
	if evs[0].Topic != "auth.user_created" || evs[2].Topic != "auth.user_role_changed" || evs[2].Event.Version != promoted.Version || evs[2].Event.EventID == "" {
		t.Fatalf("events %+v", evs)
	}
}

func resetToken(t *testing.T, body string) string {
	t.Helper()
	_, rest, ok := strings.Cut(body, "?token=")
	if !ok {
		t.Fatalf("no token in %q", body)
	}
	token, _, _ := strings.Cut(rest, "\n")
	return token
}

func TestAuthModule(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		exercise(t, start(t, db, testConfig()))
	})
}

// TestAuthModuleAMQP runs the same behaviour with the module and its
// caller on two RabbitMQ connections.
func TestAuthModuleAMQP(t *testing.T) {
	url := amqptest.URL(t)
	opts := amqptest.Options(t, url)
	server, client := amqptest.Dial(t, url, opts), amqptest.Dial(t, url, opts)
	h := start(t, storetest.SQLite(t), testConfig(), moduletest.OnBus(server))
	h.bus = client
	exercise(t, h)
}

// TestLongPasswords: bcrypt reads 72 bytes; the pre-hash makes the rest count.
func TestLongPasswords(t *testing.T) {
	h := start(t, storetest.SQLite(t), testConfig())
	base := strings.Repeat("vanilla orbit ", 6) // 84 bytes
	a, b := base+"alpha 1", base+"alpha 2"
	if len(base) <= 72 || a[:72] != b[:72] {
		t.Fatal("test passwords must share their first 72 bytes")
	}
	call(t, context.Background(), h, contract.Register, contract.RegisterRequest{Email: "long@example.com", Password: a, Client: client})
	callErr(t, context.Background(), h, contract.Login, contract.LoginRequest{Email: "long@example.com", Password: b, Client: client}, bus.CodeUnauthorized, "wrong")
	call(t, context.Background(), h, contract.Login, contract.LoginRequest{Email: "long@example.com", Password: a, Client: client})
	if len(prehash(strings.Repeat("é", 128))) != 44 || strings.ContainsRune(string(prehash(a)), 0) {
		t.Fatal("pre-hash is not 44 printable bytes")
	}
	callErr(t, context.Background(), h, contract.Register, contract.RegisterRequest{Email: "x@example.com", Password: strings.Repeat("é", 129), Client: client}, bus.CodeInvalid, "at most 128")
}

// TestThrottling: per (address, email) with an exponential delay, per
// address over all emails with a looser budget; a success resets the pair.
func TestThrottling(t *testing.T) {
	h := start(t, storetest.SQLite(t), testConfig())
	bg := context.Background()
	call(t, bg, h, contract.Register, contract.RegisterRequest{Email: "ann@example.com", Password: pw1, Client: client})
	bad := contract.LoginRequest{Email: "ann@example.com", Password: pw2, Client: client}
	for range pairLimit.free + 1 { // the 4th failure blocks for 1 s
		callErr(t, bg, h, contract.Login, bad, bus.CodeUnauthorized, "wrong")
	}
	be := callErr(t, bg, h, contract.Login, contract.LoginRequest{Email: "ann@example.com", Password: pw1, Client: client}, bus.CodeThrottled, "try again")
	if be.RetryAfter != time.Second {
		t.Fatalf("retry after %v, want 1s", be.RetryAfter)
	}
	// Another address is not throttled for the same account.
	other := contract.LoginRequest{Email: "ann@example.com", Password: pw1, Client: contract.Client{IP: "198.51.100.7"}}
	call(t, bg, h, contract.Login, other)
	h.clock.add(1100 * time.Millisecond)
	callErr(t, bg, h, contract.Login, bad, bus.CodeUnauthorized, "wrong")
	be = callErr(t, bg, h, contract.Login, bad, bus.CodeThrottled, "try again")
	if be.RetryAfter != 2*time.Second {
		t.Fatalf("5th failure: retry after %v, want 2s", be.RetryAfter)
	}
	h.clock.add(2100 * time.Millisecond)
	call(t, bg, h, contract.Login, contract.LoginRequest{Email: "ann@example.com", Password: pw1, Client: client})
	// The success reset the pair: three free failures again.
	for range pairLimit.free {
		callErr(t, bg, h, contract.Login, bad, bus.CodeUnauthorized, "wrong")
	}
	// Credential stuffing: many emails from one address hit the address budget.
	stuffer := contract.Client{IP: "2001:db8::1"}
	for i := range ipLimit.free + 1 {
		callErr(t, bg, h, contract.Login, contract.LoginRequest{Email: "u" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "@example.com", Password: pw2, Client: stuffer}, bus.CodeUnauthorized, "wrong")
	}
	// The same /64 is the same client.
	callErr(t, bg, h, contract.Login, contract.LoginRequest{Email: "fresh@example.com", Password: pw2, Client: contract.Client{IP: "2001:db8::ffff"}}, bus.CodeThrottled, "try again")
	// Registering a taken email counts like a failed login.
	reg := contract.RegisterRequest{Email: "ann@example.com", Password: pw3, Client: contract.Client{IP: "203.0.113.9"}}
	for range pairLimit.free + 1 {
		callErr(t, bg, h, contract.Register, reg, bus.CodeConflict, "cannot be registered")
	}
	callErr(t, bg, h, contract.Register, reg, bus.CodeThrottled, "try again")
}

// TestThrottleSharedByInstances: two module instances on one store (two
// workers) count failures together.
func TestThrottleSharedByInstances(t *testing.T) {
	db := storetest.SQLite(t)
	a, b := start(t, db, testConfig()), start(t, storetest.Another(t, db), testConfig())
	call(t, context.Background(), a, contract.Register, contract.RegisterRequest{Email: "ann@example.com", Password: pw1, Client: client})
	bad := contract.LoginRequest{Email: "ann@example.com", Password: pw2, Client: client}
	for i := range pairLimit.free + 1 {
		callErr(t, context.Background(), []*harness{a, b}[i%2], contract.Login, bad, bus.CodeUnauthorized, "wrong")
	}
	callErr(t, context.Background(), a, contract.Login, bad, bus.CodeThrottled, "try again")
	callErr(t, context.Background(), b, contract.Login, bad, bus.CodeThrottled, "try again")
}

func TestSessionLifetime(t *testing.T) {
	h := start(t, storetest.SQLite(t), Config{BcryptCost: bcrypt.MinCost, AllowWeakCost: true, IdleTimeout: time.Hour, MaxLifetime: 3 * time.Hour})
	g := call(t, context.Background(), h, contract.Register, contract.RegisterRequest{Email: "ann@example.com", Password: pw1, Client: client})
	// Sliding: used every 50 minutes it lives to the absolute lifetime.
	for range 3 {
		h.clock.add(50 * time.Minute)
		h.principal(t, g.Token)
	}
	h.clock.add(31 * time.Minute) // 3h01 after creation
	h.dead(t, g.Token)
	g = call(t, context.Background(), h, contract.Login, contract.LoginRequest{Email: "ann@example.com", Password: pw1, Client: client})
	h.clock.add(61 * time.Minute)
	h.dead(t, g.Token) // idle
	if n, err := h.Module.store.Sweep(t.Context(), h.clock.now()); err != nil || n != 2 {
		t.Fatalf("sweep %d, %v", n, err)
	}
}

func TestCostRule(t *testing.T) {
	db := storetest.SQLite(t)
	st, err := OpenStore(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	b := memory.New(slog.Default())
	if _, err := New(b, st, Config{BcryptCost: 9}, slog.Default()); err == nil || !strings.Contains(err.Error(), "bcrypt cost 9") {
		t.Fatalf("cost 9 accepted: %v", err)
	}
	if m, err := New(b, st, Config{}, slog.Default()); err != nil || m.cfg.BcryptCost != DefaultCost {
		t.Fatalf("default cost: %v", err)
	}
	// A hash of another cost is upgraded at the next successful login.
	old := start(t, db, testConfig())
	call(t, context.Background(), old, contract.Register, contract.RegisterRequest{Email: "ann@example.com", Password: pw1, Client: client})
	upgraded := start(t, db, Config{BcryptCost: MinCost})
	call(t, context.Background(), upgraded, contract.Login, contract.LoginRequest{Email: "ann@example.com", Password: pw1, Client: client})
	u, _ := st.UserByEmail(t.Context(), "ann@example.com")
	if c, _ := bcrypt.Cost([]byte(u.PasswordHash)); c != MinCost || u.Version != 2 {
		t.Fatalf("hash cost %d, version %d after login", c, u.Version)
	}
	call(t, context.Background(), upgraded, contract.Login, contract.LoginRequest{Email: "ann@example.com", Password: pw1, Client: client})
}

// TestHashSlots: with every slot busy, a login waits HashWait and then
// fails unavailable with a retry-after.
func TestHashSlots(t *testing.T) {
	h := start(t, storetest.SQLite(t), Config{BcryptCost: bcrypt.MinCost, AllowWeakCost: true, HashSlots: 1, HashWait: 50 * time.Millisecond})
	h.Module.hashes.slots <- struct{}{}
	be := callErr(t, context.Background(), h, contract.Login, contract.LoginRequest{Email: "ann@example.com", Password: pw1, Client: client}, bus.CodeUnavailable, "too many sign-ins")
	if be.RetryAfter != retryBusy {
		t.Fatalf("retry after %v", be.RetryAfter)
	}
	<-h.Module.hashes.slots
	callErr(t, context.Background(), h, contract.Login, contract.LoginRequest{Email: "ann@example.com", Password: pw1, Client: client}, bus.CodeUnauthorized, "wrong")
}

func TestAuthBadInput(t *testing.T) {
	h := start(t, storetest.SQLite(t), testConfig())
	bg := context.Background()
	reg := func(email, pw, name string) contract.RegisterRequest {
		return contract.RegisterRequest{Email: email, Password: pw, Name: name, Client: client}
	}
	for _, tt := range []struct {
		req     contract.RegisterRequest
		mention string
	}{
		{reg("", pw1, ""), "email: required"},
		{reg("ann", pw1, ""), "exactly one @"},
		{reg("a@b@example.com", pw1, ""), "exactly one @"},
		{reg("ann@", pw1, ""), "name@domain"},
		{reg(`{"$gt": ""}`, pw1, ""), "email"},
		{reg("an n@example.com", pw1, ""), "spaces"},
		{reg("ann\x00@example.com", pw1, ""), "control"},
		{reg(strings.Repeat("a", 250)+"@example.com", pw1, ""), "longer than 254"},
		{reg("ann@example.com", "", ""), "password: required"},
		{reg("ann@example.com", "short", ""), "at least 8"},
		{reg("ann@example.com", "correct\x07horse battery", ""), "control"},
		{reg("ann@example.com", "password", ""), "too common"},
		{reg("ann@example.com", "annexample", ""), "too common"},
		{reg("ann@example.com", pw1, "bad\x1bname"), "display_name"},
		{contract.RegisterRequest{Email: "ann@example.com", Password: pw1, Client: contract.Client{IP: "not an ip"}}, "client.ip"},
	} {
		callErr(t, bg, h, contract.Register, tt.req, bus.CodeInvalid, tt.mention)
	}
	callErr(t, bg, h, contract.Login, contract.LoginRequest{Email: "ann@example.com", Client: client}, bus.CodeInvalid, "password: required")
	callErr(t, bg, h, contract.ResolveSession, contract.ResolveSessionRequest{Token: "garbage"}, bus.CodeUnauthorized, "session unknown")
	// A forged or malformed principal is refused, not guessed at.
	for _, p := range []string{"admin", "user:1:admin:2", "user:" + "0190a0f0-0000-7000-8000-000000000000" + ":root:0190a0f0-0000-7000-8000-000000000000", "machine:"} {
		ctx := bus.WithMeta(bg, bus.Meta{Principal: p})
		callErr(t, ctx, h, contract.GetMe, contract.Empty{}, bus.CodeUnauthorized, "principal")
	}
	// Strict decoding: an object where a string belongs.
	_, err := h.bus.Request(bg, contract.AuthQueue, "login", []byte(`{"email":{"$gt":""},"password":"x"}`))
	if bus.CodeOf(err) != bus.CodeInvalid || !strings.Contains(err.Error(), `"email"`) {
		t.Fatalf("operator injection: %v", err)
	}
	// Nothing was written.
	if _, total, _ := h.Module.store.ListUsers(bg, "", 10); total != 0 {
		t.Fatalf("bad input created %d users", total)
	}
}

func TestDevMailer(t *testing.T) {
	h := start(t, storetest.SQLite(t), Config{BcryptCost: bcrypt.MinCost, AllowWeakCost: true, Mailer: newDevMailer(slog.Default())})
	bg := context.Background()
	call(t, bg, h, contract.Register, contract.RegisterRequest{Email: "ann@example.com", Password: pw1, Client: client})
	call(t, bg, h, contract.RequestPasswordReset, contract.PasswordResetRequest{Email: "ann@example.com", Client: client})
	deadline := time.Now().Add(5 * time.Second)
	for {
		page := call(t, bg, h, contract.ListMail, contract.Empty{})
		if page.Total == 1 && page.Items[0].To == "ann@example.com" && strings.Contains(page.Items[0].Body, "?token=") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dev mail %+v", page)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
