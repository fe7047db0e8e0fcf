package sqlexec

import (
	"context"

	"github.com/jackc/pgx/v5/pgconn"
)

// Listen holds one LISTEN session on channel, on its own connection to url
// (outside any pool), until it fails or ctx ends. onListening runs once the
// LISTEN is in place; onNotify runs for each notification's payload, on
// the session's goroutine.
func Listen(ctx context.Context, url, applicationName, channel string, onListening func(), onNotify func(payload string)) error {
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		return err
	}
	cfg.RuntimeParams["application_name"] = applicationName
	cfg.OnNotification = func(_ *pgconn.PgConn, n *pgconn.Notification) {
		if n.Channel == channel {
			onNotify(n.Payload)
		}
	}
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+channel).ReadAll(); err != nil {
		return err
	}
	onListening()
	for {
		if err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
	}
}
