package engine

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pgfast/pgfast/sqlclass"
)

// checkStatement applies the account's permissions to SQL text before any
// of it reaches PostgreSQL: exactly one statement, every operation it can
// perform allowed to the account, and no function that needs ALL (DESIGN
// §4). sqlclass classifies with PostgreSQL's own grammar; the account's
// session (read-only transactions, its role) is the second wall.
func checkStatement(acc *account, sql string) error {
	if i := strings.IndexByte(sql, 0); i >= 0 {
		return errBadRequest(fmt.Sprintf("query holds a NUL byte at offset %d; SQL text cannot hold one", i))
	}
	st, err := sqlclass.Classify(sql)
	if err != nil {
		var se *sqlclass.SyntaxError
		if errors.As(err, &se) {
			// PostgreSQL's own parser said it: the same message, SQLSTATE
			// and position the server would give, without a round trip.
			return &Error{Status: 400, Code: codeBadRequest, Message: se.Message, SQLState: "42601", Position: int32(se.Position)}
		}
		return errBadRequest("cannot parse query: " + err.Error())
	}
	switch {
	case st.Statements == 0:
		return errBadRequest("query is empty")
	case st.Statements > 1:
		return errBadRequest(fmt.Sprintf("query holds %d statements; send one statement per query (use /v1/batch for several)", st.Statements))
	}
	return acc.permits(st)
}

// permits reports, as a 403 naming it, the first operation or function of
// st that the account may not use.
func (a *account) permits(st *sqlclass.Statement) error {
	if a.allowAll {
		return nil
	}
	for op := sqlclass.OpSelect; op <= sqlclass.OpOther; op++ {
		if st.Ops.Has(op) && !a.allowed[op] {
			return errForbidden(fmt.Sprintf("operation %s (in a %s statement) is not allowed for account %s (allowed_operations: %v)",
				op, st.Command, a.cfg.ID, a.cfg.AllowedOperations))
		}
	}
	if len(st.Restricted) > 0 {
		f := st.Restricted[0]
		return errForbidden(fmt.Sprintf("function %s needs allowed_operations [ALL] (%s); account %s has %v",
			f.Name, f.Reason, a.cfg.ID, a.cfg.AllowedOperations))
	}
	return nil
}
