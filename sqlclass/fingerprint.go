package sqlclass

import (
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"github.com/pganalyze/pg_query_go/v6/parser"
)

// Fingerprint identifies the shape of sql for the audit log: hash is
// pg_query's fingerprint (16 hex digits; the same for texts that differ only
// in literal values, whitespace, comments or the case of keywords) and
// normalized is pg_query's normalized text, literals replaced by $n.
// Text that does not parse, or that Classify refuses before parsing (a NUL
// byte, bytes that are not UTF-8, nesting too deep), gives ("unparsable",
// "").
//
// Literal values never appear in normalized: pg_query's normalizer leaves
// some in place (utility statements such as COPY … FROM 'file', COMMENT …
// IS 'text', ALTER SYSTEM, CREATE VIEW, defaults, PREPARE bodies), so every
// literal token left after it is replaced too, and comments are removed. A
// literal may be a password or a customer's data; the audit log must not
// hold it.
//
// Results are cached like Classify's; a repeated text allocates nothing.
// sql may alias a buffer reused after the call. Safe for concurrent use.
func Fingerprint(sql string) (hash, normalized string) {
	h := hashText(sql)
	if e := fpCache.load(h); e != nil && e.sql == sql {
		return e.hash, e.normalized
	}
	hash, normalized = fingerprint(sql)
	if len(sql) <= maxCachedText && len(normalized) <= maxCachedText {
		fpCache.store(h, &fpEntry{sql: strings.Clone(sql), hash: hash, normalized: normalized})
	}
	return hash, normalized
}

type fpEntry struct {
	sql, hash, normalized string
}

const unparsable = "unparsable"

func fingerprint(sql string) (hash, normalized string) {
	if guard(sql) != nil {
		return unparsable, ""
	}
	hash, err := pg_query.Fingerprint(sql)
	if err != nil {
		return unparsable, ""
	}
	normalized, err = pg_query.Normalize(sql)
	if err != nil {
		return unparsable, ""
	}
	normalized, err = scrubLiterals(normalized)
	if err != nil {
		return unparsable, ""
	}
	return hash, normalized
}

// scrubLiterals replaces each literal token pg_query.Normalize left with a
// new $n (numbered after the highest parameter already there) and drops
// comments, using PostgreSQL's own scanner to find them.
func scrubLiterals(s string) (string, error) {
	if !mayHoldLiteral(s) {
		return s, nil
	}
	buf, err := parser.ScanToProtobuf(s)
	if err != nil {
		return "", err
	}
	var toks []scanTok
	maxParam := 0
	err = forEachToken(buf, func(t scanTok) {
		switch t.token {
		case pg_query.Token_PARAM:
			if n, err := strconv.Atoi(s[t.start+1 : t.end]); err == nil && n > maxParam {
				maxParam = n
			}
		case pg_query.Token_SCONST, pg_query.Token_USCONST, pg_query.Token_BCONST, pg_query.Token_XCONST,
			pg_query.Token_ICONST, pg_query.Token_FCONST, pg_query.Token_SQL_COMMENT, pg_query.Token_C_COMMENT:
			toks = append(toks, t)
		}
	})
	if err != nil || len(toks) == 0 {
		return s, err
	}
	var b strings.Builder
	b.Grow(len(s))
	prev := 0
	for _, t := range toks {
		if t.start < prev || t.end > len(s) || t.start > t.end {
			return "", errBadScan
		}
		b.WriteString(s[prev:t.start])
		if t.token == pg_query.Token_SQL_COMMENT || t.token == pg_query.Token_C_COMMENT {
			b.WriteByte(' ')
		} else {
			maxParam++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(maxParam))
		}
		prev = t.end
	}
	b.WriteString(s[prev:])
	return b.String(), nil
}

// mayHoldLiteral reports whether s might hold a literal or a comment, so
// that the usual normalized text, with only $n left, skips the scan. A
// string constant needs a quote or a dollar quote ($ then no digit), a
// number a digit that does not follow $ or a word byte, a comment -- or /*;
// without any of those there is nothing to scrub. Unsure means yes.
func mayHoldLiteral(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'':
			return true
		case c == '$':
			if i+1 >= len(s) || s[i+1] < '0' || s[i+1] > '9' {
				return true
			}
		case '0' <= c && c <= '9':
			if i == 0 {
				return true
			}
			p := s[i-1]
			if !(p == '$' || '0' <= p && p <= '9' || 'a' <= p && p <= 'z' || 'A' <= p && p <= 'Z' || p == '_' || p >= 0x80) {
				return true
			}
		case c == '-' || c == '/':
			if i+1 < len(s) && (s[i+1] == '-' || s[i+1] == '*') {
				return true
			}
		}
	}
	return false
}

var errBadScan = &SyntaxError{Message: "libpg_query's scan does not match the text"}
