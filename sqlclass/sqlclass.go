// Package sqlclass is a small lexer over SQL text: it counts statements,
// names what a statement does (SELECT, INSERT, …, DDL) and computes a
// fingerprint for the audit log. It is the early, cheap layer of the query
// API's permission checks; PostgreSQL itself (read-only transactions, roles)
// is the guarantee, so sqlclass errs on the side of "not clearly allowed".
package sqlclass

import (
	"errors"
	"fmt"
	"strings"
)

// Op is the kind of a statement, as accounts' allowed_operations name it.
type Op uint8

// The operations an account may be allowed.
const (
	// OpUnknown is text that starts with no SQL command keyword; it is not
	// valid SQL, and PostgreSQL's parser says why.
	OpUnknown Op = iota
	OpSelect
	OpInsert
	OpUpdate
	OpDelete
	OpDDL
	// OpOther is a utility command: SET, COPY, BEGIN, CALL, DO, LISTEN,
	// VACUUM… Only an account allowed ALL may run it.
	OpOther
)

func (o Op) String() string {
	switch o {
	case OpSelect:
		return "SELECT"
	case OpInsert:
		return "INSERT"
	case OpUpdate:
		return "UPDATE"
	case OpDelete:
		return "DELETE"
	case OpDDL:
		return "DDL"
	case OpOther:
		return "OTHER"
	}
	return "UNKNOWN"
}

// Statement describes one SQL string.
type Statement struct {
	// Statements is how many statements the text holds (empty ones between
	// semicolons are not counted).
	Statements int
	// Op is what the first statement does. A WITH query that contains
	// INSERT, UPDATE or DELETE takes the op of the first such write.
	Op Op
	// Keyword is the statement's first keyword, upper-cased.
	Keyword string
	// Ops lists every operation the statement performs (a data-modifying
	// CTE performs its write and the outer query's op).
	Ops []Op
}

// ErrUnterminated is returned for text that ends inside a quote or comment.
var ErrUnterminated = errors.New("sqlclass: unterminated quoted string, identifier or comment")

// Classify lexes sql and describes it.
func Classify(sql string) (Statement, error) {
	var st Statement
	toks, err := tokens(sql)
	if err != nil {
		return st, err
	}
	var cur []token
	flush := func() {
		if len(cur) == 0 {
			return
		}
		st.Statements++
		if st.Statements == 1 {
			st.Keyword = cur[0].upper
			st.Op, st.Ops = classify(cur)
			if callsSessionFunction(cur) && !contains(st.Ops, OpOther) {
				st.Ops = append(st.Ops, OpOther)
			}
		}
		cur = cur[:0]
	}
	for _, t := range toks {
		if t.kind == tokSemicolon {
			flush()
			continue
		}
		cur = append(cur, t)
	}
	flush()
	return st, nil
}

var ddlKeywords = map[string]bool{
	"CREATE": true, "ALTER": true, "DROP": true, "TRUNCATE": true, "GRANT": true,
	"REVOKE": true, "COMMENT": true, "REINDEX": true, "CLUSTER": true, "SECURITY": true,
	"IMPORT": true, "REFRESH": true,
}

func classify(toks []token) (Op, []Op) {
	// Skip leading parentheses: "(SELECT 1)" is a SELECT.
	i := 0
	for i < len(toks) && toks[i].kind == tokPunct && toks[i].text == "(" {
		i++
	}
	if i == len(toks) {
		return OpUnknown, nil
	}
	kw := toks[i].upper
	switch kw {
	case "SELECT", "VALUES", "TABLE", "SHOW":
		// SELECT … INTO creates a table.
		for _, t := range toks[i:] {
			if t.kind == tokWord && t.upper == "INTO" {
				return OpDDL, []Op{OpDDL}
			}
		}
		return OpSelect, []Op{OpSelect}
	case "INSERT":
		return OpInsert, []Op{OpInsert}
	case "UPDATE":
		return OpUpdate, []Op{OpUpdate}
	case "DELETE":
		return OpDelete, []Op{OpDelete}
	case "MERGE":
		return OpUpdate, []Op{OpInsert, OpUpdate, OpDelete}
	case "WITH":
		return classifyWith(toks[i:])
	case "EXPLAIN":
		// EXPLAIN ANALYZE runs its statement; plain EXPLAIN only plans it.
		rest := toks[i+1:]
		analyze := false
		for len(rest) > 0 && (rest[0].kind == tokWord && (rest[0].upper == "ANALYZE" || rest[0].upper == "VERBOSE") || rest[0].kind == tokPunct) {
			if rest[0].upper == "ANALYZE" {
				analyze = true
			}
			if rest[0].kind == tokPunct && rest[0].text == "(" {
				// EXPLAIN (ANALYZE, …): scan the option list.
				j := 1
				for j < len(rest) && !(rest[j].kind == tokPunct && rest[j].text == ")") {
					if rest[j].upper == "ANALYZE" {
						analyze = true
					}
					j++
				}
				rest = rest[min(j+1, len(rest)):]
				continue
			}
			rest = rest[1:]
		}
		if !analyze {
			return OpSelect, []Op{OpSelect}
		}
		return classify(rest)
	}
	if ddlKeywords[kw] {
		return OpDDL, []Op{OpDDL}
	}
	if otherKeywords[kw] {
		return OpOther, []Op{OpOther}
	}
	// Not a command PostgreSQL knows: the server will answer with a syntax
	// error, which the caller gets by preparing (never executing) it.
	return OpUnknown, []Op{OpUnknown}
}

