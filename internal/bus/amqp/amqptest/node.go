package amqptest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Node is a RabbitMQ node of a test's own, for faults a shared broker must
// not suffer (stop_app, start_app, stop): its own node name, ports, data
// and log directories, an empty plugin list (no management or prometheus
// listeners to clash with the machine's broker) and an Erlang cookie in a
// home directory of its own. The machine's epmd is shared, as the
// distribution protocol intends.
type Node struct {
	// Name is the Erlang node name, "shopfault-<random>@localhost".
	Name string
	// URL is the node's AMQP listener with the default guest user.
	URL string
	dir string
	env []string
	ctl string // rabbitmqctl
}

// rabbitBins returns rabbitmq-server and rabbitmqctl. Debian's /usr/sbin
// wrappers switch to the rabbitmq user, who cannot read a test's temporary
// directory; the scripts they wrap run as whoever calls them.
func rabbitBins() (server, ctl string, err error) {
	for _, dir := range []string{"/usr/lib/rabbitmq/bin"} {
		s, c := filepath.Join(dir, "rabbitmq-server"), filepath.Join(dir, "rabbitmqctl")
		if _, err := os.Stat(s); err == nil {
			if _, err := os.Stat(c); err == nil {
				return s, c, nil
			}
		}
	}
	if server, err = exec.LookPath("rabbitmq-server"); err != nil {
		return "", "", err
	}
	if ctl, err = exec.LookPath("rabbitmqctl"); err != nil {
		return "", "", err
	}
	return server, ctl, nil
}

// StartNode starts a private node and stops it when t ends. Without
// rabbitmq-server the test is skipped loudly, or fails when CI=true.
func StartNode(t testing.TB) *Node {
	t.Helper()
	server, ctl, err := rabbitBins()
	if err != nil {
		msg := fmt.Sprintf("rabbitmq-server is not installed (%v)\n"+
			"    !!! The tests that restart a private RabbitMQ node did NOT run.", err)
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s (CI=true: this is a failure, not a skip)", msg)
		}
		t.Skipf("SKIPPED: %s", msg)
	}
	dir := t.TempDir()
	for _, d := range []string{"home", "mnesia", "log"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	ports := freePorts(t, 2)
	ctlPort := freeRange(t, 11)
	amqpPort, distPort := ports[0], ports[1]
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	n := &Node{
		Name: "shopfault-" + hex.EncodeToString(rnd[:]) + "@localhost",
		URL:  fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", amqpPort),
		dir:  dir,
		ctl:  ctl,
	}
	n.env = append(os.Environ(),
		"HOME="+filepath.Join(dir, "home"), // the node's and rabbitmqctl's cookie
		"RABBITMQ_NODENAME="+n.Name,
		"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
		"RABBITMQ_NODE_PORT="+strconv.Itoa(amqpPort),
		"RABBITMQ_DIST_PORT="+strconv.Itoa(distPort),
		"RABBITMQ_CTL_DIST_PORT_MIN="+strconv.Itoa(ctlPort),
		"RABBITMQ_CTL_DIST_PORT_MAX="+strconv.Itoa(ctlPort+10),
		"RABBITMQ_MNESIA_BASE="+filepath.Join(dir, "mnesia"),
		"RABBITMQ_LOG_BASE="+filepath.Join(dir, "log"),
		"RABBITMQ_PID_FILE="+filepath.Join(dir, "pid"),
		"RABBITMQ_ENABLED_PLUGINS_FILE="+write("enabled_plugins", "[].\n"),
		"RABBITMQ_CONFIG_FILE="+write("rabbitmq.conf", fmt.Sprintf("listeners.tcp.default = 127.0.0.1:%d\n", amqpPort)),
		// Not the machine's rabbitmq-env.conf, which names its own node.
		"RABBITMQ_CONF_ENV_FILE="+write("rabbitmq-env.conf", ""),
		"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}",
		"ERL_EPMD_ADDRESS=127.0.0.1",
	)
	start := exec.Command(server, "-detached")
	start.Env, start.Dir = n.env, dir
	if out, err := start.CombinedOutput(); err != nil {
		t.Fatalf("amqptest: start node %s: %v\n%s", n.Name, err, out)
	}
	t.Cleanup(func() { n.stop(t) })
	// wait: until the pid file appears and the node has booted.
	if out, err := n.run("wait", filepath.Join(dir, "pid"), "--timeout", "120"); err != nil {
		t.Fatalf("amqptest: node %s did not start: %v\n%s\n--- log:\n%s", n.Name, err, out, n.Log())
	}
	if err := reach(n.URL); err != nil {
		t.Fatalf("amqptest: node %s started but %s does not answer: %v\n--- log:\n%s", n.Name, n.URL, err, n.Log())
	}
	return n
}

