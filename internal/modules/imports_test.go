package modules

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// TestModulesDoNotImportEachOther keeps the rule that makes the modules
// separately deployable: a module package reaches other modules only through
// internal/contract and the bus, never by importing their packages (not even
// indirectly).
func TestModulesDoNotImportEachOther(t *testing.T) {
	const prefix = "github.com/shopengine/shop/internal/modules/"
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	type pkg struct {
		ImportPath string
		Deps       []string
	}
	moduleOf := func(path string) string {
		rest, ok := strings.CutPrefix(path, prefix)
		if !ok {
			return ""
		}
		name, _, _ := strings.Cut(rest, "/")
		return name
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
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
	}
	if checked == 0 {
		t.Fatal("found no module packages to check")
	}
}
