package modules

import (
	"slices"
	"strings"
	"testing"

	"github.com/shopengine/shop/internal/contract"
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
		{"nope", nil, `unknown module "nope"; valid modules: ` + strings.Join(Selectable(), ", ")},
		{"category,web", []string{contract.CategoryQueue, Web}, ""},
		{"seeder", nil, "run it with `shop seed`"}, // a job, not served
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
	for name := range table {
		order, err := Order([]string{name})
		if err != nil {
			t.Fatalf("Order(%s): %v", name, err)
		}
		if slices.Contains(order, All) {
			t.Fatalf("Order(%s) contains the bundle: %v", name, order)
		}
		for i, m := range order {
			for _, d := range table[m].deps {
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
	for name, m := range table {
		if (m.init == nil) != (m.kind == bundle) {
			t.Errorf("module %s: init set = %v, but kind %v", name, m.init != nil, m.kind)
		}
	}
}

func TestSelectableIsPublicModulesAndAll(t *testing.T) {
	want := []string{All, contract.ArticleQueue, contract.AttributeQueue, contract.AuthQueue, contract.CartQueue, contract.CategoryQueue, contract.FilterQueue, contract.OptionQueue, contract.ProductQueue, contract.SEOQueue, Web}
	slices.Sort(want)
	if got := Selectable(); !slices.Equal(got, want) {
		t.Fatalf("Selectable() = %v, want %v", got, want)
	}
}

func TestCycleIsReported(t *testing.T) {
	saved := table
	t.Cleanup(func() { table = saved })
	table = map[string]module{"a": {deps: []string{"b"}}, "b": {deps: []string{"a"}}}
	if _, err := Order([]string{"a"}); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("got %v, want a cycle error", err)
	}
}
