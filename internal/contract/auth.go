package contract

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/shopengine/shop/internal/bus"
)

// Role is what a user may do: customers shop, admins also run the shop
// (the /api/v1/admin routes).
type Role string

// Roles.
const (
	RoleCustomer Role = "customer"
	RoleAdmin    Role = "admin"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleCustomer || r == RoleAdmin }

// Limits of the auth module, checked on every write.
const (
	// MaxEmailLen is RFC 5321's limit of a forward path.
	MaxEmailLen = 254
	// MinPasswordLen and MaxPasswordLen bound passwords, in characters.
	MinPasswordLen = 8
	MaxPasswordLen = 128
	// MaxUserNameLen bounds a display name, in characters.
	MaxUserNameLen = 100
	// MaxUserPage bounds a page of list_users; DefaultUserPage is used
	// when none is given.
	MaxUserPage     = 100
	DefaultUserPage = 20
)

// User is an account. Email is trimmed, lowercased and unique.
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"display_name"`
	Role      Role      `json:"role"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Client is what web tells auth about the HTTP client behind a request:
// the address throttling counts by, and the user agent a session list shows.
type Client struct {
	IP        string `json:"ip"`
	UserAgent string `json:"user_agent,omitempty"`
}

// RegisterRequest creates a customer account and logs it in.
type RegisterRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"display_name,omitempty"`
	Client   Client `json:"client"`
	// PreviousToken is the session token the client held before, if any:
	// it is revoked, never promoted.
	PreviousToken string `json:"previous_token,omitempty"`
}

// LoginRequest exchanges credentials for a new session.
type LoginRequest struct {
	Email         string `json:"email"`
	Password      string `json:"password"`
	Client        Client `json:"client"`
	PreviousToken string `json:"previous_token,omitempty"`
}

// SessionGrant is a new session: the token (given only here, never stored
// in clear) and when it ends at the latest.
type SessionGrant struct {
	Token     string    `json:"token"`
	SessionID string    `json:"session_id"`
	ExpiresAt time.Time `json:"expires_at"` // the absolute lifetime
	User      User      `json:"user"`
}

// ResolveSessionRequest asks whose session token this is.
type ResolveSessionRequest struct {
	Token string `json:"token"`
}

// ResolvedSession is a live session's principal. Callers may cache it for
// at most MaxPrincipalCache: a logged-out token must fail everywhere
// within a second.
type ResolvedSession struct {
	Principal Principal `json:"principal"`
	ExpiresAt time.Time `json:"expires_at"` // the absolute lifetime
}

// MaxPrincipalCache bounds how long a caller may reuse a resolved session.
const MaxPrincipalCache = 500 * time.Millisecond

// ChangePasswordRequest changes the caller's password; the other sessions
// of the user are revoked.
type ChangePasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// ChangeNameRequest changes the caller's display name; with Version > 0
// only if the account is still at that version.
type ChangeNameRequest struct {
	Name    string `json:"display_name"`
	Version int64  `json:"version,omitempty"`
}

// Session is a live session as its user sees it.
type Session struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"` // absolute; the idle timeout may end it sooner
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	Current    bool      `json:"current"`
}

// SessionID addresses one of the caller's sessions.
type SessionID struct {
	ID string `json:"id"`
}

// RevokedSessions counts the sessions a call revoked.
type RevokedSessions struct {
	Revoked int `json:"revoked"`
}

// PasswordResetRequest asks for a reset mail. The reply is the same
// whether or not the address has an account.
type PasswordResetRequest struct {
	Email  string `json:"email"`
	Client Client `json:"client"`
}

// ConfirmPasswordResetRequest sets a new password with a mailed token;
// every session of the user is revoked.
type ConfirmPasswordResetRequest struct {
	Token       string `json:"token"`
	NewPassword string `json:"new_password"`
}

// ListUsersRequest asks for a page of users in creation order; Cursor is
// the NextCursor of the page before.
type ListUsersRequest struct {
	Cursor string `json:"cursor,omitempty"`
	Limit  int    `json:"limit,omitempty"`
}

// SetRoleRequest gives a user a role; with Version > 0 only if the user
// is still at that version. The user's sessions are revoked, so that the
// new role comes with a new token.
type SetRoleRequest struct {
	ID      string `json:"id"`
	Role    Role   `json:"role"`
	Version int64  `json:"version,omitempty"`
}

