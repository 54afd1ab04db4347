package busbench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CPU time per request is reported besides wall-clock figures: on a machine
// busy with other work, latency and req/s drift with the load, while the CPU
// a request costs each process hardly does.

// selfCPU is the user+system CPU time of this process.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU is the user+system CPU time of process pid from /proc (Linux),
// with the 10 ms resolution of clock ticks.
func procCPU(pid int) (time.Duration, bool) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// Fields after the parenthesised command: state is field 3, utime 14,
	// stime 15 (proc(5)).
	i := strings.LastIndexByte(string(raw), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	const userHZ = 100 // USER_HZ, the unit of /proc times on Linux
	return time.Duration(utime+stime) * time.Second / userHZ, true
}

// brokerPID is BUSBENCH_BROKER_PID, the broker's process when it runs on
// this machine (e.g. $(pgrep -o beam.smp)); its CPU per request is then
// reported for the AMQP benchmarks.
func brokerPID() int {
	pid, _ := strconv.Atoi(os.Getenv("BUSBENCH_BROKER_PID"))
	return pid
}

// cpuMeter samples the CPU time of this process, the server process (0:
// none) and the broker (0: unknown).
type cpuMeter struct {
	server, broker int
	self           time.Duration
	srv, brk       time.Duration
	srvOK, brkOK   bool
}

func startCPU(server, broker int) *cpuMeter {
	m := &cpuMeter{server: server, broker: broker}
	if server > 0 {
		m.srv, m.srvOK = procCPU(server)
	}
	if broker > 0 {
		m.brk, m.brkOK = procCPU(broker)
	}
	m.self = selfCPU()
	return m
}

// report adds the CPU µs per request of each process measured to b.
func (m *cpuMeter) report(b interface{ ReportMetric(float64, string) }, n int) {
	self := selfCPU() - m.self
	per := func(d time.Duration) float64 { return float64(d) / 1e3 / float64(n) }
	b.ReportMetric(per(self), "cpu-µs/op")
	if m.srvOK {
		if now, ok := procCPU(m.server); ok {
			b.ReportMetric(per(now-m.srv), "srv-cpu-µs/op")
		}
	}
	if m.brkOK {
		if now, ok := procCPU(m.broker); ok {
			b.ReportMetric(per(now-m.brk), "broker-cpu-µs/op")
		}
	}
}
