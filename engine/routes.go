package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgfast/pgfast/config"
	"github.com/pgfast/pgfast/rowcodec"
)

// route is a declared route compiled against its database: statement
// prepared and described, parameters resolved to their sources and types,
// the row plan built and the fixed response parts encoded. A request only
// gathers parameter bytes and runs the statement by name.
type route struct {
	cfg  config.Route
	id   uint32 // cache route id: kept across reloads while cfg is unchanged
	db   *database
	stmt string // prepared statement name on every connection of db

	params   []routeParam
	keyIdx   []int // indexes into params that key the cache
	formats  []int16
	plan     *rowcodec.Plan
	result   string
	ttl      time.Duration
	grace    time.Duration // how long past ttl a stale body may still serve
	swr      bool
	timeout  time.Duration
	settings string // "SELECT set_config(…, true), …" or "" when none

	invalidateOn []string
	cacheControl []byte
	describeOnly bool       // statement_cache: describe: unnamed statements only
	paramOIDs    []uint32   // for describeOnly's unnamed Parse
	auth         string     // none, token or jwt
	limit        *rateLimit // rate_limit, or limits.default
}

// routeParam says where one $N comes from and how to check it.
type routeParam struct {
	source   string
	name     string
	nameB    []byte
	pathIdx  int
	def      []byte
	hasDef   bool
	max      int64
	hasMax   bool
	required bool
	oid      uint32
	kind     paramKind
}

type paramKind uint8

const (
	paramText paramKind = iota
	paramInt
	paramFloat
	paramBool
	paramUUID
)

// routeIDs numbers compiled routes for the cache; an unchanged route keeps
// its number across reloads, a changed one gets a new number so no body of
// the old definition is ever served for the new one.
var routeIDs atomic.Uint32

