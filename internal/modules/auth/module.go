// Package auth is the auth module: accounts, sessions, login throttling,
// password resets and roles. It serves the "auth" queue (internal/contract's
// auth endpoints); web resolves every session token through it and passes
// the resulting principal to the other modules in bus.Meta.Principal.
//
// Passwords: 8 to 128 characters, refused when zxcvbn scores them below 2
// (the common passwords and their variants, keyboard walks, the user's own
// email or name), hashed with bcrypt at cost 12 by default (never below
// 10; a hash of another cost is redone at the next successful login).
// bcrypt reads only 72 bytes, so every password is pre-hashed first: the
// bcrypt input is base64(HMAC-SHA-256("shopengine/shop auth password v1",
// password)), 44 printable bytes, so no two passwords collide by sharing
// a 72-byte prefix and no NUL byte reaches bcrypt. bcrypt and zxcvbn run in
// at most one slot per CPU but one per process (at least one); a login
// that waits more than 2 s for one fails unavailable with a retry-after.
//
// Sessions: 256-bit random tokens, stored only as SHA-256, with a sliding
// idle timeout (24 h) and an absolute lifetime (30 days). Every login and
// registration creates a new session (the token the client had before is
// revoked, never promoted), and a role change revokes the user's sessions,
// so the new role comes with a new token.
//
// Events: auth.user_created (register, create_user) and
// auth.user_role_changed (set_role) commit with the write they announce,
// in the store's outbox (see Store), and the module's relay publishes
// them afterwards, at least once, even when the broker was down or the
// process died between the commit and the publish. Every event carries
// the user's version and its event id (the id it has on the bus too), so
// a consumer ignores one that is not newer than what it holds.
//
// Throttling: failed logins (and registrations of a taken email) count
// per (address, email) with an exponential delay and per address with a
// looser budget; the counters are in the module's store, shared by every
// instance. An unknown email runs bcrypt against a dummy hash, so it
// answers like a wrong password, in the same time.
//
// The package has the shape of every module (see package category).
package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
)

// Config tunes the module; the zero value is the production default
// with the development mailer.
type Config struct {
	// BcryptCost is the cost of new hashes: 0 means DefaultCost; below
	// MinCost is refused.
	BcryptCost int
	// AllowWeakCost lets BcryptCost go below MinCost. Tests only.
	AllowWeakCost bool
	// IdleTimeout ends a session unused for that long (default 24 h);
	// MaxLifetime ends any session that old (default 30 days).
	IdleTimeout time.Duration
	MaxLifetime time.Duration
	// SweepInterval is how often expired sessions, counters and reset
	// tokens are deleted (default 10 min).
	SweepInterval time.Duration
	// HashSlots bounds concurrent bcrypt work: default one per CPU but
	// one (at least one), so that a login flood leaves a core to page and
	// API traffic (measured on 2 cores: GET /categories/tree p99 9 ms
	// during a flood with 1 slot, 123 ms with 2);
	// HashWait is how long a request waits for a slot (default 2 s).
	HashSlots int
	HashWait  time.Duration
	// SMTPURL sends mail through SMTP (smtp:// or smtps://); empty logs
	// it instead and keeps the last messages (the development mailer).
	SMTPURL  string
	MailFrom string // default "shop <no-reply@localhost>"
	// PublicURL is the shop's address as users reach it, for links in
	// mail (default http://127.0.0.1:8080).
	PublicURL string
	// Mailer, when set, replaces the one SMTPURL selects (tests).
	Mailer Mailer
}

// Defaults.
const (
	DefaultIdleTimeout   = 24 * time.Hour
	DefaultMaxLifetime   = 30 * 24 * time.Hour
	DefaultSweepInterval = 10 * time.Minute
	DefaultHashWait      = 2 * time.Second
	// resetLifetime is how long a mailed reset token works.
	resetLifetime = 30 * time.Minute
	// touchEvery is how stale last_seen may get before a resolution
	// writes it: sliding expiry without a write per page view.
	touchEvery = time.Minute
)

