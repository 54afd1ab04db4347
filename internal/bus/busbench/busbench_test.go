package busbench

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/bus/memory"
)

// echoEP is the endpoint every bus implementation serves: Item in, the same
// Item out, through bus.Call and bus.Handle like a module's endpoint.
var echoEP = bus.Endpoint[Item, Item]{Queue: "busbench", Op: "echo"}

func echo(_ context.Context, it Item) (Item, error) { return it, nil }

// concurrencies are the numbers of callers each implementation is run with.
var concurrencies = []int{1, 16, 64}

// caller sends one request and returns the reply. Each benchmark goroutine
// has its own caller.
type caller func(req *Item) (Item, error)

// fixture is a running implementation: a factory of callers, and the
// process its server runs in when that is not this one (0 otherwise).
type fixture struct {
	newCaller  func() caller
	serverPID  int
	usesBroker bool
}

// impl is one implementation under test: setup starts its server and client
// once per process (cleanups run at the end of TestMain).
type impl struct {
	name  string
	amqp  bool // needs the broker
	setup func() (fixture, error)

	once sync.Once
	fix  fixture
	err  error
}

func (im *impl) get() (fixture, error) {
	im.once.Do(func() { im.fix, im.err = im.setup() })
	return im.fix, im.err
}

var impls = []*impl{
	{name: "chanfloor", setup: setupChanFloor},
	{name: "memory", setup: setupMemory},
	{name: "amqpfloor", amqp: true, setup: setupAMQPFloor},
	{name: "amqp", amqp: true, setup: setupAMQPBus},
}

// BenchmarkRequestReply measures request-reply latency (p50, p99 of every
// request) and throughput for every implementation at every concurrency.
// ns/op is wall time divided by requests (the inverse of req/s), not latency.
// cpu-µs/op is the CPU time of this process per request (the whole system
// for chanfloor and memory, the client for AMQP); srv-cpu-µs/op that of the
// AMQP server process; broker-cpu-µs/op that of the broker when
// BUSBENCH_BROKER_PID names it.
func BenchmarkRequestReply(b *testing.B) {
	for _, im := range impls {
		b.Run(im.name, func(b *testing.B) {
			if im.amqp {
				if err := brokerReachable(); err != nil {
					skipLoudly(b, "RabbitMQ at %s is unreachable (%v): the %s benchmarks are SKIPPED; start the broker or set SHOP_TEST_AMQP_URL", redact(amqpURL()), err, im.name)
				}
			}
			fix, err := im.get()
			if err != nil {
				b.Fatalf("%s: setup: %v", im.name, err)
			}
			for _, c := range concurrencies {
				b.Run(fmt.Sprintf("c=%d", c), func(b *testing.B) {
					run(b, c, fix)
				})
			}
		})
	}
}

func skipLoudly(b *testing.B, format string, args ...any) {
	b.Helper()
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintf(os.Stderr, "\n!!! busbench: %s\n\n", msg)
	fmt.Printf("# busbench SKIPPED: %s\n", msg) // into the results file too
	b.Skip(msg)
}

// lat is the latency buffer, reused across runs so that its pages are
// already touched and the allocator stays out of the measurement.
var lat []int64

func latencies(n int) []int64 {
	if cap(lat) < n {
		lat = make([]int64, n)
		for i := range lat {
			lat[i] = 1 // touch every page now, not while measuring
		}
	}
	return lat[:n]
}

