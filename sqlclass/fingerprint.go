package sqlclass

import (
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// Fingerprint identifies a statement's shape for the audit log: literals
// become "?", words are upper-cased, whitespace and comments vanish, so
// `SELECT * FROM t WHERE id = 1` and `select *  from t where id=2` share one.
// It returns the 16-hex-digit hash and the normalised text. Literal values
// never appear in either (they may be secrets).
func Fingerprint(sql string) (hash, normalized string) {
	toks, err := tokens(sql)
	if err != nil {
		return "unparsable", ""
	}
	var b strings.Builder
	for i, t := range toks {
		if i > 0 {
			b.WriteByte(' ')
		}
		switch t.kind {
		case tokString, tokNumber:
			b.WriteByte('?')
		case tokWord:
			b.WriteString(t.upper)
		default:
			b.WriteString(t.text)
		}
	}
	n := b.String()
	return strconv.FormatUint(xxhash.Sum64String(n), 16), n
}
