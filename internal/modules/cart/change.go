package cart

import (
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/store"
)

// maxAttempts bounds the re-applications of one change whose version
// check keeps failing (other processes writing the same cart).
const maxAttempts = 50

// owner is whose cart a request is about.
type owner struct {
	key     string // the store's owner key; "" for a guest without a token
	display string // Cart.Owner
	guest   bool
}

// tokenLen is the length of a guest token: 128 random bits in hex.
const tokenLen = 32

// newToken returns a fresh guest token.
func newToken() string {
	var b [tokenLen / 2]byte
	_, _ = crand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// guestKey is the owner key of a guest token: its SHA-256, so a leak of
// the database gives no usable token (128 random bits need no salt).
func guestKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "guest:" + hex.EncodeToString(sum[:])
}

// checkToken refuses what cannot be a token before any lookup.
func checkToken(field, token string) error {
	if len(token) != tokenLen {
		return bus.Errorf(bus.CodeInvalid, "%s: not a cart token", field)
	}
	for _, c := range token {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return bus.Errorf(bus.CodeInvalid, "%s: not a cart token", field)
		}
	}
	return nil
}

// ownerOf finds whose cart a request is about: the caller's user, from
// the principal (a token in the body is then ignored), or else the
// guest whose token the request carries.
func ownerOf(ctx context.Context, ref contract.CartRef) (owner, error) {
	p, err := contract.PrincipalFrom(ctx)
	if err != nil {
		return owner{}, err
	}
	if p.IsUser() {
		return userOwner(p), nil
	}
	if checkToken("token", ref.Token) != nil {
		// No token, or one that cannot be a token (a mangled cookie): a
		// guest without a cart, as with a token whose cart is gone, so a
		// bad cookie never breaks shopping (the first add issues a new one).
		return owner{display: "guest", guest: true}, nil
	}
	return owner{key: guestKey(ref.Token), display: "guest", guest: true}, nil
}

func userOwner(p contract.Principal) owner {
	return owner{key: "user:" + p.UserID, display: "user:" + p.UserID}
}

// load returns the owner's cart, or found false: none yet, or a guest
// cart past its expiry that the sweep has not deleted yet.
func (m *Module) load(ctx context.Context, o owner) (c Stored, found bool, err error) {
	if o.key == "" {
		return Stored{}, false, nil
	}
	c, err = m.store.ByOwner(ctx, o.key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Stored{}, false, nil
	case err != nil:
		return c, false, err
	case !c.ExpiresAt.IsZero() && !c.ExpiresAt.After(m.now()):
		return Stored{}, false, nil
	}
	return c, true, nil
}

// errUnchanged is what a change's apply returns when there is nothing to
// write (a merge already done): the cart is answered as it is.
var errUnchanged = errors.New("unchanged")

// change is one write of a cart: apply changes c, given what product says
// of every variant in it and of need.
type change struct {
	// create makes the cart when the owner has none (an add, a merge);
	// otherwise a missing cart is answered by missing.
	create  bool
	missing func() error
	// expected > 0 applies the change only at that version, once.
	expected int64
	need     []string
	// shown: the reply goes to the shopper, so prices and notices it
	// shows are recorded as seen (a merge's reply is not shown: web calls
	// it at login).
	shown bool
	apply func(c *Stored, info catalog) error
}

