// Package metrics holds the Prometheus collectors of one process, the bus
// decorator that feeds the bus ones and the entry point of the HTTP ones.
// Each worker has its own registry, labelled with its worker index, served
// at /metrics by the internal server module that every serving process has.
package metrics

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/shopengine/shop/internal/bus"
)

// Metrics is a registry with the bus collectors registered.
type Metrics struct {
	Registry *prometheus.Registry

	requests  *prometheus.HistogramVec
	inFlight  prometheus.Gauge
	published *prometheus.CounterVec
	consumed  *prometheus.CounterVec

	httpRequests *prometheus.HistogramVec
	httpInFlight prometheus.Gauge
}

// New returns a registry with Go and process collectors and the bus
// collectors. worker < 0 means no supervisor (one process); otherwise every
// series carries worker="<index>".
func New(worker int) *Metrics {
	reg := prometheus.NewRegistry()
	var r prometheus.Registerer = reg
	if worker >= 0 {
		r = prometheus.WrapRegistererWith(prometheus.Labels{"worker": strconv.Itoa(worker)}, reg)
	}
	m := &Metrics{
		Registry: reg,
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "shop_bus_request_duration_seconds",
			Help:    "Bus requests made by this process, by target queue, op and outcome (ok or the error code).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"queue", "op", "outcome"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shop_bus_requests_in_flight",
			Help: "Bus requests made by this process that await their reply.",
		}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shop_bus_events_published_total",
			Help: "Events published by this process, by topic and outcome.",
		}, []string{"topic", "outcome"}),
		consumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shop_bus_events_consumed_total",
			Help: "Event deliveries handled by this process, by topic, group and outcome.",
		}, []string{"topic", "group", "outcome"}),
		httpRequests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "shop_http_request_duration_seconds",
			Help:    "HTTP requests answered by this process, by route pattern (\"unmatched\" when no route matched), method and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "status"}),
		httpInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shop_http_requests_in_flight",
			Help: "HTTP requests this process is answering.",
		}),
	}
	r.MustRegister(m.requests, m.inFlight, m.published, m.consumed, m.httpRequests, m.httpInFlight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// UnmatchedRoute is the route label of a request that no route matched:
// labels come from route patterns, never from raw paths, so that a scan of
// random URLs cannot grow the number of series.
const UnmatchedRoute = "unmatched"

// HTTPInFlight counts a request as being answered until done is called.
func (m *Metrics) HTTPInFlight() (done func()) {
	m.httpInFlight.Inc()
	return m.httpInFlight.Dec
}

// ObserveHTTP observes one answered HTTP request: its chi route pattern
// (empty when no route matched, which is labelled UnmatchedRoute), method,
// status and duration.
func (m *Metrics) ObserveHTTP(route, method string, status int, took time.Duration) {
	if route == "" {
		route = UnmatchedRoute
	}
	m.httpRequests.WithLabelValues(route, methodLabel(method), strconv.Itoa(status)).Observe(took.Seconds())
}

// methodLabel keeps the method label to the standard methods: a client may
// send any token as a method.
func methodLabel(method string) string {
	switch method {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE":
		return method
	}
	return "other"
}

// Bus returns b with every request, publish and event delivery observed.
func (m *Metrics) Bus(b bus.Bus) bus.Bus { return &observedBus{Bus: b, m: m} }

type observedBus struct {
	bus.Bus
	m *Metrics
}

func outcome(err error) string {
	if err == nil {
		return "ok"
	}
	return string(bus.CodeOf(err))
}

func (o *observedBus) Request(ctx context.Context, queue, op string, body []byte) ([]byte, error) {
	o.m.inFlight.Inc()
	start := time.Now()
	reply, err := o.Bus.Request(ctx, queue, op, body)
	o.m.inFlight.Dec()
	o.m.requests.WithLabelValues(queue, op, outcome(err)).Observe(time.Since(start).Seconds())
	return reply, err
}

func (o *observedBus) Publish(ctx context.Context, topic string, body []byte) error {
	err := o.Bus.Publish(ctx, topic, body)
	o.m.published.WithLabelValues(topic, outcome(err)).Inc()
	return err
}

func (o *observedBus) Subscribe(pattern, group string, h bus.EventHandler) (bus.Consumer, error) {
	return o.Bus.Subscribe(pattern, group, func(ctx context.Context, ev *bus.Event) error {
		err := h(ctx, ev)
		o.m.consumed.WithLabelValues(ev.Topic, group, outcome(err)).Inc()
		return err
	})
}

// SubscribeBatch implements bus.Batcher over the observed bus's batches
// (or single events, bus.SubscribeBatch), counting every event of a batch.
func (o *observedBus) SubscribeBatch(pattern, group string, max int, h bus.BatchHandler) (bus.Consumer, error) {
	return bus.SubscribeBatch(o.Bus, pattern, group, max, func(ctx context.Context, evs []*bus.Event) error {
		err := h(ctx, evs)
		for _, ev := range evs {
			o.m.consumed.WithLabelValues(ev.Topic, group, outcome(err)).Inc()
		}
		return err
	})
}
