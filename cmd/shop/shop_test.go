package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// shopBin is the shop binary built once for these tests: they run it as a
// user would, as a real process.
var shopBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "shop-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shopBin = filepath.Join(dir, "shop")
	build := exec.Command("go", "build", "-race", "-o", shopBin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build shop:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a running `shop serve`.
type server struct {
	cmd  *exec.Cmd
	addr string
	logs *logBuffer
	done chan error
}

// logBuffer collects a process's log lines; the reader goroutine writes
// while a failing test may print it.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) WriteString(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(s)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var listeningRE = regexp.MustCompile(`msg="http listening".* addr=(\S+)`)

// startServe runs `shop serve` with args on a free port and waits until it
// listens: every serving process does, whatever --only says, since the
// server module (/healthz, /readyz, /metrics) is in each.
func startServe(t *testing.T, env []string, args ...string) *server {
	t.Helper()
	cmd := exec.Command(shopBin, append([]string{"serve", "--http-addr=127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = t.TempDir()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, logs: &logBuffer{}, done: make(chan error, 1)}
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			s.logs.WriteString(line + "\n")
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				select {
				case addrc <- m[1]: // the first one counts
				default:
				}
			}
		}
		s.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
	})
	select {
	case s.addr = <-addrc:
	case err := <-s.done:
		t.Fatalf("shop serve exited before listening: %v\n%s", err, s.logs)
	// A minute and a half: --demo seeds every module first (four bcrypt
	// hashes among it), which under -race on a loaded 2-core machine took
	// over 30 s.
	case <-time.After(90 * time.Second):
		t.Fatalf("shop serve did not listen within 90s\n%s", s.logs)
	}
	return s
}

func (s *server) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + s.addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// stop sends SIGTERM and returns the exit error.
func (s *server) stop(t *testing.T) error {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("shop serve did not exit within 30s of SIGTERM\n%s", s.logs)
		return nil
	}
}

// run runs shop with args and returns its exit code, stdout and stderr.
func run(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	return runFor(t, 60*time.Second, env, args...)
}

// runFor is run with the process killed after timeout.
func runFor(t *testing.T, timeout time.Duration, env []string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, shopBin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run shop %v: %v", args, err)
	}
	return code, stdout.String(), stderr.String()
}

