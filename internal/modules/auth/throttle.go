package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"time"

	"github.com/shopengine/shop/internal/bus"
)

// limit is one throttle: failures are counted per key in fixed windows
// (the current and the previous one count), and once more than free have
// failed, each further failure blocks the key for an exponentially growing
// delay, capped at max. Counters live in the store, so every instance of
// the module sees the same ones.
type limit struct {
	kind   string
	window time.Duration
	free   int64
	max    time.Duration
}

var (
	// pairLimit throttles guessing one account's password from one
	// address: after 3 failures 1 s, 2 s, 4 s … up to 15 min.
	pairLimit = limit{kind: "pair", window: time.Hour, free: 3, max: 15 * time.Minute}
	// ipLimit is the looser budget of an address over all accounts,
	// against credential stuffing.
	ipLimit = limit{kind: "ip", window: 15 * time.Minute, free: 30, max: 15 * time.Minute}
	// resetLimit bounds reset requests per address.
	resetLimit = limit{kind: "reset", window: 15 * time.Minute, free: 10, max: 15 * time.Minute}
	// mailLimit bounds reset mails per account (silently: the reply must
	// not tell whether a mail went out).
	mailLimit = limit{kind: "mail", window: time.Hour, free: 3, max: time.Hour}
)

// keys returns the counter keys of subject in the current and previous
// window. The subject (an address, an address and an email) is hashed:
// the counters need no personal data in clear.
func (l limit) keys(subject string, now time.Time) (cur, prev string) {
	sum := sha256.Sum256([]byte(l.kind + "\x00" + subject))
	h := hex.EncodeToString(sum[:16])
	b := now.UnixMilli() / l.window.Milliseconds()
	return fmt.Sprintf("%s:%s:%d", l.kind, h, b), fmt.Sprintf("%s:%s:%d", l.kind, h, b-1)
}

// expires is when a counter of the current window is no longer read.
func (l limit) expires(now time.Time) time.Time {
	b := now.UnixMilli() / l.window.Milliseconds()
	return time.UnixMilli((b + 2) * l.window.Milliseconds()).UTC()
}

// delay is how long the failures-th failure blocks.
func (l limit) delay(failures int64) time.Duration {
	if failures <= l.free {
		return 0
	}
	return min(time.Second<<min(failures-l.free-1, 30), l.max)
}

// guard is one throttle applied to one subject.
type guard struct {
	l       limit
	subject string
}

// clientKey is the address throttles count by: an IPv6 client usually
// holds a whole /64, so that is the unit.
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "unknown"
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// loginGuards are the throttles of a sign-in (or registration) attempt.
func loginGuards(ip, email string) []guard {
	c := clientKey(ip)
	return []guard{{pairLimit, c + "\x00" + email}, {ipLimit, c}}
}

// throttled fails with throttled when any guard is blocked now, telling
// when to retry; otherwise it returns the failures of the previous
// windows, for fail.
func (m *Module) throttled(ctx context.Context, guards []guard) ([]int64, error) {
	now := m.now()
	keys := make([]string, 0, 2*len(guards))
	for _, g := range guards {
		cur, prev := g.l.keys(g.subject, now)
		keys = append(keys, cur, prev)
	}
	state, err := m.store.Throttles(ctx, keys)
	if err != nil {
		return nil, err
	}
	var wait time.Duration
	prevs := make([]int64, len(guards))
	for i := range guards {
		cur, prev := state[keys[2*i]], state[keys[2*i+1]]
		prevs[i] = prev.Failures
		for _, t := range []Throttle{cur, prev} {
			wait = max(wait, t.BlockedUntil.Sub(now))
		}
	}
	if wait > 0 {
		secs := (wait + time.Second - 1) / time.Second
		return nil, bus.RetryLater(bus.CodeThrottled, secs*time.Second, "too many failed attempts; try again in %d s", secs)
	}
	return prevs, nil
}

// fail counts a failed attempt on every guard and blocks those over
// their budget.
func (m *Module) fail(ctx context.Context, guards []guard, prevs []int64) error {
	now := m.now()
	for i, g := range guards {
		cur, _ := g.l.keys(g.subject, now)
		n, err := m.store.AddFailure(ctx, cur, g.l.expires(now))
		if err != nil {
			return err
		}
		if prevs != nil {
			n += prevs[i]
		}
		if d := g.l.delay(n); d > 0 {
			if err := m.store.BlockUntil(ctx, cur, now.Add(d)); err != nil {
				return err
			}
		}
	}
	return nil
}

// succeed resets a guard's counters: a successful sign-in clears its
// (address, email) pair.
func (m *Module) succeed(ctx context.Context, g guard) error {
	cur, prev := g.l.keys(g.subject, m.now())
	return m.store.ClearThrottles(ctx, []string{cur, prev})
}
