package slugs

import (
	"strings"
	"testing"
)

func TestMake(t *testing.T) {
	tests := []struct{ name, want string }{
		{"Men's Shoes", "mens-shoes"},
		{"  Hellö Wörld  ", "hello-world"},
		{"хелло ворлд", "khello-vorld"},
		{"影師", "ying-shi"},
		{"🎉🎉", "fallback"},
		{"---", "fallback"},
		{strings.Repeat("word ", 40), strings.TrimSuffix(strings.Repeat("word-", 20), "-")},
	}
	for _, tt := range tests {
		if got := Make(tt.name, "fallback"); got != tt.want {
			t.Errorf("Make(%q) = %q, want %q", tt.name, got, tt.want)
		}
		if err := Validate(Make(tt.name, "fallback")); err != nil {
			t.Errorf("Make(%q) is not valid: %v", tt.name, err)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, ok := range []string{"a", "shoes", "mens-shoes-2", "x1"} {
		if err := Validate(ok); err != nil {
			t.Errorf("Validate(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Shoes", "a--b", "-a", "a-", "a b", "ä", "a/b", "{\"$gt\":\"\"}", strings.Repeat("a", MaxLen+1)} {
		if Validate(bad) == nil {
			t.Errorf("Validate(%q) accepted", bad)
		}
	}
}

func TestNth(t *testing.T) {
	if got := Nth("shoes", 1); got != "shoes" {
		t.Fatal(got)
	}
	if got := Nth("shoes", 3); got != "shoes-3" {
		t.Fatal(got)
	}
	long := strings.Repeat("a", MaxLen)
	if got := Nth(long, 12); len(got) != MaxLen || !strings.HasSuffix(got, "-12") || Validate(got) != nil {
		t.Fatalf("Nth(long) = %q", got)
	}
}

// FuzzSlugs: Make turns any name into a valid slug (or the fallback),
// Validate never panics and agrees with Make, and Nth stays within MaxLen.
func FuzzSlugs(f *testing.F) {
	for _, s := range []string{"Winter Boots", "Ünïcödé Ærø", "東京", "🙂", "a--b", "-x-", "", "\x00\xff", strings.Repeat("long ", 60)} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, name string, n int) {
		s := Make(name, "item")
		if err := Validate(s); err != nil {
			t.Fatalf("Make(%q) = %q, which Validate refuses: %v", name, s, err)
		}
		if Validate(name) == nil && len(name) <= MaxLen && Make(name, "item") != name {
			t.Fatalf("a valid slug %q is not its own slug: %q", name, Make(name, "item"))
		}
		if nth := Nth(s, n%1000); len(nth) > MaxLen || Validate(nth) != nil {
			t.Fatalf("Nth(%q, %d) = %q", s, n, nth)
		}
	})
}
