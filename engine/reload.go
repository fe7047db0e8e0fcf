package engine

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/pgfast/pgfast/cache"
	"github.com/pgfast/pgfast/config"
)

// oldStateGrace is how long a replaced state's pools stay open after a
// reload, so requests that loaded the old state finish on it.
const oldStateGrace = 30 * time.Second

// Reload builds a new state from a fresh config (Options.Load), preparing
// every route aside, and swaps it in atomically. On any error the running
// state keeps serving and the error says why the new config was refused.
func (e *Engine) Reload(ctx context.Context) error {
	if e.load == nil {
		return errors.New("engine: reload needs a config source (pgfast was started without a config file)")
	}
	cfg, err := e.load()
	if err != nil {
		err = fmt.Errorf("cannot load new config: %w", err)
		e.reloads.add(ReloadEvent{Time: time.Now(), Error: err.Error()})
		return err
	}
	return e.ReloadConfig(ctx, cfg)
}

// ReloadConfig is Reload with the config given.
func (e *Engine) ReloadConfig(ctx context.Context, cfg *config.Config) error {
	e.reload.Lock()
	defer e.reload.Unlock()
	select {
	case <-e.stopped:
		return errors.New("engine: closed; reload refused")
	default:
	}
	prev := e.state.Load()
	next, err := buildState(ctx, e, cfg, prev)
	if err != nil {
		e.reloads.add(ReloadEvent{Time: time.Now(), Error: err.Error()})
		return err
	}
	e.reloads.add(ReloadEvent{Time: time.Now(), OK: true, Routes: len(cfg.Routes)})
	e.state.Store(next)
	e.prewarm(next) // cache.prewarm of the new table, in the background
	e.log.Info("config reloaded", "routes", len(cfg.Routes), "accounts", len(cfg.Accounts))
	e.warnStreamNeeded(cfg)
	// Pools the new state did not take over close after the grace period,
	// or when the engine closes, whichever comes first.
	e.retiring.Add(1)
	go func() {
		defer e.retiring.Done()
		grace := time.NewTimer(oldStateGrace)
		defer grace.Stop()
		select {
		case <-grace.C:
		case <-e.stopped:
		}
		prev.closeExcept(next)
		// Under the reload lock, so a reload in progress cannot pick up a
		// limiter that is being closed.
		e.reload.Lock()
		e.limits.retain(e.state.Load())
		e.reload.Unlock()
	}()
	return nil
}

// warnStreamNeeded logs the routes of a reloaded cfg that take bodies
// past what the running server reads: its MaxRequestBodySize and
// StreamRequestBody are fixed when it starts (newServer), so a server
// started without streaming answers 413 past its server.max_body_bytes on
// every route until it is restarted. A server started with streaming
// keeps streaming when no route needs it any more, which costs memory,
// not correctness.
func (e *Engine) warnStreamNeeded(cfg *config.Config) {
	if e.srv == nil || e.srv.StreamRequestBody {
		return
	}
	limit := int64(e.srv.MaxRequestBodySize)
	names := routesPast(cfg, limit)
	if len(names) == 0 {
		return
	}
	e.log.Warn(fmt.Sprintf("restart needed: these routes' max_body_bytes needs request body streaming, which the server "+
		"was started without; until a restart they answer 413 past server.max_body_bytes as started (%d bytes)", limit),
		"routes", names)
}

// reusable says whether a database of the previous state can serve the new
// config unchanged: same settings, so the same pool.
func reusable(prev *state, name string, dc *config.Database) *database {
	if prev == nil {
		return nil
	}
	old := prev.dbs[name]
	if old == nil || !reflect.DeepEqual(old.cfg, *dc) {
		return nil
	}
	return old
}

// Check compiles cfg against its databases without serving: every pool
// connects and every route's SQL is prepared. It is `pgfast check`; it
// returns the accounts' weak-role warnings (which do not fail it).
func Check(ctx context.Context, cfg *config.Config) (warnings []string, err error) {
	err = compiled(ctx, cfg, func(st *state) error {
		for name, db := range st.dbs {
			if err := db.pool.Ping(ctx); err != nil {
				return fmt.Errorf("databases.%s: cannot connect: %w", name, err)
			}
		}
		warnings = st.warnings
		return nil
	})
	return warnings, err
}

// OpenAPIOf compiles cfg against its databases, as Check does, and returns
// its OpenAPI document: `pgfast openapi`.
func OpenAPIOf(ctx context.Context, cfg *config.Config) (doc []byte, err error) {
	err = compiled(ctx, cfg, func(st *state) error {
		doc, err = st.openAPI()
		return err
	})
	return doc, err
}

// compiled builds cfg's state without serving, runs fn on it and closes it.
func compiled(ctx context.Context, cfg *config.Config, fn func(*state) error) error {
	e := &Engine{log: discardLogger()}
	e.metrics = newMetrics(e)
	c, err := cache.New(cache.Options{MaxBytes: 1 << 20})
	if err != nil {
		return err
	}
	e.cache = c
	defer c.Close()
	defer e.limits.close()
	defer e.access.close()
	st, err := buildState(ctx, e, cfg, nil)
	if err != nil {
		return err
	}
	defer st.close()
	return fn(st)
}
