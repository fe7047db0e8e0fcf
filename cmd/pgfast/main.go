// Command pgfast serves PostgreSQL over HTTP (serve), validates a config
// (check), load-tests a running pgfast (bench) and prints its version.
package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	if err := newApp().Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "pgfast:", err)
		os.Exit(1)
	}
}

func newApp() *cli.App {
	return &cli.App{
		Name:                 "pgfast",
		Usage:                "PostgreSQL behind a very fast HTTP API",
		Version:              version,
		EnableBashCompletion: true,
		Commands: []*cli.Command{
			serveCommand(),
			checkCommand(),
			openapiCommand(),
			benchCommand(),
			versionCommand(),
		},
	}
}

// configFlags are shared by serve and check: DESIGN §3's flags and their
// environment twins.
func configFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "config", Aliases: []string{"c"}, EnvVars: []string{"PGFAST_CONFIG"}, Usage: "config file (YAML or JSON)"},
		&cli.StringFlag{Name: "config-dir", Usage: "pg-api config directory (server.json, accounts.json)"},
		&cli.StringFlag{Name: "addr", Usage: "public listen address (server.addr; env PGFAST_ADDR)"},
		&cli.StringFlag{Name: "admin-addr", Usage: "admin listen address (server.admin_addr; env PGFAST_ADMIN_ADDR)"},
		&cli.StringFlag{Name: "database-url", Usage: "URL of the main database (databases.main.url; env PGFAST_DATABASE_URL)"},
		&cli.StringFlag{Name: "log-level", Usage: "debug, info, warn or error (log.level; env PGFAST_LOG_LEVEL)"},
		&cli.StringFlag{Name: "data-dir", Usage: "home of the embedded default database (data_dir; env PGFAST_DATA_DIR)"},
	}
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version",
		Action: func(c *cli.Context) error {
			fmt.Fprintln(c.App.Writer, "pgfast", version)
			return nil
		},
	}
}
