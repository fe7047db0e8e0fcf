package engine

import (
	"context"
	"fmt"
	"sort"

	"github.com/pgfast/pgfast/config"
	"github.com/pgfast/pgfast/jwtauth"
	"github.com/pgfast/pgfast/pool"
	"github.com/pgfast/pgfast/rowcodec"
	"github.com/pgfast/pgfast/sqlexec"
)

// state is everything a request reads that a reload may replace: the route
// table and the databases. Requests load it once through an atomic pointer,
// so a reload swaps it whole and a request never sees half of two configs.
type state struct {
	cfg      *config.Config
	router   router[*endpoint]
	dbs      map[string]*database
	accounts map[[32]byte]*account // by SHA-256 of the token
	tokens   *tokenCache
	routes   []*route

	defaultLimit *rateLimit     // limits.default, for routes without their own
	clientKey    clientKey      // limits.key: ip, account or jwt.<claim>
	trusted      trustedProxies // limits.trusted_proxies
	cors         *corsPolicy    // server.cors; nil when off
	accessLog    *accessLogger  // log.access; nil when off
	compress     *compressor    // server.compression, for dynamic bodies
	jwt          *jwtauth.Verifier
	upstreams    map[string]*gatewayUpstream
	// maxBody is the largest request body any endpoint takes
	// (server.max_body_bytes, or a route's larger max_body_bytes).
	maxBody int64
	// warnings are the accounts' weak-role warnings, for pgfast check.
	warnings []string
}

// database is one entry of the config's databases: its pool.
type database struct {
	name string
	cfg  config.Database // what the pool was built from, to reuse it on reload
	pool *pool.Pool
	// sql runs statements on pool; its Types resolve the database's enums,
	// composites and domains, shared by every pool on the database.
	sql *sqlexec.DB
	// listen is the database's LISTEN pgfast_invalidate session.
	listen *listener
}

// buildState opens what cfg needs and compiles the route table. prev, on
// reload, offers pools that can be kept.
func buildState(ctx context.Context, e *Engine, cfg *config.Config, prev *state) (*state, error) {
	st := &state{cfg: cfg, dbs: map[string]*database{}, accounts: map[[32]byte]*account{}, tokens: &tokenCache{}, clientKey: compileClientKey(cfg.Limits.Key)}
	st.cors = newCORS(cfg.Server.CORS)
	st.maxBody = int64(cfg.Server.MaxBodyBytes)
	for i := range cfg.Routes {
		st.maxBody = max(st.maxBody, int64(cfg.Routes[i].MaxBodyBytes))
	}
	st.compress = newCompressor(cfg.Server.Compression)
	var err error
	if st.accessLog, err = e.newAccessLogger(cfg.Log.Access); err != nil {
		return nil, err
	}
	if st.trusted, err = parseTrustedProxies(cfg.Limits.TrustedProxies); err != nil {
		return nil, err
	}
	if st.defaultLimit, err = e.limits.get(e, "default", cfg.Limits.DefaultLimit(), &cfg.Limits); err != nil {
		return nil, err
	}
	if st.jwt, err = newVerifier(ctx, e, cfg.Auth.JWT); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(cfg.Databases))
	for name := range cfg.Databases {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		db := reusable(prev, name, cfg.Databases[name])
		if db == nil {
			db, err = openDatabase(ctx, e, name, cfg.Databases[name])
		}
		if err != nil {
			// Only what this build opened is closed: pools taken over
			// from prev keep serving the running config.
			st.closeExcept(prev)
			return nil, err
		}
		st.dbs[name] = db
	}
	for i := range cfg.Accounts {
		acc, err := buildAccount(ctx, e, st, prev, &cfg.Accounts[i])
		if err != nil {
			st.closeExcept(prev)
			return nil, err
		}
		st.accounts[acc.tokenHash] = acc
	}
	st.warnings = e.checkAccounts(ctx, st)
	if err := openUpstreams(e, st, prev); err != nil {
		st.closeExcept(prev)
		return nil, err
	}
	if err := st.addBuiltins(e); err != nil {
		st.closeExcept(prev)
		return nil, err
	}
	if err := compileRoutes(ctx, e, st, prev); err != nil {
		st.closeExcept(prev)
		return nil, err
	}
	if err := st.addOpenAPI(e); err != nil {
		st.closeExcept(prev)
		return nil, fmt.Errorf("openapi: %w", err)
	}
	return st, nil
}

func openDatabase(ctx context.Context, e *Engine, name string, dc *config.Database) (*database, error) {
	p, err := pool.New(ctx, poolOptions(name, dc, e))
	if err != nil {
		return nil, fmt.Errorf("databases.%s: %w", name, err)
	}
	db := &database{name: name, cfg: *dc, pool: p, sql: &sqlexec.DB{
		Name: name, Pool: p, Types: rowcodec.NewTypes(),
		Unnamed: dc.StatementCache == config.StatementCacheDescribe, Timeout: dc.StatementTimeout.Std(),
		RunBudget: dc.CoalesceBudget.Std(), MaxRuns: dc.CoalesceRuns, SlowQuery: dc.SlowQuery.Std(), SlowLog: e.slowLog(name, "")}}
	db.listen = e.startListener(db)
	return db, nil
}

// mainDB is the default database ("main"), or nil when none is configured.
func (st *state) mainDB() *database { return st.dbs["main"] }

func (st *state) close() { st.closeExcept(nil) }

// closeExcept closes the pools of st that keep is not using.
func (st *state) closeExcept(keep *state) {
	if st.jwt != nil && (keep == nil || keep.jwt != st.jwt) {
		st.jwt.Close()
	}
	// Compare by identity: a pool may move to another name or token hash
	// (an account whose token was rotated keeps its pool).
	kept := map[*pool.Pool]bool{}
	if keep != nil {
		for _, db := range keep.dbs {
			kept[db.pool] = true
		}
		for _, acc := range keep.accounts {
			kept[acc.pool] = true
		}
	}
	for _, db := range st.dbs {
		if kept[db.pool] {
			continue
		}
		if db.listen != nil {
			db.listen.stop()
		}
		db.pool.Close()
	}
	for _, acc := range st.accounts {
		if !kept[acc.pool] {
			acc.pool.Close()
		}
	}
	for name, gu := range st.upstreams {
		if keep == nil || keep.upstreams[name] != gu {
			gu.up.Close()
		}
	}
	for _, rt := range st.routes {
		if rt.ep.script != nil { // compiled per load: never shared with keep
			rt.ep.script.Close()
		}
	}
}
