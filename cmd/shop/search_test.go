package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Search freshness across processes: a change to the catalogue shows in
// the search of every process serving filter within a second, whichever
// process took the write and whichever consumed its event. Two shapes:
// a primary with two workers on the memory bus (each worker its own bus,
// one SQLite directory), and two instances on RabbitMQ (competing for the
// queues) over one SQLite directory.

// freshWithin is the promise under test.
const freshWithin = time.Second

// searcher reads search from one process: a client holding one
// keep-alive connection, so that every request reaches the same worker.
type searcher struct {
	name   string
	client *http.Client
	addr   string
}

func (s searcher) get(t *testing.T, path string) (int, []byte) {
	t.Helper()
	resp, err := s.client.Get("http://" + s.addr + path)
	if err != nil {
		t.Fatalf("%s: GET %s: %v", s.name, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// pinnedClient keeps one connection open (one worker answers it all).
func pinnedClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}, Timeout: 10 * time.Second}
}

// workerSearchers returns one searcher per worker of the supervised
// serve at addr: pinned clients tried until each worker holds one.
func workerSearchers(t *testing.T, addr string, workers int) []searcher {
	t.Helper()
	byWorker := map[int]searcher{}
	deadline := time.Now().Add(30 * time.Second)
	for len(byWorker) < workers {
		if time.Now().After(deadline) {
			t.Fatalf("connections reached %d of %d workers", len(byWorker), workers)
		}
		c := pinnedClient()
		h, err := healthz(c, addr)
		if err != nil {
			continue
		}
		if _, ok := byWorker[h.Worker]; !ok {
			byWorker[h.Worker] = searcher{name: fmt.Sprintf("worker %d", h.Worker), client: c, addr: addr}
		}
	}
	var out []searcher
	for _, s := range byWorker {
		out = append(out, s)
	}
	return out
}

type searchReply struct {
	Total int `json:"total"`
	Items []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"items"`
}

// awaitEvery polls query on every searcher until cond holds on all,
// failing after freshWithin.
func awaitEvery(t *testing.T, readers []searcher, what, query string, cond func(searchReply) bool) {
	t.Helper()
	deadline := time.Now().Add(freshWithin)
	for _, r := range readers {
		for {
			status, body := r.get(t, "/api/v1/search?"+query)
			var got searchReply
			if status == 200 && json.Unmarshal(body, &got) == nil && cond(got) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s not within %v: %d %s", what, r.name, freshWithin, status, body)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// admin calls the admin API at addr and decodes the reply into v.
func admin(t *testing.T, addr, method, path, body string, v any) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := newConnClient().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if v != nil {
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
}

type entity struct {
	ID      string `json:"id"`
	Version int64  `json:"version"`
}

// freshnessScenario writes through writers (round robin) and checks that
// every reader sees each change within freshWithin: a product created,
// edited, moved between categories, its category moved, unpublished and
// deleted.
func freshnessScenario(t *testing.T, writers []string, readers []searcher) {
	t.Helper()
	w := func(i int) string { return writers[i%len(writers)] }
	var home, garden, lighting, lamp, vase entity
	admin(t, w(0), "POST", "/api/v1/admin/categories", `{"name":"Home"}`, &home)
	admin(t, w(1), "POST", "/api/v1/admin/categories", `{"name":"Garden"}`, &garden)
	admin(t, w(0), "POST", "/api/v1/admin/categories", fmt.Sprintf(`{"name":"Lighting","parent_id":%q}`, home.ID), &lighting)
	admin(t, w(1), "POST", "/api/v1/admin/products", fmt.Sprintf(`{"name":"Lamp","status":"published","category_ids":[%q],"currency":"EUR","price":4500,"variants":[{"stock":2}]}`, lighting.ID), &lamp)
	admin(t, w(0), "POST", "/api/v1/admin/products", fmt.Sprintf(`{"name":"Vase","status":"published","category_ids":[%q],"currency":"EUR","price":1500}`, garden.ID), &vase)
	awaitEvery(t, readers, "created", "category="+home.ID, func(r searchReply) bool { return r.Total == 1 && r.Items[0].ID == lamp.ID })

	admin(t, w(1), "PATCH", "/api/v1/admin/products/"+lamp.ID, fmt.Sprintf(`{"version":%d,"name":"Desk lamp"}`, lamp.Version), &lamp)
	awaitEvery(t, readers, "edited", "q=desk", func(r searchReply) bool { return r.Total == 1 && r.Items[0].Name == "Desk lamp" })

	admin(t, w(0), "PATCH", "/api/v1/admin/products/"+vase.ID, fmt.Sprintf(`{"version":%d,"category_ids":[%q]}`, vase.Version, lighting.ID), &vase)
	awaitEvery(t, readers, "product moved", "category="+lighting.ID, func(r searchReply) bool { return r.Total == 2 })

	admin(t, w(1), "POST", "/api/v1/admin/categories/"+lighting.ID+"/move", fmt.Sprintf(`{"parent_id":%q}`, garden.ID), nil)
	awaitEvery(t, readers, "category moved", "category="+garden.ID, func(r searchReply) bool { return r.Total == 2 })
	awaitEvery(t, readers, "category moved away", "category="+home.ID, func(r searchReply) bool { return r.Total == 0 })

	admin(t, w(0), "POST", "/api/v1/admin/products/"+vase.ID+"/status", `{"status":"draft"}`, nil)
	awaitEvery(t, readers, "unpublished", "q=vase", func(r searchReply) bool { return r.Total == 0 })

	admin(t, w(1), "DELETE", "/api/v1/admin/products/"+lamp.ID, "", nil)
	awaitEvery(t, readers, "deleted", "page_size=10", func(r searchReply) bool { return r.Total == 0 })
}

func TestSearchFreshOnEveryWorker(t *testing.T) {
	p := startSupervisedEnv(t, []string{"SHOP_ADMIN_TOKEN=" + testAdminToken}, "--workers=2")
	p.waitWorkers(newConnClient(), 2)
	readers := workerSearchers(t, p.addr, 2)
	for _, r := range readers {
		awaitReady(t, r)
	}
	freshnessScenario(t, []string{p.addr}, readers)
}

func TestSearchFreshOnEveryInstanceOverAMQP(t *testing.T) {
	url, prefix := brokerPrefix(t)
	dataDir := t.TempDir()
	env := []string{"SHOP_ADMIN_TOKEN=" + testAdminToken}
	args := []string{"--workers=0", "--bus-url=" + url, "--bus-prefix=" + prefix, "--database-url=sqlite://" + dataDir}
	a, b := startServe(t, env, args...), startServe(t, env, args...)
	readers := []searcher{{name: "instance a", client: pinnedClient(), addr: a.addr}, {name: "instance b", client: pinnedClient(), addr: b.addr}}
	for _, r := range readers {
		awaitReady(t, r)
	}
	freshnessScenario(t, []string{a.addr, b.addr}, readers)
}

// awaitReady waits for /readyz, which holds until filter's snapshot is in.
func awaitReady(t *testing.T, r searcher) {
	t.Helper()
	if !poll(30*time.Second, func() bool { status, _ := r.get(t, "/readyz"); return status == 200 }) {
		_, body := r.get(t, "/readyz")
		t.Fatalf("%s not ready: %s", r.name, body)
	}
}
