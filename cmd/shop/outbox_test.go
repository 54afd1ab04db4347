package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/bus/amqp"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/outbox"
	"github.com/shopengine/shop/internal/store"
)

// TestEventOfAKilledProcessIsPublishedByTheNext: a real `shop serve`
// commits a category and is killed with SIGKILL (the outbox's test fault
// hook) before its relay publishes the event; the next process on the same
// data publishes it, and a consumer on the real RabbitMQ receives it.
func TestEventOfAKilledProcessIsPublishedByTheNext(t *testing.T) {
	url, prefix := brokerPrefix(t)
	ctx := t.Context()

	// A consumer group of the test's own, declared before anything is
	// published, so its durable queue holds what arrives.
	ctl, err := amqp.Dial(ctx, url, amqp.Options{Prefix: prefix, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ctl.Close(context.Background()) })
	var mu sync.Mutex
	var got []contract.CategoryEvent
	c, err := bus.On(ctl, contract.CategoryCreated, "outboxtest", func(_ context.Context, ev contract.CategoryEvent, _ *bus.Event) error {
		mu.Lock()
		got = append(got, ev)
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	received := func() []contract.CategoryEvent {
		mu.Lock()
		defer mu.Unlock()
		return append([]contract.CategoryEvent(nil), got...)
	}

	data := store.SQLiteURL(t.TempDir())
	args := []string{"--workers=0", "--only=category,web", "--bus-url=" + url, "--bus-prefix=" + prefix, "--database-url=" + data}
	env := []string{"SHOP_ADMIN_TOKEN=" + testAdminToken}

	doomed := startServe(t, append(env, outbox.FaultEnv+"=outbox-kill"), args...)
	req, _ := http.NewRequest("POST", "http://"+doomed.addr+"/api/v1/admin/categories", strings.NewReader(`{"name":"Survivor"}`))
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close() // the answer may or may not make it out before the kill
	}
	select {
	case err := <-doomed.done:
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("the process ended with %v, not SIGKILL\n%s", err, doomed.logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the fault hook did not kill the process\n%s", doomed.logs)
	}
	time.Sleep(500 * time.Millisecond)
	if evs := received(); len(evs) != 0 {
		t.Fatalf("events %+v arrived from a process killed before its relay published", evs)
	}

	next := startServe(t, env, args...)
	deadline := time.Now().Add(20 * time.Second)
	for len(received()) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the committed category's event never arrived\nkilled process:\n%s\nnext process:\n%s", doomed.logs, next.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if evs := received(); evs[0].Name != "Survivor" || evs[0].Version != 1 {
		t.Fatalf("event %+v, want category Survivor at version 1", evs[0])
	}
	if code, body := next.get(t, "/api/v1/categories/by-slug/survivor"); code != 200 {
		t.Fatalf("the committed category: %d %s", code, body)
	}
}
