package supervisor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
)

// ErrPrimaryGone is the cause (see context.Cause) of a context from
// [WatchParent] that was cancelled because the primary died.
var ErrPrimaryGone = errors.New("supervisor: primary process is gone")

// IsWorker reports whether this process was started by [Run] as a worker.
// The CLI uses it to branch: a worker serves, a primary supervises.
func IsWorker() bool { return os.Getenv(envWorkerIndex) != "" }

// WorkerIndex returns this worker's index in 0..Workers-1, stable across
// respawns (useful in logs and metrics labels), or -1 in a process that is
// not a worker.
func WorkerIndex() int {
	i, err := strconv.Atoi(os.Getenv(envWorkerIndex))
	if err != nil {
		return -1
	}
	return i
}

// InheritedListeners returns the listeners the primary passed in
// Config.Listeners, in the same order. They take over the inherited file
// descriptors, so only the first call succeeds. The worker serves on them
// and closes them when it drains; the sockets stay open in the primary and
// the other workers.
func InheritedListeners() ([]net.Listener, error) {
	ls, err := []net.Listener(nil), errors.New("supervisor: inherited listeners already taken")
	inheritOnce.Do(func() { ls, err = inheritListeners() })
	return ls, err
}

var inheritOnce sync.Once

func inheritListeners() ([]net.Listener, error) {
	if !IsWorker() {
		return nil, errors.New("supervisor: not a worker process")
	}
	n, err := strconv.Atoi(os.Getenv(envListenFDs))
	if err != nil {
		return nil, fmt.Errorf("supervisor: bad %s: %w", envListenFDs, err)
	}
	var ls []net.Listener
	for i := range n {
		f := os.NewFile(uintptr(3+i), "inherited listener "+strconv.Itoa(i))
		l, err := net.FileListener(f) // dups the fd, close-on-exec
		f.Close()
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			return nil, fmt.Errorf("supervisor: inherited listener %d (fd %d): %w", i, 3+i, err)
		}
		ls = append(ls, l)
	}
	return ls, nil
}

// WatchParent returns a context that is cancelled, with cause
// [ErrPrimaryGone], when the primary dies, so a worker drains and exits
// instead of living on as an orphan. A worker should call it once at start
// and treat the context like a SIGTERM.
//
// Pdeathsig alone is not enough: it is tied to the forking thread and does
// not exist outside Linux. Instead the primary holds the write end of a
// pipe and gives each worker the read end; nobody ever writes to it, so the
// read returns EOF exactly when the last copy of the write end closes —
// when the primary exits, however it dies.
//
// In a process that is not a worker the context is only cancelled with ctx.
func WatchParent(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	if gone := primaryGone(); gone != nil {
		go func() {
			select {
			case <-gone:
				cancel(ErrPrimaryGone)
			case <-ctx.Done():
			}
		}()
	}
	return ctx, func() { cancel(context.Canceled) }
}

// primaryGone starts, once, a reader on the lifeline pipe and returns a
// channel closed when the read ends; nil if there is no lifeline.
var primaryGone = sync.OnceValue(func() <-chan struct{} {
	fd, err := strconv.Atoi(os.Getenv(envPrimaryFD))
	if err != nil || !IsWorker() {
		return nil
	}
	syscall.CloseOnExec(fd)
	syscall.SetNonblock(fd, true) // wait in the runtime poller, not on a thread
	f := os.NewFile(uintptr(fd), "primary lifeline")
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		var b [1]byte
		for {
			if _, err := f.Read(b[:]); err != nil {
				return // EOF: the primary is gone
			}
		}
	}()
	return gone
})
