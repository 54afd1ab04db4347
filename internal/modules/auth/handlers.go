package auth

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
	"github.com/shopengine/shop/internal/validate"
)

// maxUserAgentLen bounds the user agent kept with a session.
const maxUserAgentLen = 256

// checkEmail returns the normalised email: trimmed, lowercased, at most
// 254 characters, exactly one @ with something on both sides, and nothing
// net/mail would read differently.
func checkEmail(email string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	switch {
	case e == "":
		return "", bus.Errorf(bus.CodeInvalid, "email: required")
	case !utf8.ValidString(e):
		return "", bus.Errorf(bus.CodeInvalid, "email: invalid UTF-8")
	case utf8.RuneCountInString(e) > contract.MaxEmailLen:
		return "", bus.Errorf(bus.CodeInvalid, "email: longer than %d characters", contract.MaxEmailLen)
	case strings.ContainsFunc(e, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }):
		return "", bus.Errorf(bus.CodeInvalid, "email: contains spaces or control characters")
	case strings.Count(e, "@") != 1:
		return "", bus.Errorf(bus.CodeInvalid, "email: must have exactly one @")
	}
	local, domain, _ := strings.Cut(e, "@")
	if local == "" || domain == "" || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return "", bus.Errorf(bus.CodeInvalid, "email %q: want name@domain", e)
	}
	if a, err := mail.ParseAddress(e); err != nil || a.Address != e {
		return "", bus.Errorf(bus.CodeInvalid, "email %q: not an address", e)
	}
	return e, nil
}

func checkUserName(name string) (string, error) {
	if strings.TrimSpace(name) == "" {
		return "", nil
	}
	return validate.Name("display_name", name, contract.MaxUserNameLen)
}

// checkClient validates what web says about the HTTP client.
func checkClient(c contract.Client) (contract.Client, error) {
	if c.IP != "" {
		if _, err := netip.ParseAddr(c.IP); err != nil {
			return c, bus.Errorf(bus.CodeInvalid, "client.ip %.60q: not an IP address", c.IP)
		}
	}
	ua := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(c.UserAgent, ""))
	if utf8.RuneCountInString(ua) > maxUserAgentLen {
		ua = string([]rune(ua)[:maxUserAgentLen])
	}
	c.UserAgent = ua
	return c, nil
}

// unknownSession is the one answer for a token that is malformed,
// unknown, expired or revoked.
func unknownSession() error {
	return bus.Errorf(bus.CodeUnauthorized, "session unknown or expired; sign in again")
}

// wrongCredentials is the one answer for an unknown email and a wrong
// password.
func wrongCredentials() error {
	return bus.Errorf(bus.CodeUnauthorized, "wrong email or password")
}

func (m *Module) user(ctx context.Context, id string) (UserRecord, error) {
	u, err := m.store.UserByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return u, bus.Errorf(bus.CodeNotFound, "user %s not found", id)
	}
	return u, err
}

// newSession stores a new session for u and returns its grant, first
// revoking the token the client held before: a session from before a
// login is never promoted.
func (m *Module) newSession(ctx context.Context, u UserRecord, client contract.Client, previous string) (contract.SessionGrant, error) {
	if previous != "" && wellFormedToken(previous) {
		if err := m.store.DeleteSessionByToken(ctx, hashToken(previous)); err != nil {
			return contract.SessionGrant{}, err
		}
	}
	now := m.now()
	token, hash := newToken()
	s := SessionRecord{ID: uuid.Must(uuid.NewV7()).String(), TokenHash: hash, UserID: u.ID, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(m.cfg.MaxLifetime), IP: client.IP, UserAgent: client.UserAgent}
	s.IdleExpiresAt = earliest(now.Add(m.cfg.IdleTimeout), s.ExpiresAt)
	if err := m.store.InsertSession(ctx, s); err != nil {
		return contract.SessionGrant{}, err
	}
	return contract.SessionGrant{Token: token, SessionID: s.ID, ExpiresAt: s.ExpiresAt, User: u.User}, nil
}

