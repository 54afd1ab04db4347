package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"
)

// checkPprofAddr checks --pprof-addr (empty: off) at start, in the
// process that reads the flags first, so that a bad one fails serve
// instead of every worker.
func checkPprofAddr(addr string) error {
	if addr == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--pprof-addr %q: want host:port: %w", addr, err)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("--pprof-addr %q: port %q is not a port number", addr, port)
	}
	return nil
}

// servePprof serves net/http/pprof on addr until ctx ends: serve's hidden
// --pprof-addr, for profiling a running shop under load (bench/web.sh),
// never for users. It has its own listener and mux, so nothing of it is
// reachable on the shop's HTTP address. A worker (index ≥ 0) listens on
// addr's port plus its index, so that every worker of one serve can be
// profiled.
func servePprof(ctx context.Context, addr string, worker int) error {
	if err := checkPprofAddr(addr); err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	if worker > 0 && p != 0 {
		p += worker
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
	if err != nil {
		return fmt.Errorf("--pprof-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	slog.Info("pprof listening", "addr", ln.Addr().String())
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("pprof server", "err", err)
		}
	}()
	return nil
}
