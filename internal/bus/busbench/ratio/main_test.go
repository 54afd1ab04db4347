package main

import (
	"strings"
	"testing"
)

const sample = `# busbench floors: same JSON work
BenchmarkRequestReply/chanfloor/c=64-2   100  9000 ns/op  4.0 p50-µs  60 p99-µs  100000 req/s  8.0 cpu-µs/op
BenchmarkRequestReply/chanfloor/c=64-2   100  9000 ns/op  5.0 p50-µs  70 p99-µs  110000 req/s  8.0 cpu-µs/op
BenchmarkRequestReply/chanfloor/c=64-2   100  9000 ns/op  9.0 p50-µs  90 p99-µs   10000 req/s  8.0 cpu-µs/op
BenchmarkRequestReply/memory/c=64-2      100  9000 ns/op  9.0 p50-µs 100 p99-µs   60000 req/s 16.0 cpu-µs/op
BenchmarkRequestReply/amqpfloor/c=64-2   100  9000 ns/op 8000 p50-µs 20000 p99-µs 7000 req/s 50 cpu-µs/op 50 srv-cpu-µs/op
BenchmarkRequestReply/amqp/c=64-2        100  9000 ns/op 9000 p50-µs 30000 p99-µs 6000 req/s 55 cpu-µs/op 55 srv-cpu-µs/op
BenchmarkRequestReply/amqpfloor/c=1-2    100  9000 ns/op 400 p50-µs 900 p99-µs 2000 req/s
`

func TestParse(t *testing.T) {
	k, m, ok := parse("BenchmarkRequestReply/amqp/c=16-2  4102  257764 ns/op  3460 p50-µs  12223 p99-µs  3880 req/s  4739 B/op  100 allocs/op")
	if !ok || k != (key{"amqp", 16, "2"}) || m["p50-µs"] != 3460 || m["req/s"] != 3880 || m["allocs/op"] != 100 {
		t.Fatalf("parse: %v %v %v", k, m, ok)
	}
	for _, bad := range []string{"PASS", "BenchmarkOther-2 10 5 ns/op", "BenchmarkRequestReply/amqp/c=1-2 x 5 ns/op"} {
		if _, _, ok := parse(bad); ok {
			t.Errorf("parse(%q) accepted", bad)
		}
	}
}

func TestReport(t *testing.T) {
	runs := map[key]map[string][]float64{}
	for _, line := range strings.Split(sample, "\n") {
		if k, m, ok := parse(line); ok {
			if runs[k] == nil {
				runs[k] = map[string][]float64{}
			}
			for u, v := range m {
				runs[k][u] = append(runs[k][u], v)
			}
		}
	}
	var out strings.Builder
	ok := report(&out, runs, nil)
	got := out.String()
	// memory/chanfloor at 64: medians 5 µs, 70 µs, 100000 req/s → 1.80, 1.43, 0.60: PASS.
	// amqp/amqpfloor at 64: p99 1.5× → MISS; at 1 only the floor ran → NO DATA, unchecked.
	for _, want := range []string{"1.80", "1.43", "0.60", "PASS", "MISS p99", "1 PASS, 1 MISS, 0 NO DATA"} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	if ok {
		t.Error("report passed with a missed target")
	}
}
