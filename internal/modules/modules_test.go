package modules

import (
	"slices"
	"strings"
	"testing"
)

func TestParseOnly(t *testing.T) {
	tests := []struct {
		value   string
		want    []string
		wantErr string
	}{
		{"", []string{All}, ""},
		{"  ", []string{All}, ""},
		{"web", []string{Web}, ""},
		{"web, web", []string{Web}, ""},
		{"all", []string{All}, ""},
		{"nope", nil, `unknown module "nope"; valid modules: all, attribute, auth, category, option, product, web`},
		{"category,web", []string{Category, Web}, ""},
		{"web,nope", nil, `unknown module "nope"`},
		{"bus", nil, `unknown module "bus"`},       // internal
		{"server", nil, `unknown module "server"`}, // internal
		{"store", nil, `unknown module "store"`},   // internal
		{"web,,", nil, "empty module name"},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			got, err := ParseOnly(tt.value)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseOnly(%q) error = %v, want it to contain %q", tt.value, err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("ParseOnly(%q) = %v, %v; want %v", tt.value, got, err, tt.want)
			}
		})
	}
}

func TestOrderPutsDependenciesFirst(t *testing.T) {
	for name := range deps {
		order, err := Order([]string{name})
		if err != nil {
			t.Fatalf("Order(%s): %v", name, err)
		}
		if slices.Contains(order, All) {
			t.Fatalf("Order(%s) contains the bundle: %v", name, order)
		}
		for i, m := range order {
			for _, d := range deps[m] {
				if j := slices.Index(order, d); j < 0 || j > i {
					t.Fatalf("Order(%s) = %v: %s comes before its dependency %s", name, order, m, d)
				}
			}
		}
	}
}

func TestAllBundlesEveryPublicModule(t *testing.T) {
	order, err := Order([]string{All})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range Selectable() {
		if m != All && !slices.Contains(order, m) {
			t.Errorf("all does not start %s", m)
		}
	}
}

func TestEveryModuleHasAnInit(t *testing.T) {
	for name := range deps {
		if _, ok := inits[name]; !ok && name != All {
			t.Errorf("module %s is in the dependency table but has no init function", name)
		}
	}
	for name := range inits {
		if _, ok := deps[name]; !ok {
			t.Errorf("init function for %s, which is not in the dependency table", name)
		}
	}
}

func TestCycleIsReported(t *testing.T) {
	saved := deps
	t.Cleanup(func() { deps = saved })
	deps = map[string][]string{"a": {"b"}, "b": {"a"}}
	if _, err := Order([]string{"a"}); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("got %v, want a cycle error", err)
	}
}