// newUser checks and hashes a new account (not yet stored).
func (m *Module) newUser(ctx context.Context, email, password, name string, role contract.Role) (UserRecord, error) {
	email, err := checkEmail(email)
	if err != nil {
		return UserRecord{}, err
	}
	if name, err = checkUserName(name); err != nil {
		return UserRecord{}, err
	}
	if err := checkPasswordShape("password", password); err != nil {
		return UserRecord{}, err
	}
	if !role.Valid() {
		return UserRecord{}, bus.Errorf(bus.CodeInvalid, "role %q: want customer or admin", role)
	}
	now := m.now()
	u := UserRecord{User: contract.User{ID: uuid.Must(uuid.NewV7()).String(), Email: email, Name: name, Role: role,
		Version: 1, CreatedAt: now, UpdatedAt: now}}
	return u, nil
}

func (m *Module) register(ctx context.Context, req contract.RegisterRequest) (contract.SessionGrant, error) {
	client, err := checkClient(req.Client)
	if err != nil {
		return contract.SessionGrant{}, err
	}
	u, err := m.newUser(ctx, req.Email, req.Password, req.Name, contract.RoleCustomer)
	if err != nil {
		return contract.SessionGrant{}, err
	}
	guards := loginGuards(client.IP, u.Email)
	prevs, err := m.throttled(ctx, guards)
	if err != nil {
		return contract.SessionGrant{}, err
	}
	if u.PasswordHash, err = m.hashes.hash(ctx, "password", req.Password, userInputs(u.Email, u.Name)); err != nil {
		return contract.SessionGrant{}, err
	}
	created, err := userEvent(contract.UserCreated, u.User)
	if err != nil {
		return contract.SessionGrant{}, err
	}
	if err := m.store.InsertUser(ctx, u, created); errors.Is(err, store.ErrDuplicate) {
		// A taken email counts as a failed sign-in, so probing for
		// accounts by registering is throttled like guessing passwords.
		if err := m.fail(ctx, guards, prevs); err != nil {
			return contract.SessionGrant{}, err
		}
		return contract.SessionGrant{}, bus.Errorf(bus.CodeConflict, "this email cannot be registered; if it is yours, sign in or reset the password")
	} else if err != nil {
		return contract.SessionGrant{}, err
	}
	m.relay.Notify()
	return m.newSession(ctx, u, client, req.PreviousToken)
}

func (m *Module) createUser(ctx context.Context, req contract.CreateUserRequest) (contract.User, error) {
	if _, err := contract.RequireAdmin(ctx); err != nil {
		return contract.User{}, err
	}
	u, err := m.newUser(ctx, req.Email, req.Password, req.Name, req.Role)
	if err != nil {
		return contract.User{}, err
	}
	if u.PasswordHash, err = m.hashes.hash(ctx, "password", req.Password, userInputs(u.Email, u.Name)); err != nil {
		return contract.User{}, err
	}
	created, err := userEvent(contract.UserCreated, u.User)
	if err != nil {
		return contract.User{}, err
	}
	if err := m.store.InsertUser(ctx, u, created); errors.Is(err, store.ErrDuplicate) {
		return contract.User{}, bus.Errorf(bus.CodeConflict, "email %s is already registered", u.Email)
	} else if err != nil {
		return contract.User{}, err
	}
	m.relay.Notify()
	return u.User, nil
}

