package engine

import (
	"fmt"

	"github.com/pgfast/pgfast/sqlclass"
)

// checkStatement applies the cheap layer of the account's permissions: one
// statement, and an operation the account is allowed. PostgreSQL (read-only
// sessions, the account's role) enforces the rest.
func checkStatement(acc *account, sql string) (sqlclass.Statement, error) {
	st, err := sqlclass.Classify(sql)
	if err != nil {
		return st, errBadRequest("cannot parse query: " + err.Error())
	}
	switch {
	case st.Statements == 0:
		return st, errBadRequest("query is empty")
	case st.Statements > 1:
		return st, errBadRequest(fmt.Sprintf("query holds %d statements; send one statement per query (use /v1/batch for several)", st.Statements))
	}
	if st.Op == sqlclass.OpUnknown {
		// Not a SQL command: preparing it (never running it) gets
		// PostgreSQL's own syntax error, with its position.
		return st, nil
	}
	if op, ok := acc.allows(st.Ops); !ok {
		return st, errForbidden(fmt.Sprintf("operation %s is not allowed for account %s (allowed_operations: %v)", op, acc.cfg.ID, acc.cfg.AllowedOperations))
	}
	return st, nil
}
