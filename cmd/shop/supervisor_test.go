package main

// End-to-end tests of the process model: `shop serve --workers=N` runs a
// primary that forks N workers of the same binary (internal/supervisor).
// They run the -race binary TestMain builds, as real processes, and look
// at them through /proc, signals and HTTP, the way an operator would.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// supervised wraps a `shop serve` started by startServe with a primary and
// workers: it remembers every worker pid it has seen, so that cleanup and
// failure reports can reach them, and it takes the exit status exactly
// once, so that the logs are read only after the process has exited (the
// log builder is written by startServe's reader goroutine until then).
type supervised struct {
	*server
	t       *testing.T
	primary int
	workers map[int]bool // every worker pid seen
	exited  bool
	err     error // exit status, once exited
}

func startSupervised(t *testing.T, args ...string) *supervised {
	t.Helper()
	return startSupervisedEnv(t, nil, args...)
}

func startSupervisedEnv(t *testing.T, env []string, args ...string) *supervised {
	t.Helper()
	s := startServe(t, append([]string{"SHOP_WORKERS=", "SHOP_ADMIN_TOKEN="}, env...), args...)
	p := &supervised{server: s, t: t, primary: s.cmd.Process.Pid, workers: map[int]bool{}}
	// Runs before startServe's cleanup (LIFO): never leave a worker behind,
	// even if the test failed before the primary could stop them.
	t.Cleanup(func() { p.killAll() })
	return p
}

// wait waits up to timeout for the primary to exit and reports whether it
// did; the status is in p.err.
func (p *supervised) wait(timeout time.Duration) bool {
	if p.exited {
		return true
	}
	select {
	case p.err = <-p.done:
		p.exited = true
	case <-time.After(timeout):
	}
	return p.exited
}

// killAll SIGKILLs the primary and every worker seen that still runs this
// binary, and waits for the primary's exit (and so for its stderr to close).
func (p *supervised) killAll() {
	if !p.exited {
		_ = p.cmd.Process.Kill()
	}
	for pid := range p.workers {
		if isShop(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	p.wait(15 * time.Second)
}

// logs returns the primary's and workers' stderr. A still running serve is
// killed first: its logs are only safe to read after it exited.
func (p *supervised) logs() string {
	p.killAll()
	if !p.exited {
		return "(logs unavailable: shop serve did not exit)"
	}
	return p.server.logs.String()
}

// fatalf fails the test with the processes' logs appended.
func (p *supervised) fatalf(format string, args ...any) {
	p.t.Helper()
	p.t.Fatalf(format+"\n--- shop serve logs:\n%s", append(args, p.logs())...)
}

// children returns the live (not zombie) child processes of the primary,
// sorted, and remembers them as workers.
func (p *supervised) children() []int {
	kids := childrenOf(p.primary)
	for _, pid := range kids {
		p.workers[pid] = true
	}
	return kids
}

// waitWorkers polls /healthz until n distinct worker pids have answered,
// and returns pid → worker index.
func (p *supervised) waitWorkers(c *http.Client, n int) map[int]int {
	p.t.Helper()
	seen := map[int]int{}
	deadline := time.Now().Add(60 * time.Second)
	var lastErr error
	for len(seen) < n {
		if time.Now().After(deadline) {
			p.fatalf("only %d of %d workers answered /healthz within 60s (seen %v, last error %v)", len(seen), n, seen, lastErr)
		}
		h, err := healthz(c, p.addr)
		if err != nil {
			lastErr = err
			time.Sleep(20 * time.Millisecond)
			continue
		}
		seen[h.PID] = h.Worker
		p.workers[h.PID] = true
	}
	return seen
}

type healthReply struct {
	Status string `json:"status"`
	PID    int    `json:"pid"`
	Worker int    `json:"worker"`
}

// healthz asks addr which process answers; any failure is an error.
func healthz(c *http.Client, addr string) (healthReply, error) {
	var h healthReply
	resp, err := c.Get("http://" + addr + "/healthz")
	if err != nil {
		return h, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return h, err
	}
	if resp.StatusCode != http.StatusOK {
		return h, fmt.Errorf("/healthz: %d %s", resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, &h); err != nil || h.Status != "ok" || h.PID == 0 {
		return h, fmt.Errorf("/healthz: bad reply %q (%v)", body, err)
	}
	return h, nil
}

// newConnClient returns a client that opens a new connection for every
// request, so the kernel hands each one to whichever worker accepts first.
func newConnClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{DisableKeepAlives: true},
		Timeout:   20 * time.Second,
	}
}

// procStat returns a process's parent and state (R, S, Z, ...) from
// /proc/<pid>/stat; ok is false if there is no such process.
func procStat(pid int) (ppid int, state byte, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(f[1])
	if err != nil || len(f[0]) != 1 {
		return 0, 0, false
	}
	return ppid, f[0][0], true
}

// alive reports whether pid runs; a zombie (exited, not yet reaped by
// whichever process adopted it) counts as dead.
func alive(pid int) bool {
	_, state, ok := procStat(pid)
	return ok && state != 'Z' && state != 'X'
}

// isShop reports whether pid is alive and runs the binary under test.
func isShop(pid int) bool {
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	return err == nil && alive(pid) && filepath.Clean(exe) == filepath.Clean(shopBin)
}

// execedWorker reports whether pid is a worker that has started running
// the binary (a child between fork and exec still has the primary's
// environment, without SHOP_WORKER_INDEX).
func execedWorker(pid int) bool {
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	return err == nil && alive(pid) && slices.ContainsFunc(strings.Split(string(env), "\x00"),
		func(kv string) bool { return strings.HasPrefix(kv, "SHOP_WORKER_INDEX=") })
}

// childrenOf returns the live children of ppid, sorted.
func childrenOf(ppid int) []int {
	ents, _ := os.ReadDir("/proc")
	var kids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp, state, ok := procStat(pid); ok && pp == ppid && state != 'Z' && state != 'X' {
			kids = append(kids, pid)
		}
	}
	slices.Sort(kids)
	return kids
}