// compileRoute prepares rc's SQL on its database and builds the route. Any
// failure is a config error naming the route.
func compileRoute(ctx context.Context, e *Engine, st *state, prev *state, rc *config.Route, pathNames []string) (*route, error) {
	var err error
	fail := func(format string, args ...any) error {
		return fmt.Errorf("routes %s (%s %s): %s", rc.Name, rc.Method, rc.Path, fmt.Sprintf(format, args...))
	}
	db := st.dbs[rc.Database]
	if db == nil {
		return nil, fail("database %q is not configured", rc.Database)
	}
	rt := &route{cfg: *rc, db: db, result: rc.Result, ttl: rc.Cache.Std(),
		stmt: "pgfast_route_" + strconv.FormatUint(xxhash.Sum64String(rc.SQL), 16)}
	rt.id = routeIDs.Add(1)
	if prev != nil {
		for _, old := range prev.routes {
			if reflect.DeepEqual(old.cfg, *rc) {
				rt.id = old.id
			}
		}
	}
	if rc.Timeout != nil && *rc.Timeout != db.cfg.StatementTimeout {
		// Only a timeout that differs from the pool's statement_timeout
		// (already set in the startup packet) costs a set_config.
		rt.timeout = rc.Timeout.Std()
	}
	rt.grace = max(rc.StaleIfError.Std(), rc.StaleWhileRevalidate.Std())
	rt.swr = rc.StaleWhileRevalidate > 0
	rt.invalidateOn = rc.InvalidateOn
	rt.auth = rc.Auth
	rt.limit = st.defaultLimit
	if rc.RateLimit != nil {
		if rt.limit, err = e.limits.get(e, "route:"+rc.Name, *rc.RateLimit, &st.cfg.Limits); err != nil {
			return nil, fail("%v", err)
		}
	}
	if (rc.Auth == config.AuthJWT || usesJWT(rc)) && st.jwt == nil {
		return nil, fail("auth: jwt and jwt.* params need auth.jwt to be configured")
	}
	if rt.ttl > 0 {
		rt.cacheControl = []byte("max-age=" + strconv.FormatInt(int64(rt.ttl/time.Second), 10))
	} else {
		rt.cacheControl = []byte("no-store")
	}

	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, fail("cannot reach database %s to prepare the route: %v", db.name, err)
	}
	defer conn.Release()
	pc := conn.PgConn()
	rt.describeOnly = db.cfg.StatementCache == config.StatementCacheDescribe
	prepName := rt.stmt
	if rt.describeOnly {
		prepName = ""
	}
	sd, err := pc.Prepare(ctx, prepName, rc.SQL, nil)
	if err != nil {
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42P05" {
			return nil, fail("sql does not prepare: %v", err)
		}
		// Prepared already on this connection (same SQL, same name).
		if sd, err = pc.Prepare(ctx, "", rc.SQL, nil); err != nil {
			return nil, fail("sql does not prepare: %v", err)
		}
	}
	if !rt.describeOnly {
		markPrepared(pc, rt.stmt)
	}
	rt.paramOIDs = append([]uint32(nil), sd.ParamOIDs...)
	if len(sd.ParamOIDs) != len(rc.Params) {
		return nil, fail("sql takes %d parameters but params lists %d", len(sd.ParamOIDs), len(rc.Params))
	}
	for i, p := range rc.Params {
		rp := routeParam{source: p.Source, name: p.Name, nameB: []byte(p.Name), required: p.Required, oid: sd.ParamOIDs[i], pathIdx: -1}
		if p.Source == config.SourceHeader {
			// Stored as fasthttp normalizes incoming names (X-User-Id), so
			// the lookup need not normalize it per request.
			rp.nameB = []byte(canonicalHeader(p.Name))
		}
		rp.kind = paramKindOf(rp.oid)
		if p.Source == config.SourcePath {
			for j, n := range pathNames {
				if n == p.Name {
					rp.pathIdx = j
				}
			}
			if rp.pathIdx < 0 {
				return nil, fail("params[%d] path.%s: the path has no {%s} segment", i, p.Name, p.Name)
			}
		}
		if p.Default != nil {
			rp.def, rp.hasDef = []byte(*p.Default), true
			if !rp.valid(rp.def) {
				return nil, fail("params[%d] default %q is not a valid %s", i, *p.Default, typeName(rp.oid))
			}
		}
		if p.Max != nil {
			if rp.kind != paramInt {
				return nil, fail("params[%d] max applies to integer parameters; $%d is %s", i, i+1, typeName(rp.oid))
			}
			rp.max, rp.hasMax = *p.Max, true
		}
		if p.Source == config.SourceJWT && rc.Auth != config.AuthJWT {
			return nil, fail("params[%d]: jwt.%s needs auth: jwt on the route", i, p.Name)
		}
		rt.params = append(rt.params, rp)
	}
	if len(rc.CacheKey) == 0 {
		for i := range rt.params {
			rt.keyIdx = append(rt.keyIdx, i)
		}
	} else {
		for _, k := range rc.CacheKey {
			found := -1
			for i, p := range rc.Params {
				if p.Key() == k {
					found = i
				}
			}
			if found < 0 {
				return nil, fail("cache_key %s is not one of the route's params", k)
			}
			rt.keyIdx = append(rt.keyIdx, found)
		}
	}

	oids := make([]uint32, len(sd.Fields))
	for i, f := range sd.Fields {
		oids[i] = f.DataTypeOID
	}
	if err := db.types.Load(ctx, pc, oids...); err != nil {
		return nil, fail("cannot load column types: %v", err)
	}
	rt.formats = db.types.Formats(nil, oids)
	fields := make([]pgconn.FieldDescription, len(sd.Fields))
	copy(fields, sd.Fields)
	for i := range fields {
		fields[i].Format = rt.formats[i]
	}
	opts := sessionOptions(pc, db.types)
	if len(fields) == 0 {
		return nil, fail("sql returns no columns; a route must return rows")
	}
	if rt.settings, err = settingsSQL(rc.Settings, rt.timeout); err != nil {
		return nil, fail("%v", err)
	}
	for k, v := range rc.Settings {
		if strings.EqualFold(k, "TimeZone") {
			opts.Location = location(v)
		}
		if strings.EqualFold(k, "IntervalStyle") {
			opts.IntervalStyle = v
		}
	}
	if rt.settings != "" {
		// Check the settings now: a typo is a config error, not a 500.
		if _, err := pc.Exec(ctx, "BEGIN; "+rt.settings+"; ROLLBACK").ReadAll(); err != nil {
			return nil, fail("settings: %v", err)
		}
	}
	if rt.plan, err = rowcodec.NewPlan(fields, opts); err != nil {
		return nil, fail("cannot plan result encoding: %v", err)
	}
	return rt, nil
}

func paramKindOf(oid uint32) paramKind {
	switch oid {
	case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID:
		return paramInt
	case pgtype.Float4OID, pgtype.Float8OID, pgtype.NumericOID:
		return paramFloat
	case pgtype.BoolOID:
		return paramBool
	case pgtype.UUIDOID:
		return paramUUID
	}
	return paramText
}

