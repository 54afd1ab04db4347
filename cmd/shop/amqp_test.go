package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/bus/amqp/amqptest"
)

const testAdminToken = "e2e-admin-token"

// brokerPrefix returns the broker URL and a queue prefix unique to the test;
// the queues and exchanges under it are deleted when the test ends.
func brokerPrefix(t *testing.T) (string, string) {
	url := amqptest.URL(t)
	prefix := amqptest.Prefix()
	t.Cleanup(func() { deleteByPrefix(t, url, prefix) })
	return url, prefix
}

// deleteByPrefix removes what shop processes declared under prefix.
func deleteByPrefix(t *testing.T, url, prefix string) {
	conn, err := amqp091.Dial(url)
	if err != nil {
		t.Logf("cleanup: %v", err)
		return
	}
	defer conn.Close()
	for _, kind := range []string{"queues", "exchanges"} {
		out, err := exec.Command("rabbitmqctl", "-q", "list_"+kind, "name").Output()
		if err != nil {
			t.Logf("cleanup: rabbitmqctl list_%s: %v", kind, err)
			continue
		}
		for _, name := range strings.Fields(string(out)) {
			if !strings.HasPrefix(name, prefix) {
				continue
			}
			ch, err := conn.Channel()
			if err != nil {
				return
			}
			if kind == "queues" {
				_, err = ch.QueueDelete(name, false, false, false)
			} else {
				err = ch.ExchangeDelete(name, false, false)
			}
			if err != nil {
				t.Logf("cleanup %s: %v", name, err)
			}
			ch.Close()
		}
	}
}

// categoryScenario drives the category API at base and checks the answers;
// every deployment must pass it the same way.
func categoryScenario(t *testing.T, base string) {
	t.Helper()
	call := func(method, path, body string, want int) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, raw, want)
		}
		var v map[string]any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
		return v
	}
	root := call("POST", "/api/v1/admin/categories", `{"name":"Garden"}`, 201)
	child := call("POST", "/api/v1/admin/categories", fmt.Sprintf(`{"name":"Tools","parent_id":%q}`, root["id"]), 201)
	call("POST", "/api/v1/admin/categories", `{"name":"Garden"}`, 201) // slug garden-2
	if got := call("GET", "/api/v1/categories/by-slug/garden-2", "", 200); got["name"] != "Garden" {
		t.Fatalf("by slug: %v", got)
	}
	tree := call("GET", "/api/v1/categories/tree", "", 200)
	if tree["count"] != float64(3) {
		t.Fatalf("tree: %v", tree)
	}
	crumbs := call("GET", fmt.Sprintf("/api/v1/categories/%s/breadcrumbs", child["id"]), "", 200)
	if items := crumbs["items"].([]any); len(items) != 2 {
		t.Fatalf("breadcrumbs: %v", crumbs)
	}
	if e := call("DELETE", fmt.Sprintf("/api/v1/admin/categories/%s", root["id"]), "", 409); e["error"].(map[string]any)["code"] != "conflict" {
		t.Fatalf("delete with children: %v", e)
	}
	call("GET", "/api/v1/categories/01a21042-816e-7207-a40f-0cf2f438397d", "", 404)
	call("POST", "/api/v1/admin/categories", `{"name":{"$gt":""}}`, 400)
}

// TestSplitProcessesOverAMQP runs category and web as separate processes
// talking over the real RabbitMQ, and checks they serve the same API as one
// process on the in-process bus.
func TestSplitProcessesOverAMQP(t *testing.T) {
	url, prefix := brokerPrefix(t)
	env := []string{"SHOP_ADMIN_TOKEN=" + testAdminToken}

	t.Run("one process", func(t *testing.T) {
		s := startServe(t, env, "--workers=0")
		categoryScenario(t, "http://"+s.addr)
		if err := s.stop(t); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("category and web apart", func(t *testing.T) {
		busArgs := []string{"--workers=0", "--bus-url=" + url, "--bus-prefix=" + prefix}
		cat := startServe(t, env, append(busArgs, "--only=category")...)
		web := startServe(t, env, append(busArgs, "--only=web")...)
		categoryScenario(t, "http://"+web.addr)

		// shop ping sees the category instance and the web instance, each
		// with its traffic: category's bus ops, web's HTTP routes.
		code, out, stderr := run(t, nil, "ping", "--bus-url="+url, "--bus-prefix="+prefix, "--json", "--timeout=2s")
		if code != 0 {
			t.Fatalf("ping: %d %s", code, stderr)
		}
		var infos []bus.Info
		if err := json.Unmarshal([]byte(out), &infos); err != nil {
			t.Fatalf("ping output: %v\n%s", err, out)
		}
		ops := map[string]map[string]bus.EndpointInfo{}
		for _, in := range infos {
			if ops[in.Name] != nil {
				t.Fatalf("two %s instances:\n%s", in.Name, out)
			}
			ops[in.Name] = map[string]bus.EndpointInfo{}
			for _, e := range in.Endpoints {
				ops[in.Name][e.Op] = e
			}
		}
		if len(ops) != 2 || ops["category"] == nil || ops["web"] == nil {
			t.Fatalf("ping found %d instances, want category and web:\n%s", len(infos), out)
		}
		// Four creates reached web; the injection attempt never left it.
		if got := ops["category"]["create"].Requests; got != 3 {
			t.Fatalf("category creates: %d, want 3:\n%s", got, out)
		}
		if e := ops["web"]["POST /api/v1/admin/categories"]; e.Requests != 4 || e.Errors != 0 || e.MeanLatency <= 0 {
			t.Fatalf("web POST /api/v1/admin/categories: %+v, want 4 requests, no errors (a 400 is an answer):\n%s", e, out)
		}
		if e := ops["web"]["GET /api/v1/categories/{id}"]; e.Requests != 1 {
			t.Fatalf("web GET /api/v1/categories/{id}: %+v, want 1 request:\n%s", e, out)
		}
		_, table, _ := run(t, nil, "ping", "--bus-url="+url, "--bus-prefix="+prefix, "--timeout=1s")
		for _, want := range []string{"category", "web", "GET /api/v1/categories/{id}", "MEAN LATENCY"} {
			if !strings.Contains(table, want) {
				t.Fatalf("ping table lacks %s:\n%s", want, table)
			}
		}

		// With the category process gone, web answers 503 (not a hang).
		if err := cat.stop(t); err != nil {
			t.Fatalf("category process: %v", err)
		}
		start := time.Now()
		code2, _ := web.get(t, "/api/v1/categories/tree")
		if code2 != http.StatusServiceUnavailable {
			t.Fatalf("tree with category down: %d, want 503", code2)
		}
		if el := time.Since(start); el > 15*time.Second {
			t.Fatalf("took %v", el)
		}
		if err := web.stop(t); err != nil {
			t.Fatalf("web process: %v", err)
		}
	})
}
