package sqlclass

import (
	"errors"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
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
// dollar-quoted body is never touched.
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
	return b.String(), nil
}