// login answers an unknown email and a wrong password alike, after the
// same work: a throttle check, one lookup, one bcrypt comparison (against
// the dummy hash when there is no user) and one counted failure.
func (m *Module) login(ctx context.Context, req contract.LoginRequest) (contract.SessionGrant, error) {
	client, err := checkClient(req.Client)
	if err != nil {
		return contract.SessionGrant{}, err
	}
	email, err := checkEmail(req.Email)
	if err != nil {
		return contract.SessionGrant{}, err
	}
	if req.Password == "" {
		return contract.SessionGrant{}, bus.Errorf(bus.CodeInvalid, "password: required")
	}
	if utf8.RuneCountInString(req.Password) > contract.MaxPasswordLen {
		return contract.SessionGrant{}, bus.Errorf(bus.CodeInvalid, "password: at most %d characters", contract.MaxPasswordLen)
	}
	guards := loginGuards(client.IP, email)
	prevs, err := m.throttled(ctx, guards)
	if err != nil {
		return contract.SessionGrant{}, err
	}
	u, err := m.store.UserByEmail(ctx, email)
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return contract.SessionGrant{}, err
	}
	hash := m.dummy
	if found {
		hash = u.PasswordHash
	}
	ok, err := m.hashes.compare(ctx, hash, req.Password)
	if err != nil {
		return contract.SessionGrant{}, err
	}
	if !ok || !found {
		if err := m.fail(ctx, guards, prevs); err != nil {
			return contract.SessionGrant{}, err
		}
		return contract.SessionGrant{}, wrongCredentials()
	}
	if err := m.succeed(ctx, guards[0]); err != nil {
		return contract.SessionGrant{}, err
	}
	if m.hashes.stale(u.PasswordHash) {
		u = m.rehash(ctx, u, req.Password)
	}
	return m.newSession(ctx, u, client, req.PreviousToken)
}

// rehash upgrades u's hash to the configured cost. A failure is logged,
// not fatal: the old hash still works.
func (m *Module) rehash(ctx context.Context, u UserRecord, password string) UserRecord {
	hash, err := m.hashes.hash(ctx, "password", password, nil)
	if err != nil && bus.CodeOf(err) == bus.CodeInvalid {
		// A password from before the strength rule: keep it, rehashed.
		err = m.hashes.do(ctx, func() error {
			h, err := bcryptHash(password, m.hashes.cost)
			hash = h
			return err
		})
	}
	if err != nil {
		m.log.Warn("password hash not upgraded", "user", u.ID, "err", err)
		return u
	}
	next := u
	next.PasswordHash, next.Version, next.UpdatedAt = hash, u.Version+1, m.now()
	if err := m.store.UpdateUser(ctx, next, u.Version); err != nil {
		m.log.Warn("password hash not upgraded", "user", u.ID, "err", err)
		return u
	}
	return next
}

func (m *Module) logout(ctx context.Context, _ contract.Empty) (contract.Empty, error) {
	p, err := contract.RequireUser(ctx)
	if err != nil {
		return contract.Empty{}, err
	}
	if err := m.store.DeleteSession(ctx, p.UserID, p.SessionID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return contract.Empty{}, err
	}
	return contract.Empty{}, nil
}

// resolve is on every page view's path: one indexed read, and a write
// at most once a minute per session to slide its idle expiry.
func (m *Module) resolve(ctx context.Context, req contract.ResolveSessionRequest) (contract.ResolvedSession, error) {
	if !wellFormedToken(req.Token) {
		return contract.ResolvedSession{}, unknownSession()
	}
	now := m.now()
	s, role, err := m.store.SessionByToken(ctx, hashToken(req.Token), now)
	if errors.Is(err, store.ErrNotFound) {
		return contract.ResolvedSession{}, unknownSession()
	}
	if err != nil {
		return contract.ResolvedSession{}, err
	}
	if now.Sub(s.LastSeenAt) >= touchEvery {
		if err := m.store.TouchSession(ctx, s.ID, now, earliest(now.Add(m.cfg.IdleTimeout), s.ExpiresAt)); err != nil {
			m.log.Warn("session not touched", "session", s.ID, "err", err)
		}
	}
	return contract.ResolvedSession{Principal: contract.Principal{UserID: s.UserID, Role: role, SessionID: s.ID}, ExpiresAt: s.ExpiresAt}, nil
}

func (m *Module) me(ctx context.Context, _ contract.Empty) (contract.User, error) {
	p, err := contract.RequireUser(ctx)
	if err != nil {
		return contract.User{}, err
	}
	u, err := m.user(ctx, p.UserID)
	return u.User, err
}

