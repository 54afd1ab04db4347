package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/shopengine/shop/internal/bus"
	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules"
	"github.com/shopengine/shop/internal/modules/auth"
)

func newUserCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage accounts (the first admin)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newUserCreateCmd())
	return cmd
}

func newUserCreateCmd() *cobra.Command {
	var (
		bf          busFlags
		databaseURL string
		email, name string
		admin       bool
		cost        int
	)
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an account, e.g. the first admin",
		Long: `Create an account through the auth module. The password is read from
standard input (its first line), or prompted for twice without echo when
standard input is a terminal; it is never a flag, which would leave it in
the shell history and the process list.

With --bus-url=memory:// (the default) the command hosts the auth module
in this process against --database-url; with an amqp:// URL it asks the
running auth service.`,
		Example: `  shop user create --email=owner@example.com --admin
  printf '%s\n' "$PASSWORD" | shop user create --email=owner@example.com --admin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if strings.TrimSpace(email) == "" {
				return usageError{errors.New("--email is required")}
			}
			password, err := readPassword(cmd.InOrStdin(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			role := contract.RoleCustomer
			if admin {
				role = contract.RoleAdmin
			}
			ctx := cmd.Context()
			b, stop, err := authBus(ctx, bf, databaseURL, cost)
			if err != nil {
				return err
			}
			defer stop()
			ctx, cancel := context.WithTimeout(contract.WithPrincipal(ctx, contract.Principal{Machine: contract.MachineCLI}), 30*time.Second)
			defer cancel()
			u, err := bus.Call(ctx, b, contract.CreateUser, contract.CreateUserRequest{Email: email, Password: password, Name: name, Role: role})
			if bus.CodeOf(err) == bus.CodeInvalid || bus.CodeOf(err) == bus.CodeConflict {
				return usageError{err}
			}
			if err != nil {
				return fmt.Errorf("create user: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created %s %s (id %s)\n", u.Role, u.Email, u.ID)
			return nil
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "the account's email (required)")
	cmd.Flags().StringVar(&name, "name", "", "the account's display name")
	cmd.Flags().BoolVar(&admin, "admin", false, "give the account the admin role")
	cmd.Flags().IntVar(&cost, "bcrypt-cost", auth.DefaultCost, fmt.Sprintf("bcrypt cost of the hash when hosting the auth module (at least %d)", auth.MinCost))
	addBusFlags(cmd, &bf)
	addDatabaseFlag(cmd, &databaseURL)
	return cmd
}

// readPassword prompts twice without echo on a terminal, and otherwise
// reads the first line of in.
func readPassword(in io.Reader, prompt io.Writer) (string, error) {
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(prompt, "Password: ")
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(prompt, "Again: ")
		p2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if !bytes.Equal(p1, p2) {
			return "", usageError{errors.New("the passwords differ")}
		}
		return string(p1), nil
	}
	line, err := bufio.NewReader(io.LimitReader(in, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", usageError{errors.New("no password on standard input")}
	}
	return line, nil
}

// authBus returns the bus to reach auth through: the running service's
// on RabbitMQ, or an in-process one hosting the auth module.
func authBus(ctx context.Context, bf busFlags, databaseURL string, cost int) (bus.Bus, func(), error) {
	if bf.url != "memory://" {
		b, err := modules.DialBus(ctx, bf.url, bf.prefix, slog.Default())
		if err != nil {
			return nil, nil, err
		}
		return b, func() { _ = b.Close(context.Background()) }, nil
	}
	if cost < auth.MinCost {
		return nil, nil, usageError{fmt.Errorf("--bcrypt-cost %d: at least %d", cost, auth.MinCost)}
	}
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	app, err := modules.New(modules.Config{Targets: []string{contract.AuthQueue}, BusURL: bf.url, DatabaseURL: databaseURL, Worker: -1,
		Log: quiet, Auth: auth.Config{BcryptCost: cost}})
	if err != nil {
		return nil, nil, usageError{err}
	}
	if err := app.Start(ctx); err != nil {
		return nil, nil, err
	}
	return app.Bus(), func() {
		if err := app.Stop(10 * time.Second); err != nil {
			slog.Error("stop auth module", "err", err)
		}
	}, nil
}
