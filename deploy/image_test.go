package deploy

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/bus/amqp/amqptest"
)

// maxImageBytes is the bound on the image: 40 MB.
const maxImageBytes = 40_000_000

// docker runs the docker CLI and returns its trimmed output.
func docker(ctx context.Context, t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// requireDocker skips, loudly, where no Docker engine answers: no engine can
// run here without root and Debian's docker.io (.ci/run installs and starts
// it).
func requireDocker(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("SKIPPED: no docker CLI in PATH\n    !!! The image test did NOT run: install docker.io and start dockerd.")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Skipf("SKIPPED: no Docker engine answers: %v: %s\n    !!! The image test did NOT run: start dockerd.", err, strings.TrimSpace(string(out)))
	}
}

// TestImage builds the image with `make image` (the one definition of how
// it is built), checks its size, runs `shop version` in it, and serves the
// web module in a container on the host network against the host's
// RabbitMQ until /healthz answers 200.
func TestImage(t *testing.T) {
	requireDocker(t)
	brokerURL := amqptest.URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()

	image := "shop-imagetest:" + strconv.Itoa(os.Getpid())
	build := exec.CommandContext(ctx, "make", "-C", "..", "image", "IMAGE="+image)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", image).Run() })

	size, err := strconv.ParseInt(docker(ctx, t, "image", "inspect", "-f", "{{.Size}}", image), 10, 64)
	if err != nil {
		t.Fatalf("image size: %v", err)
	}
	t.Logf("image %s: %.1f MB", image, float64(size)/1e6)
	if size > maxImageBytes {
		t.Errorf("image is %d bytes, want at most %d", size, maxImageBytes)
	}
	if user := docker(ctx, t, "image", "inspect", "-f", "{{.Config.User}}", image); user == "" || strings.HasPrefix(user, "0") || user == "root" {
		t.Errorf("image user = %q, want a non-root user", user)
	}

	if v := docker(ctx, t, "run", "--rm", image, "version"); !strings.HasPrefix(v, "shop ") {
		t.Errorf("shop version in the image printed %q", v)
	}

	addr := freeAddr(t)
	name := "shop-imagetest-web-" + strconv.Itoa(os.Getpid())
	docker(ctx, t, "run", "-d", "--name", name, "--network", "host", image,
		"serve", "--only=web", "--workers=1", "--bus-url="+brokerURL,
		"--bus-prefix="+amqptest.Prefix(), "--http-addr="+addr)
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := exec.Command("docker", "logs", name).CombinedOutput()
			t.Logf("container logs:\n%s", out)
		}
		_ = exec.Command("docker", "rm", "-f", name).Run()
	})

	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz of the container never answered 200 (last: %v)", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The image's own health check (shop healthcheck) agrees.
	docker(ctx, t, "exec", name, "/shop", "healthcheck", "--http-addr="+addr)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
