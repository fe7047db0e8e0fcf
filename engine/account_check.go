package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pgfast/pgfast/sqlexec"
)

// roleCheckTimeout bounds the check per account: it must not hold up a
// start or a reload when the database is slow.
const roleCheckTimeout = 5 * time.Second

// checkAccountRole returns the warnings of DESIGN §4 for a read-only
// account whose database role could do more than read: the operator's
// setup is weak even though pgfast refuses the statements. It returns nil
// for accounts that may write, and when the database cannot be reached (the
// next reload checks again).
func (e *Engine) checkAccountRole(ctx context.Context, acc *account) []string {
	if !acc.readOnly {
		return nil
	}
	var w []string
	if acc.poolCfg.StatementTimeout <= 0 {
		// pg_sleep and slow reads are not refused: statement_timeout is
		// what bounds them.
		w = append(w, "query_timeout is 0: its statements may hold its connections for as long as they like")
	}
	ctx, cancel := context.WithTimeout(ctx, roleCheckTimeout)
	defer cancel()
	f, err := acc.sql.RoleFacts(ctx)
	var refused *sqlexec.RoleError
	if errors.As(err, &refused) {
		return append(w, fmt.Sprintf("role %q cannot be assumed: %s", acc.cfg.Role, refused.Msg))
	}
	if err != nil {
		e.log.Warn("cannot check an account's database role", "account", acc.cfg.ID, "err", err)
		return w
	}
	current, login, currentSU, loginSU, owned, writable := f.Current, f.Login, f.CurrentSuper, f.LoginSuper, f.Owned, f.Writable
	switch {
	case currentSU:
		w = append(w, fmt.Sprintf("effective role %q is a superuser", current))
	case loginSU:
		w = append(w, fmt.Sprintf("login role %q is a superuser (the account's role %q is only a SET ROLE away from it)", login, current))
	}
	if !currentSU && len(owned) > 0 {
		w = append(w, fmt.Sprintf("role %q owns tables (%s)", current, strings.Join(owned, ", ")))
	}
	if !currentSU && len(writable) > 0 {
		w = append(w, fmt.Sprintf("role %q may INSERT, UPDATE, DELETE or TRUNCATE tables (%s)", current, strings.Join(writable, ", ")))
	}
	return w
}

// checkAccounts runs checkAccountRole for every account of st, logs each
// warning and keeps them on the account for /metrics and /admin/stats.
func (e *Engine) checkAccounts(ctx context.Context, st *state) []string {
	var all []string
	for _, acc := range st.accounts {
		acc.warnings = e.checkAccountRole(ctx, acc)
		for _, w := range acc.warnings {
			e.log.Warn("read-only account with a weak database role: PostgreSQL would let it write if pgfast's checks were passed",
				"account", acc.cfg.ID, "warning", w)
			all = append(all, "accounts "+acc.cfg.ID+": "+w)
		}
	}
	return all
}
