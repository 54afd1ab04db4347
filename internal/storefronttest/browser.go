// Package storefronttest walks the storefront in a real headless Chromium:
// the one shopper's flow (home, category, facet, price filter, product,
// variant, add to cart, cart, register, logout, login with the guest cart
// merged, blog, account, logout), with JavaScript on or off, every page
// screenshot at 1280 and 375 px and checked. It takes only a base URL and
// what it finds there over HTTP, so the same walk runs against the
// in-process shop of internal/modules' tests and against a deployment of
// real processes (cmd/shop's end-to-end test).
package storefronttest

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// Chromium returns the path of Debian's chromium: without it the browser
// tests skip loudly, and fail under CI (.ci/run installs it).
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; .ci/run installs it (apt-get install -y chromium)")
	}
	t.Skip("SKIPPED: chromium is not installed (apt-get install -y chromium): the storefront's browser tests did not run")
	return ""
}

// ArtifactsDir is where screenshots go: $SHOP_TEST_ARTIFACTS/<test>, or a
// temporary directory.
func ArtifactsDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if root := os.Getenv("SHOP_TEST_ARTIFACTS"); root != "" {
		dir = filepath.Join(root, strings.ReplaceAll(t.Name(), "/", "-"))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// Browser starts a headless chromium with a fresh profile, with or
// without JavaScript, and returns its tab's context; the browser ends
// with the test, and within limit at the latest (its first call's
// context is the browser's life).
func Browser(t testing.TB, js bool, limit time.Duration) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Chromium(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		// Without these it floods the closed network with connection attempts.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, limit)
	t.Cleanup(func() { cancelTime(); cancelTab(); cancelAlloc() })
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !js}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// distinctColours counts the colours of a PNG on a sampling grid: a blank
// page has one or two, a page of text and pictures hundreds.
func distinctColours(t testing.TB, shot []byte) int {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	seen := map[[3]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 5 {
		for x := b.Min.X; x < b.Max.X; x += 5 {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
		}
	}
	return len(seen)
}
