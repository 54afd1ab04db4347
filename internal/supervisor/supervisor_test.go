//go:build linux

package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as worker and as primary: these variables choose.
const (
	envTestMode   = "SUPERVISOR_TEST_MODE"   // "primary": run a primary (see testPrimary)
	envTestWorker = "SUPERVISOR_TEST_WORKER" // worker behaviour: "" (serve), "crash", "noterm"
)

func TestMain(m *testing.M) {
	switch {
	case IsWorker():
		os.Exit(testWorker(os.Getenv(envTestWorker)))
	case os.Getenv(envTestMode) == "primary":
		os.Exit(testPrimary())
	}
	os.Exit(m.Run())
}

// testWorker serves HTTP on the inherited listener: "/" answers with the
// worker's pid, "/slow" sends its headers at once and its pid after 2s. It
// drains on SIGTERM/SIGINT or when the primary dies. Mode "crash" exits 1
// at start; mode "noterm" ignores SIGTERM (and so Pdeathsig), leaving the
// lifeline pipe as the only way to notice a dead primary.
func testWorker(mode string) int {
	if mode == "crash" {
		fmt.Fprintln(os.Stderr, "test worker: crashing at start")
		return 1
	}
	sigs := []os.Signal{syscall.SIGINT, syscall.SIGTERM}
	if mode == "noterm" {
		signal.Ignore(syscall.SIGTERM)
		sigs = sigs[:1]
	}
	ctx, stop := signal.NotifyContext(context.Background(), sigs...)
	defer stop()
	ctx, cancel := WatchParent(ctx)
	defer cancel()
	ls, err := InheritedListeners()
	if err != nil || len(ls) != 1 {
		fmt.Fprintln(os.Stderr, "test worker: listeners:", len(ls), err)
		return 2
	}
	pid := strconv.Itoa(os.Getpid())
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, pid) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush() // the client now knows the request is in flight
		time.Sleep(2 * time.Second)
		io.WriteString(w, pid)
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ls[0])
	<-ctx.Done()
	sctx, scancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		fmt.Fprintln(os.Stderr, "test worker: shutdown:", err)
		return 3
	}
	return 0
}