// poll calls cond every 10ms until it is true or timeout passes, and
// returns cond's last answer.
func poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return cond()
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// exitCode is the exit code in a cmd.Wait error: 0 for nil, -1 for a
// process ended by a signal.
func exitCode(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	return -1
}

func TestSupervisorTwoWorkersShareOneAddress(t *testing.T) {
	p := startSupervised(t, "--workers=2")
	c := newConnClient()
	workers := p.waitWorkers(c, 2)

	// Three processes: the primary and its two workers, which are the
	// processes that answered.
	kids := p.children()
	if len(kids) != 2 {
		p.fatalf("primary %d has %d children %v, want 2", p.primary, len(kids), kids)
	}
	for pid := range workers {
		if !slices.Contains(kids, pid) {
			p.fatalf("pid %d answered /healthz but is not a child of the primary %d (children %v)", pid, p.primary, kids)
		}
	}
	indexes := []int{}
	for _, w := range workers {
		indexes = append(indexes, w)
	}
	slices.Sort(indexes)
	if !slices.Equal(indexes, []int{0, 1}) {
		p.fatalf("worker indexes %v, want [0 1]", indexes)
	}

	// Each worker's /metrics carries its index on the shop_ series: scrape
	// until both have answered, each consistently labelled.
	series := regexp.MustCompile(`(?m)^shop_\S*`)
	label := regexp.MustCompile(`worker="(\d+)"`)
	labels := map[string]bool{}
	deadline := time.Now().Add(60 * time.Second)
	for len(labels) < 2 {
		if time.Now().After(deadline) {
			p.fatalf("/metrics: saw worker labels %v within 60s, want 0 and 1", labels)
		}
		resp, err := c.Get("http://" + p.addr + "/metrics")
		if err != nil {
			p.fatalf("GET /metrics: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			p.fatalf("GET /metrics: %d\n%s", resp.StatusCode, body)
		}
		lines := series.FindAllString(string(body), -1)
		if len(lines) == 0 {
			p.fatalf("/metrics has no shop_ series:\n%s", body)
		}
		got := ""
		for _, l := range lines {
			m := label.FindStringSubmatch(l)
			switch {
			case m == nil:
				p.fatalf("/metrics series without a worker label: %s", l)
			case got == "":
				got = m[1]
			case got != m[1]:
				p.fatalf("/metrics mixes worker labels %s and %s in one scrape", got, m[1])
			}
		}
		labels[got] = true
	}
	for l := range labels {
		if l != "0" && l != "1" {
			p.fatalf("/metrics worker label %q, want 0 or 1", l)
		}
	}

	if err := p.stop(t); err != nil {
		t.Fatalf("exit after SIGTERM: %v, want 0\n%s", err, p.server.logs)
	}
	p.exited = true
	for pid := range p.workers {
		if alive(pid) {
			t.Errorf("worker %d still running after the primary exited", pid)
		}
	}
}

func TestSupervisorReplacesKilledWorkerWithoutDowntime(t *testing.T) {
	p := startSupervised(t, "--workers=2")
	c := newConnClient()
	workers := p.waitWorkers(c, 2)
	before := p.children()
	if len(before) != 2 {
		p.fatalf("primary has children %v, want 2", before)
	}
	victim := before[0]
	if _, ok := workers[victim]; !ok {
		p.fatalf("child %d never answered /healthz (answered: %v)", victim, workers)
	}

	// One client sends requests back to back, through the kill, the gap
	// and the replacement's start; every one must be answered. The kill
	// falls between two requests, so that no request is on the victim's
	// connection when it dies: a request the victim has accepted is lost
	// with it, which is what kill -9 means, not a failure of the address.
	var (
		requests, inGap int
		killedAt        time.Time
		replacement     int
		replacedAfter   time.Duration
	)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if requests == 20 {
			if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
				p.fatalf("kill -9 %d: %v", victim, err)
			}
			killedAt = time.Now()
			// SIGKILL is delivered asynchronously: wait until the victim
			// has closed its sockets (exited), or the next request could
			// still reach it.
			if !poll(10*time.Second, func() bool { return !alive(victim) }) {
				p.fatalf("worker %d still alive 10s after kill -9", victim)
			}
		}
		if !killedAt.IsZero() && replacement == 0 {
			for _, pid := range p.children() {
				if !slices.Contains(before, pid) {
					replacement, replacedAfter = pid, time.Since(killedAt)
				}
			}
			if replacement == 0 && time.Since(killedAt) > 2*time.Second {
				p.fatalf("no replacement worker within 2s of kill -9 %d (children %v)", victim, p.children())
			}
		}
		h, err := healthz(c, p.addr)
		requests++
		if err != nil {
			p.fatalf("request %d (%v after the kill) failed: %v", requests, time.Since(killedAt), err)
		}
		if h.PID == victim && !killedAt.IsZero() {
			p.fatalf("killed worker %d answered request %d", victim, requests)
		}
		if !killedAt.IsZero() {
			if h.PID == replacement {
				if h.Worker != workers[victim] {
					p.fatalf("replacement %d reports worker %d, want the victim's index %d", replacement, h.Worker, workers[victim])
				}
				break // the replacement serves
			}
			inGap++
		}
		if time.Now().After(deadline) {
			p.fatalf("replacement worker %d did not answer within 60s of kill -9 %d", replacement, victim)
		}
	}
	t.Logf("replacement %d running %v after kill -9 %d; %d requests in all, %d of them answered by the other worker before the replacement served",
		replacement, replacedAfter.Round(time.Millisecond), victim, requests, inGap)
	if kids := p.children(); len(kids) != 2 {
		p.fatalf("after the restart the primary has children %v, want 2", kids)
	}

	if err := p.stop(t); err != nil {
		t.Fatalf("exit after SIGTERM: %v, want 0\n%s", err, p.server.logs)
	}
	p.exited = true
}

