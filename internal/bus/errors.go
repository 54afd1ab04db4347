package bus

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Code classifies an error so that it can cross a process boundary. Codes
// travel outside the payload (an AMQP header, a field of the in-process
// reply) and are turned back into *Error on the caller's side, so callers
// branch on the class of failure, never on message text.
type Code string

// The codes a handler may return. The web module maps them to HTTP statuses.
const (
	CodeInvalid      Code = "invalid"      // the request is malformed or breaks a rule
	CodeNotFound     Code = "not_found"    // the addressed thing (or op) does not exist
	CodeConflict     Code = "conflict"     // the request clashes with current state
	CodeUnauthorized Code = "unauthorized" // the caller is not authenticated
	CodeForbidden    Code = "forbidden"    // the caller may not do this
	CodeUnavailable  Code = "unavailable"  // nobody serves the target, the bus is down, or the target is saturated
	CodeThrottled    Code = "throttled"    // the caller made too many attempts; retry after Error.RetryAfter
	CodeTimeout      Code = "timeout"      // no reply within the caller's deadline
	CodeInternal     Code = "internal"     // a bug or an unexpected failure
)

// Codes lists every code, for validation of codes read off the wire.
var Codes = []Code{CodeInvalid, CodeNotFound, CodeConflict, CodeUnauthorized, CodeForbidden, CodeUnavailable, CodeThrottled, CodeTimeout, CodeInternal}

// Valid reports whether c is one of the known codes.
func (c Code) Valid() bool {
	for _, k := range Codes {
		if c == k {
			return true
		}
	}
	return false
}

// Error is the error type of the bus: a code, a human-readable message,
// an optional retry-after hint and, on the side where it arose, an optional
// cause (which does not cross the bus).
type Error struct {
	Code    Code
	Message string
	// RetryAfter, when positive, tells the caller when trying again can
	// succeed: a throttled login, a saturated module. It crosses the bus
	// (an AMQP header, a field in process), rounded to milliseconds, so
	// that web can answer Retry-After without parsing messages.
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	if e.Message == "" {
		return string(e.Code)
	}
	return string(e.Code) + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, bus.ErrNotFound) match any *Error of that code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Err == nil && t.Code == e.Code
}

// Sentinels for errors.Is; they carry a code and nothing else.
var (
	ErrInvalid      = &Error{Code: CodeInvalid}
	ErrNotFound     = &Error{Code: CodeNotFound}
	ErrConflict     = &Error{Code: CodeConflict}
	ErrUnauthorized = &Error{Code: CodeUnauthorized}
	ErrForbidden    = &Error{Code: CodeForbidden}
	ErrUnavailable  = &Error{Code: CodeUnavailable}
	ErrThrottled    = &Error{Code: CodeThrottled}
	ErrTimeout      = &Error{Code: CodeTimeout}
	ErrInternal     = &Error{Code: CodeInternal}
)

// Errorf returns an *Error with the given code and a formatted message. A %w
// verb keeps the cause for errors.Is/As on this side of the bus.
func Errorf(code Code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Message: err.Error(), Err: errors.Unwrap(err)}
}

// RetryLater returns an *Error of code (throttled or unavailable) that
// tells the caller to try again after d.
func RetryLater(code Code, d time.Duration, format string, args ...any) *Error {
	e := Errorf(code, format, args...)
	e.RetryAfter = d
	return e
}

// Wire returns the part of e that crosses a bus: code, message and
// retry-after, without the cause.
func (e *Error) Wire() *Error {
	return &Error{Code: e.Code, Message: e.Message, RetryAfter: e.RetryAfter.Round(time.Millisecond)}
}

// CodeOf returns the code of err: the code of the first *Error in its chain,
// timeout for an expired context, internal for anything else, "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var be *Error
	if errors.As(err, &be) {
		return be.Code
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return CodeTimeout
	}
	return CodeInternal
}

// AsError converts any error into the *Error that crosses the bus. Errors of
// unknown kind become internal, keeping the message: handlers should wrap
// their failures with context, and the caller needs it to diagnose.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var be *Error
	if errors.As(err, &be) {
		if be.Message == "" && err.Error() != be.Error() {
			return &Error{Code: be.Code, Message: err.Error(), RetryAfter: be.RetryAfter, Err: err}
		}
		return be
	}
	return &Error{Code: CodeOf(err), Message: err.Error(), Err: err}
}

// ContextError turns the end of a caller's context into the bus error a
// transport returns for the call: timeout, wrapping the context's error.
func ContextError(ctx context.Context, queue, op string) *Error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return &Error{Code: CodeTimeout, Message: fmt.Sprintf("%s/%s: canceled by caller", queue, op), Err: ctx.Err()}
	}
	return &Error{Code: CodeTimeout, Message: fmt.Sprintf("%s/%s: no reply before the deadline", queue, op), Err: context.DeadlineExceeded}
}
