package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"reflect"
	"strings"

	"github.com/pgfast/pgfast/config"
	"github.com/pgfast/pgfast/pool"
	"github.com/pgfast/pgfast/sqlclass"
)

// account is a compiled accounts entry: its token hash, what it may run and
// its own pool (role, read-only, timeout and size are per account).
type account struct {
	cfg       config.Account
	tokenHash [sha256.Size]byte
	db        *database // the database the account's pool connects to
	pool      *pool.Pool
	allowAll  bool
	allowed   [sqlclass.OpOther + 1]bool
	readOnly  bool
	// poolCfg is what pool was built from, to keep the pool on reload.
	poolCfg pool.Options
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
	o.ReadOnly = readOnly
	o.Role = a.Role
	if a.QueryTimeout != nil {
		o.StatementTimeout = a.QueryTimeout.Std()
	}
	o.ApplicationName = dc.ApplicationName + " account=" + a.ID
	return o
}

func buildAccount(ctx context.Context, e *Engine, st *state, prev *state, a *config.Account) (*account, error) {
	acc := &account{cfg: *a}
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
				return acc, nil
			}
		}
	}
	p, err := pool.New(ctx, acc.poolCfg)
	if err != nil {
		return nil, fmt.Errorf("accounts %s: %w", a.ID, err)
	}
	acc.pool = p
	return acc, nil
}

var bearerPrefix = []byte("Bearer ")

// authenticate finds the account of the request's bearer token. The token
// is hashed first and hashes are compared in constant time, so neither the
// map lookup nor the comparison leaks how much of a guess was right.
func (st *state) authenticate(r *request) (*account, error) {
	h := r.ctx.Request.Header.Peek("Authorization")
	if len(h) == 0 {
		return nil, errUnauthorized("missing Authorization: Bearer <token> header")
	}
	if len(h) < len(bearerPrefix) || !bytes.EqualFold(h[:len(bearerPrefix)], bearerPrefix) {
		return nil, errUnauthorized("Authorization header must be \"Bearer <token>\"")
	}
	sum := sha256.Sum256(bytes.TrimSpace(h[len(bearerPrefix):]))
	acc := st.accounts[sum]
	if acc == nil || subtle.ConstantTimeCompare(acc.tokenHash[:], sum[:]) != 1 {
		return nil, errUnauthorized("invalid API token")
	}
	return acc, nil
}

// allows reports whether the account may run a statement performing ops.
func (a *account) allows(ops []sqlclass.Op) (sqlclass.Op, bool) {
	if a.allowAll {
		return 0, true
	}
	for _, op := range ops {
		if !a.allowed[op] {
			return op, false
		}
	}
	return 0, true
}
