package engine

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pgfast/pgfast/config"
	"github.com/pgfast/pgfast/sqlclass"
	"github.com/pgfast/pgfast/sqlexec"
)

// route is a declared route compiled against its database: its endpoint
// (the pipeline a request runs) and what the rest of the engine asks of it
// (reload identity, invalidation, admin purge, the statements a new
// connection prepares).
type route struct {
	cfg          config.Route
	id           uint32 // cache route id: kept across reloads while cfg is unchanged
	db           *database
	stmt         *sqlexec.Statement
	ttl          time.Duration
	invalidateOn []string
	limit        *rateLimit // rate_limit, or limits.default
	ep           *endpoint
}

// routeIDs numbers compiled routes for the cache; an unchanged route keeps
// its number across reloads, a changed one gets a new number so no body of
// the old definition is ever served for the new one.
var routeIDs atomic.Uint32

var shapes = map[string]sqlexec.Shape{
	config.ResultMany: sqlexec.Many, config.ResultOne: sqlexec.One, config.ResultValue: sqlexec.Value,
}

// compileRoute builds a route and its pipeline: the stages in front of the
// backend are the same for every kind of route; the backend is the route's
// SQL (prepared on its database now), upstream, static directory or mock.
// Any failure is a config error naming the route.
func compileRoute(ctx context.Context, e *Engine, st, prev *state, rc *config.Route) (*route, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("routes %s (%s %s): %s", rc.Name, rc.Methods, rc.Path, fmt.Sprintf(format, args...))
	}
	rt := &route{cfg: *rc, ttl: rc.Cache.Std(), invalidateOn: rc.InvalidateOn, limit: st.defaultLimit, id: routeID(prev, rc)}
	var err error
	if rc.RateLimit != nil {
		if rt.limit, err = e.limits.get(e, "route:"+rc.Name, *rc.RateLimit, &st.cfg.Limits); err != nil {
			return nil, fail("%v", err)
		}
	}
	if (rc.Auth == config.AuthJWT || usesJWT(rc)) && st.jwt == nil {
		return nil, fail("auth: jwt and jwt.* params need auth.jwt to be configured")
	}
	ep := &endpoint{name: rc.Name, auth: authModes[rc.Auth], limit: limitStage{rl: rt.limit},
		metrics: e.metrics.endpoint(rc.Name), maxBody: int64(rc.MaxBodyBytes), audited: st.cfg.Log.Audit.Routes}
	oids, err := compileBackend(ctx, e, st, rt, ep)
	if err != nil {
		return nil, fail("%v", err)
	}
	if ep.params, err = compileParams(rc, oids); err != nil {
		return nil, fail("%v", err)
	}
	names := pathNames(rc.Path)
	r := &rc.ResponseHeaders
	if ep.respHeaders, err = compileHeaderRules(r.Set, r.Add, r.Remove, names); err != nil {
		return nil, fail("response_headers: %v", err)
	}
	if ep.respHeaders.empty() {
		ep.respHeaders = nil
	}
	if rc.Script != "" {
		if ep.script, err = compileScript(e, rc, st.cfg.ScriptLimits); err != nil {
			return nil, fail("%v", err)
		}
		ep.scriptLog = scriptLogger(e, rc)
	}
	ep.cacheControl = []byte("no-store")
	switch ep.backend.(type) {
	case *staticBackend, *upstreamBackend:
		ep.cacheControl = nil // the backend's own (max_age; the upstream's) stands
	}
	if rt.ttl > 0 {
		ep.cacheControl = []byte("max-age=" + strconv.FormatInt(int64(rt.ttl/time.Second), 10))
		if ep.cache, err = compileCache(e, rt, ep); err != nil {
			return nil, fail("%v", err)
		}
	}
	rt.ep = ep
	return rt, nil
}