// testPrimary runs a primary with two workers on the listener at fd 3,
// until it is killed.
func testPrimary() int {
	l, err := net.FileListener(os.NewFile(3, "listener"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "test primary:", err)
		return 2
	}
	err = Run(context.Background(), Config{
		Workers:   2,
		Args:      []string{},
		Listeners: []net.Listener{l},
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	fmt.Fprintln(os.Stderr, "test primary: Run returned:", err)
	return 1
}

func TestWorkersShareOneListener(t *testing.T) {
	r := startRun(t, Config{Workers: 2})
	kids := waitChildren(t, os.Getpid(), 2)
	served := waitServing(t, r.url, 2)
	for pid := range served {
		if !slices.ContainsFunc(kids, func(p proc) bool { return p.pid == pid }) {
			t.Errorf("answer from pid %d, not one of the workers %v", pid, kids)
		}
	}
}

func TestRespawnAfterKill(t *testing.T) {
	r := startRun(t, Config{Workers: 2})
	kids := waitChildren(t, os.Getpid(), 2)
	waitServing(t, r.url, 2)

	victim := kids[0]
	if err := syscall.Kill(victim.pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	waitFor(t, 10*time.Second, "killed worker to die", func() bool { return !alive(victim) })
	for range 5 { // the gap: the other worker answers
		pid, err := get(r.url)
		if err != nil {
			t.Fatalf("request after the kill: %v", err)
		}
		if pid == victim.pid {
			t.Fatalf("answer from the killed worker %d", pid)
		}
	}
	var repl proc
	waitFor(t, time.Until(deadline), "a replacement worker within 2s of the kill", func() bool {
		for _, p := range children(os.Getpid()) {
			if !slices.Contains(kids, p) {
				repl = p
				return true
			}
		}
		return false
	})
	waitFor(t, 20*time.Second, "the replacement to answer", func() bool {
		_, ok := burst(t, r.url, 4)[repl.pid]
		return ok
	})
}

func TestRestartLimitAfterKills(t *testing.T) {
	r := startRun(t, Config{Workers: 2, MaxRestarts: 5, RestartWindow: time.Minute, ShutdownTimeout: 10 * time.Second})
	kids := waitChildren(t, os.Getpid(), 2)
	var all []proc
	for i := range 6 {
		all = append(all, kids...)
		victim := kids[0]
		if err := syscall.Kill(victim.pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if i == 5 {
			break
		}
		waitFor(t, 10*time.Second, "a replacement for the killed worker", func() bool {
			if alive(victim) {
				return false
			}
			kids = children(os.Getpid())
			return len(kids) == 2
		})
	}
	err := r.wait(t, 30*time.Second)
	if !errors.Is(err, ErrRestartLimit) || !strings.Contains(err.Error(), "restart limit reached") ||
		!strings.Contains(err.Error(), "killed by signal 9") {
		t.Fatalf("Run returned %v, want the restart-limit error naming signal 9", err)
	}
	t.Logf("Run: %v", err)
	for _, p := range all {
		if alive(p) {
			t.Errorf("worker %d still running after Run returned", p.pid)
		}
	}
}

func TestShutdownDrainsInFlightRequest(t *testing.T) {
	r := startRun(t, Config{Workers: 2, ShutdownTimeout: 20 * time.Second})
	kids := waitChildren(t, os.Getpid(), 2)
	waitServing(t, r.url, 2) // both have their SIGTERM handlers

	resp, err := client.Get(r.url + "/slow")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r.cancel() // what signal.NotifyContext does on SIGTERM
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("in-flight request cut off: %v", err)
	}
	if pid, _ := strconv.Atoi(string(body)); !slices.ContainsFunc(kids, func(p proc) bool { return p.pid == pid }) {
		t.Errorf("slow request answered %q, want a worker pid", body)
	}
	if err := r.wait(t, 30*time.Second); err != nil {
		t.Fatalf("Run after graceful shutdown: %v", err)
	}
	for _, p := range kids {
		if alive(p) {
			t.Errorf("worker %d still running after Run returned", p.pid)
		}
	}
}

func TestWorkerFailingAtStartHitsRestartLimit(t *testing.T) {
	start := time.Now()
	r := startRun(t, Config{Workers: 2, MaxRestarts: 3, RestartWindow: time.Minute, Env: []string{envTestWorker + "=crash"}})
	err := r.wait(t, 30*time.Second)
	if !errors.Is(err, ErrRestartLimit) || !strings.Contains(err.Error(), "exited with code 1") {
		t.Fatalf("Run returned %v, want the restart-limit error naming exit code 1", err)
	}
	t.Logf("Run returned after %v: %v", time.Since(start).Round(time.Millisecond), err)
}

func TestNoOrphansWhenPrimaryKilled(t *testing.T) {
	for _, mode := range []string{"serve", "noterm"} {
		t.Run(mode, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			lf, err := l.(*net.TCPListener).File()
			if err != nil {
				t.Fatal(err)
			}
			defer lf.Close()
			exe, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(exe)
			cmd.Env = append(os.Environ(), envTestMode+"=primary", envTestWorker+"="+mode, noRaceExitSleep)
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			cmd.ExtraFiles = []*os.File{lf}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { cmd.Process.Kill(); cmd.Wait() }()

			kids := waitChildren(t, cmd.Process.Pid, 2)
			waitServing(t, "http://"+l.Addr().String(), 2) // watchers are in place
			killed := time.Now()
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()
			waitFor(t, 3*time.Second, "the workers of the killed primary to exit", func() bool {
				return !slices.ContainsFunc(kids, alive)
			})
			t.Logf("workers gone %v after the primary", time.Since(killed).Round(time.Millisecond))
		})
	}
}

// run is a primary running in this test process.
type run struct {
	url    string
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// startRun runs a primary with one fresh listener; the test's cleanup
// stops it.
func startRun(t *testing.T, cfg Config) *run {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	cfg.Listeners = []net.Listener{l}
	cfg.Env = append(cfg.Env, noRaceExitSleep)
	cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	ctx, cancel := context.WithCancel(context.Background())
	r := &run{url: "http://" + l.Addr().String(), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = Run(ctx, cfg)
	}()
	t.Cleanup(func() {
		r.cancel()
		r.wait(t, time.Minute)
	})
	return r
}

// wait waits for Run to return and returns its error.
func (r *run) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(timeout):
		r.cancel()
		<-r.done
		t.Fatalf("Run did not return within %v", timeout)
		return nil
	}
}

// noRaceExitSleep stops race-enabled workers from sleeping 1s at exit.
var noRaceExitSleep = "GORACE=" + strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// client opens a new connection per request, so the kernel picks an
// accepting worker each time.
var client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 20 * time.Second}

// get returns the pid that answered "/".
func get(url string) (int, error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(string(body))
}

// burst sends n concurrent requests and returns the pids that answered.
func burst(t *testing.T, url string, n int) map[int]bool {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	pids := map[int]bool{}
	for range n {
		wg.Go(func() {
			pid, err := get(url)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("request: %v", err)
				return
			}
			pids[pid] = true
		})
	}
	wg.Wait()
	return pids
}

// waitServing waits until n distinct workers have answered and returns
// their pids.
func waitServing(t *testing.T, url string, n int) map[int]bool {
	t.Helper()
	seen := map[int]bool{}
	waitFor(t, 30*time.Second, fmt.Sprintf("answers from %d workers", n), func() bool {
		for pid := range burst(t, url, 8) {
			seen[pid] = true
		}
		return len(seen) >= n
	})
	return seen
}

func waitChildren(t *testing.T, ppid, n int) []proc {
	t.Helper()
	var kids []proc
	waitFor(t, 10*time.Second, fmt.Sprintf("%d workers of pid %d", n, ppid), func() bool {
		kids = children(ppid)
		return len(kids) == n
	})
	return kids
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// proc is a process as /proc shows it. The start time tells a process
// apart from a later one that reuses its pid.
type proc struct {
	pid, ppid int
	state     string
	start     string
}

func readProc(pid int) (proc, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return proc{}, false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // the command name may hold spaces
	if len(f) < 20 {
		return proc{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	return proc{pid: pid, ppid: ppid, state: f[0], start: f[19]}, true
}

// alive reports whether p is still running; a zombie is not, as nobody
// might reap an orphan in a container.
func alive(p proc) bool {
	q, ok := readProc(p.pid)
	return ok && q.start == p.start && q.state != "Z" && q.state != "X"
}

// children returns the running children of ppid.
func children(ppid int) []proc {
	ents, _ := os.ReadDir("/proc")
	var kids []proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readProc(pid); ok && p.ppid == ppid && alive(p) {
			kids = append(kids, p)
		}
	}
	return kids
}
