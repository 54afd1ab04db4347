// Package validate checks the fields every module receives from users (ids,
// names, codes, free text) the same way, answering with bus errors of code
// invalid that name the field.
package validate

import (
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/shopengine/shop/internal/bus"
)

// ID checks a required UUID field in its canonical 36-character form.
func ID(field, id string) error {
	if id == "" {
		return bus.Errorf(bus.CodeInvalid, "%s: required", field)
	}
	if len(id) != 36 {
		return bus.Errorf(bus.CodeInvalid, "%s %q: not a UUID", field, id)
	}
	if _, err := uuid.Parse(id); err != nil {
		return bus.Errorf(bus.CodeInvalid, "%s %q: not a UUID", field, id)
	}
	return nil
}

// Name trims a required one-line name and checks its length (in
// characters) and content.
func Name(field, s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", bus.Errorf(bus.CodeInvalid, "%s: required", field)
	case !utf8.ValidString(s):
		return "", bus.Errorf(bus.CodeInvalid, "%s: invalid UTF-8", field)
	case utf8.RuneCountInString(s) > max:
		return "", bus.Errorf(bus.CodeInvalid, "%s: longer than %d characters", field, max)
	case strings.ContainsFunc(s, unicode.IsControl):
		return "", bus.Errorf(bus.CodeInvalid, "%s: contains control characters", field)
	}
	return s, nil
}

// Text checks optional free text (descriptions): valid UTF-8 within max
// characters; newlines and tabs are allowed.
func Text(field, s string, max int) error {
	if !utf8.ValidString(s) {
		return bus.Errorf(bus.CodeInvalid, "%s: invalid UTF-8", field)
	}
	if utf8.RuneCountInString(s) > max {
		return bus.Errorf(bus.CodeInvalid, "%s: longer than %d characters", field, max)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }) {
		return bus.Errorf(bus.CodeInvalid, "%s: contains control characters", field)
	}
	return nil
}

var codeRE = regexp.MustCompile(`^[a-z0-9_]+$`)

// MaxCodeLen bounds machine codes.
const MaxCodeLen = 64

// Code checks a machine code: [a-z0-9_]+, at most MaxCodeLen bytes.
func Code(field, s string) error {
	if s == "" {
		return bus.Errorf(bus.CodeInvalid, "%s: required", field)
	}
	if len(s) > MaxCodeLen || !codeRE.MatchString(s) {
		return bus.Errorf(bus.CodeInvalid, "%s %q: use a-z, 0-9 and _ (at most %d)", field, s, MaxCodeLen)
	}
	return nil
}

// Version checks the expected version of a write (see contract's
// optimistic concurrency rule): never negative, and, when required (the
// update_* requests), given: 0 there is invalid rather than "any version",
// so that a client that forgot it cannot overwrite an edit it never saw.
func Version(v int64, required bool) error {
	switch {
	case v < 0:
		return bus.Errorf(bus.CodeInvalid, "version %d: must be 1 or more (the version you read)", v)
	case v == 0 && required:
		return bus.Errorf(bus.CodeInvalid, "version is required: give the version you read (or If-Match over HTTP)")
	}
	return nil
}

// WebURL checks a required absolute http or https URL (an image, a link)
// of at most max bytes, without spaces.
func WebURL(field, s string, max int) error {
	if s == "" {
		return bus.Errorf(bus.CodeInvalid, "%s: required", field)
	}
	if len(s) > max || !utf8.ValidString(s) || strings.ContainsAny(s, " \t\r\n") {
		return bus.Errorf(bus.CodeInvalid, "%s: not a URL of at most %d characters without spaces", field, max)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return bus.Errorf(bus.CodeInvalid, "%s %.60q: want an absolute http or https URL", field, s)
	}
	return nil
}