func (m *Module) changePassword(ctx context.Context, req contract.ChangePasswordRequest) (contract.Empty, error) {
	p, err := contract.RequireUser(ctx)
	if err != nil {
		return contract.Empty{}, err
	}
	if req.CurrentPassword == "" {
		return contract.Empty{}, bus.Errorf(bus.CodeInvalid, "current_password: required")
	}
	if err := checkPasswordShape("new_password", req.NewPassword); err != nil {
		return contract.Empty{}, err
	}
	u, err := m.user(ctx, p.UserID)
	if err != nil {
		return contract.Empty{}, err
	}
	// A stolen session must not make the current password guessable.
	guards := []guard{{pairLimit, "session\x00" + p.SessionID}}
	prevs, err := m.throttled(ctx, guards)
	if err != nil {
		return contract.Empty{}, err
	}
	ok, err := m.hashes.compare(ctx, u.PasswordHash, req.CurrentPassword)
	if err != nil {
		return contract.Empty{}, err
	}
	if !ok {
		if err := m.fail(ctx, guards, prevs); err != nil {
			return contract.Empty{}, err
		}
		return contract.Empty{}, bus.Errorf(bus.CodeInvalid, "current_password: wrong password")
	}
	if err := m.setPassword(ctx, u, req.NewPassword, "new_password", p.SessionID); err != nil {
		return contract.Empty{}, err
	}
	return contract.Empty{}, m.succeed(ctx, guards[0])
}

// setPassword hashes and stores a new password for u, then revokes u's
// sessions but keep ("" for all) and any reset token.
func (m *Module) setPassword(ctx context.Context, u UserRecord, password, field, keep string) error {
	hash, err := m.hashes.hash(ctx, field, password, userInputs(u.Email, u.Name))
	if err != nil {
		return err
	}
	next := u
	next.PasswordHash, next.Version, next.UpdatedAt = hash, u.Version+1, m.now()
	if err := m.store.UpdateUser(ctx, next, u.Version); errors.Is(err, store.ErrStale) {
		return bus.Errorf(bus.CodeConflict, "the account changed meanwhile; try again")
	} else if err != nil {
		return err
	}
	if _, err := m.store.DeleteUserSessions(ctx, u.ID, keep); err != nil {
		return err
	}
	return m.store.DeleteResetTokens(ctx, u.ID)
}

func (m *Module) changeName(ctx context.Context, req contract.ChangeNameRequest) (contract.User, error) {
	p, err := contract.RequireUser(ctx)
	if err != nil {
		return contract.User{}, err
	}
	name, err := checkUserName(req.Name)
	if err != nil {
		return contract.User{}, err
	}
	u, err := m.user(ctx, p.UserID)
	if err != nil {
		return contract.User{}, err
	}
	return m.update(ctx, u, req.Version, nil, func(u *UserRecord) { u.Name = name })
}

// update applies change to u and stores it as the next version, if u is
// still at want (0: whatever it is), with the event of type announce
// about the next version (nil: none) committed in the same write.
func (m *Module) update(ctx context.Context, u UserRecord, want int64, announce *bus.EventType[contract.UserEvent], change func(*UserRecord)) (contract.User, error) {
	if want > 0 && want != u.Version {
		return contract.User{}, bus.Errorf(bus.CodeConflict, "user %s is at version %d, not %d", u.ID, u.Version, want)
	}
	next := u
	change(&next)
	next.Version, next.UpdatedAt = u.Version+1, m.now()
	var events []outbox.Event
	if announce != nil {
		ev, err := userEvent(*announce, next.User)
		if err != nil {
			return contract.User{}, err
		}
		events = append(events, ev)
	}
	switch err := m.store.UpdateUser(ctx, next, u.Version, events...); {
	case errors.Is(err, store.ErrStale):
		return contract.User{}, bus.Errorf(bus.CodeConflict, "user %s changed meanwhile; read it again", u.ID)
	case errors.Is(err, store.ErrNotFound):
		return contract.User{}, bus.Errorf(bus.CodeNotFound, "user %s not found", u.ID)
	case err != nil:
		return contract.User{}, err
	}
	if len(events) > 0 {
		m.relay.Notify()
	}
	return next.User, nil
}

