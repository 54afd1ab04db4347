// Package slugs makes and checks the URL slugs of categories, products and
// articles: lowercase ASCII words joined by hyphens, from names in any
// script, with a numeric suffix when taken.
package slugs

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/gosimple/slug"
)

// MaxLen bounds a slug; a longer generated one is cut at a word boundary.
const MaxLen = 100

var valid = regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*$`)

// Make returns the slug for name, or fallback when name has nothing that
// transliterates (emoji, punctuation).
func Make(name, fallback string) string {
	s := slug.Make(name)
	if len(s) > MaxLen {
		s = s[:MaxLen]
		for len(s) > 0 && s[len(s)-1] == '-' {
			s = s[:len(s)-1]
		}
	}
	if !valid.MatchString(s) {
		return fallback
	}
	return s
}

// Validate checks a slug a user typed.
func Validate(s string) error {
	if len(s) > MaxLen {
		return fmt.Errorf("slug %.20q…: longer than %d characters", s, MaxLen)
	}
	if !valid.MatchString(s) {
		return fmt.Errorf("slug %q: use lowercase letters a-z, digits and single hyphens between them", s)
	}
	return nil
}

// Nth returns the n-th candidate for base: base itself for n < 2, then
// base-2, base-3…, kept within MaxLen.
func Nth(base string, n int) string {
	if n < 2 {
		return base
	}
	suffix := "-" + strconv.Itoa(n)
	if len(base)+len(suffix) > MaxLen {
		base = base[:MaxLen-len(suffix)]
	}
	return base + suffix
}
