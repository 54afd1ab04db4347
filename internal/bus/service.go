package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/shopengine/shop/internal/buildinfo"
)

// Handler answers one request with a JSON reply or an error (an *Error, or
// any error, which crosses the bus as internal).
type Handler func(ctx context.Context, req *Request) ([]byte, error)

// Service is one instance of a module on the bus: the handlers of its queue
// and their statistics. It is transport-independent, so input checks, panic
// recovery and stats behave the same on every bus; a transport only moves
// bytes to Dispatch and back. Like a NATS micro service, every instance has
// an id and answers Ping with its Info.
type Service struct {
	name       string
	version    string
	instanceID string
	started    time.Time
	log        *slog.Logger

	mu        sync.RWMutex
	endpoints map[string]*endpoint
}

type endpoint struct {
	handler  Handler // nil for an endpoint served elsewhere (Track)
	requests atomic.Uint64
	errors   atomic.Uint64
	nanos    atomic.Uint64
}

// NewService returns a service for queue name (the module's name).
func NewService(name, version string, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{
		name:       name,
		version:    version,
		instanceID: uuid.Must(uuid.NewV7()).String(),
		started:    time.Now(),
		log:        log.With("service", name),
		endpoints:  map[string]*endpoint{},
	}
}

// Name is the service's queue.
func (s *Service) Name() string { return s.name }

// InstanceID identifies this instance among all instances of the module.
func (s *Service) InstanceID() string { return s.instanceID }

// Handle registers h for op. Registering an op twice is a programming error
// and panics, like http.ServeMux.
func (s *Service) Handle(op string, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.endpoints[op]; dup {
		panic(fmt.Sprintf("bus: %s/%s registered twice", s.name, op))
	}
	s.endpoints[op] = &endpoint{handler: h}
}

// Track registers op as an endpoint with statistics but no handler: one
// that the module serves outside the bus, such as web's HTTP routes, so
// that Ping reports its traffic the way it reports a bus endpoint's. The
// module counts each call with Record; Dispatch refuses op as unknown.
// Tracking an op twice, or an op that has a handler, panics like Handle.
func (s *Service) Track(op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.endpoints[op]; dup {
		panic(fmt.Sprintf("bus: %s/%s registered twice", s.name, op))
	}
	s.endpoints[op] = &endpoint{}
}

// Record counts one call of a tracked op that took took; failed counts it
// as an error too. A call of an op that is not registered is not counted,
// so that whoever records cannot grow the endpoint list (say, with the raw
// paths of unmatched HTTP requests).
func (s *Service) Record(op string, took time.Duration, failed bool) {
	s.mu.RLock()
	ep := s.endpoints[op]
	s.mu.RUnlock()
	if ep == nil {
		return
	}
	ep.requests.Add(1)
	ep.nanos.Add(uint64(max(took, 0)))
	if failed {
		ep.errors.Add(1)
	}
}

// handles reports whether s has a handler, that is, something to consume a
// queue for.
func (s *Service) handles() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, ep := range s.endpoints {
		if ep.handler != nil {
			return true
		}
	}
	return false
}

// Dispatch runs the handler for req.Op. It refuses oversize bodies and
// unknown ops, skips work whose caller's deadline has passed, turns a
// handler panic into an internal error for that one call, and counts.
func (s *Service) Dispatch(ctx context.Context, req *Request) (reply []byte, err *Error) {
	s.mu.RLock()
	ep := s.endpoints[req.Op]
	s.mu.RUnlock()
	if ep == nil || ep.handler == nil {
		return nil, Errorf(CodeNotFound, "%s: unknown op %q", s.name, req.Op)
	}
	if ctx.Err() != nil {
		// The caller gave up; its reply would go nowhere.
		return nil, ContextError(ctx, s.name, req.Op)
	}
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("handler panic", "op", req.Op, "panic", p, "stack", string(debug.Stack()))
			reply, err = nil, Errorf(CodeInternal, "%s/%s: handler failed", s.name, req.Op)
		}
		ep.requests.Add(1)
		ep.nanos.Add(uint64(time.Since(start)))
		if err != nil {
			ep.errors.Add(1)
		}
	}()
	if len(req.Body) > MaxBodySize {
		return nil, Errorf(CodeInvalid, "%s/%s: body of %d bytes exceeds the limit of %d", s.name, req.Op, len(req.Body), MaxBodySize)
	}
	if req.ID != "" {
		ctx = WithRequestID(ctx, req.ID)
	}
	out, herr := ep.handler(ctx, req)
	if herr != nil {
		return nil, AsError(herr)
	}
	if len(out) > MaxBodySize {
		return nil, Errorf(CodeInternal, "%s/%s: reply of %d bytes exceeds the limit of %d", s.name, req.Op, len(out), MaxBodySize)
	}
	return out, nil
}