func TestServeHealthReadinessMetricsAndDrain(t *testing.T) {
	s := startServe(t, nil)
	if code, body := s.get(t, "/healthz"); code != 200 || !strings.Contains(body, "ok") {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	// Listening comes before every module has started (readiness says
	// "starting" meanwhile): poll.
	var code int
	var body string
	if !poll(30*time.Second, func() bool { code, body = s.get(t, "/readyz"); return code == 200 }) || !strings.Contains(body, "ready") {
		t.Fatalf("/readyz: %d %s, want 200 within 30s", code, body)
	}
	code, body = s.get(t, "/metrics")
	for _, want := range []string{"shop_bus_requests_in_flight", "go_goroutines"} {
		if code != 200 || !strings.Contains(body, want) {
			t.Fatalf("/metrics lacks %s: %d\n%s", want, code, body)
		}
	}
	if err := s.stop(t); err != nil {
		t.Fatalf("exit after SIGTERM: %v (want 0)\n%s", err, s.logs)
	}
	if !strings.Contains(s.logs.String(), "draining") {
		t.Fatalf("no drain logged:\n%s", s.logs)
	}
}

func TestServeRefusesBadInput(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"unknown module", nil, []string{"serve", "--only=web,nosuch"}, []string{`"nosuch"`, "valid modules:", "web"}},
		{"internal module", nil, []string{"serve", "--only=bus"}, []string{`"bus"`, "valid modules:"}},
		{"bad bus url", nil, []string{"serve", "--bus-url=kafka://x"}, []string{`unknown scheme "kafka"`}},
		{"bad env value", []string{"SHOP_SHUTDOWN_TIMEOUT=banana"}, []string{"serve"}, []string{"SHOP_SHUTDOWN_TIMEOUT", "banana"}},
		{"bad only from env", []string{"SHOP_ONLY=nosuch"}, []string{"serve"}, []string{`"nosuch"`}},
		{"unknown flag", nil, []string{"serve", "--colour=blue"}, []string{"unknown flag"}},
		{"stray argument", nil, []string{"serve", "now"}, []string{"unknown command"}},
		{"bad log level", nil, []string{"serve", "--log-level=loud"}, []string{"--log-level"}},
		{"bad smtp scheme", nil, []string{"serve", "--smtp-url=http://mail.example"}, []string{"smtp url http://mail.example", `scheme "http"`}},
		{"bad trusted proxy", nil, []string{"serve", "--trusted-proxies=10.0.0.0/8,10.0.0.1/8"}, []string{`--trusted-proxies: trusted proxy "10.0.0.1/8"`, "did you mean 10.0.0.0/8?"}},
		{"bad trusted proxy from env", []string{"SHOP_TRUSTED_PROXIES=proxy.internal"}, []string{"serve"}, []string{`trusted proxy "proxy.internal": not an address or CIDR range`}},
		{"smtp url without a host", []string{"SHOP_SMTP_URL=smtp://u:hidden@"}, []string{"serve"}, []string{"smtp url smtp://u:xxxxx@: no host"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, tt.env, tt.args...)
			if code == 0 {
				t.Fatalf("exit 0, want failure; stderr:\n%s", stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

func TestFlagWinsOverEnvironment(t *testing.T) {
	// The environment picks the address when no flag is given...
	env := []string{"SHOP_HTTP_ADDR=127.0.0.1:1"} // port 1: unusable, so a bug shows
	s := startServe(t, env, "--http-addr=127.0.0.1:0")
	if strings.HasSuffix(s.addr, ":1") {
		t.Fatalf("environment won over the flag: %s", s.addr)
	}
	if err := s.stop(t); err != nil {
		t.Fatal(err)
	}
	// ...and is used when the flag is absent.
	code, _, stderr := run(t, []string{"SHOP_BUS_URL=nats://x"}, "serve")
	if code == 0 || !strings.Contains(stderr, `"nats"`) {
		t.Fatalf("SHOP_BUS_URL ignored: %d %s", code, stderr)
	}
}

func TestHelpDocumentsEnvironment(t *testing.T) {
	for _, cmd := range []string{"serve", "ping"} {
		_, out, _ := run(t, nil, cmd, "--help")
		for _, want := range []string{"--bus-url", "SHOP_BUS_URL", "SHOP_LOG_LEVEL"} {
			if !strings.Contains(out, want) {
				t.Errorf("shop %s --help lacks %s:\n%s", cmd, want, out)
			}
		}
	}
}

func TestModulesCommand(t *testing.T) {
	code, out, _ := run(t, nil, "modules", "--json")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var list []struct {
		Name     string
		Deps     []string
		Internal bool
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	byName := map[string]bool{}
	for _, m := range list {
		byName[m.Name] = m.Internal
	}
	if internal, ok := byName["web"]; !ok || internal {
		t.Fatalf("web missing or internal: %s", out)
	}
	if internal, ok := byName["bus"]; !ok || !internal {
		t.Fatalf("bus missing or not internal: %s", out)
	}
	_, table, _ := run(t, nil, "modules")
	if !strings.Contains(table, "DEPENDS ON") || !strings.Contains(table, "web") {
		t.Fatalf("table:\n%s", table)
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := run(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "shop ") {
		t.Fatalf("version: %d %q", code, out)
	}
}

// TestHealthcheck is the container health check against a real serve: it
// passes on a serving process and fails, naming the probe, on a dead port
// and on bad flags.
func TestHealthcheck(t *testing.T) {
	s := startServe(t, nil, "--only=category", "--workers=0")
	if code, out, errOut := run(t, nil, "healthcheck", "--http-addr="+s.addr); code != 0 || !strings.Contains(out, "/readyz ok") {
		t.Fatalf("healthcheck on a live serve: exit %d\n%s%s", code, out, errOut)
	}
	dead := freeTCPAddr(t)
	if code, _, errOut := run(t, nil, "healthcheck", "--http-addr="+dead, "--timeout=1s"); code == 0 || !strings.Contains(errOut, "/healthz") {
		t.Fatalf("healthcheck on a dead port: exit %d, stderr %q; want non-zero naming /healthz", code, errOut)
	}
	if code, _, errOut := run(t, nil, "healthcheck", "--http-addr=nonsense"); code == 0 || !strings.Contains(errOut, "--http-addr") {
		t.Fatalf("healthcheck with a bad address: exit %d, stderr %q", code, errOut)
	}
}

func TestProbeBase(t *testing.T) {
	for addr, want := range map[string]string{
		"0.0.0.0:8080":   "http://127.0.0.1:8080",
		":9000":          "http://127.0.0.1:9000",
		"[::]:8080":      "http://127.0.0.1:8080",
		"10.0.0.5:8080":  "http://10.0.0.5:8080",
		"127.0.0.1:1234": "http://127.0.0.1:1234",
	} {
		if got, err := probeBase(addr); err != nil || got != want {
			t.Errorf("probeBase(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
	if _, err := probeBase("8080"); err == nil {
		t.Error("probeBase(\"8080\") accepted an address without a port separator")
	}
}

func freeTCPAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
