package modules

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// testHelpers are the packages under internal/modules that are not modules
// but test helpers every module's tests may import; they themselves must
// import no module.
var testHelpers = map[string]bool{"moduletest": true}

// TestModulesDoNotImportEachOther keeps the rule that makes the modules
// separately deployable: a module package reaches other modules only through
// internal/contract and the bus, never by importing their packages (not even
// indirectly). Its tests keep the rule too: a test that needs another module
// stubs it on the bus (moduletest.NewStub), so that a module's tests exercise
// the contract and not the other module's internals, and a change inside
// one module cannot break another's tests.
func TestModulesDoNotImportEachOther(t *testing.T) {
	const prefix = "github.com/shopengine/shop/internal/modules/"
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	type pkg struct {
		ImportPath   string
		Deps         []string
		TestImports  []string
		XTestImports []string
	}
	moduleOf := func(path string) string {
		rest, ok := strings.CutPrefix(path, prefix)
		if !ok {
			return ""
		}
		name, _, _ := strings.Cut(rest, "/")
		if testHelpers[name] {
			return ""
		}
		return name
	}
	var pkgs []pkg
	deps := map[string][]string{} // import path → its deps, for the test imports
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
		deps[p.ImportPath] = p.Deps
	}
	checked, helpers := 0, 0
	for _, p := range pkgs {
		if rest, ok := strings.CutPrefix(p.ImportPath, prefix); ok && testHelpers[strings.SplitN(rest, "/", 2)[0]] {
			helpers++
			for _, d := range p.Deps {
				if other := moduleOf(d); other != "" {
					t.Errorf("test helper %s imports module %s: it must serve every module's tests alike", p.ImportPath, d)
				}
			}
			continue
		}
		own := moduleOf(p.ImportPath)
		if own == "" {
			continue
		}
		checked++
		for _, d := range p.Deps {
			if other := moduleOf(d); other != "" && other != own {
				t.Errorf("module package %s imports %s: modules talk over the bus (internal/contract), never by import", p.ImportPath, d)
			}
		}
		for _, imp := range append(p.TestImports, p.XTestImports...) {
			for _, d := range append([]string{imp}, deps[imp]...) {
				if other := moduleOf(d); other != "" && other != own {
					t.Errorf("tests of module %s import %s (via %s): stub other modules on the bus (moduletest.NewStub) instead", p.ImportPath, d, imp)
					break
				}
			}
		}
	}
	if checked == 0 || helpers == 0 {
		t.Fatalf("found %d module packages and %d test helpers to check", checked, helpers)
	}
}
