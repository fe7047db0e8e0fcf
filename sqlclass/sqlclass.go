// Package sqlclass tells what a piece of SQL text can do, using PostgreSQL's
// own grammar (libpg_query, through github.com/pganalyze/pg_query_go/v6).
//
// The query API lets an account send arbitrary SQL, and what the account may
// do must hold whatever the spelling: an operation or a function is found in
// the parse tree, never in the text, so comments, quoting (U&"set_config",
// "set_config"), case, schema qualification, CTEs, sub-selects, EXPLAIN and
// set operations change nothing. Classify walks every node of the tree, so a
// write or a restricted function call is seen wherever it sits.
//
// sqlclass is the first of two locks. PostgreSQL is the second: a read-only
// account's connections run with default_transaction_read_only=on under a
// role of its own. The second lock does not cover what a read-only
// transaction still allows (advisory locks, set_config, pg_notify, server
// files, backend signals, and in PostgreSQL 15 even large object writes),
// which is why those functions are listed in restricted.go and need ALL.
//
// Decisions that are not obvious, each on the safe side:
//   - EXPLAIN needs what the statement under it needs, with or without
//     ANALYZE: even a plain EXPLAIN DELETE takes the ROW EXCLUSIVE lock of
//     the DELETE while planning.
//   - INSERT … VALUES needs INSERT, not SELECT (the VALUES list is not a
//     read); a query inside the list does need SELECT.
//   - A MERGE needs the operation of each action; one whose actions are all
//     DO NOTHING needs UPDATE (it takes the ROW EXCLUSIVE lock of a write).
//   - INSERT, UPDATE, DELETE or MERGE on pg_settings is SET (its rule calls
//     set_config), so it needs ALL.
//   - a.f and (expr).f may call f(a) ("functional notation"), so such names
//     are checked against restricted.go like calls; a column that shares a
//     restricted function's name is refused too.
//
// Two assumptions hold the classification true, and the caller keeps them:
// the text reaches PostgreSQL byte for byte as classified (client_encoding
// UTF8, which pgx always sets), and standard_conforming_strings is on (the
// default, and what libpg_query's lexer assumes): with it off, a backslash
// before a quote would end a string where libpg_query sees it continue.
package sqlclass

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pganalyze/pg_query_go/v6/parser"
)

// Op is one kind of operation, as accounts' allowed_operations name it.
type Op uint8

// The operations. An account allowed "ALL" may do all of them, and only such
// an account may do OpOther or call a restricted function.
const (
	// OpSelect reads: SELECT, VALUES, TABLE, SHOW (and EXPLAIN of them).
	OpSelect Op = iota + 1
	// OpInsert is INSERT, or a MERGE that can insert.
	OpInsert
	// OpUpdate is UPDATE, a MERGE that can update, INSERT … ON CONFLICT DO
	// UPDATE, and row locks (SELECT … FOR UPDATE/NO KEY UPDATE/SHARE/KEY
	// SHARE), which PostgreSQL grants with the UPDATE privilege.
	OpUpdate
	// OpDelete is DELETE, or a MERGE that can delete.
	OpDelete
	// OpDDL changes the schema or privileges: CREATE, ALTER, DROP, TRUNCATE,
	// GRANT, REVOKE, COMMENT, REINDEX, CLUSTER, SECURITY LABEL, IMPORT FOREIGN
	// SCHEMA, REFRESH MATERIALIZED VIEW, CREATE TABLE AS, SELECT … INTO.
	OpDDL
	// OpOther is every other utility statement (SET, COPY, transaction
	// control, CALL, DO, LISTEN, VACUUM, LOCK, PREPARE, cursors, ALTER
	// SYSTEM, ALTER ROLE/DATABASE … SET, …), writes to pg_settings, and any
	// statement sqlclass does not know: unknown fails closed.
	OpOther

	opLast = OpOther
)

var opNames = [...]string{OpSelect: "SELECT", OpInsert: "INSERT", OpUpdate: "UPDATE", OpDelete: "DELETE", OpDDL: "DDL", OpOther: "OTHER"}

// String returns the operation's name as allowed_operations spells it
// ("OTHER" for OpOther, which only "ALL" allows).
func (o Op) String() string {
	if o >= OpSelect && o <= opLast {
		return opNames[o]
	}
	return "Op(" + strconv.Itoa(int(o)) + ")"
}

// ParseOp parses an allowed_operations entry: SELECT, INSERT, UPDATE, DELETE
// or DDL, in any case. "ALL" is the caller's to handle (it allows every Op and
// the restricted functions); it is an error here, as is anything else.
func ParseOp(s string) (Op, error) {
	for op := OpSelect; op <= OpDDL; op++ {
		if strings.EqualFold(s, opNames[op]) {
			return op, nil
		}
	}
	return 0, fmt.Errorf("sqlclass: unknown operation %q; want SELECT, INSERT, UPDATE, DELETE or DDL (ALL is handled by the account)", s)
}

// OpSet is a set of Ops: op is in the set when bit 1<<op is.
type OpSet uint8

// Has reports whether op is in the set.
func (s OpSet) Has(op Op) bool { return op <= opLast && s&(1<<op) != 0 }

// With returns the set with op added (to build an account's allowed set).
func (s OpSet) With(op Op) OpSet { return s | 1<<op }