// compileBackend builds the route's backend into ep. It returns the types
// of the route's params: the statement's for a SQL route, none (text,
// unchecked) for the others.
func compileBackend(ctx context.Context, e *Engine, st *state, rt *route, ep *endpoint) ([]uint32, error) {
	rc := &rt.cfg
	switch rc.Backend() {
	case config.BackendUpstream:
		b, err := compileUpstreamBackend(st, rc)
		if err != nil {
			return nil, err
		}
		ep.backend, ep.streamsBody = b, true
		return make([]uint32, len(rc.Params)), nil
	case config.BackendStatic:
		b, err := newStaticBackend(rc.Static.Dir, rc.Static.Index, rc.Static.MaxAge.Std(), rc.Path)
		if err != nil {
			return nil, err
		}
		ep.backend = b
		return make([]uint32, len(rc.Params)), nil
	case config.BackendMock:
		ep.backend = newMockBackend(rc.Mock.Status, rc.Mock.Headers, rc.Mock.Body)
		return make([]uint32, len(rc.Params)), nil
	}
	db := st.dbs[rc.Database]
	if db == nil {
		return nil, fmt.Errorf("database %q is not configured", rc.Database)
	}
	rt.db = db
	var timeout time.Duration
	if rc.Timeout != nil && *rc.Timeout != db.cfg.StatementTimeout {
		// Only a timeout that differs from the pool's statement_timeout
		// (already set in the startup packet) costs a set_config.
		timeout = rc.Timeout.Std()
	}
	shape, ok := shapes[rc.Result]
	if !ok {
		return nil, fmt.Errorf("result %q: want one, many or value", rc.Result)
	}
	o := sqlexec.StatementOptions{Name: rc.Name, SQL: rc.SQL, Shape: shape, Settings: rc.Settings, Timeout: timeout,
		Coalesce: rc.Coalesce != config.CoalesceOff}
	if rc.Coalesce == config.CoalesceAuto {
		// A route that is not one plain SELECT of $1 alone pipelines.
		o.Lateral, _ = sqlclass.ReplaceParam(rc.SQL, 1, sqlexec.LateralParam)
	}
	var err error
	if rt.stmt, err = sqlexec.Compile(ctx, db.sql, o); err != nil {
		return nil, err
	}
	ep.backend = &sqlBackend{e: e, stmt: rt.stmt, name: rc.Name, many: rc.Result == config.ResultMany}
	return rt.stmt.ParamOIDs(), nil
}

var authModes = map[string]authMode{config.AuthNone: authNone, "": authNone, config.AuthToken: authToken, config.AuthJWT: authJWT}

// routeID keeps an unchanged route's cache id across a reload.
func routeID(prev *state, rc *config.Route) uint32 {
	if prev != nil {
		for _, old := range prev.routes {
			if reflect.DeepEqual(old.cfg, *rc) {
				return old.id
			}
		}
	}
	return routeIDs.Add(1)
}

// compileParams resolves each params entry to its source, its position in
// the path and its statement type.
func compileParams(rc *config.Route, oids []uint32) ([]param, error) {
	if len(oids) != len(rc.Params) {
		return nil, fmt.Errorf("sql takes %d parameters but params lists %d", len(oids), len(rc.Params))
	}
	names := pathNames(rc.Path)
	out := make([]param, 0, len(rc.Params))
	for i, p := range rc.Params {
		rp := param{source: paramSources[p.Source], label: p.Source + "." + p.Name, name: p.Name, nameB: []byte(p.Name),
			required: p.Required, oid: oids[i], pathIdx: -1}
		switch rp.source {
		case fromHeader:
			// Stored as fasthttp normalizes incoming names (X-User-Id), so
			// the lookup need not normalize it per request.
			rp.nameB = []byte(canonicalHeader(p.Name))
		case fromPath:
			for j, n := range names {
				if n == p.Name {
					rp.pathIdx = j
				}
			}
			if rp.pathIdx < 0 {
				return nil, fmt.Errorf("params[%d] path.%s: the path has no {%s} segment", i, p.Name, p.Name)
			}
		case fromJWT:
			if rc.Auth != config.AuthJWT {
				return nil, fmt.Errorf("params[%d]: jwt.%s needs auth: jwt on the route", i, p.Name)
			}
		}
		if p.Default != nil {
			rp.def, rp.hasDef = []byte(*p.Default), true
			if !sqlexec.Valid(rp.oid, rp.def) {
				return nil, fmt.Errorf("params[%d] default %q is not a valid %s", i, *p.Default, sqlexec.TypeName(rp.oid))
			}
		}
		if p.Max != nil {
			if !sqlexec.IsInt(rp.oid) {
				return nil, fmt.Errorf("params[%d] max applies to integer parameters; $%d is %s", i, i+1, sqlexec.TypeName(rp.oid))
			}
			rp.max, rp.hasMax = *p.Max, true
			rp.maxText = strconv.AppendInt(nil, rp.max, 10)
		}
		out = append(out, rp)
	}
	if len(out) > maxRouteParams {
		return nil, fmt.Errorf("a route takes at most %d parameters; it has %d", maxRouteParams, len(out))
	}
	return out, nil
}