func TestSupervisorStopsAtRestartLimit(t *testing.T) {
	// Defaults: at most 5 restarts in 60s, so the sixth death is one too many.
	p := startSupervised(t, "--workers=2")
	p.waitWorkers(newConnClient(), 2)
	var killed []int
	for k := 1; k <= 6; k++ {
		var kids []int
		ok := poll(30*time.Second, func() bool {
			kids = p.children()
			return len(kids) == 2 && !slices.ContainsFunc(kids, func(pid int) bool {
				return slices.Contains(killed, pid) || !execedWorker(pid)
			})
		})
		if !ok {
			p.fatalf("before kill %d: primary has children %v, want 2 running workers not yet killed (killed so far %v)", k, kids, killed)
		}
		victim := kids[k%2]
		if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
			p.fatalf("kill -9 %d: %v", victim, err)
		}
		killed = append(killed, victim)
		if !poll(10*time.Second, func() bool { return !alive(victim) }) {
			p.fatalf("worker %d alive 10s after kill -9", victim)
		}
	}
	if !p.wait(60 * time.Second) {
		p.fatalf("primary still running 60s after the sixth kill -9")
	}
	logs := p.server.logs.String()
	if code := exitCode(p.err); code == 0 || code == -1 {
		t.Fatalf("primary exit: %v, want a non-zero exit code\n%s", p.err, logs)
	}
	if !strings.Contains(logs, "restart limit reached") {
		t.Fatalf("no restart-limit message on stderr:\n%s", logs)
	}
	if !regexp.MustCompile(`(?m)^shop: .*restart limit reached`).MatchString(logs) {
		t.Errorf("the command's error does not name the restart limit:\n%s", logs)
	}
	p.children()
	for pid := range p.workers {
		if alive(pid) {
			t.Errorf("worker %d still running after the primary gave up", pid)
		}
	}
	t.Logf("killed %v; %d worker pids seen in all", killed, len(p.workers))
}

