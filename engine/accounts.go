package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
	"github.com/valyala/fasthttp"

	"github.com/pgfast/pgfast/config"
	"github.com/pgfast/pgfast/pool"
	"github.com/pgfast/pgfast/sqlclass"
	"github.com/pgfast/pgfast/sqlexec"
)

// account is a compiled accounts entry: its token hash, what it may run and
// its own pool (role, read-only, timeout and size are per account).
type account struct {
	cfg       config.Account
	tokenHash [sha256.Size]byte
	db        *database // the database the account's pool connects to
	pool      *pool.Pool
	sql       *sqlexec.DB // runs the account's statements on pool
	allowAll  bool
	allowed   [sqlclass.OpOther + 1]bool
	readOnly  bool
	limit     *rateLimit // the account's rate_limit, keyed by account id
	idBytes   []byte
	// poolCfg is what pool was built from, to keep the pool on reload.
	poolCfg pool.Options
	// warnings name what the account's database role could do beyond
	// allowed_operations (checkAccountRole), refreshed on each reload.
	warnings []string
}

// accountPoolOptions derives an account's pool from its database: same URL
// and planner settings, the account's size, role, timeout, and read-only
// when it may only SELECT.
func accountPoolOptions(e *Engine, a *config.Account, dc *config.Database, readOnly bool) pool.Options {
	o := poolOptions(config.AccountDatabasePrefix+a.ID, dc, e)
	o.MaxConns = int32(a.MaxConnections)
	if o.MinConns > o.MaxConns {
		o.MinConns = o.MaxConns
	}
	o.MaxConcurrentQueries = 0
	// sqlclass parses with PostgreSQL's default string syntax; a server or
	// role set to standard_conforming_strings=off would read backslashes
	// in literals differently from the classifier, so account sessions
	// always run with it on (RESET ALL returns to this startup value).
	o.Settings = maps.Clone(o.Settings)
	if o.Settings == nil {
		o.Settings = map[string]string{}
	}
	o.Settings["standard_conforming_strings"] = "on"
	o.ReadOnly = readOnly
	o.Role = a.Role
	// Accounts send their own SQL: nothing one request leaves on a
	// connection may reach the next (DESIGN §4).
	o.ResetSession = true
	if a.QueryTimeout != nil {
		o.StatementTimeout = a.QueryTimeout.Std()
	}
	o.ApplicationName = dc.ApplicationName + " account=" + a.ID
	return o
}

func buildAccount(ctx context.Context, e *Engine, st *state, prev *state, a *config.Account) (*account, error) {
	acc := &account{cfg: *a, idBytes: []byte(a.ID)}
	if a.RateLimit != nil {
		l, err := e.limits.get(e, "account:"+a.ID, *a.RateLimit, &st.cfg.Limits)
		if err != nil {
			return nil, fmt.Errorf("accounts %s: %w", a.ID, err)
		}
		acc.limit = l
	}
	switch {
	case a.APITokenSHA256 != "":
		b, err := hex.DecodeString(a.APITokenSHA256)
		if err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("accounts %s: api_token_sha256 is not 64 hex characters", a.ID)
		}
		copy(acc.tokenHash[:], b)
	default:
		acc.tokenHash = sha256.Sum256([]byte(a.APIToken.Value()))
	}
	for _, op := range a.AllowedOperations {
		if strings.EqualFold(op, config.OpAll) {
			acc.allowAll = true
			continue
		}
		o, err := sqlclass.ParseOp(op)
		if err != nil {
			return nil, fmt.Errorf("accounts %s: allowed_operations: %w", a.ID, err)
		}
		acc.allowed[o] = true
	}
	acc.readOnly = !acc.allowAll && !acc.allowed[sqlclass.OpInsert] && !acc.allowed[sqlclass.OpUpdate] &&
		!acc.allowed[sqlclass.OpDelete] && !acc.allowed[sqlclass.OpDDL]
	dbName := a.Database
	if dbName == "" {
		dbName = config.MainDatabase
	}
	acc.db = st.dbs[dbName]
	if acc.db == nil {
		return nil, fmt.Errorf("accounts %s: database %q is not configured", a.ID, dbName)
	}
	acc.poolCfg = accountPoolOptions(e, a, &acc.db.cfg, acc.readOnly)
	if prev != nil {
		for _, old := range prev.accounts {
			if old.cfg.ID == a.ID && reflect.DeepEqual(old.poolCfg, acc.poolCfg) {
				acc.pool = old.pool
				acc.sql = acc.newSQL(e)
				return acc, nil
			}
		}
	}
	p, err := pool.New(ctx, acc.poolCfg)
	if err != nil {
		return nil, fmt.Errorf("accounts %s: %w", a.ID, err)
	}
	acc.pool = p
	acc.sql = acc.newSQL(e)
	return acc, nil
}

