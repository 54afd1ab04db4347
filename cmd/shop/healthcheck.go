package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// newHealthcheckCmd is the container health check: the image is FROM
// scratch, with no curl or wget, so the binary probes itself. It asks the
// serving process on --http-addr for /healthz and then /readyz and exits
// non-zero unless both answer 200, so one compose healthcheck covers
// liveness and readiness.
func newHealthcheckCmd() *cobra.Command {
	var (
		addr     string
		liveOnly bool
		timeout  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Probe a running shop's /healthz and /readyz (for container health checks)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			base, err := probeBase(addr)
			if err != nil {
				return usageError{err}
			}
			if timeout <= 0 {
				return usageError{fmt.Errorf("--timeout %s: must be positive", timeout)}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			paths := []string{"/healthz", "/readyz"}
			if liveOnly {
				paths = paths[:1]
			}
			for _, p := range paths {
				if err := probe(ctx, base+p); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s ok\n", p)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "http-addr", "127.0.0.1:8080", "address the shop listens on (a wildcard host is probed on loopback)")
	cmd.Flags().BoolVar(&liveOnly, "live", false, "probe /healthz only (liveness), not /readyz")
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "bound on the whole check")
	return cmd
}

// probeBase turns a listen address into the URL to probe: a listener on
// every interface (0.0.0.0:8080, :8080, [::]:8080) is reached on loopback.
func probeBase(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("--http-addr %q: %w", addr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

func probe(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("probe %s: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probe %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probe %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