// write applies ch to o's cart and saves it, version-checked, applying it
// again to the cart as it then is when another write came first.
func (m *Module) write(ctx context.Context, o owner, ch change) (contract.Cart, error) {
	var token string
	if o.key != "" { // a new guest cart has a fresh key: nobody else writes it
		unlock, err := m.locks.lock(ctx, o.key)
		if err != nil {
			return contract.Cart{}, err
		}
		defer unlock()
	}
	info := catalog{}
	reqID := bus.RequestID(ctx)
	for attempt := 1; ; attempt++ {
		c, found, err := m.load(ctx, o)
		if err != nil {
			return contract.Cart{}, err
		}
		if !found {
			if !ch.create {
				return contract.Cart{}, ch.missing()
			}
			if o.guest {
				// A guest cart is created with a fresh token, never at a
				// token a client chose (an unknown or expired one, whose
				// cart the sweep deletes).
				token = newToken()
				o.key = guestKey(token)
			}
			c = Stored{ID: uuid.Must(uuid.NewV7()).String(), Key: o.key, Owner: o.display, Lines: []Line{}}
		}
		// A redelivered request whose first delivery was applied: before
		// the version check, which the first delivery's write moved.
		done := reqID != "" && slices.Contains(c.Requests, reqID)
		if !done && ch.expected > 0 && c.Version != ch.expected {
			return contract.Cart{}, contract.VersionConflict("cart", c.Version, ch.expected)
		}
		if err := m.ask(ctx, info, append(variantsOf(c), ch.need...)); err != nil {
			return contract.Cart{}, err
		}
		if done {
			m.log.Info("cart request delivered again after it was applied: answering the cart as it is", "cart", c.ID, "request", reqID)
			return m.view(c, info), nil
		}
		err = ch.apply(&c, info)
		if errors.Is(err, errUnchanged) {
			return m.view(c, info), nil
		}
		if err != nil {
			return contract.Cart{}, err
		}
		reply := m.view(c, info)
		if ch.shown {
			markSeen(&c, info)
		}
		if reqID != "" {
			c.Requests = remember(c.Requests, reqID, maxRequests)
		}
		now := m.now()
		c.Version++
		c.UpdatedAt = now
		if o.guest {
			c.ExpiresAt = now.Add(m.cfg.GuestTTL)
		}
		if c.Version == 1 {
			err = m.store.Insert(ctx, c)
		} else {
			err = m.store.Save(ctx, c)
		}
		if err == nil {
			reply.Version, reply.UpdatedAt, reply.ExpiresAt = c.Version, c.UpdatedAt, c.ExpiresAt
			if c.Version == 1 {
				reply.Token = token
			}
			return reply, nil
		}
		retry := errors.Is(err, store.ErrStale) || errors.Is(err, store.ErrDuplicate) || errors.Is(err, store.ErrNotFound)
		if !retry || ch.expected > 0 {
			switch {
			case errors.Is(err, store.ErrStale):
				now, _, lerr := m.load(ctx, o)
				return contract.Cart{}, errors.Join(contract.VersionConflict("cart", now.Version, ch.expected), lerr)
			case errors.Is(err, store.ErrNotFound): // deleted meanwhile (merged, swept)
				return contract.Cart{}, ch.missing()
			}
			return contract.Cart{}, fmt.Errorf("write cart %s: %w", c.ID, err)
		}
		if attempt == maxAttempts {
			return contract.Cart{}, bus.Errorf(bus.CodeConflict, "cart %s: changed by others %d times while this change was applied; try again", c.ID, attempt)
		}
		m.log.Debug("cart moved under a write; applying it again", "cart", c.ID, "attempt", attempt)
		select {
		case <-time.After(time.Duration(rand.Int64N(int64(attempt)*int64(time.Millisecond) + 1))):
		case <-ctx.Done():
			return contract.Cart{}, bus.ContextError(ctx, contract.CartQueue, "write")
		}
	}
}

// maxRequests is how many applied request ids a cart remembers: the
// writes of one cart in flight when an instance dies are a few.
const maxRequests = 16

// remember appends id to ids, keeping the latest max.
func remember(ids []string, id string, max int) []string {
	ids = append(ids, id)
	if len(ids) > max {
		ids = slices.Delete(ids, 0, len(ids)-max)
	}
	return ids
}

// cartLocks queues this process's writers of one cart, so that they do
// not race each other's version check (50 concurrent adds would otherwise
// retry some 25 times each); the check still guards against other
// processes. A waiter gives up when its request's context ends.
type cartLocks struct {
	mu   sync.Mutex
	held map[string]*cartLock
}

type cartLock struct {
	token   chan struct{} // holds one value while the lock is free
	waiters int
}

func (l *cartLocks) lock(ctx context.Context, key string) (unlock func(), err error) {
	l.mu.Lock()
	if l.held == nil {
		l.held = map[string]*cartLock{}
	}
	e := l.held[key]
	if e == nil {
		e = &cartLock{token: make(chan struct{}, 1)}
		e.token <- struct{}{}
		l.held[key] = e
	}
	e.waiters++
	l.mu.Unlock()
	release := func() {
		l.mu.Lock()
		if e.waiters--; e.waiters == 0 {
			delete(l.held, key)
		}
		l.mu.Unlock()
	}
	select {
	case <-e.token:
		return func() { e.token <- struct{}{}; release() }, nil
	case <-ctx.Done():
		release()
		return nil, bus.ContextError(ctx, contract.CartQueue, "write")
	}
}