// valid checks a request value against the parameter's type without
// allocating, so that /customers/abc is a 400 naming the parameter rather
// than a conversion error from the server. Types not checked here are
// left to PostgreSQL (its 22xxx errors are 422).
func (p *routeParam) valid(v []byte) bool {
	switch p.kind {
	case paramInt:
		_, ok := parseInt(v)
		return ok
	case paramFloat:
		return isDecimal(v)
	case paramBool:
		switch string(v) {
		case "true", "false", "t", "f", "1", "0", "yes", "no", "on", "off":
			return true
		}
		return false
	case paramUUID:
		n := 0
		for _, c := range v {
			switch {
			case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
				n++
			case c == '-':
			default:
				return false
			}
		}
		return n == 32
	}
	return true
}

// parseInt parses a base-10 int64 with an optional sign.
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	neg := false
	if b[0] == '-' || b[0] == '+' {
		neg = b[0] == '-'
		b = b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (1<<63-1+1)/10 || n*10 > (1<<63)-d {
			return 0, false
		}
		n = n*10 + d
	}
	if !neg && n > 1<<63-1 {
		return 0, false
	}
	if neg {
		return -int64(n), true
	}
	return int64(n), true
}

var specialFloats = [][]byte{[]byte("nan"), []byte("infinity"), []byte("-infinity"), []byte("+infinity"), []byte("inf"), []byte("-inf")}

// isDecimal accepts what PostgreSQL's numeric and float input take in the
// common case: sign, digits, one point, exponent, or NaN/Infinity.
func isDecimal(b []byte) bool {
	for _, special := range specialFloats {
		if bytes.EqualFold(b, special) {
			return true
		}
	}
	digits, dot, exp := 0, false, false
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot && !exp:
			dot = true
		case (c == 'e' || c == 'E') && !exp && digits > 0:
			exp, digits = true, 0
		case (c == '-' || c == '+') && (i == 0 || b[i-1] == 'e' || b[i-1] == 'E'):
		default:
			return false
		}
	}
	return digits > 0
}

// settingsSQL renders a route's settings and timeout as one statement run
// in the query's own implicit transaction: set_config(…, true) is SET
// LOCAL, so nothing outlives the request on the pooled connection.
func settingsSQL(settings map[string]string, timeout time.Duration) (string, error) {
	if len(settings) == 0 && timeout == 0 {
		return "", nil
	}
	keys := make([]string, 0, len(settings)+1)
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("SELECT ")
	first := true
	add := func(k, v string) {
		if !first {
			b.WriteString(", ")
		}
		first = false
		b.WriteString("set_config(" + quoteLiteral(k) + ", " + quoteLiteral(v) + ", true)")
	}
	for _, k := range keys {
		add(k, settings[k])
	}
	if timeout > 0 {
		add("statement_timeout", strconv.FormatInt(max(1, timeout.Milliseconds()), 10))
	}
	return b.String(), nil
}

// quoteLiteral quotes s as a SQL string literal (standard_conforming_strings on).
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

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
		rt, err := compileRoute(ctx, e, st, prev, rc, pathNames(rc.Path))
		if err != nil {
			return err
		}
		st.routes = append(st.routes, rt)
		if err := st.add(e, rc.Method, rc.Path, rc.Name, func(r *request) error { return e.serveRoute(r, rt) }); err != nil {
			return fmt.Errorf("routes %s: %w", rc.Name, err)
		}
	}
	return nil
}

// prepareRoutes is a pool's AfterConnect: a new connection gets every
// route statement of its database in one pipelined round trip.
func (e *Engine) prepareRoutes(ctx context.Context, dbName string, pc *pgconn.PgConn) error {
	st := e.state.Load()
	if st == nil {
		return nil
	}
	p := pc.StartPipeline(ctx)
	var names []string
	for _, rt := range st.routes {
		if rt.db.name != dbName || rt.describeOnly {
			continue
		}
		p.SendPrepare(rt.stmt, rt.cfg.SQL, nil)
		names = append(names, rt.stmt)
	}
	if len(names) == 0 {
		p.Close()
		return nil
	}
	p.SendPipelineSync()
	err := p.Flush()
	if cerr := p.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if pc.IsClosed() {
			return fmt.Errorf("cannot prepare routes on a new connection: %w", err)
		}
		// A route that no longer prepares (schema changed under us) is
		// prepared lazily and fails on its own requests, not the pool's.
		e.log.Warn("cannot prepare routes on a new connection", "database", dbName, "err", err)
		return nil
	}
	for _, n := range names {
		markPrepared(pc, n)
	}
	return nil
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
