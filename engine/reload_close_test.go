package engine

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/pgfast/pgfast/config"
	"github.com/pgfast/pgfast/embedpg/pgtest"
	"github.com/pgfast/pgfast/pool"
)

// TestCloseEndsRetiringStates: a reload keeps the replaced state's pools
// open for oldStateGrace (30 s) so requests that loaded it can finish;
// Close must not leave them behind for that long, nor leave the goroutine
// that waits for it.
func TestCloseEndsRetiringStates(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, "")
	load := func(maxConns int) *config.Config {
		cfg := parseConfig(t, "databases: {main: {max_conns: 2}}")
		cfg.Databases[config.MainDatabase].URL = config.Secret(dbURL)
		cfg.Databases[config.MainDatabase].MaxConns = maxConns
		return cfg
	}
	e, err := New(context.Background(), load(2), Options{Logger: discardLogger(), AuditWriter: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	old := e.state.Load().mainDB().pool
	// A changed pool size makes a new pool: the old one retires.
	if err := e.ReloadConfig(context.Background(), load(3)); err != nil {
		t.Fatal(err)
	}
	conn, err := old.Acquire(context.Background())
	if err != nil {
		t.Fatalf("the retired pool closed before its grace period: %v", err)
	}
	conn.Release()
	closed := make(chan struct{})
	go func() {
		e.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(oldStateGrace / 2):
		t.Fatalf("Close waited for the retired state's grace period (%v)", oldStateGrace)
	}
	if _, err := old.Acquire(context.Background()); !errors.Is(err, pool.ErrClosed) {
		t.Fatalf("retired pool after Close: Acquire err %v; want pool.ErrClosed", err)
	}
	if err := e.ReloadConfig(context.Background(), load(4)); err == nil {
		t.Fatal("ReloadConfig after Close succeeded; want it refused (nothing would close the new pools)")
	}
}
