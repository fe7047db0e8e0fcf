package sqlexec

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
)

// roleFactsSQL asks, on one of a pool's own connections (its role
// applied), what that session could do if every check in front of it were
// passed: whether its effective or login role is a superuser, which tables
// it owns (an owner may grant itself anything) and which it may write.
// System schemas are skipped; five names of each are enough to act on.
const roleFactsSQL = `SELECT current_user::text, session_user::text,
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

// RoleFacts is what a pool's database role may do.
type RoleFacts struct {
	Current, Login           string // effective (after SET ROLE) and login role
	CurrentSuper, LoginSuper bool
	Owned, Writable          []string // up to five tables each, schema-qualified
}

// RoleFacts asks the database what db's sessions may do. A role that
// cannot be assumed is a *RoleError.
func (db *DB) RoleFacts(ctx context.Context) (RoleFacts, error) {
	var f RoleFacts
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && (pe.Code == "42704" || pe.Code == "42501" || pe.Code == "22023") {
			// The startup packet's role does not exist or may not be
			// assumed by the login role.
			return f, &RoleError{Msg: pe.Message}
		}
		return f, err
	}
	defer conn.Release()
	err = conn.Conn().QueryRow(ctx, roleFactsSQL).Scan(&f.Current, &f.Login, &f.CurrentSuper, &f.LoginSuper, &f.Owned, &f.Writable)
	return f, err
}

// RoleError is a pool role the database refuses to assume.
type RoleError struct{ Msg string }

func (e *RoleError) Error() string { return e.Msg }