func (m *Module) sessions(ctx context.Context, _ contract.Empty) (contract.Page[contract.Session], error) {
	p, err := contract.RequireUser(ctx)
	if err != nil {
		return contract.Page[contract.Session]{}, err
	}
	list, err := m.store.Sessions(ctx, p.UserID, m.now())
	if err != nil {
		return contract.Page[contract.Session]{}, err
	}
	out := make([]contract.Session, len(list))
	for i, s := range list {
		out[i] = contract.Session{ID: s.ID, CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt, ExpiresAt: s.ExpiresAt,
			IP: s.IP, UserAgent: s.UserAgent, Current: s.ID == p.SessionID}
	}
	return contract.Page[contract.Session]{Items: out, Total: len(out)}, nil
}

func (m *Module) revokeSession(ctx context.Context, req contract.SessionID) (contract.RevokedSessions, error) {
	p, err := contract.RequireUser(ctx)
	if err != nil {
		return contract.RevokedSessions{}, err
	}
	if err := validate.ID("id", req.ID); err != nil {
		return contract.RevokedSessions{}, err
	}
	if err := m.store.DeleteSession(ctx, p.UserID, req.ID); errors.Is(err, store.ErrNotFound) {
		return contract.RevokedSessions{}, bus.Errorf(bus.CodeNotFound, "you have no session %s", req.ID)
	} else if err != nil {
		return contract.RevokedSessions{}, err
	}
	return contract.RevokedSessions{Revoked: 1}, nil
}

func (m *Module) revokeOthers(ctx context.Context, _ contract.Empty) (contract.RevokedSessions, error) {
	p, err := contract.RequireUser(ctx)
	if err != nil {
		return contract.RevokedSessions{}, err
	}
	n, err := m.store.DeleteUserSessions(ctx, p.UserID, p.SessionID)
	return contract.RevokedSessions{Revoked: n}, err
}

// requestReset answers the same, after the same work, whether or not the
// email has an account: the token and the mail are made in the background.
func (m *Module) requestReset(ctx context.Context, req contract.PasswordResetRequest) (contract.Empty, error) {
	client, err := checkClient(req.Client)
	if err != nil {
		return contract.Empty{}, err
	}
	email, err := checkEmail(req.Email)
	if err != nil {
		return contract.Empty{}, err
	}
	guards := []guard{{resetLimit, clientKey(client.IP)}}
	prevs, err := m.throttled(ctx, guards)
	if err != nil {
		return contract.Empty{}, err
	}
	if err := m.fail(ctx, guards, prevs); err != nil { // every request counts
		return contract.Empty{}, err
	}
	u, err := m.store.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return contract.Empty{}, nil
	}
	if err != nil {
		return contract.Empty{}, err
	}
	m.mailing.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := m.sendReset(ctx, u); err != nil {
			m.log.Error("password reset mail not sent", "user", u.ID, "err", err)
		}
	})
	return contract.Empty{}, nil
}

func (m *Module) sendReset(ctx context.Context, u UserRecord) error {
	now := m.now()
	cur, _ := mailLimit.keys(u.ID, now)
	n, err := m.store.AddFailure(ctx, cur, mailLimit.expires(now))
	if err != nil {
		return err
	}
	if n > mailLimit.free {
		m.log.Warn("password reset mail withheld: too many for this account", "user", u.ID)
		return nil
	}
	token, hash := newToken()
	if err := m.store.InsertResetToken(ctx, ResetToken{TokenHash: hash, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(resetLifetime)}); err != nil {
		return err
	}
	link := strings.TrimSuffix(m.cfg.PublicURL, "/") + "/account/password-reset?token=" + url.QueryEscape(token)
	body := fmt.Sprintf(`Someone, hopefully you, asked to reset the password of your account %s.

To choose a new password, open this link within 30 minutes:

%s

or send the token below to POST /api/v1/auth/password-reset/confirm:

%s

The link works once. Resetting signs you out everywhere. If you did not
ask for this, ignore this message: your password stays as it is.
`, u.Email, link, token)
	return m.mailer.Send(ctx, u.Email, "Reset your password", body)
}

