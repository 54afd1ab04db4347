package main

// A split deployment for end-to-end tests: every module its own
// `shop serve --only=<module>` process (a primary and its workers) over
// the real RabbitMQ, each with its own data directory, the shape
// compose.yaml runs in production. The ten-services test and the
// module-down test (e2e_test.go) start one; any test that needs the
// production shape can (startDeployment, then stop/start a module).

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules"
)

// deploymentModules are the modules of a split deployment, one process
// each: every selectable module but the "all" bundle, web last (it calls
// the others).
func deploymentModules() []string {
	var out []string
	for _, m := range modules.Selectable() {
		if m != modules.All && m != modules.Web {
			out = append(out, m)
		}
	}
	return append(out, modules.Web)
}

// deployment is a running split deployment.
type deployment struct {
	t           *testing.T
	url, prefix string
	workers     int
	services    map[string]*service
}

// service is one module's process; server is nil while it is stopped.
type service struct {
	module  string
	args    []string
	dataDir string
	*server
}

// startDeployment starts every module (deploymentModules) as its own
// `shop serve --only=<module> --workers=<workers>` on the real RabbitMQ
// under a prefix of the test's own, and waits until each answers /readyz
// and `shop ping` lists every module with workers instances.
func startDeployment(t *testing.T, workers int) *deployment {
	t.Helper()
	url, prefix := brokerPrefix(t)
	d := &deployment{t: t, url: url, prefix: prefix, workers: workers, services: map[string]*service{}}
	began := time.Now()
	// Every service gets the storefront's public URL, as in compose.yaml:
	// seo writes canonical links and feeds with it, and knows no request.
	webAddr := freeTCPAddr(t)
	for _, m := range deploymentModules() {
		sv := &service{module: m, dataDir: t.TempDir()}
		sv.args = append(d.busArgs(), "--only="+m, fmt.Sprintf("--workers=%d", workers),
			"--database-url=sqlite://"+sv.dataDir, "--shutdown-timeout=10s", "--public-url=http://"+webAddr)
		if m == modules.Web {
			sv.args = append(sv.args, "--http-addr="+webAddr)
		}
		if m == contract.AuthQueue {
			// Seeding makes four users: the default bcrypt cost 12 is
			// seconds each on a loaded machine.
			sv.args = append(sv.args, "--bcrypt-cost=10")
		}
		d.services[m] = sv
		d.start(m)
	}
	d.awaitInstances(workers)
	t.Logf("deployment of %d services × %d workers up in %v (prefix %s)", len(d.services), workers, time.Since(began).Round(time.Millisecond), prefix)
	return d
}

// busArgs are the flags that put a command on the deployment's bus.
func (d *deployment) busArgs() []string {
	return []string{"--bus-url=" + d.url, "--bus-prefix=" + d.prefix}
}

// web is the storefront's base URL.
func (d *deployment) web() string { return "http://" + d.services[modules.Web].addr }

// start starts module's process (again, after stop: on the same data
// directory) and waits for its /readyz.
func (d *deployment) start(module string) {
	d.t.Helper()
	sv := d.services[module]
	if sv.server != nil {
		d.t.Fatalf("start %s: already running", module)
	}
	sv.server = startServe(d.t, []string{"SHOP_WORKERS=", "SHOP_ADMIN_TOKEN="}, sv.args...)
	d.awaitReady(module)
}

// stop stops module's process with SIGTERM and waits for it to exit.
func (d *deployment) stop(module string) {
	d.t.Helper()
	sv := d.services[module]
	if err := sv.stop(d.t); err != nil {
		d.fatalf("stop %s: %v", module, err)
	}
	sv.server = nil
}

// down stops module for the test t (a subtest, say) and starts it again
// when t ends if t did not, so that one failure leaves the deployment
// whole for the next.
func (d *deployment) down(t *testing.T, module string) {
	t.Helper()
	d.stop(module)
	t.Cleanup(func() {
		if d.services[module].server == nil {
			d.start(module)
		}
	})
}

// awaitReady polls module's /readyz until it answers 200: the process
// is connected and every hosted module ready (filter's snapshot loaded).
func (d *deployment) awaitReady(module string) {
	d.t.Helper()
	sv := d.services[module]
	c := newConnClient()
	var last string
	ok := poll(3*time.Minute, func() bool {
		resp, err := c.Get("http://" + sv.addr + "/readyz")
		if err != nil {
			last = err.Error()
			return false
		}
		resp.Body.Close()
		last = resp.Status
		return resp.StatusCode == 200
	})
	if !ok {
		d.fatalf("%s not ready within 3m: %s", module, last)
	}
}

// seed runs `shop seed` through the bus and returns its summary.
func (d *deployment) seed(args ...string) string {
	d.t.Helper()
	code, out, stderr := runFor(d.t, 10*time.Minute, nil, append(append([]string{"seed"}, d.busArgs()...), args...)...)
	if code != 0 {
		d.fatalf("seed: exit %d\n%s\n%s", code, out, stderr)
	}
	return out
}

// ping runs `shop ping --json` and returns the instances per module.
func (d *deployment) ping() (map[string]int, string) {
	d.t.Helper()
	code, out, stderr := runFor(d.t, time.Minute, nil, append([]string{"ping", "--json", "--timeout=3s"}, d.busArgs()...)...)
	if code != 0 {
		d.fatalf("ping: exit %d\n%s", code, stderr)
	}
	var infos []bus.Info
	if err := json.Unmarshal([]byte(out), &infos); err != nil {
		d.fatalf("ping output: %v\n%s", err, out)
	}
	n := map[string]int{}
	for _, in := range infos {
		n[in.Name]++
	}
	return n, out
}

// awaitInstances polls `shop ping` until every module of the deployment
// has at least n instances (a worker answers ping once it has started
// its modules), and returns the last count.
func (d *deployment) awaitInstances(n int) map[string]int {
	d.t.Helper()
	var got map[string]int
	var out string
	ok := poll(3*time.Minute, func() bool {
		got, out = d.ping()
		for m := range d.services {
			if got[m] < n {
				return false
			}
		}
		return true
	})
	if !ok {
		d.fatalf("shop ping lists %v, want every one of %v with ≥ %d instances:\n%.3000s", got, deploymentModules(), n, out)
	}
	return got
}

// fatalf fails the test with the tail of every running service's log.
func (d *deployment) fatalf(format string, args ...any) {
	d.t.Helper()
	var b strings.Builder
	for _, m := range deploymentModules() {
		if sv := d.services[m]; sv != nil && sv.server != nil {
			lines := strings.Split(strings.TrimSpace(sv.logs.String()), "\n")
			fmt.Fprintf(&b, "\n--- %s (last lines):\n%s", m, strings.Join(lines[max(0, len(lines)-15):], "\n"))
		}
	}
	d.t.Fatalf(format+"%s", append(args, b.String())...)
}

// wantSeeded fails unless the seed summary matches every row pattern.
func wantSeeded(t *testing.T, summary string, rows ...string) {
	t.Helper()
	for _, row := range rows {
		if !regexp.MustCompile(row).MatchString(summary) {
			t.Fatalf("seed summary lacks %q:\n%s", row, summary)
		}
	}
}
