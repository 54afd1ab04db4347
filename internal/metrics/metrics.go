// Package metrics holds the Prometheus collectors of one process and the
// bus decorator that feeds them. Each worker has its own registry, labelled
// with its worker index, served by the web module at /metrics.
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
	}
	r.MustRegister(m.requests, m.inFlight, m.published, m.consumed,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
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