// otherKeywords start PostgreSQL's utility commands that are neither
// queries, DML nor DDL.
var otherKeywords = map[string]bool{
	"SET": true, "RESET": true, "COPY": true, "BEGIN": true, "START": true, "COMMIT": true, "END": true,
	"ROLLBACK": true, "ABORT": true, "SAVEPOINT": true, "RELEASE": true, "CALL": true, "DO": true,
	"LISTEN": true, "NOTIFY": true, "UNLISTEN": true, "VACUUM": true, "ANALYZE": true, "ANALYSE": true,
	"LOCK": true, "PREPARE": true, "EXECUTE": true, "DEALLOCATE": true, "DISCARD": true, "FETCH": true,
	"MOVE": true, "CLOSE": true, "DECLARE": true, "CHECKPOINT": true, "LOAD": true, "REASSIGN": true,
}

// classifyWith finds writes inside a WITH query: any INSERT, UPDATE, DELETE
// or MERGE keyword that starts a CTE body or the main statement.
func classifyWith(toks []token) (Op, []Op) {
	var ops []Op
	first := OpUnknown
	for j, t := range toks {
		if t.kind != tokWord {
			continue
		}
		var op Op
		switch t.upper {
		case "INSERT":
			op = OpInsert
		case "UPDATE":
			// "FOR UPDATE" is a row lock of a SELECT, not a write.
			if j > 0 && toks[j-1].upper == "FOR" || j > 1 && toks[j-1].upper == "KEY" && toks[j-2].upper == "NO" {
				continue
			}
			op = OpUpdate
		case "DELETE":
			op = OpDelete
		case "MERGE":
			op = OpUpdate
		case "SELECT", "VALUES", "TABLE":
			op = OpSelect
		default:
			continue
		}
		if !contains(ops, op) {
			ops = append(ops, op)
		}
		if op != OpSelect && first == OpUnknown {
			first = op
		}
	}
	if first == OpUnknown {
		first = OpSelect
		if len(ops) == 0 {
			ops = []Op{OpSelect}
		}
	}
	return first, ops
}

func contains(ops []Op, op Op) bool {
	for _, o := range ops {
		if o == op {
			return true
		}
	}
	return false
}

// ParseOp turns an allowed_operations entry into an Op ("ALL" is OpOther's
// superset and is handled by the caller).
func ParseOp(s string) (Op, error) {
	switch strings.ToUpper(s) {
	case "SELECT":
		return OpSelect, nil
	case "INSERT":
		return OpInsert, nil
	case "UPDATE":
		return OpUpdate, nil
	case "DELETE":
		return OpDelete, nil
	case "DDL":
		return OpDDL, nil
	}
	return OpUnknown, fmt.Errorf("sqlclass: unknown operation %q", s)
}

// sessionFunctions change the session from inside a query: set_config is
// SET in function form (it can switch off read-only mode or drop the
// account's role for the connection's next user). A statement calling one
// also performs OpOther, which only ALL allows.
var sessionFunctions = map[string]bool{"SET_CONFIG": true}

func callsSessionFunction(toks []token) bool {
	for i, t := range toks {
		if t.kind == tokWord && sessionFunctions[t.upper] && i+1 < len(toks) && toks[i+1].kind == tokPunct && toks[i+1].text == "(" {
			return true
		}
		// A quoted identifier names the function too: "set_config"(…).
		if t.kind == tokIdent && strings.EqualFold(strings.Trim(t.text, `"`), "set_config") {
			return true
		}
	}
	return false
}
