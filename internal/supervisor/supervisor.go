// Package supervisor runs shop's process model, in the manner of Node's
// cluster module: a primary process opens the listening sockets once, forks
// N worker processes of the same binary that all accept on those sockets,
// and respawns a worker that dies — within a restart budget, so that a
// crash loop ends in a clear error instead of spinning forever.
//
// The primary side is [Run]. The worker side is [IsWorker], [WorkerIndex],
// [InheritedListeners] and [WatchParent]. A worker learns its role from its
// environment:
//
//	SHOP_WORKER_INDEX  0..N-1; a respawned worker keeps the index it replaces
//	SHOP_PRIMARY_PID   pid of the primary
//	SHOP_LISTEN_FDS    number of inherited listening sockets, at fds 3, 4, ...
//	SHOP_PRIMARY_FD    fd of the lifeline pipe, right after the listeners
package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Environment variables the primary sets for its workers.
const (
	envWorkerIndex = "SHOP_WORKER_INDEX"
	envPrimaryPID  = "SHOP_PRIMARY_PID"
	envListenFDs   = "SHOP_LISTEN_FDS"
	envPrimaryFD   = "SHOP_PRIMARY_FD"
)

// Defaults for the zero values of [Config]. They are exported so that CLI
// flags can show them as their defaults.
const (
	DefaultMaxRestarts     = 5
	DefaultRestartWindow   = 60 * time.Second
	DefaultShutdownTimeout = 30 * time.Second
)

// ErrRestartLimit is wrapped by the error [Run] returns when workers died
// more often than the restart budget allows; test it with errors.Is.
var ErrRestartLimit = errors.New("restart limit reached")

// Config configures the primary. Zero values select the defaults; only
// Listeners has to be filled in for workers that serve network traffic.
type Config struct {
	// Workers is the number of worker processes; 0 means
	// runtime.GOMAXPROCS(0), i.e. the CPUs this process may use (which
	// honours container CPU limits).
	Workers int

	// Args are the worker's command-line arguments after the program name;
	// nil means os.Args[1:]. The program is always os.Executable(): the
	// workers run the same binary as the primary.
	Args []string

	// Env is appended to the primary's environment for the workers
	// (later entries win).
	Env []string

	// Listeners are opened once by the primary and passed to every worker
	// as inherited file descriptors, so all workers accept on the same
	// sockets and a dying worker never closes the address. Each must
	// implement syscall.Conn (*net.TCPListener and *net.UnixListener do).
	// The primary keeps them open and never accepts on them; the caller
	// closes them after Run returns.
	Listeners []net.Listener

	// MaxRestarts is how many times workers may be respawned within
	// RestartWindow (a sliding window) before Run gives up. 0 means
	// DefaultMaxRestarts; a negative value means no restarts at all, so
	// the first worker death ends Run.
	MaxRestarts int

	// RestartWindow is the sliding window for MaxRestarts; 0 means
	// DefaultRestartWindow.
	RestartWindow time.Duration

	// ShutdownTimeout is how long workers get to drain after SIGTERM
	// before they are SIGKILLed; 0 means DefaultShutdownTimeout.
	ShutdownTimeout time.Duration

	// Logger receives spawn, exit, restart and shutdown records; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Run runs the primary: it starts cfg.Workers workers and respawns any that
// exits for a reason other than a requested shutdown. Workers write to the
// primary's stdout and stderr.
//
// Run returns when
//   - ctx is done (the caller cancels it on SIGTERM/SIGINT, e.g. with
//     signal.NotifyContext): it stops respawning, sends SIGTERM to the
//     workers, SIGKILLs those still running after ShutdownTimeout, and
//     returns nil if every worker exited with status 0;
//   - or more than MaxRestarts workers died within RestartWindow: it stops
//     the remaining workers the same way and returns an error wrapping
//     [ErrRestartLimit] that lists which workers died how.
//
// Every worker has exited when Run returns. Workers also stop on their own
// if the primary dies without cleaning up (see [WatchParent]).
func Run(ctx context.Context, cfg Config) error {
	p, err := newPrimary(cfg)
	if err != nil {
		return err
	}
	defer p.close()

	// The kernel sends a worker its Pdeathsig when the *thread* that forked
	// it exits, not the process, and Go ends a thread when a goroutine
	// locked to it returns: a thread we forked from, later locked and left
	// by some other goroutine, would SIGTERM healthy workers. So every
	// worker is forked from this goroutine, which holds its thread for as
	// long as Run runs. The lifeline pipe (see WatchParent) covers the rest.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	for i := range p.cfg.Workers {
		p.spawn(i)
	}
	var deaths []death // within the restart window, oldest first
	for {
		select {
		case <-ctx.Done():
			if err := p.stop(); err != nil {
				return fmt.Errorf("supervisor: unclean shutdown: %w", err)
			}
			return nil
		case e := <-p.exits:
			desc, _ := p.exited(e)
			if ctx.Err() != nil {
				continue // shutting down: the Done case stops the rest
			}
			now := time.Now()
			for len(deaths) > 0 && now.Sub(deaths[0].at) >= p.cfg.RestartWindow {
				deaths = deaths[1:]
			}
			deaths = append(deaths, death{now, fmt.Sprintf("worker %d (pid %d) %s", e.w.index, e.pid(), desc)})
			if len(deaths) > p.cfg.MaxRestarts {
				whats := make([]string, len(deaths))
				for i, d := range deaths {
					whats[i] = d.what
				}
				err := fmt.Errorf("supervisor: %w: %d worker exits within %s (max %d restarts): %s",
					ErrRestartLimit, len(deaths), p.cfg.RestartWindow, p.cfg.MaxRestarts, strings.Join(whats, "; "))
				p.log.Error("restart limit reached, stopping", "exits", len(deaths),
					"window", p.cfg.RestartWindow, "max_restarts", p.cfg.MaxRestarts, "last", whats[len(whats)-1])
				return errors.Join(err, p.stop())
			}
			p.log.Info("restarting worker", "worker", e.w.index, "restarts_in_window", len(deaths),
				"max_restarts", p.cfg.MaxRestarts, "window", p.cfg.RestartWindow)
			p.spawn(e.w.index)
		}
	}
}

