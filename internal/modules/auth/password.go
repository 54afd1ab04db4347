package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
	"golang.org/x/crypto/bcrypt"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
)

// Bcrypt costs.
const (
	// DefaultCost is the work factor of new hashes.
	DefaultCost = 12
	// MinCost is the lowest cost a shop may be configured with.
	MinCost = 10
)

// prehashKey separates this pre-hash from any other use of SHA-256: a
// leaked database of plain SHA-256 password hashes from elsewhere cannot
// be tested against ours ("password shucking") without also breaking
// bcrypt.
var prehashKey = []byte("shopengine/shop auth password v1")

// prehash makes every password, of any length up to MaxPasswordLen
// characters (512 bytes of UTF-8), a 44-byte bcrypt input: base64 of
// HMAC-SHA-256(prehashKey, password). bcrypt reads at most 72 bytes, so
// without it two long passwords that share their first 72 bytes would be
// the same password; base64 keeps NUL bytes (which end bcrypt's input in
// some implementations) out of it.
func prehash(password string) []byte {
	mac := hmac.New(sha256.New, prehashKey)
	mac.Write([]byte(password))
	return []byte(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
}

// checkPasswordShape checks what needs no CPU: length and characters.
func checkPasswordShape(field, pw string) error {
	switch n := utf8.RuneCountInString(pw); {
	case pw == "":
		return bus.Errorf(bus.CodeInvalid, "%s: required", field)
	case !utf8.ValidString(pw):
		return bus.Errorf(bus.CodeInvalid, "%s: invalid UTF-8", field)
	case n < contract.MinPasswordLen:
		return bus.Errorf(bus.CodeInvalid, "%s: at least %d characters, please", field, contract.MinPasswordLen)
	case n > contract.MaxPasswordLen:
		return bus.Errorf(bus.CodeInvalid, "%s: at most %d characters", field, contract.MaxPasswordLen)
	case strings.ContainsFunc(pw, unicode.IsControl):
		return bus.Errorf(bus.CodeInvalid, "%s: contains control characters", field)
	}
	return nil
}

// minScore is the zxcvbn score a new password needs: 2 means more than
// about a million guesses. Below that are the common passwords (zxcvbn
// ranks ~30,000 of them, with their l33t and capitalised forms), keyboard
// walks, repeats, dates, and words taken from the user's own email and
// name.
const minScore = 2

// checkPasswordStrength refuses guessable passwords. It runs inside a hash
// slot: zxcvbn takes up to ~60 ms on a 128-character password.
func checkPasswordStrength(field, pw string, userInputs []string) error {
	if r := zxcvbn.PasswordStrength(pw, userInputs); r.Score < minScore {
		return bus.Errorf(bus.CodeInvalid, "%s: too common or too easy to guess; a few unrelated words make a good password", field)
	}
	return nil
}

// userInputs are the words a password must not be built from.
func userInputs(email, name string) []string {
	local, domain, _ := strings.Cut(email, "@")
	in := []string{email, local, domain}
	return append(in, strings.Fields(strings.ToLower(name))...)
}

// hashing bounds the CPU spent on bcrypt and zxcvbn to one hash per slot
// at a time per process: a flood of logins then waits here (and, past
// wait, fails unavailable) instead of starving every other request.
type hashing struct {
	cost  int
	slots chan struct{}
	wait  time.Duration
}

// retryBusy is the Retry-After of a login turned away for lack of a slot.
const retryBusy = time.Second

// do runs fn in a slot.
func (h *hashing) do(ctx context.Context, fn func() error) error {
	t := time.NewTimer(h.wait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
	case <-t.C:
		return bus.RetryLater(bus.CodeUnavailable, retryBusy, "too many sign-ins at once; try again in a second")
	case <-ctx.Done():
		return bus.Errorf(bus.CodeTimeout, "waiting for a password slot: %w", ctx.Err())
	}
	defer func() { <-h.slots }()
	return fn()
}

// hash checks a new password's strength and hashes it.
func (h *hashing) hash(ctx context.Context, field, pw string, inputs []string) (string, error) {
	var out []byte
	err := h.do(ctx, func() error {
		if err := checkPasswordStrength(field, pw, inputs); err != nil {
			return err
		}
		var err error
		out, err = bcrypt.GenerateFromPassword(prehash(pw), h.cost)
		return err
	})
	return string(out), err
}

// compare reports whether pw matches hash; false, nil for a mismatch.
func (h *hashing) compare(ctx context.Context, hash, pw string) (bool, error) {
	var ok bool
	err := h.do(ctx, func() error {
		ok = bcrypt.CompareHashAndPassword([]byte(hash), prehash(pw)) == nil
		return nil
	})
	return ok, err
}

// stale reports whether hash was made at another cost than configured:
// it is rehashed at the next successful login.
func (h *hashing) stale(hash string) bool {
	c, err := bcrypt.Cost([]byte(hash))
	return err != nil || c != h.cost
}

// bcryptHash hashes a password without the strength check.
func bcryptHash(pw string, cost int) (string, error) {
	h, err := bcrypt.GenerateFromPassword(prehash(pw), cost)
	return string(h), err
}
