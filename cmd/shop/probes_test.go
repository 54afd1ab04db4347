package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/modules"
)

// TestEveryModuleAloneAnswersProbes starts each selectable module alone, in
// one process and under a supervisor with one worker, and probes it as a
// container's health check would: every serving process has the server
// module, whatever --only says.
func TestEveryModuleAloneAnswersProbes(t *testing.T) {
	c := &http.Client{Timeout: 20 * time.Second}
	try := func(s *server, path string) (int, string, error) {
		resp, err := c.Get("http://" + s.addr + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), nil
	}
	get := func(t *testing.T, s *server, path string) (int, string) {
		t.Helper()
		code, body, err := try(s, path)
		if err != nil {
			t.Fatalf("GET %s: %v\n%s", path, err, s.logs)
		}
		return code, body
	}
	for _, m := range modules.Selectable() {
		for _, workers := range []string{"0", "1"} {
			t.Run(m+"/workers="+workers, func(t *testing.T) {
				s := startServe(t, []string{"SHOP_WORKERS=", "SHOP_ADMIN_TOKEN="},
					"--only="+m, "--workers="+workers, "--database-url=sqlite://"+t.TempDir())
				// Under a supervisor the primary listens before the worker
				// accepts; the kernel queues the connection meanwhile.
				// A worker still starting on a loaded machine may not
				// accept within the client's timeout: poll through that.
				var code int
				var body string
				var err error
				if !poll(60*time.Second, func() bool { code, body, err = try(s, "/readyz"); return code == 200 }) {
					t.Fatalf("/readyz: %d %s (%v), want 200 within 60s\n%s", code, body, err, s.logs)
				}
				var rd modules.Readiness
				if err := json.Unmarshal([]byte(body), &rd); err != nil || rd.Status != modules.StatusReady || rd.Checks["bus"] != "ok" {
					t.Fatalf("/readyz body %s (%v)", body, err)
				}
				if m != modules.Web && rd.Checks["store"] != "ok" {
					t.Fatalf("/readyz of %s has no store check: %s", m, body)
				}
				if code, body := get(t, s, "/healthz"); code != 200 || !strings.Contains(body, `"status":"ok"`) {
					t.Fatalf("/healthz: %d %s", code, body)
				}
				code, body = get(t, s, "/metrics")
				for _, want := range []string{`shop_http_request_duration_seconds_count{method="GET",route="/readyz",status="200"`,
					"process_cpu_seconds_total", "shop_bus_requests_in_flight"} {
					if code != 200 || !strings.Contains(body, want) {
						t.Fatalf("/metrics: %d, lacks %s:\n%s", code, want, body)
					}
				}
				if workers == "1" && !strings.Contains(body, `worker="0"`) {
					t.Fatalf("/metrics of worker 0 without its label:\n%s", body)
				}
				if err := s.stop(t); err != nil {
					t.Fatalf("exit after SIGTERM: %v\n%s", err, s.logs)
				}
			})
		}
	}
}
