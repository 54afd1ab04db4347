package cart

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/bus/amqp/amqptest"
	"github.com/shopengine/shop/internal/bus/memory"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/moduletest"
	"github.com/shopengine/shop/internal/store/storetest"
)

// BenchmarkCart measures add_line and get_cart (each with its product
// check: one get_variants call to a product stub) on a SQLite store, on
// the memory bus and over RabbitMQ (module and callers on two
// connections), against the bare bus floor of the same run: one
// get_variants round trip to the same stub, which is what a cart call
// costs at the least (a cart call is two round trips: the caller's and
// the cart's to product).
//
// "latency" interleaves a floor call and a cart call in each iteration
// and reports both medians, the cart's p99 and their ratio; "throughput"
// runs 16 callers (each a user of its own) and reports ns/op, the
// inverse of requests per second, for the floor and each op.
func BenchmarkCart(b *testing.B) {
	b.Run("memory", func(b *testing.B) {
		quiet := slog.New(slog.DiscardHandler)
		bb := memory.New(quiet)
		b.Cleanup(func() { _ = bb.Close(context.Background()) })
		benchCart(b, benchShop(b, bb, bb))
	})
	b.Run("amqp", func(b *testing.B) {
		url := amqptest.URL(b)
		opts := amqptest.Options(b, url)
		benchCart(b, benchShop(b, amqptest.Dial(b, url, opts), amqptest.Dial(b, url, opts)))
	})
}

// benchShop runs the cart module and the product stub on server, quiet,
// for callers on client. The line limit is lifted so that adds to one
// cart never run into it.
func benchShop(b *testing.B, server, client bus.Bus) *shop {
	quiet := slog.New(slog.DiscardHandler)
	h := moduletest.Start(b, storetest.SQLite(b), spec(Config{LineLimit: contract.MaxStock}, nil), moduletest.OnBus(server), moduletest.WithLogger(quiet))
	return &shop{Harness: h, bus: client, products: newCatalogue(b, server)}
}

// callers is how many callers the throughput benchmarks run.
const callers = 16

func benchCart(b *testing.B, s *shop) {
	variants := make([]contract.VariantInfo, 20)
	ids := make([]string, len(variants))
	for i := range variants {
		variants[i] = s.products.add(fmt.Sprintf("Item%d", i), "EUR", int64(1_000+i), contract.MaxStock)
		ids[i] = variants[i].VariantID
	}
	// newUser is a user whose cart holds 3 lines, as a get_cart reads it.
	newUser := func() context.Context {
		ctx := bus.WithMeta(context.Background(), as(user()))
		for _, v := range variants[:3] {
			if _, err := bus.Call(ctx, s.bus, contract.AddLine, contract.AddLineRequest{VariantID: v.VariantID, Quantity: 1}); err != nil {
				b.Fatal(err)
			}
		}
		return ctx
	}
	// The floor asks as the cart does: as nobody.
	floor := func(ctx context.Context, _ int) error {
		_, err := bus.Call(bus.WithMeta(ctx, bus.Meta{}), s.bus, contract.GetVariants, contract.VariantIDs{IDs: ids[:3], PublishedOnly: true})
		return err
	}
	ops := map[string]func(ctx context.Context, i int) error{
		"add_line": func(ctx context.Context, i int) error {
			_, err := bus.Call(ctx, s.bus, contract.AddLine, contract.AddLineRequest{VariantID: ids[i%3], Quantity: 1})
			return err
		},
		"get_cart": func(ctx context.Context, _ int) error {
			_, err := bus.Call(ctx, s.bus, contract.GetCart, contract.CartRef{})
			return err
		},
	}
	for _, name := range []string{"add_line", "get_cart"} {
		op := ops[name]
		b.Run(name+"/latency", func(b *testing.B) {
			ctx := newUser()
			var fl, ol []time.Duration
			i := 0
			for b.Loop() {
				t0 := time.Now()
				if err := floor(ctx, i); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if err := op(ctx, i); err != nil {
					b.Fatal(err)
				}
				fl, ol = append(fl, t1.Sub(t0)), append(ol, time.Since(t1))
				i++
			}
			f, o := quantile(fl, 0.5), quantile(ol, 0.5)
			b.ReportMetric(float64(f.Microseconds()), "floor-p50-µs")
			b.ReportMetric(float64(o.Microseconds()), "op-p50-µs")
			b.ReportMetric(float64(quantile(ol, 0.99).Microseconds()), "op-p99-µs")
			b.ReportMetric(float64(o)/float64(f), "op/floor")
		})
	}
	for _, name := range []string{"floor", "add_line", "get_cart"} {
		op := floor
		if name != "floor" {
			op = ops[name]
		}
		b.Run(name+"/throughput", func(b *testing.B) {
			par := max(1, callers/runtime.GOMAXPROCS(0))
			ctxs := make([]context.Context, par*runtime.GOMAXPROCS(0))
			for i := range ctxs {
				ctxs[i] = newUser()
			}
			var next atomic.Int64
			b.SetParallelism(par)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				ctx := ctxs[int(next.Add(1)-1)%len(ctxs)]
				i := 0
				for pb.Next() {
					if err := op(ctx, i); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
		})
	}
}

// quantile is the q-quantile of ds.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(float64(len(s)-1)*q)]
}