func (m *Module) confirmReset(ctx context.Context, req contract.ConfirmPasswordResetRequest) (contract.Empty, error) {
	if req.Token == "" {
		return contract.Empty{}, bus.Errorf(bus.CodeInvalid, "token: required")
	}
	if err := checkPasswordShape("new_password", req.NewPassword); err != nil {
		return contract.Empty{}, err
	}
	badToken := bus.Errorf(bus.CodeInvalid, "token: unknown, used or expired; ask for a new reset mail")
	if !wellFormedToken(req.Token) {
		return contract.Empty{}, badToken
	}
	// A weak new password must not use up the token.
	if err := m.hashes.do(ctx, func() error { return checkPasswordStrength("new_password", req.NewPassword, nil) }); err != nil {
		return contract.Empty{}, err
	}
	r, err := m.store.TakeResetToken(ctx, hashToken(req.Token), m.now())
	if errors.Is(err, store.ErrNotFound) {
		return contract.Empty{}, badToken
	}
	if err != nil {
		return contract.Empty{}, err
	}
	u, err := m.user(ctx, r.UserID)
	if err != nil {
		return contract.Empty{}, err
	}
	return contract.Empty{}, m.setPassword(ctx, u, req.NewPassword, "new_password", "")
}

func (m *Module) listUsers(ctx context.Context, req contract.ListUsersRequest) (contract.Page[contract.User], error) {
	if _, err := contract.RequireAdmin(ctx); err != nil {
		return contract.Page[contract.User]{}, err
	}
	if req.Cursor != "" {
		if err := validate.ID("cursor", req.Cursor); err != nil {
			return contract.Page[contract.User]{}, err
		}
	}
	limit := req.Limit
	if limit == 0 {
		limit = contract.DefaultUserPage
	}
	if limit < 1 || limit > contract.MaxUserPage {
		return contract.Page[contract.User]{}, bus.Errorf(bus.CodeInvalid, "limit %d: want 1 to %d", limit, contract.MaxUserPage)
	}
	items, total, err := m.store.ListUsers(ctx, req.Cursor, limit+1)
	if err != nil {
		return contract.Page[contract.User]{}, err
	}
	page := contract.Page[contract.User]{Items: items, Total: total}
	if len(items) > limit {
		page.Items = items[:limit]
		page.NextCursor = items[limit-1].ID
	}
	return page, nil
}

func (m *Module) setRole(ctx context.Context, req contract.SetRoleRequest) (contract.User, error) {
	if _, err := contract.RequireAdmin(ctx); err != nil {
		return contract.User{}, err
	}
	if err := validate.ID("id", req.ID); err != nil {
		return contract.User{}, err
	}
	if !req.Role.Valid() {
		return contract.User{}, bus.Errorf(bus.CodeInvalid, "role %q: want customer or admin", req.Role)
	}
	u, err := m.user(ctx, req.ID)
	if err != nil {
		return contract.User{}, err
	}
	if u.Role == req.Role && (req.Version == 0 || req.Version == u.Version) {
		return u.User, nil
	}
	next, err := m.update(ctx, u, req.Version, &contract.UserRoleChanged, func(u *UserRecord) { u.Role = req.Role })
	if err != nil {
		return contract.User{}, err
	}
	// The new role comes with a new token: the old sessions end.
	if _, err := m.store.DeleteUserSessions(ctx, u.ID, ""); err != nil {
		return contract.User{}, err
	}
	return next, nil
}

// userEvent is the pending event of type et about u, at the version the
// write commits, for the store to commit with that write (the relay
// publishes it). The payload's event_id is the event's id on the bus, so
// a consumer that dedupes by either sees one event however often the
// relay delivers it.
func userEvent(et bus.EventType[contract.UserEvent], u contract.User) (outbox.Event, error) {
	e := contract.UserEvent{EventID: uuid.Must(uuid.NewV7()).String(), ID: u.ID, Email: u.Email, Role: u.Role, Version: u.Version}
	ev, err := outbox.New(et, u.ID, e)
	if err != nil {
		return outbox.Event{}, err
	}
	ev.ID = e.EventID
	return ev, nil
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
