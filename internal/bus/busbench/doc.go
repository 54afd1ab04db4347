// Package busbench holds the request-reply benchmarks of the bus: every bus
// transport next to a floor that is the bare mechanism under it, in the same
// run, so that their ratios say what the transport layer costs.
//
//	BenchmarkRequestReply/<impl>/c=<n>
//
// impl is chanfloor (Go channels, a pool of server goroutines), memory (the
// in-process bus), amqpfloor (bare amqp091-go: a consumer with prefetch 50
// and manual acks replying to direct reply-to, and a client with one reply
// consumer and a pending map by correlation id) or amqp (the RabbitMQ bus).
// n callers each send requests in a loop. Floors do the same JSON work as
// bus.Call and bus.Handle (json.Marshal, bus.DecodeStrict, json.Marshal,
// json.Unmarshal of the same structs), so a ratio measures only the
// transport. Metrics: p50-µs and p99-µs of every request's latency, req/s,
// and CPU µs per request of this process (cpu-µs/op), of the AMQP server
// process (srv-cpu-µs/op) and of the broker (broker-cpu-µs/op, when
// BUSBENCH_BROKER_PID names its process). ns/op is wall time per request,
// the inverse of req/s.
//
// The AMQP servers (floor and bus) run in a separate process (the test binary
// re-executed), like the two processes the design figures were measured
// with, each side with its own connection. The broker is SHOP_TEST_AMQP_URL,
// by default amqp://guest:guest@127.0.0.1:5672/; when it is unreachable the
// AMQP benchmarks are skipped with a message on stderr and in the results.
// Queues and exchanges made for a run are deleted at its end.
//
// The ratio command (./ratio) reads the go test output and prints the ratios
// against the targets.
//
// Knobs, for diagnosis (environment variables):
//
//	BUSBENCH_INPROC=1               AMQP servers in the benchmark process
//	BUSBENCH_SERVER_CPUPROFILE=P    server processes write P.<impl>.pprof
//	BUSBENCH_BROKER_PID=PID         report the broker's CPU per request
//	BUSBENCH_FLOOR_AS_BUS=F,...     give amqpfloor bus wire features: durable,
//	                                ttl, headers, mandatory, or all
//	BUSBENCH_CHAN_WORKERS=N         chanfloor server goroutines (default 64)
//	BUSBENCH_FLOOR_WORKERS=N        amqpfloor server goroutines (default 50)
package busbench

// Item is the request and reply of the benchmark's echo endpoint: a small
// JSON object (about 110 bytes encoded), like a cart line.
type Item struct {
	ID       int64  `json:"id"`
	SKU      string `json:"sku"`
	Name     string `json:"name"`
	Qty      int    `json:"qty"`
	Price    int64  `json:"price_minor"`
	Currency string `json:"currency"`
}

// Sample returns the item that caller sends as its request number seq.
func Sample(caller int, seq int64) Item {
	return Item{
		ID:       int64(caller)<<40 | seq,
		SKU:      "SKU-004217-NAVY-XL",
		Name:     "Organic cotton t-shirt, navy blue",
		Qty:      2,
		Price:    1999,
		Currency: "EUR",
	}
}
