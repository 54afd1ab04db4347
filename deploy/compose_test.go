package deploy

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/shopengine/shop/internal/modules"
)

// infrastructure is every compose service that is not a shop module.
var infrastructure = []string{"rabbitmq", "mongo1", "mongo2", "mongo3", "mongo-init", "seed"}

// servedModules is every module `shop serve --only` can run on its own:
// the registry's public modules (jobs such as the seeder have their own
// one-shot service).
func servedModules() []string {
	var out []string
	for _, m := range modules.List() {
		if !m.Internal && m.Command == "" {
			out = append(out, m.Name)
		}
	}
	return out
}

func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{"../compose.yaml"},
		cli.WithEnvFiles("../.env.example"), cli.WithDotEnv, cli.WithName("shop"))
	if err != nil {
		t.Fatalf("compose options: %v", err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("load compose.yaml: %v", err)
	}
	return p
}

// TestComposeHasOneServicePerModule checks compose.yaml against the
// registry: a service per servable module with the right --only, the
// environment, the health check and the dependencies; no service missing
// and none extra.
func TestComposeHasOneServicePerModule(t *testing.T) {
	p := loadCompose(t)
	want := append(servedModules(), infrastructure...)
	var got []string
	for name := range p.Services {
		got = append(got, name)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("services = %v, want %v (one per module in the registry plus %v)", got, want, infrastructure)
	}

	image := p.Services["web"].Image
	for _, name := range servedModules() {
		t.Run(name, func(t *testing.T) {
			s := p.Services[name]
			if s.Image != image || image == "" {
				t.Errorf("image = %q, want the one image %q every service runs", s.Image, image)
			}
			if want := []string{"serve", "--only=" + name}; !slices.Equal(s.Command, want) {
				t.Errorf("command = %q, want %q", s.Command, want)
			}
			for _, key := range []string{"SHOP_BUS_URL", "SHOP_DATABASE_URL", "SHOP_WORKERS", "SHOP_HTTP_ADDR"} {
				if v := s.Environment[key]; v == nil || *v == "" {
					t.Errorf("environment %s unset", key)
				}
			}
			if v := s.Environment["SHOP_DATABASE_URL"]; v != nil && !strings.Contains(*v, "replicaSet=rs0") {
				t.Errorf("SHOP_DATABASE_URL = %q, want the rs0 replica-set URI", *v)
			}
			if v := s.Environment["SHOP_BUS_URL"]; v != nil && !strings.HasPrefix(*v, "amqp://") {
				t.Errorf("SHOP_BUS_URL = %q, want RabbitMQ", *v)
			}
			if s.HealthCheck == nil || !slices.Equal(s.HealthCheck.Test, []string{"CMD", "/shop", "healthcheck"}) {
				t.Errorf("healthcheck = %+v, want /shop healthcheck (/healthz and /readyz)", s.HealthCheck)
			}
			if s.Restart != "unless-stopped" {
				t.Errorf("restart = %q, want unless-stopped", s.Restart)
			}
			if d, ok := s.DependsOn["rabbitmq"]; !ok || d.Condition != types.ServiceConditionHealthy {
				t.Errorf("depends_on rabbitmq = %+v, want service_healthy", d)
			}
			if d, ok := s.DependsOn["mongo-init"]; !ok || d.Condition != types.ServiceConditionCompletedSuccessfully {
				t.Errorf("depends_on mongo-init = %+v, want service_completed_successfully", d)
			}
			if d, ok := p.Services["seed"].DependsOn[name]; !ok || d.Condition != types.ServiceConditionHealthy {
				t.Errorf("seed depends_on %s = %+v, want service_healthy", name, d)
			}
		})
	}
}

func TestComposeWorkersAndPorts(t *testing.T) {
	p := loadCompose(t)
	for name, want := range map[string]string{"product": "2", "filter": "2", "web": "2", "cart": "1", "seo": "1"} {
		if v := p.Services[name].Environment["SHOP_WORKERS"]; v == nil || *v != want {
			t.Errorf("%s SHOP_WORKERS = %v, want %s", name, v, want)
		}
	}
	var published []string
	for name, s := range p.Services {
		for _, port := range s.Ports {
			if port.HostIP != "127.0.0.1" {
				published = append(published, name+":"+port.Published)
			}
		}
	}
	if !slices.Equal(published, []string{"web:8080"}) {
		t.Errorf("ports published beyond loopback = %v, want only web:8080", published)
	}
}

func TestComposeReplicaSet(t *testing.T) {
	p := loadCompose(t)
	for _, name := range []string{"mongo1", "mongo2", "mongo3"} {
		s := p.Services[name]
		if !strings.Contains(strings.Join(s.Command, " "), "--replSet rs0") {
			t.Errorf("%s command = %q, want --replSet rs0", name, s.Command)
		}
		if s.HealthCheck == nil || len(s.HealthCheck.Test) == 0 {
			t.Errorf("%s has no healthcheck", name)
		}
		if len(s.Volumes) == 0 || s.Volumes[0].Type != types.VolumeTypeVolume {
			t.Errorf("%s has no named volume", name)
		}
		if d, ok := p.Services["mongo-init"].DependsOn[name]; !ok || d.Condition != types.ServiceConditionHealthy {
			t.Errorf("mongo-init depends_on %s = %+v, want service_healthy", name, d)
		}
	}
	init := strings.Join(p.Services["mongo-init"].Command, " ")
	for _, want := range []string{"rs.status()", "rs.initiate", "mongo1:27017", "mongo2:27017", "mongo3:27017"} {
		if !strings.Contains(init, want) {
			t.Errorf("mongo-init command lacks %q (idempotent initiate of rs0)", want)
		}
	}
	if r := p.Services["rabbitmq"]; r.HealthCheck == nil || len(r.Volumes) == 0 || !strings.Contains(r.Image, "management") {
		t.Errorf("rabbitmq = image %q, healthcheck %v, volumes %v; want the management image, a healthcheck and a named volume", r.Image, r.HealthCheck, r.Volumes)
	}
}

// TestDockerComposeConfig has Docker Compose itself accept compose.yaml
// where its v2 plugin is installed (Debian ships only v1; DESIGN.md, Facts,
// says how to build v2 from the module proxy).
func TestDockerComposeConfig(t *testing.T) {
	if err := exec.Command("docker", "compose", "version").Run(); err != nil {
		t.Skip("SKIPPED: no `docker compose` v2 plugin; compose.yaml was checked with compose-go only")
	}
	out, err := exec.Command("docker", "compose", "-f", "../compose.yaml", "--env-file", "../.env.example", "config", "--quiet").CombinedOutput()
	if err != nil {
		t.Fatalf("docker compose config: %v\n%s", err, out)
	}
}
