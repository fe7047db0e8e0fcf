package engine

import (
	"context"
	"time"

	"github.com/valyala/fasthttp"
)

// Fixed bodies, encoded once.
var (
	pingBody   = []byte(`{"pong":true}`)
	healthBody = []byte(`{"status":"ok"}`)
	readyBody  = []byte(`{"status":"ready"}`)
)

// addBuiltins adds the fixed endpoints. The raw query API's run the same
// pipeline as routes: an account's token, then its own rate limit.
func (st *state) addBuiltins(e *Engine) error {
	account := limitStage{perAccount: true}
	for _, b := range []struct {
		method, path string
		auth         authMode
		limit        limitStage
		serve        handlerFunc
	}{
		{"GET", "/ping", authNone, limitStage{}, servePing},
		{"GET", "/health", authNone, limitStage{}, serveHealth},
		{"GET", "/ready", authNone, limitStage{}, serveReady},
		{"POST", "/v1/query", authToken, account, e.serveQuery},
		{"POST", "/v1/batch", authToken, account, e.serveBatch},
		{"GET", "/v1/account", authToken, account, e.serveAccount},
	} {
		ep := &endpoint{name: b.path, auth: b.auth, limit: b.limit, backend: b.serve, metrics: e.metrics.endpoint(b.path)}
		if _, err := st.router.add("", []string{b.method}, b.path, ep); err != nil {
			return err
		}
	}
	return nil
}

// servePing is the HTTP ceiling of the machine: no database, no allocation,
// a fixed body. Benchmarks report other routes as a ratio of it.
func servePing(r *request) error {
	r.ctx.SetContentTypeBytes(contentTypeJSON)
	r.ctx.Response.SetBodyRaw(pingBody)
	return nil
}

// serveHealth says the process is up, whatever the database does.
func serveHealth(r *request) error {
	r.ctx.SetContentTypeBytes(contentTypeJSON)
	r.ctx.Response.SetBodyRaw(healthBody)
	return nil
}

// readyTimeout bounds /ready's database ping, so a load balancer's probe
// gets an answer even when the database hangs.
const readyTimeout = 2 * time.Second

// serveReady pings every database; any failure is 503 so that a load
// balancer takes this instance out of rotation.
func serveReady(r *request) error {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	for name, db := range r.st.dbs {
		if err := db.pool.Ping(ctx); err != nil {
			return &Error{Status: 503, Code: codeUnavailable, Message: "database " + name + " is not reachable", RetryAfter: time.Second}
		}
	}
	r.ctx.SetStatusCode(fasthttp.StatusOK)
	r.ctx.SetContentTypeBytes(contentTypeJSON)
	r.ctx.Response.SetBodyRaw(readyBody)
	return nil
}
