package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shopengine/shop/internal/bus"
)

// maxFormBody bounds a storefront form post.
const maxFormBody = 16 << 10

// form is a posted form as a page shows it again: the values kept (never
// passwords) and the errors beside their fields ("" for the whole form).
type form struct {
	Values url.Values
	Errors map[string]string
	Error  string // about the whole form
}

// readForm parses a url-encoded form post of at most maxFormBody bytes.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, bus.Errorf(bus.CodeInvalid, "The form is larger than %d bytes.", maxFormBody)
		}
		return nil, bus.Errorf(bus.CodeInvalid, "The form could not be read: %v", err)
	}
	return r.PostForm, nil
}

// newForm keeps values' fields except secret ones (passwords), so a form
// shown again has what the shopper typed, but no password in the page.
func newForm(values url.Values, keep ...string) form {
	f := form{Values: url.Values{}, Errors: map[string]string{}}
	for _, k := range keep {
		f.Values.Set(k, values.Get(k))
	}
	return f
}

// fail puts err beside the field its message names ("email: required" is
// about field email), when the form has that field; else it is about the
// whole form. It returns the status the page is answered with.
func (f *form) fail(w http.ResponseWriter, err error, fields ...string) int {
	be := bus.AsError(err)
	msg := be.Message
	field, rest := fieldOfMessage(msg)
	status, ok := statusOf[be.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	switch be.Code {
	case bus.CodeInvalid, bus.CodeConflict:
		for _, fl := range fields {
			if fl == field {
				f.Errors[field] = sentence(rest)
				return status
			}
		}
		if be.Code == bus.CodeConflict && len(fields) > 0 && fields[0] == "email" {
			f.Errors["email"] = sentence(msg) // "this email cannot be registered…"
			return status
		}
		f.Error = sentence(msg)
	case bus.CodeUnauthorized:
		f.Error = sentence(msg)
	case bus.CodeThrottled:
		if be.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((be.RetryAfter+time.Second-1)/time.Second)))
		}
		f.Error = sentence(msg)
	case bus.CodeUnavailable, bus.CodeTimeout:
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
		f.Error = "The shop cannot do this right now; please try again in a moment."
	default:
		f.Error = "Something went wrong; please try again."
	}
	return status
}

// fieldOfMessage splits "email: required" or `email "x": want name@domain`
// into the field and the rest.
func fieldOfMessage(msg string) (field, rest string) {
	i := strings.IndexAny(msg, ": ")
	if i <= 0 {
		return "", msg
	}
	field = msg[:i]
	rest = strings.TrimSpace(strings.TrimPrefix(msg[i:], ":"))
	if j := strings.Index(rest, ": "); msg[i] == ' ' && j >= 0 {
		rest = rest[j+2:] // `email "x": want …` → "want …"
	}
	return field, rest
}

// sentence capitalises a module's message for a page.
func sentence(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "!") {
		s += "."
	}
	return s
}

// localPath is next when it is a path on this site, else fallback: a
// login's ?next= must not send the shopper elsewhere.
func localPath(next, fallback string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return fallback
	}
	return next
}

// seeOther is the redirect after a successful post (POST-redirect-GET).
func seeOther(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}
