package memory_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/bus/bustest"
	"github.com/shopengine/shop/internal/bus/memory"
)

func TestConformance(t *testing.T) {
	bustest.Run(t, func(t *testing.T) func() bus.Bus {
		hub := memory.New(nil)
		return func() bus.Bus {
			b := hub.Peer()
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = b.Close(ctx)
			})
			return b
		}
	})
}