// CreateUserRequest creates an account with a role without logging it in:
// the first admin, from `shop user create`. It needs an admin principal.
type CreateUserRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"display_name,omitempty"`
	Role     Role   `json:"role"`
}

// Mail is a message the auth module sent, as the development mail page
// shows it.
type Mail struct {
	To      string    `json:"to"`
	Subject string    `json:"subject"`
	Body    string    `json:"body"`
	Sent    time.Time `json:"sent"`
}

// Auth endpoints. Those about "the caller" read the caller's principal
// from the bus meta, never from the body.
var (
	Register             = bus.Endpoint[RegisterRequest, SessionGrant]{Queue: AuthQueue, Op: "register"}
	Login                = bus.Endpoint[LoginRequest, SessionGrant]{Queue: AuthQueue, Op: "login"}
	Logout               = bus.Endpoint[Empty, Empty]{Queue: AuthQueue, Op: "logout"}
	ResolveSession       = bus.Endpoint[ResolveSessionRequest, ResolvedSession]{Queue: AuthQueue, Op: "resolve_session"}
	GetMe                = bus.Endpoint[Empty, User]{Queue: AuthQueue, Op: "get_me"}
	ChangePassword       = bus.Endpoint[ChangePasswordRequest, Empty]{Queue: AuthQueue, Op: "change_password"}
	ChangeName           = bus.Endpoint[ChangeNameRequest, User]{Queue: AuthQueue, Op: "change_name"}
	ListSessions         = bus.Endpoint[Empty, Page[Session]]{Queue: AuthQueue, Op: "list_sessions"}
	RevokeSession        = bus.Endpoint[SessionID, RevokedSessions]{Queue: AuthQueue, Op: "revoke_session"}
	RevokeOtherSessions  = bus.Endpoint[Empty, RevokedSessions]{Queue: AuthQueue, Op: "revoke_other_sessions"}
	RequestPasswordReset = bus.Endpoint[PasswordResetRequest, Empty]{Queue: AuthQueue, Op: "request_password_reset"}
	ConfirmPasswordReset = bus.Endpoint[ConfirmPasswordResetRequest, Empty]{Queue: AuthQueue, Op: "confirm_password_reset"}
	ListUsers            = bus.Endpoint[ListUsersRequest, Page[User]]{Queue: AuthQueue, Op: "list_users"}
	SetRole              = bus.Endpoint[SetRoleRequest, User]{Queue: AuthQueue, Op: "set_role"}
	CreateUser           = bus.Endpoint[CreateUserRequest, User]{Queue: AuthQueue, Op: "create_user"}
	// ListMail answers only in development mode (no SMTP): the last
	// messages the mailer logged instead of sending.
	ListMail = bus.Endpoint[Empty, Page[Mail]]{Queue: AuthQueue, Op: "list_mail"}
)

// UserEvent is the payload of every user event. Auth commits each with
// the write it announces (its transactional outbox) and publishes it
// afterwards, at least once: EventID is also the event's id on the bus
// (bus.Event.ID), the same on every delivery, and a consumer ignores an
// event whose Version is not newer than what it holds.
type UserEvent struct {
	EventID string `json:"event_id"`
	ID      string `json:"id"`
	Email   string `json:"email"`
	Role    Role   `json:"role"`
	Version int64  `json:"version"`
}

// User events.
var (
	UserCreated     = bus.EventType[UserEvent]{Topic: "auth.user_created"}
	UserRoleChanged = bus.EventType[UserEvent]{Topic: "auth.user_role_changed"}
)

// Principal is who a bus request acts for: a signed-in user (with the
// session it came through) or a machine (the admin token, the CLI). Web
// sets it, in bus.Meta.Principal, from the session it resolved through
// auth; modules authorise from it and never from a body field.
//
// Encoding, one ASCII line, so that it fits an AMQP header and a log:
//
//	user:<user id>:<role>:<session id>   a signed-in user
//	machine:<name>                       a trusted machine (role admin)
//	(empty)                              anonymous
type Principal struct {
	UserID    string `json:"user_id,omitempty"`
	Role      Role   `json:"role,omitempty"`
	SessionID string `json:"session_id,omitempty"`
	Machine   string `json:"machine,omitempty"`
}

// Machine principals.
const (
	// MachineAdminToken is a request made with SHOP_ADMIN_TOKEN.
	MachineAdminToken = "admin-token"
	// MachineCLI is a `shop` command acting on the bus (user create).
	MachineCLI = "cli"
)

var machineRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// String encodes p for bus.Meta.Principal.
func (p Principal) String() string {
	switch {
	case p.Machine != "":
		return "machine:" + p.Machine
	case p.UserID != "":
		return "user:" + p.UserID + ":" + string(p.Role) + ":" + p.SessionID
	}
	return ""
}

// Anonymous reports whether p is nobody.
func (p Principal) Anonymous() bool { return p.Machine == "" && p.UserID == "" }

// IsUser reports whether p is a signed-in user.
func (p Principal) IsUser() bool { return p.Machine == "" && p.UserID != "" }

// IsAdmin reports whether p may use the admin API: an admin user or a
// trusted machine.
func (p Principal) IsAdmin() bool { return p.Machine != "" || (p.UserID != "" && p.Role == RoleAdmin) }

// ParsePrincipal decodes and validates an encoded principal; "" is the
// anonymous principal. Anything malformed is an error: a module must not
// guess who a request is for.
func ParsePrincipal(s string) (Principal, error) {
	if s == "" {
		return Principal{}, nil
	}
	if name, ok := strings.CutPrefix(s, "machine:"); ok {
		if !machineRE.MatchString(name) {
			return Principal{}, bus.Errorf(bus.CodeUnauthorized, "principal %.80q: bad machine name", s)
		}
		return Principal{Machine: name}, nil
	}
	rest, ok := strings.CutPrefix(s, "user:")
	parts := strings.Split(rest, ":")
	if !ok || len(parts) != 3 {
		return Principal{}, bus.Errorf(bus.CodeUnauthorized, "principal %.80q: want user:<id>:<role>:<session> or machine:<name>", s)
	}
	p := Principal{UserID: parts[0], Role: Role(parts[1]), SessionID: parts[2]}
	if !isUUID(p.UserID) || !isUUID(p.SessionID) || !p.Role.Valid() {
		return Principal{}, bus.Errorf(bus.CodeUnauthorized, "principal %.80q: bad user id, role or session id", s)
	}
	return p, nil
}

func isUUID(s string) bool {
	_, err := uuid.Parse(s)
	return len(s) == 36 && err == nil
}

// WithPrincipal returns ctx whose outgoing bus requests act for p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	m := bus.MetaFrom(ctx)
	m.Principal = p.String()
	return bus.WithMeta(ctx, m)
}

// PrincipalFrom returns the principal a handler's request acts for.
func PrincipalFrom(ctx context.Context) (Principal, error) {
	return ParsePrincipal(bus.MetaFrom(ctx).Principal)
}

// RequireUser returns the signed-in user a request acts for, or
// unauthorized.
func RequireUser(ctx context.Context) (Principal, error) {
	p, err := PrincipalFrom(ctx)
	if err != nil {
		return p, err
	}
	if !p.IsUser() {
		return p, bus.Errorf(bus.CodeUnauthorized, "sign in first")
	}
	return p, nil
}

// AdminOnly wraps the handler of an op only admins may call (a catalogue
// write): the module authorises from the caller's principal — the bus's
// caller-principal header, set by web from the session or the admin token,
// or a trusted machine's — never from a body field, so a process on the bus
// that is not web cannot write as nobody.
func AdminOnly[Req, Resp any](fn func(context.Context, Req) (Resp, error)) func(context.Context, Req) (Resp, error) {
	return func(ctx context.Context, req Req) (Resp, error) {
		if _, err := RequireAdmin(ctx); err != nil {
			var zero Resp
			return zero, err
		}
		return fn(ctx, req)
	}
}

// RequireAdmin returns the admin principal a request acts for, or
// unauthorized (nobody) or forbidden (not an admin).
func RequireAdmin(ctx context.Context) (Principal, error) {
	p, err := PrincipalFrom(ctx)
	if err != nil {
		return p, err
	}
	switch {
	case p.Anonymous():
		return p, bus.Errorf(bus.CodeUnauthorized, "sign in as an admin first")
	case !p.IsAdmin():
		return p, bus.Errorf(bus.CodeForbidden, "admins only")
	}
	return p, nil
}

// CallerIsAdmin reports whether the request's caller is an admin: what a
// read that hides unpublished entities from the public asks (an
// unreadable principal is nobody's).
func CallerIsAdmin(ctx context.Context) bool {
	p, err := PrincipalFrom(ctx)
	return err == nil && p.IsAdmin()
}