// run runs rabbitmqctl against the node.
func (n *Node) run(args ...string) (string, error) {
	cmd := exec.Command(n.ctl, append([]string{"-n", n.Name}, args...)...)
	cmd.Env, cmd.Dir = n.env, n.dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Ctl runs rabbitmqctl against the node, failing t if it fails.
func (n *Node) Ctl(t testing.TB, args ...string) {
	t.Helper()
	if out, err := n.run(args...); err != nil {
		t.Fatalf("rabbitmqctl -n %s %s: %v\n%s", n.Name, strings.Join(args, " "), err, out)
	}
}

// StopApp stops the broker application (every client connection drops;
// the Erlang node stays up), as `rabbitmqctl stop_app` does.
func (n *Node) StopApp(t testing.TB) { t.Helper(); n.Ctl(t, "stop_app") }

// StartApp starts it again, waits until it has booted, and returns when
// its AMQP listener first completed a handshake (polled every 20 ms while
// the application starts): the moment clients could connect again.
func (n *Node) StartApp(t testing.TB) time.Time {
	t.Helper()
	started := make(chan error, 1)
	go func() {
		out, err := n.run("start_app")
		if err != nil {
			err = fmt.Errorf("%w\n%s", err, out)
		}
		started <- err
	}()
	var up time.Time
	finished := false
	for deadline := time.Now().Add(90 * time.Second); up.IsZero(); {
		if reach(n.URL) == nil {
			up = time.Now()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("amqptest: node %s: AMQP not back within 90 s of start_app\n--- log:\n%s", n.Name, n.Log())
		}
		select {
		case err := <-started:
			if err != nil {
				t.Fatalf("rabbitmqctl -n %s start_app: %v", n.Name, err)
			}
			finished = true
		case <-time.After(20 * time.Millisecond):
		}
	}
	if !finished {
		if err := <-started; err != nil {
			t.Fatalf("rabbitmqctl -n %s start_app: %v", n.Name, err)
		}
	}
	n.Ctl(t, "await_startup", "--timeout", "60")
	return up
}

// Log returns the node's log so far, for failure reports.
func (n *Node) Log() string {
	b, err := os.ReadFile(filepath.Join(n.dir, "log", n.Name+".log"))
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(b)
}

// stop halts the node, and kills it if it does not go.
func (n *Node) stop(t testing.TB) {
	if out, err := n.run("stop", "--timeout", "30"); err != nil {
		t.Logf("amqptest: rabbitmqctl stop %s: %v\n%s", n.Name, err, out)
	}
	b, err := os.ReadFile(filepath.Join(n.dir, "pid"))
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return
	}
	for deadline := time.Now().Add(10 * time.Second); syscall.Kill(pid, 0) == nil; {
		if time.Now().After(deadline) {
			t.Logf("amqptest: node %s (pid %d) still running 10 s after stop: killing it", n.Name, pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freePorts returns n TCP ports free on 127.0.0.1 at the time of asking,
// each below 50000 so that a range after it stays a valid port.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var out []int
	for len(out) < n {
		p := freeRange(t, 1)
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// freeRange returns the first of n consecutive ports free on 127.0.0.1,
// picked at random in [20000, 50000).
func freeRange(t testing.TB, n int) int {
	t.Helper()
	for range 200 {
		first := 20000 + mrand.N(30000)
		ok := true
		for p := first; p < first+n && ok; p++ {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				ok = false
				continue
			}
			l.Close()
		}
		if ok {
			return first
		}
	}
	t.Fatalf("amqptest: no %d free consecutive ports found", n)
	return 0
}
