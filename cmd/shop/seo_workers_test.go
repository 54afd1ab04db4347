package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// workerClient is an HTTP client held to one worker: a single kept-alive
// connection, so every request it makes reaches the process that accepted
// it.
type workerClient struct {
	c    *http.Client
	addr string
	pid  int
}

func (w workerClient) do(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+w.addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer seo-secret")
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.c.Do(req)
	if err != nil {
		t.Fatalf("%s %s on worker %d: %v", method, path, w.pid, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// resolve returns what worker w says path is: "entity <id>", "redirect
// <target>", or the status.
func (w workerClient) resolve(t *testing.T, path string) string {
	t.Helper()
	status, body := w.do(t, "GET", "/api/v1/seo/resolve?path="+url.QueryEscape(path), "")
	var res struct{ Kind, ID, Target string }
	_ = json.Unmarshal([]byte(body), &res)
	switch {
	case status == 200 && res.Kind == "entity":
		return "entity " + res.ID
	case status == 200 && res.Kind == "redirect":
		return "redirect " + res.Target
	}
	return fmt.Sprint(status)
}

// pinWorkers opens kept-alive connections until it has one to each of n
// workers.
func pinWorkers(t *testing.T, p *supervised, n int) []workerClient {
	t.Helper()
	var out []workerClient
	seen := map[int]bool{}
	deadline := time.Now().Add(60 * time.Second)
	for len(out) < n {
		if time.Now().After(deadline) {
			p.fatalf("reached %d of %d workers", len(out), n)
		}
		c := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}, Timeout: 20 * time.Second}
		h, err := healthz(c, p.addr)
		if err != nil || seen[h.PID] {
			c.CloseIdleConnections()
			continue
		}
		seen[h.PID] = true
		out = append(out, workerClient{c: c, addr: p.addr, pid: h.PID})
	}
	return out
}

// awaitWorker polls w until path answers want, and returns when.
func awaitWorker(t *testing.T, p *supervised, w workerClient, path, want string, within time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := w.resolve(t, path)
		if got == want {
			return time.Now()
		}
		if time.Now().After(deadline) {
			p.fatalf("worker %d: resolve(%s) = %s after %v, want %s", w.pid, path, got, within, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Two worker processes, each with its own in-process bus: a write made
// through one worker reaches only that worker's seo consumer, and the
// other worker's registry follows through the feed within a second.
func TestSEOFollowsAcrossWorkers(t *testing.T) {
	p := startSupervisedEnv(t, []string{"SHOP_ADMIN_TOKEN=seo-secret"}, "--workers=2", "--database-url=sqlite://"+t.TempDir())
	ws := pinWorkers(t, p, 2)
	a, b := ws[0], ws[1]

	status, body := a.do(t, "POST", "/api/v1/admin/categories", `{"name":"Garden"}`)
	if status != 201 {
		p.fatalf("create category on worker %d: %d %s", a.pid, status, body)
	}
	var cat struct{ ID string }
	_ = json.Unmarshal([]byte(body), &cat)
	first := awaitWorker(t, p, a, "/garden", "entity "+cat.ID, 20*time.Second)
	late := awaitWorker(t, p, b, "/garden", "entity "+cat.ID, 20*time.Second)
	t.Logf("created on worker %d; worker %d followed %v later", a.pid, b.pid, late.Sub(first))
	if late.Sub(first) > time.Second {
		p.fatalf("worker %d followed the create %v after worker %d", b.pid, late.Sub(first), a.pid)
	}

	// A slug change written through the other worker.
	status, body = b.do(t, "PATCH", "/api/v1/admin/categories/"+cat.ID, `{"slug":"outdoor","version":1}`)
	if status != 200 {
		p.fatalf("rename on worker %d: %d %s", b.pid, status, body)
	}
	first = awaitWorker(t, p, b, "/garden", "redirect /outdoor", 20*time.Second)
	late = awaitWorker(t, p, a, "/garden", "redirect /outdoor", 20*time.Second)
	t.Logf("renamed on worker %d; worker %d followed %v later", b.pid, a.pid, late.Sub(first))
	if late.Sub(first) > time.Second {
		p.fatalf("worker %d followed the rename %v after worker %d", a.pid, late.Sub(first), b.pid)
	}
	if got := a.resolve(t, "/outdoor"); got != "entity "+cat.ID {
		p.fatalf("worker %d: /outdoor = %s", a.pid, got)
	}
}