func (c Config) withDefaults() (Config, error) {
	if c.BcryptCost == 0 {
		c.BcryptCost = DefaultCost
	}
	if c.BcryptCost > bcrypt.MaxCost || c.BcryptCost < bcrypt.MinCost || (c.BcryptCost < MinCost && !c.AllowWeakCost) {
		return c, fmt.Errorf("bcrypt cost %d: want %d to %d", c.BcryptCost, MinCost, bcrypt.MaxCost)
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxLifetime == 0 {
		c.MaxLifetime = DefaultMaxLifetime
	}
	if c.IdleTimeout < time.Minute || c.MaxLifetime < c.IdleTimeout {
		return c, fmt.Errorf("session timeouts: idle %v must be at least 1m and at most the lifetime %v", c.IdleTimeout, c.MaxLifetime)
	}
	if c.SweepInterval == 0 {
		c.SweepInterval = DefaultSweepInterval
	}
	if c.HashSlots == 0 {
		c.HashSlots = max(1, runtime.NumCPU()-1)
	}
	if c.HashWait == 0 {
		c.HashWait = DefaultHashWait
	}
	if c.MailFrom == "" {
		c.MailFrom = "shop <no-reply@localhost>"
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://127.0.0.1:8080"
	}
	return c, nil
}

// Validate checks the configuration as New does, without building
// anything, so that `shop serve` refuses a bad flag (an --smtp-url of
// another scheme or without a host, an unparsable --mail-from, a bcrypt
// cost out of range) before anything starts.
func (c Config) Validate() error {
	c, err := c.withDefaults()
	if err != nil {
		return err
	}
	if _, err := parseFrom(c.MailFrom); err != nil {
		return err
	}
	if c.Mailer == nil && c.SMTPURL != "" {
		if _, err := ParseSMTPURL(c.SMTPURL); err != nil {
			return err
		}
	}
	return nil
}

// Module is one instance of the auth module.
type Module struct {
	bus.Server
	store  Store
	log    *slog.Logger
	cfg    Config
	now    func() time.Time
	hashes *hashing
	// dummy is a hash at the configured cost that no password matches:
	// an unknown email is checked against it, costing what a known one does.
	dummy  string
	mailer Mailer
	// relay publishes the events the store's user writes committed;
	// handlers Notify it after each such write.
	relay *outbox.Relay

	stop     chan struct{}
	sweeping sync.WaitGroup
	mailing  sync.WaitGroup // reset mails in flight
}

// New returns the module with its handlers registered; Start serves them.
func New(b bus.Bus, st Store, cfg Config, log *slog.Logger) (*Module, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	mailer := cfg.Mailer
	if mailer == nil {
		if mailer, err = NewMailer(cfg.SMTPURL, cfg.MailFrom, log); err != nil {
			return nil, err
		}
	}
	m := &Module{Server: bus.NewServer(b, contract.AuthQueue, log), store: st, log: log, cfg: cfg, now: store.Now,
		hashes: &hashing{cost: cfg.BcryptCost, slots: make(chan struct{}, cfg.HashSlots), wait: cfg.HashWait}, mailer: mailer,
		relay: outbox.NewRelay(b, st.Outbox(), log)}
	dummy, err := bcrypt.GenerateFromPassword(prehash("no password matches a hash of a password nobody has"), cfg.BcryptCost)
	if err != nil {
		return nil, fmt.Errorf("dummy hash: %w", err)
	}
	m.dummy = string(dummy)
	bus.Handle(m.Service, contract.Register, m.register)
	bus.Handle(m.Service, contract.Login, m.login)
	bus.Handle(m.Service, contract.Logout, m.logout)
	bus.Handle(m.Service, contract.ResolveSession, m.resolve)
	bus.Handle(m.Service, contract.GetMe, m.me)
	bus.Handle(m.Service, contract.ChangePassword, m.changePassword)
	bus.Handle(m.Service, contract.ChangeName, m.changeName)
	bus.Handle(m.Service, contract.ListSessions, m.sessions)
	bus.Handle(m.Service, contract.RevokeSession, m.revokeSession)
	bus.Handle(m.Service, contract.RevokeOtherSessions, m.revokeOthers)
	bus.Handle(m.Service, contract.RequestPasswordReset, m.requestReset)
	bus.Handle(m.Service, contract.ConfirmPasswordReset, m.confirmReset)
	bus.Handle(m.Service, contract.ListUsers, m.listUsers)
	bus.Handle(m.Service, contract.SetRole, m.setRole)
	bus.Handle(m.Service, contract.CreateUser, m.createUser)
	if dev, ok := mailer.(*devMailer); ok {
		bus.Handle(m.Service, contract.ListMail, func(context.Context, contract.Empty) (contract.Page[contract.Mail], error) {
			items := dev.last()
			return contract.Page[contract.Mail]{Items: items, Total: len(items)}, nil
		})
	}
	return m, nil
}

// Start serves the auth queue, runs the outbox relay (which also
// publishes what a previous process committed and did not publish), and
// sweeps expired data in the background.
func (m *Module) Start(ctx context.Context) error {
	if err := m.Server.Start(ctx); err != nil {
		return err
	}
	m.Go("outbox relay", m.relay.Run)
	stop := make(chan struct{})
	m.stop = stop
	m.sweeping.Go(func() { m.sweepLoop(stop) })
	return nil
}

// Stop stops taking requests, then the relay (events not yet published
// stay in the store for the next start), the sweeper and the mails in
// flight.
func (m *Module) Stop(ctx context.Context) error {
	err := m.Server.Stop(ctx)
	if m.stop != nil {
		close(m.stop)
		m.stop = nil
	}
	done := make(chan struct{})
	go func() { m.sweeping.Wait(); m.mailing.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		err = errors.Join(err, fmt.Errorf("auth: background work still running: %w", ctx.Err()))
	}
	return err
}

func (m *Module) sweepLoop(stop <-chan struct{}) {
	t := time.NewTicker(m.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			n, err := m.store.Sweep(ctx, m.now())
			cancel()
			if err != nil {
				m.log.Warn("auth sweep failed", "err", err)
			} else if n > 0 {
				m.log.Debug("auth sweep", "deleted", n)
			}
		}
	}
}
