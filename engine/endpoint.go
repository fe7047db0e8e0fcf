package engine

import (
	"context"
	"errors"
	"time"

	"log/slog"

	"github.com/pgfast/pgfast/cache"
	"github.com/pgfast/pgfast/script"

	"github.com/pgfast/pgfast/config"
)

// An endpoint is compiled once per (method, path) when a config is loaded:
// every decision the config makes about it (who may call it, which limit
// applies and by what key, where its parameters come from, whether and how
// long it caches) is a typed field here, so a request runs the pipeline
// without looking at a config string:
//
//	auth -> limit -> params -> cache -> backend
//
// A backend is what answers: the SQL backend for declared routes (and the
// raw query API's handlers); another kind of route adds a backend, not a
// branch.
type endpoint struct {
	// name labels metrics and logs: a route's name, or the built-in's path.
	name    string
	auth    authMode
	limit   limitStage
	params  []param
	cache   *cachePolicy // nil: answers are never cached
	backend backend
	// cacheControl is the Cache-Control of a successful answer; nil sets
	// none (built-ins).
	cacheControl []byte
	// respHeaders is the route's response_headers, applied to every
	// successful answer; nil for none.
	respHeaders *headerRules
	// maxBody bounds the request body (the route's max_body_bytes, else
	// server.max_body_bytes); streamsBody: the backend reads a large body
	// as a stream (upstream routes) instead of having it buffered.
	maxBody     int64
	streamsBody bool
	// script is the route's Lua (nil for none), scriptLog its error log.
	script    *script.Script
	scriptLog *slog.Logger
	metrics   *endpointMetrics
	// audited writes an audit line per request (a declared route, with
	// log.audit.routes: true).
	audited bool
}

// backend answers a request whose auth, limit and parameters passed.
type backend interface {
	// serve answers r, whole or streamed; r.values holds the parameters.
	serve(r *request) error
}

// fetcher is a backend whose answers can be cached: it builds one whole,
// in a fill that may outlive the request that asked (a coalesced or
// background fill).
type fetcher interface {
	backend
	// fill captures what answering r needs and returns the fetch.
	fill(r *request) fetchFunc
}

// fetchFunc returns a whole answer. limit > 0 makes a body larger than
// limit bytes errTooLargeToCache.
type fetchFunc func(ctx context.Context, limit int) (fetched, error)

// fetched is a whole answer, as the cache stores it.
type fetched struct {
	status      int
	contentType []byte
	header      []cache.HeaderField
	body        []byte
	// noStore: answer it, but do not keep it (an upstream said no-store
	// or private, set a cookie, or answered other than 200).
	noStore bool
	// maxAge, when positive, bounds the route's cache ttl (an upstream's
	// max-age).
	maxAge time.Duration
}

// errTooLargeToCache is a fetch whose body passed cache.stream_threshold_bytes.
var errTooLargeToCache = errors.New("engine: result exceeds cache.stream_threshold_bytes")

// handlerFunc is a built-in's backend: a function of the request.
type handlerFunc func(r *request) error

func (f handlerFunc) serve(r *request) error { return f(r) }

type authMode uint8

const (
	authNone  authMode = iota
	authToken          // an account's API token (Authorization: Bearer)
	authJWT            // a JWT verified by auth.jwt
)

// limitStage is an endpoint's rate limit, decided at compile time.
type limitStage struct {
	// perAccount applies the calling account's own rate_limit, keyed by
	// its id (the raw query API); otherwise rl, keyed by the state's
	// client key.
	perAccount bool
	rl         *rateLimit
}

// run is the pipeline. The stages that run are timed for Server-Timing
// (auth and limit here, the cache and backends in their own code).
func (ep *endpoint) run(r *request) error {
	t := time.Now()
	if ep.auth != authNone {
		err := r.authenticate(ep.auth)
		if t = r.timed(stageAuth, t); err != nil {
			return err
		}
	}
	if ep.limit.perAccount || ep.limit.rl != nil {
		err := r.applyLimit(&ep.limit)
		if r.limited { // a per-account limit applies to accounts that have one
			r.timed(stageLimit, t)
		}
		if err != nil {
			return err
		}
	}
	if ep.script != nil && ep.script.HasRequest() {
		if done, err := ep.onRequest(r); done || err != nil {
			return err
		}
	}
	if err := gather(r, ep.params, &r.values); err != nil {
		return err
	}
	var err error
	switch {
	case ep.cache != nil && ep.cache.admits(r):
		err = ep.cache.serve(r, ep)
	default:
		if ep.cache != nil {
			r.cache = cacheBypass
		}
		if ep.cacheControl != nil {
			r.ctx.Response.Header.SetCanonical(headerCacheControl, ep.cacheControl)
		}
		err = ep.backend.serve(r)
	}
	if err == nil && ep.script != nil && ep.script.HasResponse() {
		err = ep.onResponse(r)
	}
	if err == nil && ep.respHeaders != nil {
		ep.respHeaders.apply(r, &r.ctx.Response.Header)
	}
	return err
}

// authenticate runs the auth stage: the account of an API token, or the
// claims of a JWT, kept on the request for the stages after it.
func (r *request) authenticate(mode authMode) error {
	var err error
	switch mode {
	case authToken:
		r.acc, err = r.st.authenticate(r)
	case authJWT:
		r.claims, err = r.st.verifyJWT(r)
	}
	return err
}

// applyLimit runs the limit stage; the decision stays on the request
// (GET /v1/account reports it).
func (r *request) applyLimit(l *limitStage) error {
	var err error
	switch {
	case l.perAccount:
		if r.acc != nil && r.acc.limit != nil {
			r.decision, err = applyLimitDecision(r, r.acc.limit, r.acc.idBytes)
			r.limited = true
		}
	case l.rl != nil:
		r.decision, err = applyLimitDecision(r, l.rl, r.st.clientKey.of(r))
		r.limited = true
	}
	return err
}

// clientKey is limits.key compiled: what tells clients apart for a
// route's rate limit.
type clientKey struct {
	byAccount bool
	claim     string // jwt.<claim>: the claim's value; "" for none
}

func compileClientKey(key string) clientKey {
	switch {
	case key == config.KeyAccount:
		return clientKey{byAccount: true}
	case len(key) > 4 && key[:4] == "jwt.":
		return clientKey{claim: key[4:]}
	}
	return clientKey{}
}

// of returns r's key: the account's id, the JWT claim, or (the default,
// and the fallback when the request has neither) the client's IP.
func (k *clientKey) of(r *request) []byte {
	if k.byAccount && r.acc != nil {
		return r.acc.idBytes
	}
	if k.claim != "" && r.claims != nil {
		if v, ok := r.claims.Claim(k.claim); ok {
			return v
		}
	}
	r.keyBuf = clientIP(r.ctx, r.st.trusted, r.keyBuf)
	return r.keyBuf
}
