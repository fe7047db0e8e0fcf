package sqlclass

import (
	"errors"
	"regexp"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"github.com/pganalyze/pg_query_go/v6/parser"
)

// ReplaceParam returns sql with every reference to parameter $n replaced
// by expr and a trailing semicolon dropped, for embedding the statement in
// a larger one (a route's SELECT inside a LATERAL subquery). It refuses
// text that is not exactly one plain SELECT (only OpSelect, no restricted
// call), or that references a parameter other than $n: embedding such a
// statement would change what it does or what it may read.
//
// The references are found by PostgreSQL's own scanner (pg_query.Scan),
// so a "$1" inside a string literal, a quoted identifier, a comment or a
// dollar-quoted body is never touched, and the result must parse, by
// PostgreSQL's grammar, to the same tree with each $n now expr (a column
// reference such as "k.v", lower case).
func ReplaceParam(sql string, n int, expr string) (string, error) {
	st, err := Classify(sql)
	if err != nil {
		return "", err
	}
	if st.Statements != 1 || st.Command != "SELECT" || st.Ops != OpSet(0).With(OpSelect) || len(st.Restricted) > 0 {
		return "", errors.New("sqlclass: not exactly one plain SELECT")
	}
	scan, err := pg_query.Scan(sql)
	if err != nil {
		return "", syntaxError(err)
	}
	want := "$" + strconv.Itoa(n)
	lastCode := -1 // the last token that is not a comment
	for i, tok := range scan.Tokens {
		if tok.Token != pg_query.Token_SQL_COMMENT && tok.Token != pg_query.Token_C_COMMENT {
			lastCode = i
		}
	}
	var b strings.Builder
	last, end, found := 0, len(sql), false
	for i, tok := range scan.Tokens {
		start, stop := int(tok.Start), int(tok.End)
		switch {
		case tok.Token == pg_query.Token_PARAM && sql[start:stop] == want:
			b.WriteString(sql[last:start])
			b.WriteString(expr)
			last, found = stop, true
		case tok.Token == pg_query.Token_PARAM:
			return "", errors.New("sqlclass: the statement references " + sql[start:stop] + " besides " + want)
		case tok.Token == pg_query.Token_ASCII_59 && i == lastCode:
			end = start // the statement's terminator; only comments follow
		}
	}
	if !found {
		return "", errors.New("sqlclass: the statement does not reference " + want)
	}
	if last > end {
		end = last
	}
	b.WriteString(sql[last:end])
	out := b.String()
	if err := sameTreeWithColumn(sql, out, n, expr); err != nil {
		return "", err
	}
	return out, nil
}

// locationRe matches the position fields of a JSON parse tree, which move
// when text is replaced.
var locationRe = regexp.MustCompile(`"(?:location|stmt_location|stmt_len)":-?[0-9]+,?`)

// sameTreeWithColumn checks that out parses to sql's tree with each $n
// (a ParamRef) now the column reference expr. A parameter can sit where a
// column reference cannot stand for it (`SELECT int4 $1` casts $1; `int4
// pgfast_k.v` does not parse, `int4 (pgfast_k.v)` calls a function): such
// text is refused rather than given another meaning.
func sameTreeWithColumn(sql, out string, n int, expr string) error {
	before, err := parser.ParseToJSON(sql)
	if err != nil {
		return syntaxError(err)
	}
	after, err := parser.ParseToJSON(out)
	if err != nil {
		return errors.New("sqlclass: the statement does not parse with " + expr + " for $" + strconv.Itoa(n))
	}
	var col strings.Builder
	col.WriteString(`{"ColumnRef":{"fields":[`)
	for i, f := range strings.Split(expr, ".") {
		if i > 0 {
			col.WriteByte(',')
		}
		col.WriteString(`{"String":{"sval":"` + f + `"}}`)
	}
	col.WriteString(`]}}`)
	norm := func(tree string) string { return strings.ReplaceAll(locationRe.ReplaceAllString(tree, ""), ",}", "}") }
	want := strings.ReplaceAll(norm(before), `{"ParamRef":{"number":`+strconv.Itoa(n)+`}}`, col.String())
	if norm(after) != want {
		return errors.New("sqlclass: $" + strconv.Itoa(n) + " stands where " + expr + " would change the statement")
	}
	return nil
}