type primary struct {
	cfg      Config
	log      *slog.Logger
	path     string
	files    []*os.File // ExtraFiles: listeners, then the lifeline's read end
	lifeline *os.File   // write end of the lifeline; closes when we die
	exits    chan exit
	live     map[int]*worker
}

type worker struct {
	index  int
	cmd    *exec.Cmd
	killed bool // SIGKILLed after ShutdownTimeout
	// terminated: sent SIGTERM by stop. A worker still starting up (before
	// its handler is installed) dies of that SIGTERM with nothing in flight,
	// which is as clean a stop as a drained exit 0.
	terminated bool
}

type death struct {
	at   time.Time
	what string // "worker 1 (pid 42) exited with code 1"
}

type exit struct {
	w     *worker
	state *os.ProcessState // nil if the worker could not be started
	err   error
}

func (e exit) pid() int {
	if e.w.cmd.Process == nil {
		return 0
	}
	return e.w.cmd.Process.Pid
}

func newPrimary(cfg Config) (*primary, error) {
	switch {
	case cfg.Workers < 0:
		return nil, fmt.Errorf("supervisor: workers must be >= 1, got %d", cfg.Workers)
	case cfg.Workers == 0:
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	switch {
	case cfg.MaxRestarts == 0:
		cfg.MaxRestarts = DefaultMaxRestarts
	case cfg.MaxRestarts < 0:
		cfg.MaxRestarts = 0
	}
	if cfg.RestartWindow <= 0 {
		cfg.RestartWindow = DefaultRestartWindow
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if cfg.Args == nil {
		cfg.Args = os.Args[1:]
	}
	p := &primary{
		cfg:   cfg,
		log:   cfg.Logger,
		exits: make(chan exit, cfg.Workers), // one pending exit per live worker: senders never block
		live:  make(map[int]*worker),
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	var err error
	if p.path, err = os.Executable(); err != nil {
		return nil, fmt.Errorf("supervisor: %w", err)
	}
	for _, l := range cfg.Listeners {
		f, err := listenerFile(l)
		if err != nil {
			p.close()
			return nil, err
		}
		p.files = append(p.files, f)
	}
	r, w, err := os.Pipe()
	if err != nil {
		p.close()
		return nil, fmt.Errorf("supervisor: lifeline pipe: %w", err)
	}
	p.files, p.lifeline = append(p.files, r), w
	return p, nil
}

// listenerFile returns a close-on-exec duplicate of l's socket to pass to
// workers. It does not use (*net.TCPListener).File: os/exec calls Fd on
// the files it passes, and Fd on such a File switches the socket (whose
// flags all duplicates and all workers share) to blocking mode, which makes
// running workers block threads in accept(2) and not wake up on Close.
func listenerFile(l net.Listener) (*os.File, error) {
	sc, ok := l.(syscall.Conn)
	if !ok {
		return nil, fmt.Errorf("supervisor: listener %s (%T) has no file descriptor", l.Addr(), l)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("supervisor: listener %s: %w", l.Addr(), err)
	}
	nfd, derr := -1, error(nil)
	err = rc.Control(func(fd uintptr) {
		syscall.ForkLock.RLock() // no fork between dup and close-on-exec
		defer syscall.ForkLock.RUnlock()
		if nfd, derr = syscall.Dup(int(fd)); derr == nil {
			syscall.CloseOnExec(nfd)
		}
	})
	if err = errors.Join(err, derr); err != nil {
		return nil, fmt.Errorf("supervisor: listener %s: dup: %w", l.Addr(), err)
	}
	return os.NewFile(uintptr(nfd), "listener "+l.Addr().String()), nil
}

func (p *primary) close() {
	for _, f := range p.files {
		f.Close()
	}
	if p.lifeline != nil {
		p.lifeline.Close()
	}
}

// spawn starts worker i. A worker that cannot be started is reported on
// p.exits like one that died, so it counts against the restart budget.
func (p *primary) spawn(i int) {
	cmd := exec.Command(p.path, p.cfg.Args...)
	cmd.Env = append(os.Environ(), p.cfg.Env...)
	cmd.Env = append(cmd.Env,
		envWorkerIndex+"="+strconv.Itoa(i),
		envPrimaryPID+"="+strconv.Itoa(os.Getpid()),
		envListenFDs+"="+strconv.Itoa(len(p.cfg.Listeners)),
		envPrimaryFD+"="+strconv.Itoa(3+len(p.cfg.Listeners)),
	)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.ExtraFiles = p.files
	cmd.SysProcAttr = sysProcAttr()
	w := &worker{index: i, cmd: cmd}
	p.live[i] = w
	if err := cmd.Start(); err != nil {
		go func() { p.exits <- exit{w: w, err: err} }()
		return
	}
	p.log.Info("worker started", "worker", i, "pid", cmd.Process.Pid)
	go func() {
		err := cmd.Wait()
		p.exits <- exit{w: w, state: cmd.ProcessState, err: err}
	}()
}

// exited records and logs that a worker is gone, and says how: its
// description and whether it was a clean exit (status 0).
func (p *primary) exited(e exit) (desc string, clean bool) {
	delete(p.live, e.w.index)
	attrs := []any{"worker", e.w.index, "pid", e.pid()}
	var ws syscall.WaitStatus
	if e.state != nil {
		ws, _ = e.state.Sys().(syscall.WaitStatus)
	}
	switch {
	case e.state == nil:
		desc = "failed to start: " + e.err.Error()
		attrs = append(attrs, "err", e.err)
	case ws.Signaled():
		desc = fmt.Sprintf("killed by signal %d (%s)", int(ws.Signal()), ws.Signal())
		switch {
		case e.w.killed:
			desc += " after the shutdown timeout"
		case e.w.terminated && ws.Signal() == syscall.SIGTERM:
			desc += " while starting"
			clean = true
		}
		attrs = append(attrs, "signal", ws.Signal().String())
	default:
		desc = fmt.Sprintf("exited with code %d", e.state.ExitCode())
		clean = e.state.ExitCode() == 0
		attrs = append(attrs, "code", e.state.ExitCode())
	}
	level := slog.LevelWarn
	if clean {
		level = slog.LevelInfo
	}
	p.log.Log(context.Background(), level, "worker exited", append(attrs, "status", desc)...)
	return desc, clean
}

// stop sends SIGTERM to every live worker, SIGKILLs those still running
// after ShutdownTimeout, and waits for all of them. It returns an error
// naming each worker that did not exit with status 0.
func (p *primary) stop() error {
	p.log.Info("stopping workers", "workers", len(p.live), "timeout", p.cfg.ShutdownTimeout)
	for _, w := range p.live {
		if w.cmd.Process != nil {
			w.terminated = true
			w.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	timeout := time.NewTimer(p.cfg.ShutdownTimeout)
	defer timeout.Stop()
	var errs []error
	for len(p.live) > 0 {
		select {
		case e := <-p.exits:
			if desc, clean := p.exited(e); !clean {
				errs = append(errs, fmt.Errorf("worker %d (pid %d) %s", e.w.index, e.pid(), desc))
			}
		case <-timeout.C:
			for _, w := range p.live {
				if w.cmd.Process != nil {
					p.log.Warn("worker did not stop in time, killing", "worker", w.index,
						"pid", w.cmd.Process.Pid, "timeout", p.cfg.ShutdownTimeout)
					w.killed = true
					w.cmd.Process.Kill()
				}
			}
		}
	}
	return errors.Join(errs...)
}
