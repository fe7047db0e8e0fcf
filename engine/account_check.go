package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// roleCheckSQL asks, on one of a read-only account's own connections (its
// role applied), what that session could do if the classifier and the
// read-only transaction were both passed: whether its effective role or its
// login role is a superuser, which tables it owns (an owner may grant
// itself anything) and which it may write. System schemas are skipped.
const roleCheckSQL = `SELECT current_user::text, session_user::text,
  (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
  (SELECT rolsuper FROM pg_roles WHERE rolname = session_user),
  ARRAY(SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND c.relpersistence <> 't'
          AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
          AND pg_has_role(current_user, c.relowner, 'USAGE') ORDER BY 1 LIMIT 5),
  ARRAY(SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'f') AND c.relpersistence <> 't'
          AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
          AND has_table_privilege(current_user, c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE') ORDER BY 1 LIMIT 5)`

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
	conn, err := acc.pool.Acquire(ctx)
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && (pe.Code == "42704" || pe.Code == "42501" || pe.Code == "22023") {
			// The startup packet's role does not exist or may not be
			// assumed by the login role.
			return append(w, fmt.Sprintf("role %q cannot be assumed: %s", acc.cfg.Role, pe.Message))
		}
		e.log.Warn("cannot check an account's database role", "account", acc.cfg.ID, "err", err)
		return w
	}
	defer conn.Release()
	var (
		current, login     string
		currentSU, loginSU bool
		owned, writable    []string
	)
	if err := conn.Conn().QueryRow(ctx, roleCheckSQL).Scan(&current, &login, &currentSU, &loginSU, &owned, &writable); err != nil {
		e.log.Warn("cannot check an account's database role", "account", acc.cfg.ID, "err", err)
		return w
	}
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