// newSQL is the account's SQL backend: its own pool, its database's types
// and statement cache mode, its timeout and read-only pinning, and its
// slow-query log line naming the account.
func (a *account) newSQL(e *Engine) *sqlexec.DB {
	return &sqlexec.DB{Name: a.db.name, Pool: a.pool, Types: a.db.sql.Types, Unnamed: a.db.sql.Unnamed,
		Timeout: a.poolCfg.StatementTimeout, ReadOnly: a.readOnly,
		SlowQuery: a.poolCfg.SlowQuery, SlowLog: e.slowLog(a.db.name, a.cfg.ID)}
}

var (
	bearerPrefix        = []byte("Bearer ")
	headerAuthorization = []byte(fasthttp.HeaderAuthorization)
)

// authenticate finds the account of the request's bearer token. The token
// is hashed first and hashes are compared in constant time, so neither the
// map lookup nor the comparison leaks how much of a guess was right.
func (st *state) authenticate(r *request) (*account, error) {
	h := r.ctx.Request.Header.PeekCanonical(headerAuthorization)
	if len(h) == 0 {
		return nil, errUnauthorized("missing Authorization: Bearer <token> header")
	}
	if len(h) < len(bearerPrefix) || !bytes.EqualFold(h[:len(bearerPrefix)], bearerPrefix) {
		return nil, errUnauthorized("Authorization header must be \"Bearer <token>\"")
	}
	tok := bytes.TrimSpace(h[len(bearerPrefix):])
	if acc := st.tokens.lookup(tok); acc != nil {
		return acc, nil
	}
	sum := sha256.Sum256(tok)
	acc := st.accounts[sum]
	if acc == nil || subtle.ConstantTimeCompare(acc.tokenHash[:], sum[:]) != 1 {
		return nil, errUnauthorized("invalid API token")
	}
	st.tokens.store(tok, acc)
	return acc, nil
}

// tokenCacheSize is the number of slots of the verified-token cache (a
// power of two).
const tokenCacheSize = 4096

// tokenCache remembers tokens that were verified, so that a repeat costs a
// 64-bit hash and a constant-time compare instead of a SHA-256 (about a
// fifth of a cached route's time otherwise). It is direct-mapped: one
// entry per slot, a colliding token replaces it; lookups take no lock and
// allocate nothing. Only valid tokens enter it, so a flood of bad tokens
// cannot evict good ones any faster than it fails. It belongs to one state:
// a reload that changes the accounts starts empty.
type tokenCache struct {
	slots [tokenCacheSize]atomic.Pointer[tokenEntry]
}

type tokenEntry struct {
	hash  uint64
	token []byte
	acc   *account
}

func (c *tokenCache) lookup(tok []byte) *account {
	h := xxhash.Sum64(tok)
	e := c.slots[h&(tokenCacheSize-1)].Load()
	if e == nil || e.hash != h || subtle.ConstantTimeCompare(e.token, tok) != 1 {
		return nil
	}
	return e.acc
}

func (c *tokenCache) store(tok []byte, acc *account) {
	h := xxhash.Sum64(tok)
	c.slots[h&(tokenCacheSize-1)].Store(&tokenEntry{hash: h, token: bytes.Clone(tok), acc: acc})
}

// answersTo reports whether an account with its own database_url accepts
// name for it: pg-api's clients send {"database":"main"}, and the account's
// only database answers to "main" and to the account's id (DESIGN §7).
func (a *account) answersTo(name string) bool {
	return a.cfg.DatabaseURL != "" && (name == config.MainDatabase || name == a.cfg.ID)
}

// limitAccount applies the account's rate_limit to a raw API request.
func limitAccount(r *request, acc *account) error {
	if acc.limit == nil {
		return nil
	}
	return applyLimit(r, acc.limit, acc.idBytes)
}