func TestSupervisorDrainsInFlightRequestOnSIGTERM(t *testing.T) {
	const token = "drain-test-token"
	dbURL := "sqlite://" + t.TempDir()
	p := startSupervised(t, "--workers=2", "--admin-token="+token, "--database-url="+dbURL)
	p.waitWorkers(newConnClient(), 2)

	// A create whose body arrives slowly: the headers ask for
	// "100 Continue", which the server sends when the handler starts
	// reading the body, so the request is in a worker's hands before the
	// first byte of the body is written.
	name := fmt.Sprintf("Slow Drain %d", time.Now().UnixNano())
	body := `{"name":"` + name + `"}`
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPost, "http://"+p.addr+"/api/v1/admin/categories", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Expect", "100-continue")
	continued := make(chan struct{})
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		Got100Continue: func() { close(continued) },
	}))
	client := &http.Client{
		Transport: &http.Transport{DisableKeepAlives: true, ExpectContinueTimeout: time.Minute},
		Timeout:   2 * time.Minute,
	}
	type result struct {
		status int
		body   string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := client.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		done <- result{resp.StatusCode, string(b), err}
	}()
	select {
	case <-continued:
	case r := <-done:
		p.fatalf("request ended before the body was sent: %d %s %v", r.status, r.body, r.err)
	case <-time.After(60 * time.Second):
		p.fatalf("no 100 Continue within 60s")
	}
	half := len(body) / 2
	if _, err := io.WriteString(pw, body[:half]); err != nil {
		p.fatalf("write first half: %v", err)
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // the workers are draining now
	if _, err := io.WriteString(pw, body[half:]); err != nil {
		p.fatalf("write second half after SIGTERM: %v", err)
	}
	pw.Close()

	var r result
	select {
	case r = <-done:
	case <-time.After(60 * time.Second):
		p.fatalf("in-flight request not answered within 60s of SIGTERM")
	}
	if r.err != nil || r.status != http.StatusCreated {
		p.fatalf("in-flight create during drain: %d %s %v, want 201", r.status, r.body, r.err)
	}
	var created struct {
		ID   string `json:"id"`
		Slug string `json:"slug"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal([]byte(r.body), &created); err != nil || created.Slug == "" || created.Name != name {
		p.fatalf("create reply %s (%v): want the category %q with a slug", r.body, err, name)
	}

	if !p.wait(60 * time.Second) {
		p.fatalf("primary still running 60s after SIGTERM")
	}
	logs := p.server.logs.String()
	if p.err != nil {
		t.Fatalf("exit after SIGTERM: %v, want 0\n%s", p.err, logs)
	}
	if !strings.Contains(logs, "draining") {
		t.Errorf("no drain logged:\n%s", logs)
	}
	for pid := range p.workers {
		if alive(pid) {
			t.Errorf("worker %d still running after the primary exited", pid)
		}
	}

	// The category was committed: a fresh single-process serve on the same
	// database finds it.
	s := startServe(t, []string{"SHOP_WORKERS="}, "--workers=0", "--database-url="+dbURL)
	code, got := s.get(t, "/api/v1/categories/by-slug/"+created.Slug)
	if code != http.StatusOK || !strings.Contains(got, created.ID) {
		t.Fatalf("GET by-slug %s after restart: %d %s, want 200 with id %s", created.Slug, code, got, created.ID)
	}
	if err := s.stop(t); err != nil {
		t.Fatalf("single-process serve exit: %v\n%s", err, s.logs)
	}
}

func TestSupervisorGivesUpOnWorkerThatCannotStart(t *testing.T) {
	// Nothing listens on port 1: every worker fails while connecting to
	// the bus, so each start is a death that counts against the budget.
	start := time.Now()
	p := startSupervised(t, "--workers=2", "--max-restarts=2", "--restart-window=60s",
		"--bus-url=amqp://guest:guest@127.0.0.1:1/")
	if !p.wait(90 * time.Second) {
		p.fatalf("primary still running 90s after start: crash loop?")
	}
	elapsed := time.Since(start)
	logs := p.server.logs.String()
	if code := exitCode(p.err); code == 0 || code == -1 {
		t.Fatalf("primary exit: %v, want a non-zero exit code\n%s", p.err, logs)
	}
	if !regexp.MustCompile(`(?m)^shop: .*restart limit reached`).MatchString(logs) {
		t.Fatalf("no restart-limit error on stderr:\n%s", logs)
	}
	// 2 workers + 2 restarts; the exit that exceeds the budget ends it.
	if n := strings.Count(logs, `msg="worker started"`); n > 4 {
		t.Errorf("%d workers started, want at most 4 (2 + 2 restarts)\n%s", n, logs)
	}
	if !strings.Contains(logs, "127.0.0.1:1") {
		t.Errorf("the workers' bus error is not on stderr:\n%s", logs)
	}
	t.Logf("gave up after %v", elapsed.Round(time.Millisecond))
	if elapsed > 45*time.Second {
		t.Errorf("took %v to give up, want well under 45s", elapsed)
	}
}

func TestSupervisorPrimaryKilledLeavesNoOrphans(t *testing.T) {
	// A -race binary sleeps 1s at exit (GORACE atexit_sleep_ms) to let
	// other threads finish their reports; without that sleep the 3s below
	// measures the worker's own drain and exit.
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	p := startSupervisedEnv(t, []string{"GORACE=" + gorace}, "--workers=2")
	p.waitWorkers(newConnClient(), 2)
	kids := p.children()
	if len(kids) != 2 {
		p.fatalf("primary has children %v, want 2", kids)
	}
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	orphans := func() []int {
		var live []int
		for _, pid := range kids {
			if alive(pid) {
				live = append(live, pid)
			}
		}
		return live
	}
	if !poll(3*time.Second, func() bool { return len(orphans()) == 0 }) {
		p.fatalf("workers %v still running 3s after the primary was SIGKILLed", orphans())
	}
	t.Logf("workers gone %v after kill -9 of the primary", time.Since(killed).Round(time.Millisecond))
	if !p.wait(30 * time.Second) {
		p.fatalf("primary's stderr still open 30s after it was killed")
	}
}
