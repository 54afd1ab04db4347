package validate

import (
	"strings"
	"testing"

	"github.com/shopengine/shop/internal/bus"
)

func TestID(t *testing.T) {
	if err := ID("id", "01a21042-816e-7207-a40f-0cf2f438397d"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "x", "01a21042816e7207a40f0cf2f438397d", "{01a21042-816e-7207-a40f-0cf2f438397d}", "01a21042-816e-7207-a40f-0cf2f438397z"} {
		if err := ID("id", bad); bus.CodeOf(err) != bus.CodeInvalid || !strings.Contains(err.Error(), "id") {
			t.Errorf("ID(%q) = %v", bad, err)
		}
	}
}

func TestName(t *testing.T) {
	if got, err := Name("name", "  Shoes ", 10); err != nil || got != "Shoes" {
		t.Fatalf("%q %v", got, err)
	}
	if got, err := Name("name", "Ünïcödé", 7); err != nil || got != "Ünïcödé" {
		t.Fatalf("%q %v", got, err)
	}
	for _, bad := range []string{"", "   ", "a\x00b", "a\nb", "\xff", "12345678901"} {
		if _, err := Name("name", bad, 10); bus.CodeOf(err) != bus.CodeInvalid {
			t.Errorf("Name(%q) = %v", bad, err)
		}
	}
}

func TestText(t *testing.T) {
	if err := Text("d", "line\nline\ttab", 100); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"a\x00", "\xff", strings.Repeat("x", 101)} {
		if Text("d", bad, 100) == nil {
			t.Errorf("Text(%q) accepted", bad)
		}
	}
}

func TestCode(t *testing.T) {
	for _, ok := range []string{"a", "weight_kg", "x1"} {
		if err := Code("code", ok); err != nil {
			t.Errorf("Code(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "A", "a-b", "a b", "ä", `{"$gt":""}`, strings.Repeat("a", MaxCodeLen+1)} {
		if Code("code", bad) == nil {
			t.Errorf("Code(%q) accepted", bad)
		}
	}
}

func TestVersion(t *testing.T) {
	tests := []struct {
		v        int64
		required bool
		ok       bool
		mention  string
	}{
		{1, true, true, ""},
		{7, false, true, ""},
		{0, false, true, ""},
		{0, true, false, "version is required"},
		{-1, false, false, "version -1"},
		{-3, true, false, "version -3"},
	}
	for _, tt := range tests {
		err := Version(tt.v, tt.required)
		if tt.ok != (err == nil) || err != nil && (bus.CodeOf(err) != bus.CodeInvalid || !strings.Contains(err.Error(), tt.mention)) {
			t.Errorf("Version(%d, %v) = %v", tt.v, tt.required, err)
		}
	}
}