// run distributes b.N requests among conc goroutines, each recording the
// latency of its requests into its own part of one preallocated slice. The
// end of one request is the start of the next, so measuring costs one clock
// read per request.
func run(b *testing.B, conc int, fix fixture) {
	b.ReportAllocs()
	lats := latencies(b.N)
	callers := make([]caller, conc)
	for g := range callers {
		callers[g] = fix.newCaller()
	}
	var (
		wg       sync.WaitGroup
		start    = make(chan struct{})
		failed   atomic.Bool
		errMu    sync.Mutex
		firstErr error
	)
	fail := func(err error) {
		errMu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		errMu.Unlock()
		failed.Store(true)
	}
	off := 0
	for g := range conc {
		n := b.N / conc
		if g < b.N%conc {
			n++
		}
		mine := lats[off : off+n]
		off += n
		wg.Add(1)
		go func() {
			defer wg.Done()
			call := callers[g]
			req := Sample(g, 0)
			<-start
			t0 := time.Now()
			for i := range mine {
				req.ID = int64(g)<<40 | int64(i)
				resp, err := call(&req)
				t1 := time.Now()
				if err != nil {
					fail(fmt.Errorf("caller %d request %d: %w", g, i, err))
					return
				}
				if resp != req {
					fail(fmt.Errorf("caller %d request %d: echo mismatch: sent %+v, got %+v", g, i, req, resp))
					return
				}
				mine[i] = int64(t1.Sub(t0))
				t0 = t1
				if failed.Load() {
					return
				}
			}
		}()
	}
	broker := 0
	if fix.usesBroker {
		broker = brokerPID()
	}
	b.ResetTimer()
	cpu := startCPU(fix.serverPID, broker)
	begin := time.Now()
	close(start)
	wg.Wait()
	wall := time.Since(begin)
	b.StopTimer()
	cpu.report(b, b.N)
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	slices.Sort(lats)
	b.ReportMetric(float64(percentile(lats, 50))/1e3, "p50-µs")
	b.ReportMetric(float64(percentile(lats, 99))/1e3, "p99-µs")
	b.ReportMetric(float64(b.N)/wall.Seconds(), "req/s")
}

// percentile returns the nearest-rank p-th percentile of sorted.
func percentile(sorted []int64, p int) int64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := (len(sorted)*p + 99) / 100 // ceil(p/100 * n)
	return sorted[max(rank, 1)-1]
}

// cleanups run after all benchmarks, last added first.
var (
	cleanupMu sync.Mutex
	cleanups  []func()
)

func atEnd(f func()) {
	cleanupMu.Lock()
	cleanups = append(cleanups, f)
	cleanupMu.Unlock()
}

func logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func TestMain(m *testing.M) {
	if kind := os.Getenv(envServe); kind != "" {
		os.Exit(serverMain(kind)) // re-executed as an AMQP server process
	}
	flag.Parse()
	if f := flag.Lookup("test.bench"); f != nil && f.Value.String() != "" {
		// Comments in the results (not configuration lines, which would
		// make benchstat split the results), read by the ratio command.
		fmt.Println("# busbench floors: same JSON work as bus.Call+bus.Handle (Marshal, DecodeStrict, Marshal, Unmarshal); ratios measure the transport only")
		if raw, err := os.ReadFile("/proc/loadavg"); err == nil {
			// Other work on the machine skews wall-clock figures.
			fmt.Printf("# busbench loadavg: %s (%d CPUs)\n", strings.Join(strings.Fields(string(raw))[:3], " "), runtime.NumCPU())
		}
		if inProcess() {
			fmt.Println("# busbench amqp servers: in the benchmark process (BUSBENCH_INPROC=1), own connections")
		} else {
			fmt.Println("# busbench amqp servers: separate process, own connections")
		}
	}
	code := m.Run()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	os.Exit(code)
}

// setupMemory serves the echo endpoint on one memory Bus and calls it from a
// peer Bus on the same hub, like two modules in one process.
func setupMemory() (fixture, error) {
	log := logger()
	server := memory.New(log)
	client := server.Peer()
	svc := bus.NewService(echoEP.Queue, "busbench", log)
	bus.Handle(svc, echoEP, echo)
	if _, err := server.Serve(svc); err != nil {
		return fixture{}, err
	}
	atEnd(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = client.Close(ctx)
		_ = server.Close(ctx)
	})
	return fixture{newCaller: func() caller {
		return func(req *Item) (Item, error) {
			return bus.Call(context.Background(), client, echoEP, *req)
		}
	}}, nil
}
