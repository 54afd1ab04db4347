// Command ratio reads the output of
//
//	go test -bench=RequestReply ./internal/bus/busbench/
//
// on stdin and prints, for every concurrency, the ratios of each bus to its
// floor (memory/chanfloor, amqp/amqpfloor): p50 and p99 latency (lower is
// better) and req/s (higher is better), with PASS or MISS against the
// targets. With -count=N it uses the median of the N runs of each benchmark.
//
// Targets: the memory bus within 2x of the channel floor at every
// concurrency (p50 and p99 at most 2x, req/s at least 0.5x); the AMQP bus at
// 64 in flight within 1.2x of the raw amqp091-go floor's latency (p50, p99)
// and at least 0.8x of its throughput. AMQP ratios at other concurrencies are
// shown for information.
//
// The input is copied to stdout as it arrives (-q turns that off), so the
// command can end a pipeline that shows a long run's progress. It exits 1
// with -strict when a target is missed or a benchmark of a checked pair has
// no results.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// pair is a bus and the floor it is compared with, and its targets.
type pair struct {
	impl, floor string
	maxLatency  float64 // largest allowed impl/floor latency ratio
	minThru     float64 // smallest allowed impl/floor req/s ratio
	checkAt     func(c int) bool
}

var pairs = []pair{
	{impl: "memory", floor: "chanfloor", maxLatency: 2, minThru: 0.5, checkAt: func(int) bool { return true }},
	{impl: "amqp", floor: "amqpfloor", maxLatency: 1.2, minThru: 0.8, checkAt: func(c int) bool { return c == 64 }},
}

const (
	unitP50  = "p50-µs"
	unitP99  = "p99-µs"
	unitRate = "req/s"
	// unitCPU is the sum of the CPU per request of every process measured
	// (benchmark, server, broker), made up by the reader.
	unitCPU = "cpu"
)

// cpuUnits are the CPU metrics whose sum is unitCPU.
var cpuUnits = []string{"cpu-µs/op", "srv-cpu-µs/op", "broker-cpu-µs/op"}

// key names one benchmark: BenchmarkRequestReply/<impl>/c=<n>-<procs>.
type key struct {
	impl  string
	c     int
	procs string
}

// cpusNote is the "(N CPUs)" part of the loadavg lines.
var cpusNote = "? CPUs"

var nameRE = regexp.MustCompile(`^BenchmarkRequestReply/([^/\s]+)/c=(\d+)(?:-(\d+))?$`)

func main() {
	quiet := flag.Bool("q", false, "do not copy the input to stdout")
	strict := flag.Bool("strict", false, "exit 1 when a target is missed or a checked benchmark has no results")
	flag.Parse()

	runs := map[key]map[string][]float64{}
	var notes, loads []string
	failed := false
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !*quiet {
			fmt.Println(line)
		}
		if strings.HasPrefix(line, "FAIL") || strings.HasPrefix(line, "--- FAIL") || strings.HasPrefix(line, "panic:") {
			failed = true
		}
		if v, ok := strings.CutPrefix(line, "# busbench loadavg: "); ok {
			if f := strings.Fields(v); len(f) > 0 {
				loads = append(loads, f[0])
			}
			if i, j := strings.IndexByte(v, '('), strings.LastIndexByte(v, ')'); i >= 0 && j > i {
				cpusNote = v[i+1 : j]
			}
			continue
		}
		if v, ok := strings.CutPrefix(line, "# busbench "); ok {
			if strings.HasPrefix(v, "SKIPPED") {
				v = "!!! " + v
			} else if _, after, ok := strings.Cut(v, ": "); ok {
				v = after
			}
			if !slices.Contains(notes, v) {
				notes = append(notes, v)
			}
			continue
		}
		k, metrics, ok := parse(line)
		if !ok {
			continue
		}
		if runs[k] == nil {
			runs[k] = map[string][]float64{}
		}
		for u, v := range metrics {
			runs[k][u] = append(runs[k][u], v)
		}
		cpu, any := 0.0, false
		for _, u := range cpuUnits {
			if v, ok := metrics[u]; ok {
				cpu += v
				any = true
			}
		}
		if any {
			runs[k][unitCPU] = append(runs[k][unitCPU], cpu)
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "ratio: read:", err)
		os.Exit(2)
	}
	if len(runs) == 0 {
		fmt.Fprintln(os.Stderr, "ratio: no BenchmarkRequestReply results in the input")
		os.Exit(2)
	}
	if len(loads) > 0 {
		notes = append(notes, fmt.Sprintf("1-min load average as runs began: %s (%s); other work on the machine skews wall-clock figures, less so CPU per request",
			strings.Join(loads, ", "), cpusNote))
	}
	ok := report(os.Stdout, runs, notes)
	if failed {
		fmt.Fprintln(os.Stderr, "ratio: the benchmark run FAILED (see above)")
		os.Exit(1)
	}
	if !ok && *strict {
		os.Exit(1)
	}
}

