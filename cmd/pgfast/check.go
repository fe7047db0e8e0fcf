package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/pgfast/pgfast/config"
	"github.com/pgfast/pgfast/engine"
)

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:  "check",
		Usage: "validate a config without serving; with a reachable database, also compile every route",
		Flags: append(configFlags(), &cli.BoolFlag{Name: "offline", Usage: "do not connect to the databases"}),
		Action: func(c *cli.Context) error {
			cfg, err := loadConfig(c)
			if err != nil {
				return err
			}
			return check(c.Context, cfg, c.Bool("offline"), c.App.Writer)
		},
	}
}

func check(ctx context.Context, cfg *config.Config, offline bool, out io.Writer) error {
	fmt.Fprintf(out, "config: ok (%d routes, %d accounts, %d databases)\n", len(cfg.Routes), len(cfg.Accounts), len(cfg.Databases))
	if offline || cfg.Embedded() {
		fmt.Fprintln(out, "routes: not compiled (no database to prepare them on)")
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	warnings, err := engine.Check(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "routes: every statement prepared on its database")
	for _, w := range warnings {
		fmt.Fprintln(out, "warning: "+w)
	}
	return nil
}
