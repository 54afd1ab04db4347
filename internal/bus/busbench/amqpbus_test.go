package busbench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/bus/amqp"
)

// declared collects the durable queues and exchanges a Bus declares, to
// delete them at the end.
type declared struct {
	mu    sync.Mutex
	names map[[2]string]bool
}

func (d *declared) add(kind, name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.names == nil {
		d.names = map[[2]string]bool{}
	}
	d.names[[2]string{kind, name}] = true
}

func (d *declared) delete() {
	d.mu.Lock()
	defer d.mu.Unlock()
	var queues, exchanges []string
	for k := range d.names {
		if k[0] == "exchange" {
			exchanges = append(exchanges, k[1])
		} else {
			queues = append(queues, k[1])
		}
	}
	deleteTopology(queues, exchanges)
}

func dialBus(prefix, role string, decl *declared) (*amqp.Bus, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return amqp.Dial(ctx, amqpURL(), amqp.Options{
		Prefix:         prefix,
		Prefetch:       floorPrefetch,
		Logger:         logger(),
		ConnectionName: "busbench amqp " + role,
		OnDeclare:      decl.add,
	})
}

// startBusServer serves the echo endpoint on a Bus of its own; stopping it
// closes the Bus and deletes what it declared.
func startBusServer(prefix string) (func() error, error) {
	decl := &declared{}
	b, err := dialBus(prefix, "server", decl)
	if err != nil {
		return nil, err
	}
	svc := bus.NewService(echoEP.Queue, "busbench", logger())
	bus.Handle(svc, echoEP, echo)
	stop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := b.Close(ctx)
		decl.delete()
		return err
	}
	if _, err := b.Serve(svc); err != nil {
		return nil, errors.Join(err, stop())
	}
	return stop, nil
}

func setupAMQPBus() (fixture, error) {
	prefix := runID + "."
	stopServer, pid, err := startServerProcess("amqp", prefix)
	if err != nil {
		return fixture{}, err
	}
	decl := &declared{}
	client, err := dialBus(prefix, "client", decl)
	if err != nil {
		_ = stopServer()
		return fixture{}, err
	}
	atEnd(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := client.Close(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "busbench: close amqp client: %v\n", err)
		}
		if err := stopServer(); err != nil {
			fmt.Fprintf(os.Stderr, "busbench: stop amqp server: %v\n", err)
		}
		decl.delete()
	})
	return fixture{serverPID: pid, usesBroker: true, newCaller: func() caller {
		return func(req *Item) (Item, error) {
			return bus.Call(context.Background(), client, echoEP, *req)
		}
	}}, nil
}