// Info describes a live service instance; Ping collects them.
type Info struct {
	Name       string         `json:"name"`
	Version    string         `json:"version"`
	InstanceID string         `json:"instance_id"`
	Host       string         `json:"host"`
	PID        int            `json:"pid"`
	Started    time.Time      `json:"started"`
	Endpoints  []EndpointInfo `json:"endpoints"`
}

// EndpointInfo is the statistics of one op of one instance.
type EndpointInfo struct {
	Op          string        `json:"op"`
	Requests    uint64        `json:"requests"`
	Errors      uint64        `json:"errors"`
	MeanLatency time.Duration `json:"mean_latency_ns"`
}

var hostname, _ = os.Hostname()

// Info returns the instance's description and current statistics.
func (s *Service) Info() Info {
	s.mu.RLock()
	defer s.mu.RUnlock()
	info := Info{Name: s.name, Version: s.version, InstanceID: s.instanceID, Host: hostname, PID: os.Getpid(), Started: s.started}
	for op, ep := range s.endpoints {
		e := EndpointInfo{Op: op, Requests: ep.requests.Load(), Errors: ep.errors.Load()}
		if e.Requests > 0 {
			e.MeanLatency = time.Duration(ep.nanos.Load() / e.Requests)
		}
		info.Endpoints = append(info.Endpoints, e)
	}
	sort.Slice(info.Endpoints, func(i, j int) bool { return info.Endpoints[i].Op < info.Endpoints[j].Op })
	return info
}

// Server serves one Service on a Bus: the lifecycle every module shares.
// A module embeds it, registers its handlers on Service, starts its
// background work (event relays, feed tailers) with Go, and has Start and
// Stop.
type Server struct {
	Bus      Bus
	Service  *Service
	consumer Consumer

	bg struct {
		mu     sync.Mutex
		ctx    context.Context
		cancel context.CancelFunc
		wg     sync.WaitGroup
		failed chan error // buffered; closed by Stop
	}
}

// NewServer returns a Server for queue (the module's name) on b.
func NewServer(b Bus, queue string, log *slog.Logger) Server {
	return Server{Bus: b, Service: NewService(queue, buildinfo.Version(), log)}
}

// Start begins serving the queue. A Service without handlers (a module
// with no bus endpoints, or only tracked ones) is announced instead: it
// has no requests to take, and an empty durable queue would only turn a
// caller's fast "no instance" into "unknown op", yet ping must still list
// the instance.
func (s *Server) Start(context.Context) error {
	start, verb := s.Bus.Serve, "serve"
	if !s.Service.handles() {
		start, verb = s.Bus.Announce, "announce"
	}
	c, err := start(s.Service)
	if err != nil {
		return fmt.Errorf("%s %s: %w", verb, s.Service.Name(), err)
	}
	s.consumer = c
	return nil
}

// Go runs fn in the background until Stop. fn must return when its ctx
// ends; any other return is a failure of the module: it is reported on
// Failed (the registry then stops the process, naming the module and
// what): background work that dies silently would leave, say, a read
// model stale for ever.
func (s *Server) Go(what string, fn func(ctx context.Context) error) {
	s.bg.mu.Lock()
	defer s.bg.mu.Unlock()
	if s.bg.ctx == nil {
		s.bg.ctx, s.bg.cancel = context.WithCancel(context.Background())
		s.bg.failed = make(chan error, 1)
	}
	ctx, failed := s.bg.ctx, s.bg.failed
	s.bg.wg.Add(1)
	go func() {
		defer s.bg.wg.Done()
		err := fn(ctx)
		if ctx.Err() != nil {
			return // stopping
		}
		if err == nil {
			err = errors.New("stopped unexpectedly")
		}
		select {
		case failed <- fmt.Errorf("%s: %w", what, err):
		default: // one failure is enough to stop the process
		}
	}()
}

// Failed yields the first failure of background work started with Go; it
// is closed by Stop. Without background work it never yields.
func (s *Server) Failed() <-chan error {
	s.bg.mu.Lock()
	defer s.bg.mu.Unlock()
	if s.bg.failed == nil {
		s.bg.ctx, s.bg.cancel = context.WithCancel(context.Background())
		s.bg.failed = make(chan error, 1)
	}
	return s.bg.failed
}

// Stop stops taking requests and waits for those in flight, then stops the
// background work, until ctx ends.
func (s *Server) Stop(ctx context.Context) error {
	var err error
	if s.consumer != nil {
		err = s.consumer.Stop(ctx)
		s.consumer = nil
	}
	s.bg.mu.Lock()
	cancel, failed := s.bg.cancel, s.bg.failed
	s.bg.ctx, s.bg.cancel, s.bg.failed = nil, nil, nil
	s.bg.mu.Unlock()
	if cancel == nil {
		return err
	}
	cancel()
	done := make(chan struct{})
	go func() { s.bg.wg.Wait(); close(done) }()
	select {
	case <-done:
		close(failed) // nothing can send any more
	case <-ctx.Done():
		err = errors.Join(err, fmt.Errorf("stop %s: background work still running: %w", s.Service.Name(), ctx.Err()))
	}
	return err
}