// compileCache builds the route's cache stage: its key parameters (all of
// them unless cache_key names some) and its freshness.
func compileCache(e *Engine, rt *route, ep *endpoint) (*cachePolicy, error) {
	rc := &rt.cfg
	f, ok := ep.backend.(fetcher)
	if !ok {
		return nil, fmt.Errorf("cache: a %s route cannot be cached", rc.Backend())
	}
	cp := &cachePolicy{route: rt.id, name: rc.Name, ttl: rt.ttl, e: e, fetch: f, byRequest: rc.Backend() != config.BackendSQL,
		grace: max(rc.StaleIfError.Std(), rc.StaleWhileRevalidate.Std()), swr: rc.StaleWhileRevalidate > 0}
	if len(rc.CacheKey) == 0 {
		for i := range rc.Params {
			cp.keyIdx = append(cp.keyIdx, i)
		}
		return cp, nil
	}
	for _, k := range rc.CacheKey {
		found := -1
		for i, p := range rc.Params {
			if p.Key() == k {
				found = i
			}
		}
		if found < 0 {
			return nil, fmt.Errorf("cache_key %s is not one of the route's params", k)
		}
		cp.keyIdx = append(cp.keyIdx, found)
	}
	return cp, nil
}

// pathNames lists the {param} names of a path pattern in order.
func pathNames(pattern string) []string {
	var names []string
	for _, seg := range splitPattern(pattern) {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			names = append(names, seg[1:len(seg)-1])
		}
	}
	return names
}

// compileRoutes compiles every route of cfg into st and its router.
func compileRoutes(ctx context.Context, e *Engine, st, prev *state) error {
	for i := range st.cfg.Routes {
		rc := &st.cfg.Routes[i]
		rt, err := compileRoute(ctx, e, st, prev, rc)
		if err != nil {
			return err
		}
		st.routes = append(st.routes, rt)
		if _, err := st.router.add(rc.Host, rc.Methods, rc.Path, rt.ep); err != nil {
			return fmt.Errorf("routes %s: %w", rc.Name, err)
		}
	}
	return nil
}

// statementsOf lists the route statements of database name in the running
// state: what a new connection of its pool prepares.
func (e *Engine) statementsOf(name string) []*sqlexec.Statement {
	st := e.state.Load()
	if st == nil {
		return nil
	}
	var out []*sqlexec.Statement
	for _, rt := range st.routes {
		if rt.db != nil && rt.db.name == name {
			out = append(out, rt.stmt)
		}
	}
	return out
}

// canonicalHeader writes a header name as fasthttp normalizes received
// ones: upper case after each '-' and at the start, lower case elsewhere.
func canonicalHeader(name string) string {
	b := []byte(strings.ToLower(name))
	up := true
	for i, c := range b {
		if up && c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
		up = c == '-'
	}
	return string(b)
}

func usesJWT(rc *config.Route) bool {
	for _, p := range rc.Params {
		if p.Source == config.SourceJWT {
			return true
		}
	}
	return false
}