// parse reads one result line: name, iterations, then value-unit pairs.
func parse(line string) (key, map[string]float64, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || len(f)%2 != 0 {
		return key{}, nil, false
	}
	m := nameRE.FindStringSubmatch(f[0])
	if m == nil {
		return key{}, nil, false
	}
	if _, err := strconv.Atoi(f[1]); err != nil {
		return key{}, nil, false
	}
	c, _ := strconv.Atoi(m[2])
	metrics := map[string]float64{}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return key{}, nil, false
		}
		metrics[f[i+1]] = v
	}
	return key{impl: m[1], c: c, procs: m[3]}, metrics, true
}

func median(xs []float64) (float64, bool) {
	if len(xs) == 0 {
		return 0, false
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2], true
	}
	return (s[n/2-1] + s[n/2]) / 2, true
}

// report prints the table and reports whether every checked target passed.
func report(w io.Writer, runs map[key]map[string][]float64, notes []string) bool {
	type cp struct {
		c     int
		procs string
	}
	var points []cp
	counts := map[int]bool{}
	for k, m := range runs {
		if !slices.Contains(points, cp{k.c, k.procs}) {
			points = append(points, cp{k.c, k.procs})
		}
		counts[len(m[unitRate])] = true
	}
	slices.SortFunc(points, func(a, b cp) int {
		if a.procs != b.procs {
			return strings.Compare(a.procs, b.procs)
		}
		return a.c - b.c
	})
	manyProcs := slices.ContainsFunc(points, func(p cp) bool { return p.procs != points[0].procs })

	fmt.Fprintln(w)
	runsNote := "median of each benchmark's runs"
	if len(counts) == 1 {
		for n := range counts {
			runsNote = fmt.Sprintf("median of %d run(s) each", n)
		}
	}
	fmt.Fprintf(w, "Request-reply: bus vs floor (%s). Ratios are bus/floor: latency and CPU lower is better, req/s higher is better.\n", runsNote)
	fmt.Fprintln(w, "  CPU µs/req: all processes measured (benchmark, AMQP server, broker if BUSBENCH_BROKER_PID is set); for information, no target.")
	for _, n := range notes {
		fmt.Fprintf(w, "  %s\n", n)
	}
	fmt.Fprintln(w)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "c\tbus/floor\tp50 µs\tp99 µs\treq/s\tCPU µs/req\tp50 ×\tp99 ×\treq/s ×\tCPU ×\ttarget\tverdict")
	allOK := true
	pass, miss, nodata := 0, 0, 0
	for _, p := range points {
		label := strconv.Itoa(p.c)
		if manyProcs {
			label += "-" + p.procs
		}
		for _, pr := range pairs {
			bus, okB := runs[key{pr.impl, p.c, p.procs}]
			floor, okF := runs[key{pr.floor, p.c, p.procs}]
			checked := pr.checkAt(p.c)
			target := fmt.Sprintf("lat ≤%.1f× req/s ≥%.1f×", pr.maxLatency, pr.minThru)
			if !checked {
				target = "(info)"
			}
			if !okB || !okF {
				if !okB && !okF {
					continue // neither was run (filtered out)
				}
				missing := pr.impl
				if !okF {
					missing = pr.floor
				}
				verdict := "NO DATA (" + missing + " missing: skipped or failed?)"
				if checked {
					allOK = false
					nodata++
				}
				fmt.Fprintf(tw, "%s\t%s/%s\t\t\t\t\t\t\t\t\t%s\t%s\n", label, pr.impl, pr.floor, target, verdict)
				continue
			}
			bp50, _ := median(bus[unitP50])
			bp99, _ := median(bus[unitP99])
			brate, _ := median(bus[unitRate])
			fp50, _ := median(floor[unitP50])
			fp99, _ := median(floor[unitP99])
			frate, _ := median(floor[unitRate])
			bcpu, okC1 := median(bus[unitCPU])
			fcpu, okC2 := median(floor[unitCPU])
			r50, r99, rrate := ratio(bp50, fp50), ratio(bp99, fp99), ratio(brate, frate)
			cpuPair, rcpu := "", ""
			if okC1 && okC2 {
				cpuPair = num(bcpu) + " / " + num(fcpu)
				rcpu = fmt.Sprintf("%.2f", ratio(bcpu, fcpu))
			}
			verdict := "-"
			if checked {
				var missed []string
				if r50 > pr.maxLatency {
					missed = append(missed, "p50")
				}
				if r99 > pr.maxLatency {
					missed = append(missed, "p99")
				}
				if rrate < pr.minThru {
					missed = append(missed, "req/s")
				}
				if len(missed) == 0 {
					verdict = "PASS"
					pass++
				} else {
					verdict = "MISS " + strings.Join(missed, ",")
					allOK = false
					miss++
				}
			}
			fmt.Fprintf(tw, "%s\t%s/%s\t%s / %s\t%s / %s\t%s / %s\t%s\t%.2f\t%.2f\t%.2f\t%s\t%s\t%s\n",
				label, pr.impl, pr.floor,
				num(bp50), num(fp50), num(bp99), num(fp99), num(brate), num(frate), cpuPair,
				r50, r99, rrate, rcpu, target, verdict)
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "\ntargets: %d PASS, %d MISS, %d NO DATA\n", pass, miss, nodata)
	return allOK
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// num formats a measurement with three significant digits or as an integer.
func num(v float64) string {
	switch {
	case v >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}
