package store

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// FerretDB (and storetest, which embeds it) and the SMTP server the auth
// module's mailer is tested against (emersion/go-smtp, with its go-sasl)
// are for tests only: these tests keep them out of package store and out
// of the shop binary.

// testOnlyModules are the modules of test-only dependencies: none may be
// linked into the shop binary.
var testOnlyModules = []string{"github.com/FerretDB/", "github.com/emersion/go-smtp", "github.com/emersion/go-sasl"}

// testOnly returns the test-only module named in s, if any.
func testOnly(s string) string {
	for _, m := range testOnlyModules {
		if strings.Contains(s, m) {
			return m
		}
	}
	if strings.Contains(s, "/store/storetest") {
		return "storetest"
	}
	return ""
}

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
		if testOnly(p) != "" {
			t.Errorf("package store depends on %s", p)
		}
	}
}

// TestShopBinaryHasNoFerretDB checks the built binary's module list (go
// version -m) and its package graph for every test-only dependency, not
// only FerretDB.
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
		if m := testOnly(line); m != "" {
			t.Errorf("the shop binary links %s, a test-only dependency: %s", m, strings.TrimSpace(line))
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
		if m := testOnly(line); m != "" {
			t.Errorf("./cmd/shop depends on a test-only package (%s): %s", m, line)
		}
	}
}
