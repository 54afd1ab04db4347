package seeder

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/shopengine/shop/internal/contract"
)

// The read models (filter's index, seo's slug registry) follow the
// product events, which the product module publishes after each batch
// commits: a seed that returned at the last create_many would leave them
// behind, and with the in-process bus the events still queued would go
// with the process. So a run ends only when both have caught up.

// readModelWait bounds the wait for the read models, and readModelPoll
// is how often they are asked.
var readModelWait, readModelPoll = 5 * time.Minute, 100 * time.Millisecond

// awaitReadModels waits until the filter module lists as many products as
// the product module has published, and until seo resolves last, the
// last published product of every batch: each topic's events are
// consumed in the order they were published, so once those resolve, the
// products before them do too.
func (m *Module) awaitReadModels(parent context.Context, last []string, p Progress) error {
	p.Start("read models", 2)
	defer p.End()
	ctx, cancel := context.WithTimeout(parent, readModelWait)
	defer cancel()
	var filtered, published int
	filterDone := func(ctx context.Context) (bool, error) {
		want, err := call(ctx, m.bus, contract.ListProducts, contract.ListProductsRequest{Status: contract.ProductPublished, PageSize: 1})
		if err != nil {
			return false, err
		}
		got, err := call(ctx, m.bus, contract.Search, contract.SearchRequest{PageSize: 1})
		if err != nil {
			return false, nil // loading its snapshot: ask again
		}
		filtered, published = got.Total, want.Total
		return filtered == published, nil
	}
	pending := slices.Clone(last)
	seoDone := func(ctx context.Context) (bool, error) {
		for len(pending) > 0 {
			r, err := call(ctx, m.bus, contract.Resolve, contract.ResolveRequest{Path: contract.ProductPathPrefix + pending[0]})
			if err != nil || r.Kind != contract.ResolveEntity {
				return false, nil
			}
			pending = pending[1:]
		}
		return true, nil
	}
	running := m.running(ctx)
	for _, check := range []struct {
		name string
		done func(context.Context) (bool, error)
		left func() string
	}{
		{contract.FilterQueue, filterDone, func() string { return fmt.Sprintf("lists %d of the %d published products", filtered, published) }},
		{contract.SEOQueue, seoDone, func() string {
			return fmt.Sprintf("resolves %d of %d batches' last products", len(last)-len(pending), len(last))
		}},
	} {
		if running != nil && !running[check.name] {
			// A deployment without it (shop serve --only=…): nothing to wait for.
			m.log.InfoContext(ctx, "seed: read model not running, not waiting for it", "module", check.name)
			p.Add(1)
			continue
		}
		for {
			ok, err := check.done(ctx)
			if err != nil {
				return fmt.Errorf("wait for %s: %w", check.name, err)
			}
			if ok {
				break
			}
			select {
			case <-ctx.Done():
				if err := parent.Err(); err != nil {
					return err
				}
				return fmt.Errorf("%s has not caught up with the products after %v: it %s", check.name, readModelWait, check.left())
			case <-time.After(readModelPoll):
			}
		}
		p.Add(1)
	}
	return nil
}

// pingWait bounds the question which modules are running.
const pingWait = 2 * time.Second

// running returns the names of the modules that answer a ping, or nil
// when the bus cannot tell (then every read model is waited for).
func (m *Module) running(ctx context.Context) map[string]bool {
	ctx, cancel := context.WithTimeout(ctx, pingWait)
	defer cancel()
	infos, err := m.bus.Ping(ctx)
	if err != nil || len(infos) == 0 {
		return nil
	}
	out := map[string]bool{}
	for _, in := range infos {
		out[in.Name] = true
	}
	return out
}