// Ops lists the set's operations in Op order. It allocates; it is meant for
// messages.
func (s OpSet) Ops() []Op {
	var ops []Op
	for op := OpSelect; op <= opLast; op++ {
		if s.Has(op) {
			ops = append(ops, op)
		}
	}
	return ops
}

// String joins the set's operation names with commas, as in "INSERT,UPDATE".
func (s OpSet) String() string {
	var b strings.Builder
	for _, op := range s.Ops() {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(op.String())
	}
	return b.String()
}

// Func is a call of a function that needs ALL.
type Func struct {
	// Name is the function's name as parsed: case folded unless quoted,
	// U&"…" escapes decoded, schema-qualified if the call was
	// ("pg_catalog.set_config").
	Name string
	// Reason says why the function needs ALL (from restricted.go).
	Reason string
}

// Statement describes SQL text. Classify shares it between callers through
// its cache: it must not be changed.
type Statement struct {
	// Statements is how many statements the text holds; 0 when it is empty
	// or only comments and semicolons (then the fields below are empty).
	// The fields below describe the first statement only.
	Statements int
	// Command names the first statement for messages, in PostgreSQL's words:
	// "SELECT", "INSERT", "EXPLAIN", "CREATE TABLE", "SET", …
	Command string
	// Ops holds every operation the first statement can perform anywhere in
	// its tree (a data-modifying CTE, a MERGE action, a row lock, the
	// statement under EXPLAIN). It is never empty when Statements > 0. An
	// account may run the statement when it is allowed every Op in Ops and,
	// if Restricted is not empty, ALL.
	Ops OpSet
	// Restricted lists the functions needing ALL that the first statement
	// calls anywhere in its tree, once per name, in tree order.
	Restricted []Func
}

// SyntaxError is text that cannot be classified. Mostly it is text
// PostgreSQL's grammar rejects, and Message is PostgreSQL's own ("syntax
// error at or near …", "unterminated quoted string at or near …"). sqlclass
// also refuses, with a message of its own, text holding a NUL byte (the C
// parser would stop reading there), bytes that are not UTF-8 (as PostgreSQL
// does), and statements nested deeper than libpg_query survives (its output
// recursion is unguarded; see guard.go). All of these are the client's
// mistake: the engine answers 400.
type SyntaxError struct {
	// Message says what is wrong.
	Message string
	// Position is the 1-based character (not byte) offset PostgreSQL points
	// at, as in its error field P; 0 if unknown.
	Position int
}

func (e *SyntaxError) Error() string {
	if e.Position > 0 {
		return "sqlclass: " + e.Message + " (at character " + strconv.Itoa(e.Position) + ")"
	}
	return "sqlclass: " + e.Message
}

// Classify parses sql with PostgreSQL's grammar and describes it. The error,
// if any, is a *SyntaxError.
//
// Results are cached by the exact text (see cache.go): a repeated text costs
// a hash and a comparison and allocates nothing. The *Statement (and the
// error) is shared by every caller of that text and must not be changed.
// Classify copies sql before keeping it, so sql may alias a buffer that is
// reused after the call. Safe for concurrent use.
func Classify(sql string) (*Statement, error) {
	h := hashText(sql)
	if e := classCache.load(h); e != nil && e.sql == sql {
		return e.st, e.err
	}
	st, err := classify(sql)
	if len(sql) <= maxCachedText {
		classCache.store(h, &classEntry{sql: strings.Clone(sql), st: st, err: err})
	}
	return st, err
}

type classEntry struct {
	sql string
	st  *Statement
	err error
}

// classify is Classify without the cache.
func classify(sql string) (*Statement, error) {
	if err := guard(sql); err != nil {
		return nil, err
	}
	tree, err := parser.ParseToJSON(sql)
	if err != nil {
		return nil, syntaxError(err)
	}
	j := jsonWalker{b: tree}
	n, command, err := j.parseResult()
	if err != nil {
		return nil, outputError(err)
	}
	st := &Statement{Statements: n, Command: command, Ops: j.ops, Restricted: j.restricted}
	if n > 0 && st.Ops == 0 {
		// Every statement kind maps to at least one Op; an empty set means
		// a node sqlclass does not know, which needs ALL.
		st.Ops = st.Ops.With(OpOther)
	}
	return st, nil
}

// outputError reports libpg_query output the walker cannot read: nesting
// past maxDecodeDepth, or (a bug in libpg_query or here) JSON that is not
// well formed or names a field pg_query's descriptors do not have. Either
// way the text is refused, never half-classified.
func outputError(err error) error {
	if errors.Is(err, errTooDeep) {
		return &SyntaxError{Message: "statement nests too deeply to classify (" + err.Error() + ")"}
	}
	return &SyntaxError{Message: "cannot read libpg_query's parse tree: " + err.Error()}
}

// syntaxError converts libpg_query's error into a *SyntaxError.
func syntaxError(err error) error {
	var pe *parser.Error
	if errors.As(err, &pe) {
		return &SyntaxError{Message: pe.Message, Position: pe.Cursorpos}
	}
	return &SyntaxError{Message: err.Error()}
}

// charPosition turns a byte offset into a 1-based character position, the
// unit of PostgreSQL's error positions.
func charPosition(sql string, off int) int {
	if off > len(sql) {
		off = len(sql)
	}
	return utf8.RuneCountInString(sql[:off]) + 1
}
