package auth

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/bus/amqp/amqptest"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/moduletest"
)

// benchClient gives every call its own address, so that the throttles
// (which would rightly stop a benchmark's thousands of failures) stay out
// of the measurement.
var benchIP atomic.Uint32

func benchClient() contract.Client {
	n := benchIP.Add(1)
	return contract.Client{IP: fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255)}
}

// BenchmarkLogin measures a successful login (bcrypt at the cost, a new
// session) on the memory bus.
func BenchmarkLogin(b *testing.B) {
	for _, cost := range []int{10, 12} {
		b.Run(fmt.Sprintf("cost=%d", cost), func(b *testing.B) {
			h := benchHarness(b, Config{BcryptCost: cost})
			ctx := context.Background()
			if _, err := bus.Call(ctx, h.bus, contract.Register, contract.RegisterRequest{Email: "ann@example.com", Password: pw1, Client: benchClient()}); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := bus.Call(ctx, h.bus, contract.Login, contract.LoginRequest{Email: "ann@example.com", Password: pw1, Client: benchClient()}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkResolveSession measures the call every page view makes, on
// the memory bus and over RabbitMQ (module and caller on two connections).
func BenchmarkResolveSession(b *testing.B) {
	run := func(b *testing.B, h *harness) {
		ctx := context.Background()
		g, err := bus.Call(ctx, h.bus, contract.Register, contract.RegisterRequest{Email: "ann@example.com", Password: pw1, Client: benchClient()})
		if err != nil {
			b.Fatal(err)
		}
		req := contract.ResolveSessionRequest{Token: g.Token}
		for b.Loop() {
			if _, err := bus.Call(ctx, h.bus, contract.ResolveSession, req); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("memory", func(b *testing.B) { run(b, benchHarness(b, testConfig())) })
	b.Run("amqp", func(b *testing.B) {
		url := amqptest.URL(b)
		opts := amqptest.Options(b, url)
		server, client := amqptest.Dial(b, url, opts), amqptest.Dial(b, url, opts)
		h := benchHarness(b, testConfig(), moduletest.OnBus(server))
		h.bus = client
		run(b, h)
	})
}

// BenchmarkLoginFailure compares an unknown email with a wrong password,
// interleaved so that both see the same machine, at cost 10. It reports
// each one's median and their ratio, which must stay within 10%.
func BenchmarkLoginFailure(b *testing.B) {
	h := benchHarness(b, Config{BcryptCost: MinCost})
	ctx := context.Background()
	if _, err := bus.Call(ctx, h.bus, contract.Register, contract.RegisterRequest{Email: "ann@example.com", Password: pw1, Client: benchClient()}); err != nil {
		b.Fatal(err)
	}
	var unknown, wrong []time.Duration
	try := func(email string) time.Duration {
		start := time.Now()
		_, err := bus.Call(ctx, h.bus, contract.Login, contract.LoginRequest{Email: email, Password: pw2, Client: benchClient()})
		d := time.Since(start)
		if bus.CodeOf(err) != bus.CodeUnauthorized {
			b.Fatalf("%s: %v", email, err)
		}
		return d
	}
	i := 0
	for b.Loop() {
		if i%2 == 0 {
			unknown = append(unknown, try(fmt.Sprintf("nobody%d@example.com", i)))
		} else {
			wrong = append(wrong, try("ann@example.com"))
		}
		i++
	}
	if len(unknown) == 0 || len(wrong) == 0 {
		return
	}
	mu, mw := median(unknown), median(wrong)
	b.ReportMetric(float64(mu.Nanoseconds()), "unknown-median-ns")
	b.ReportMetric(float64(mw.Nanoseconds()), "wrong-median-ns")
	b.ReportMetric(float64(mu)/float64(mw), "unknown/wrong")
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
