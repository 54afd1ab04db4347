package store

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// FerretDB (and storetest, which embeds it) are for tests only: these tests
// keep them out of package store and out of the shop binary.

func goTool(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found in PATH")
	}
	return gobin
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(goTool(t), "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func TestStoreDoesNotImportTestOnlyPackages(t *testing.T) {
	out, err := exec.Command(goTool(t), "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.Contains(p, "FerretDB") || strings.HasSuffix(p, "/store/storetest") {
			t.Errorf("package store depends on %s", p)
		}
	}
}

func TestShopBinaryHasNoFerretDB(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the shop binary")
	}
	gobin := goTool(t)
	root := moduleRoot(t)
	if _, err := os.Stat(filepath.Join(root, "cmd", "shop")); err != nil {
		t.Skipf("no ./cmd/shop yet (%v): nothing to check", err)
	}
	bin := filepath.Join(t.TempDir(), "shop")
	build := exec.Command(gobin, "build", "-o", bin, "./cmd/shop")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/shop: %v\n%s", err, out)
	}
	out, err := exec.Command(gobin, "version", "-m", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "github.com/FerretDB/") {
			t.Errorf("the shop binary links FerretDB, a test-only dependency: %s", strings.TrimSpace(line))
		}
	}
	if !strings.Contains(string(out), "mod\tgithub.com/shopengine/shop") {
		t.Errorf("unexpected go version -m output:\n%s", out)
	}

	// The same by packages, which also names the culprit's importer.
	list := exec.Command(gobin, "list", "-deps", "-f", "{{.ImportPath}} {{.Imports}}", "./cmd/shop")
	list.Dir = root
	out, err = list.CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps ./cmd/shop: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "github.com/FerretDB/") || strings.Contains(line, "/store/storetest") {
			t.Errorf("./cmd/shop depends on a test-only package: %s", line)
		}
	}
}
