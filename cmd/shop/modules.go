package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/shopengine/shop/internal/modules"
)

func newModulesCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "modules",
		Short: "List every module with its dependencies",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			list := modules.List()
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "MODULE\tINTERNAL\tRUN BY\tDEPENDS ON")
			for _, m := range list {
				deps := strings.Join(m.Deps, ", ")
				if deps == "" {
					deps = "-"
				}
				runBy := "shop serve"
				if m.Command != "" {
					runBy = m.Command
				}
				fmt.Fprintf(w, "%s\t%v\t%s\t%s\n", m.Name, m.Internal, runBy, deps)
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return cmd
}
