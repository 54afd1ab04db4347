package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// usageError marks errors in what the user typed.
type usageError struct{ error }

// globals are the flags every command has.
type globals struct {
	logLevel  string
	logFormat string
}

func newRootCmd() *cobra.Command {
	var g globals
	root := &cobra.Command{
		Use:           "shop",
		Short:         "An open e-commerce engine: modules on a bus, one binary",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd); err != nil {
				return err
			}
			log, err := newLogger(g.logLevel, g.logFormat)
			if err != nil {
				return usageError{err}
			}
			slog.SetDefault(log)
			return nil
		},
	}
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	root.PersistentFlags().StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	root.AddCommand(newServeCmd(), newSeedCmd(), newModulesCmd(), newPingCmd(), newVersionCmd(), newUserCmd(), newHealthcheckCmd())
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	for _, c := range append(root.Commands(), root) {
		documentEnv(c)
	}
	return root
}

// envName is the environment variable that sets a flag: --bus-url ↔ SHOP_BUS_URL.
func envName(flag string) string {
	return "SHOP_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// documentEnv appends the environment variable to every flag's help.
func documentEnv(cmd *cobra.Command) {
	doc := func(f *pflag.Flag) {
		if f.Name == "help" || strings.Contains(f.Usage, "(env ") {
			return
		}
		f.Usage += fmt.Sprintf(" (env %s)", envName(f.Name))
	}
	cmd.Flags().VisitAll(doc)
	cmd.PersistentFlags().VisitAll(doc)
}

// applyEnv sets every flag the user did not type from its environment
// variable: the flag wins over the environment, which wins over the default.
func applyEnv(cmd *cobra.Command) error {
	var errs []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "help" {
			return
		}
		v, ok := os.LookupEnv(envName(f.Name))
		if !ok {
			return
		}
		if err := f.Value.Set(v); err != nil {
			errs = append(errs, fmt.Sprintf("%s=%q: %v", envName(f.Name), v, err))
		}
	})
	if len(errs) > 0 {
		return usageError{fmt.Errorf("bad environment: %s", strings.Join(errs, "; "))}
	}
	return nil
}

func newLogger(level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}
