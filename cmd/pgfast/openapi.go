package main

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/pgfast/pgfast/engine"
)

func openapiCommand() *cli.Command {
	return &cli.Command{
		Name:  "openapi",
		Usage: "print the OpenAPI 3.1 document of a config's routes (compiled against its databases)",
		Flags: append(configFlags(), &cli.StringFlag{Name: "out", Usage: "write the document to this file instead of stdout"}),
		Action: func(c *cli.Context) error {
			cfg, err := loadConfig(c)
			if err != nil {
				return err
			}
			if cfg.Embedded() {
				return errors.New("openapi needs a database to describe the routes' statements: pass --database-url or set databases.main.url")
			}
			ctx, cancel := context.WithTimeout(c.Context, 30*time.Second)
			defer cancel()
			doc, err := engine.OpenAPIOf(ctx, cfg)
			if err != nil {
				return err
			}
			if out := c.String("out"); out != "" {
				return os.WriteFile(out, append(doc, '\n'), 0o644)
			}
			_, err = c.App.Writer.Write(append(doc, '\n'))
			return err
		},
	}
}
