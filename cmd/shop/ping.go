package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/modules"
)

func newPingCmd() *cobra.Command {
	var (
		bf      busFlags
		timeout time.Duration
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "ping",
		Short: "Show every live module instance on the bus, with per-endpoint stats",
		Long: `Ask every module instance on the bus for its name, version, instance id and
per-endpoint request/error counts and mean latency, and print what answers
within --timeout. Modules without bus endpoints answer too: web lists its
HTTP routes ("GET /api/v1/categories/{id}"), counting answers with status
500 or more as errors. On memory:// only the calling process is reachable,
which hosts no modules: use it with an amqp:// bus.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if timeout <= 0 {
				return usageError{fmt.Errorf("--timeout %v: must be positive", timeout)}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			b, err := modules.DialBus(ctx, bf.url, bf.prefix, slog.Default())
			if err != nil {
				return err
			}
			defer b.Close(context.Background())
			infos, err := b.Ping(ctx)
			if err != nil {
				return fmt.Errorf("ping: %w", err)
			}
			sort.Slice(infos, func(i, j int) bool {
				if infos[i].Name != infos[j].Name {
					return infos[i].Name < infos[j].Name
				}
				return infos[i].InstanceID < infos[j].InstanceID
			})
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if infos == nil {
					infos = []bus.Info{}
				}
				return enc.Encode(infos)
			}
			if len(infos) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "no module instance answered within %v\n", timeout)
				return nil
			}
			return printInfos(cmd, infos)
		},
	}
	addBusFlags(cmd, &bf)
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Second, "how long to collect answers")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return cmd
}

func printInfos(cmd *cobra.Command, infos []bus.Info) error {
	w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "MODULE\tVERSION\tINSTANCE\tHOST\tPID\tUP\tENDPOINT\tREQUESTS\tERRORS\tMEAN LATENCY")
	for _, in := range infos {
		up := time.Since(in.Started).Round(time.Second)
		if len(in.Endpoints) == 0 {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%v\t-\t-\t-\t-\n", in.Name, in.Version, in.InstanceID, in.Host, in.PID, up)
		}
		for i, e := range in.Endpoints {
			if i == 0 {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%v\t", in.Name, in.Version, in.InstanceID, in.Host, in.PID, up)
			} else {
				fmt.Fprint(w, "\t\t\t\t\t\t")
			}
			fmt.Fprintf(w, "%s\t%d\t%d\t%v\n", e.Op, e.Requests, e.Errors, e.MeanLatency.Round(time.Microsecond))
		}
	}
	return w.Flush()
}
