// Package slugs makes and checks the URL slugs of categories, products and
// articles: lowercase ASCII words joined by hyphens, from names in any
// script, with a numeric suffix when taken.
package slugs

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/gosimple/slug"

	"github.com/shopengine/shop/internal/bus"
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
		// Cut, then drop the hyphens the cut exposed: "long-name-x" cut
		// before "x" must not become "long-name--3" (found by FuzzSlugs).
		base = strings.TrimRight(base[:MaxLen-len(suffix)], "-")
	}
	return base + suffix
}

// Attempts bounds the numeric suffixes Claim tries.
const Attempts = 1000

// Claim inserts a row under base and, when base was generated (not given
// by the user) and insert reports it taken (an error that is taken), under
// base-2, base-3, … until one is free. A given slug that is taken, or
// Attempts taken variants, is a conflict. It returns the slug used.
func Claim(base string, generated bool, taken error, insert func(slug string) error) (string, error) {
	for n := 1; ; n++ {
		slug := Nth(base, n)
		err := insert(slug)
		switch {
		case !errors.Is(err, taken):
			return slug, err
		case !generated:
			return slug, bus.Errorf(bus.CodeConflict, "slug %q is taken", slug)
		case n == Attempts:
			return slug, bus.Errorf(bus.CodeConflict, "slug %q: %d variants taken", base, n)
		}
	}
}
