package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// benchBin is a shop binary built without -race for benchmarks (the
// tests' shopBin has the race detector, which would measure that).
var (
	benchBinOnce sync.Once
	benchBin     string
	benchBinErr  error
)

func buildBenchBin(b *testing.B) string {
	b.Helper()
	benchBinOnce.Do(func() {
		// Next to shopBin, in the directory TestMain removes at the end.
		benchBin = filepath.Join(filepath.Dir(shopBin), "shop-bench")
		out, err := exec.Command("go", "build", "-o", benchBin, ".").CombinedOutput()
		if err != nil {
			benchBinErr = fmt.Errorf("build shop: %v\n%s", err, out)
		}
	})
	if benchBinErr != nil {
		b.Fatal(benchBinErr)
	}
	return benchBin
}

// benchServer is a `shop serve` of the benchmark binary.
type benchServer struct {
	cmd  *exec.Cmd
	addr string
	done chan error
	mu   sync.Mutex
	logs []byte

	stopOnce sync.Once
	stopErr  error
}

func (s *benchServer) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.logs)
}

// stop sends SIGTERM and returns the exit status; only the first call
// waits, later ones return its result.
func (s *benchServer) stop() error {
	s.stopOnce.Do(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case s.stopErr = <-s.done:
		case <-time.After(30 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
			s.stopErr = fmt.Errorf("did not exit within 30s of SIGTERM")
		}
	})
	return s.stopErr
}

// startBenchServe starts `shop serve` with args on a free port, in a fresh
// data directory, and waits until it listens.
func startBenchServe(b *testing.B, args ...string) *benchServer {
	b.Helper()
	bin := buildBenchBin(b)
	dir := b.TempDir()
	cmd := exec.Command(bin, append([]string{"serve", "--http-addr=127.0.0.1:0",
		"--database-url=sqlite://" + dir}, args...)...)
	cmd.Env = append(os.Environ(), "SHOP_WORKERS=", "SHOP_ADMIN_TOKEN=")
	cmd.Dir = dir
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	s := &benchServer{cmd: cmd, done: make(chan error, 1)}
	addrc := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stderr)
		for {
			line, err := r.ReadString('\n')
			s.mu.Lock()
			s.logs = append(s.logs, line...)
			s.mu.Unlock()
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				select {
				case addrc <- m[1]:
				default:
				}
			}
			if err != nil {
				break
			}
		}
		s.done <- cmd.Wait()
	}()
	b.Cleanup(func() {
		if s.stop() != nil {
			_ = cmd.Process.Kill()
		}
	})
	select {
	case s.addr = <-addrc:
	case err := <-s.done:
		b.Fatalf("shop serve exited before listening: %v\n%s", err, s.log())
	case <-time.After(30 * time.Second):
		b.Fatalf("shop serve did not listen within 30s\n%s", s.log())
	}
	return s
}

// BenchmarkHealthz measures HTTP requests/s against /healthz with one
// process (--workers=0) and with a primary and two workers (--workers=2):
// the cost or gain of the process model on this machine. The load
// generator runs in this process, on the same CPUs: 32 goroutines with
// keep-alive connections share b.N requests.
func BenchmarkHealthz(b *testing.B) {
	const concurrency = 32
	for _, workers := range []int{0, 2} {
		s := startBenchServe(b, fmt.Sprintf("--workers=%d", workers))
		url := "http://" + s.addr + "/healthz"

		// Wait until every worker answers (with new connections, so that
		// each may land on any worker).
		fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
		want := max(workers, 1)
		pids := map[int]bool{}
		deadline := time.Now().Add(60 * time.Second)
		for len(pids) < want {
			if time.Now().After(deadline) {
				b.Fatalf("only %d of %d workers answered within 60s\n%s", len(pids), want, s.log())
			}
			if h, err := healthz(fresh, s.addr); err == nil {
				pids[h.PID] = true
			} else {
				time.Sleep(20 * time.Millisecond)
			}
		}

		client := &http.Client{
			Transport: &http.Transport{MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: concurrency},
			Timeout:   30 * time.Second,
		}
		get := func() error {
			resp, err := client.Get(url)
			if err != nil {
				return err
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
			return err
		}
		// drive makes n requests from concurrency goroutines and returns
		// the latency of each.
		drive := func(n int) ([]time.Duration, error) {
			var next atomic.Int64
			var firstErr atomic.Pointer[error]
			lat := make([][]time.Duration, concurrency)
			var wg sync.WaitGroup
			for g := range concurrency {
				wg.Go(func() {
					for next.Add(1) <= int64(n) {
						t0 := time.Now()
						if err := get(); err != nil {
							firstErr.CompareAndSwap(nil, &err)
							return
						}
						lat[g] = append(lat[g], time.Since(t0))
					}
				})
			}
			wg.Wait()
			if err := firstErr.Load(); err != nil {
				return nil, *err
			}
			return slices.Concat(lat...), nil
		}
		// Warm up: open the connections, let the servers settle.
		if _, err := drive(20 * concurrency); err != nil {
			b.Fatalf("warm-up: %v\n%s", err, s.log())
		}

		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			b.ResetTimer()
			start := time.Now()
			lat, err := drive(b.N)
			elapsed := time.Since(start)
			b.StopTimer()
			if err != nil {
				b.Fatalf("GET /healthz: %v\n%s", err, s.log())
			}
			slices.Sort(lat)
			pct := func(p float64) float64 {
				return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Nanoseconds()) / 1e3
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
			b.ReportMetric(pct(0.50), "p50-µs")
			b.ReportMetric(pct(0.99), "p99-µs")

			// Keep-alive connections stay with the worker that accepted
			// them, and the kernel does not spread accepts evenly over
			// processes sharing a socket: sample the connections to show
			// the share of the busiest worker.
			var mu sync.Mutex
			perPID := map[int]int{}
			var wg sync.WaitGroup
			for range concurrency {
				wg.Go(func() {
					for range 4 {
						if h, err := healthz(client, s.addr); err == nil {
							mu.Lock()
							perPID[h.PID]++
							mu.Unlock()
						}
					}
				})
			}
			wg.Wait()
			busiest, total := 0, 0
			for _, n := range perPID {
				busiest, total = max(busiest, n), total+n
			}
			if total > 0 {
				b.ReportMetric(100*float64(busiest)/float64(total), "busiest-worker-%")
			}
		})
		client.CloseIdleConnections()

		if err := s.stop(); err != nil {
			b.Fatalf("serve --workers=%d exit after SIGTERM: %v\n%s", workers, err, s.log())
		}
	}
}
