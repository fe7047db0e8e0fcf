package engine

import (
	"context"
	"time"

	"github.com/pgfast/pgfast/sqlexec"
)

// InvalidateChannel is the channel pgfast listens on: NOTIFY
// pgfast_invalidate, 'customer' purges every cached route that declares
// invalidate_on: [customer]; the payload '*' purges every route of the
// database. Every pgfast instance connected to the database hears it.
const InvalidateChannel = "pgfast_invalidate"

// listener holds one LISTEN connection per database. It reconnects by
// itself; Stop ends it and waits.
type listener struct {
	cancel    context.CancelFunc
	done      chan struct{}
	listening chan struct{} // closed once the first LISTEN succeeded
}

// listenWait bounds how long startListener waits for the first LISTEN, so
// that a NOTIFY sent right after pgfast starts is not missed, without
// letting an unreachable database hold the start up (the listener keeps
// trying in the background).
const listenWait = 5 * time.Second

func (e *Engine) startListener(db *database) *listener {
	ctx, cancel := context.WithCancel(context.Background())
	l := &listener{cancel: cancel, done: make(chan struct{}), listening: make(chan struct{})}
	defer func() {
		select {
		case <-l.listening:
		case <-time.After(min(listenWait, max(db.cfg.ConnectTimeout.Std(), time.Second))):
			e.log.Warn("invalidation listener not connected yet; cached routes of this database miss NOTIFYs until it is", "database", db.name)
		}
	}()
	go func() {
		defer close(l.done)
		backoff := 100 * time.Millisecond
		reconnected := false
		for ctx.Err() == nil {
			err := e.listen(ctx, db, &reconnected, l.listening)
			if ctx.Err() != nil {
				return
			}
			e.log.Warn("invalidation listener lost its connection; reconnecting", "database", db.name, "err", err, "in", backoff)
			// Entries cached while deaf may have missed a NOTIFY.
			e.markDatabaseStale(db.name)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 5*time.Second)
		}
	}()
	return l
}

func (l *listener) stop() {
	l.cancel()
	<-l.done
}

// listen runs one LISTEN session until it fails or ctx ends. After a
// reconnect, bodies cached while no LISTEN was active may have missed a
// NOTIFY: they are marked stale once more now that they are heard again.
func (e *Engine) listen(ctx context.Context, db *database, reconnected *bool, listening chan struct{}) error {
	return sqlexec.Listen(ctx, db.cfg.URL.Value(), db.cfg.ApplicationName+" invalidation", InvalidateChannel,
		func() {
			if *reconnected {
				e.markDatabaseStale(db.name)
			} else {
				close(listening)
			}
			*reconnected = true
		},
		func(payload string) { e.invalidate(db.name, payload) })
}

// invalidate purges the cached routes of database dbName that declare
// table in invalidate_on ('*': every such route). A NOTIFY says the data
// changed, so nothing cached before it may be served again, not even as
// stale: fresh data wins.
func (e *Engine) invalidate(dbName, table string) {
	n := e.eachInvalidatedRoute(dbName, table, e.cache.PurgeRoute)
	e.log.Debug("cache invalidated", "database", dbName, "table", table, "routes", n)
}

// markDatabaseStale expires, without purging, the cached routes of database
// dbName that declare invalidate_on, when its listener was deaf for a while:
// a NOTIFY may have been missed, or not. Their next request queries again,
// but stale_if_error and stale_while_revalidate may still serve the old body
// within their grace; purging it would turn every outage of the database,
// which also breaks the LISTEN connection, into errors on exactly the routes
// stale_if_error was configured for.
func (e *Engine) markDatabaseStale(dbName string) {
	n := e.eachInvalidatedRoute(dbName, "*", e.cache.MarkStale)
	e.log.Debug("cache marked stale after a LISTEN gap", "database", dbName, "routes", n)
}

// eachInvalidatedRoute calls fn with the id of every cached route of
// database dbName that declares table in invalidate_on ('*': any table),
// and returns how many it called it for.
func (e *Engine) eachInvalidatedRoute(dbName, table string, fn func(route uint32)) int {
	st := e.state.Load()
	if st == nil {
		return 0
	}
	n := 0
	for _, rt := range st.routes {
		if rt.db == nil || rt.db.name != dbName || rt.ttl <= 0 {
			continue
		}
		for _, t := range rt.invalidateOn {
			if t == table || table == "*" {
				fn(rt.id)
				n++
				break
			}
		}
	}
	return n
}
