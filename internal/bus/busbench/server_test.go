package busbench

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

// The AMQP servers run in a child process: the test binary re-executed with
// these variables set (TestMain turns it into the server). The child prints
// "ready" when it consumes, and stops when its stdin closes, which also
// happens when the benchmark process dies.
const (
	envServe = "BUSBENCH_SERVE" // server kind: amqpfloor or amqp
	envName  = "BUSBENCH_NAME"  // queue (amqpfloor) or prefix (amqp)
	// envServerProfile, when set, makes each server process write a CPU
	// profile to <value>.<kind>.pprof, e.g. /tmp/srv → /tmp/srv.amqp.pprof.
	envServerProfile = "BUSBENCH_SERVER_CPUPROFILE"
	envInProcess     = "BUSBENCH_INPROC" // 1: run the servers in the benchmark process
)

// servers start a server of a kind in the current process; the returned
// function stops it.
var servers = map[string]func(name string) (func() error, error){
	"amqpfloor": startFloorServer,
	"amqp":      startBusServer,
}

func inProcess() bool { return os.Getenv(envInProcess) == "1" }

// startServerProcess starts a server of kind in a child process, or in this
// one with BUSBENCH_INPROC=1 (pid 0), and returns how to stop it.
func startServerProcess(kind, name string) (stop func() error, pid int, err error) {
	if inProcess() {
		stop, err := servers[kind](name)
		return stop, 0, err
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), envServe+"="+kind, envName+"="+name)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, 0, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, 0, err
	}
	if err := cmd.Start(); err != nil {
		return nil, 0, fmt.Errorf("start %s server process: %w", kind, err)
	}
	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err == nil && strings.TrimSpace(line) != "ready" {
			err = fmt.Errorf("unexpected output %q", line)
		}
		ready <- err
		_, _ = io.Copy(io.Discard, stdout)
	}()
	stop = func() error {
		_ = stdin.Close()
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case err := <-exited:
			return err
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			return fmt.Errorf("%s server process did not stop in 15s: killed; %w", kind, <-exited)
		}
	}
	select {
	case err := <-ready:
		if err != nil {
			_ = stop()
			return nil, 0, fmt.Errorf("%s server process did not start: %w", kind, err)
		}
	case <-time.After(30 * time.Second):
		_ = stop()
		return nil, 0, fmt.Errorf("%s server process not ready after 30s", kind)
	}
	return stop, cmd.Process.Pid, nil
}

// serverMain is the child process: it serves until stdin closes or a
// termination signal comes.
func serverMain(kind string) int {
	start := servers[kind]
	if start == nil {
		fmt.Fprintf(os.Stderr, "busbench server: unknown kind %q\n", kind)
		return 2
	}
	if prefix := os.Getenv(envServerProfile); prefix != "" {
		f, err := os.Create(prefix + "." + kind + ".pprof")
		if err != nil {
			fmt.Fprintf(os.Stderr, "busbench server: %v\n", err)
			return 1
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(os.Stderr, "busbench server: %v\n", err)
			return 1
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	stop, err := start(os.Getenv(envName))
	if err != nil {
		fmt.Fprintf(os.Stderr, "busbench %s server: %v\n", kind, err)
		return 1
	}
	fmt.Println("ready")
	eof := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(eof) }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-eof:
	case <-sig:
	}
	if err := stop(); err != nil && !errors.Is(err, os.ErrClosed) {
		fmt.Fprintf(os.Stderr, "busbench %s server: stop: %v\n", kind, err)
	}
	return 0
}
