package sqlclass

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"github.com/pganalyze/pg_query_go/v6/parser"
	"google.golang.org/protobuf/encoding/protowire"
)

// maxNesting bounds how deeply a statement may nest before sqlclass refuses
// to hand it to libpg_query, in the units of nestingEstimate: parentheses
// and brackets, and operators or keywords in a row.
//
// Why: libpg_query turns its tree into JSON or protobuf (and normalizes it)
// by plain C recursion, and its copy of PostgreSQL's check_stack_depth is
// disabled (no stack base is ever set). The grammar itself caps
// right-nested constructs at 10000 levels ("memory exhausted"), but
// left-deep chains have no cap: SELECT 1+1+1… with 24000 terms, 48 KB of
// text, overflows an 8 MiB thread stack and kills the process with SIGSEGV
// inside cgo, where recover cannot help (pganalyze/pg_query issue 339,
// libpg_query PR 366). Measured on a 1 MiB thread stack, libpg_query dies at
// about 4000 levels of +1 and 1500 of AT TIME ZONE (3 units each), so a unit
// costs at most about 250 bytes of stack: 1000 units stay near 250 KB, a
// thirtieth of glibc's default 8 MiB thread stack, and
// TestGuardMarginOnSmallStack runs the deepest text allowed on 1 MiB. No
// hand-written SQL comes near the limit: it takes a thousand operators in
// one expression, or parentheses a thousand deep.
const maxNesting = 1000

// guard refuses text that libpg_query must not see: a NUL byte (C would stop
// reading there, so the classification would not be of the whole text),
// bytes that are not UTF-8 (PostgreSQL refuses them too, 22021; whatever
// libpg_query made of them, the server would not make the same), and
// statements nested deeper than maxNesting.
func guard(sql string) error {
	if i := strings.IndexByte(sql, 0); i >= 0 {
		return &SyntaxError{Message: "SQL text contains a NUL byte", Position: charPosition(sql, i)}
	}
	if !utf8.ValidString(sql) {
		i := 0
		for i < len(sql) {
			r, n := utf8.DecodeRuneInString(sql[i:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			i += n
		}
		return &SyntaxError{
			Message:  fmt.Sprintf(`invalid byte sequence for encoding "UTF8": 0x%02x`, sql[i]),
			Position: charPosition(sql, i),
		}
	}
	// The estimate adds at most one unit per counted token, so text with
	// few of them needs no scan.
	if maxTokens(sql) <= maxNesting {
		return nil
	}
	buf, err := parser.ScanToProtobuf(sql)
	if err != nil {
		return syntaxError(err)
	}
	depth, at, err := nestingEstimate(buf)
	if err != nil {
		return &SyntaxError{Message: "cannot read libpg_query's scan: " + err.Error()}
	}
	if depth > maxNesting {
		return &SyntaxError{
			Message:  "statement nests too deeply to classify (more than " + strconv.Itoa(maxNesting) + " levels of operators or parentheses)",
			Position: charPosition(sql, at),
		}
	}
	return nil
}

// maxTokens bounds from above how many tokens of sql nestingEstimate
// counts, without scanning it. Every counted token is a keyword (a run of
// word bytes: letters, digits, _, any byte of a multibyte character) or is
// made of other bytes that are not spaces, so it counts each such run and
// each such byte, except: runs that start with a digit (numbers, which
// nestingEstimate does not count; a run like 1abc is an error to the
// scanner, "trailing junk", but 1$ is not, so $ always counts), and the
// bytes , ; ) ] that only end things.
// Quoted text counts its inside too, which only makes the bound looser. A
// long IN list of numbers comes out small and skips the scan.
func maxTokens(sql string) int {
	n := 0
	inWord := false
	for i := 0; i < len(sql); i++ {
		c := sql[i]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c >= 0x80:
			if !inWord {
				n++
				inWord = true
			}
		case '0' <= c && c <= '9':
			inWord = true // a number, or the rest of a word
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			inWord = false
		case c == ',' || c == ';' || c == ')' || c == ']':
			inWord = false
		default:
			n++
			inWord = false
		}
	}
	return n
}

// nestingEstimate bounds, from PostgreSQL's own tokens (libpg_query's
// scanner, which is flat and cannot overflow), how deep the parse tree can
// get. It returns the bound and the byte offset where it peaked.
//
// Each open parenthesis or bracket is a level. Inside one, every operator or
// keyword token may start a level of a left-deep chain (1+1+1, x::int::int,
// a JOIN b JOIN c), so it counts, except where a chain provably restarts: a
// comma separates siblings (list items, arguments), and AND and OR are
// flattened into one node by the grammar (makeAndExpr) — except the AND
// that closes a BETWEEN, which belongs to the BETWEEN's node and counts. UNION, INTERSECT,
// EXCEPT and JOIN chains cross commas (SELECT 1, 2 UNION SELECT 1, 2), so
// they are counted apart and only a closing parenthesis drops them.
// Identifiers, constants, parameters and comments count nothing.
func nestingEstimate(scan []byte) (depth, at int, err error) {
	type level struct{ expr, chain, between int }
	stack := []level{{}}
	cur := 0 // sum of the stack's counts plus its height
	err = forEachToken(scan, func(t scanTok) {
		top := &stack[len(stack)-1]
		switch t.token {
		case pg_query.Token_ASCII_40, pg_query.Token_ASCII_91: // ( [
			stack = append(stack, level{})
			cur++
		case pg_query.Token_ASCII_41, pg_query.Token_ASCII_93: // ) ]
			if len(stack) > 1 {
				cur -= top.expr + top.chain + 1
				stack = stack[:len(stack)-1]
			}
		case pg_query.Token_BETWEEN:
			// Its AND is part of the same node, not a boolean AND:
			// x BETWEEN a AND b BETWEEN c AND d … is a left-deep chain.
			top.between++
			top.expr++
			cur++
		case pg_query.Token_AND:
			if top.between > 0 {
				top.between--
				top.expr++
				cur++
				break
			}
			cur -= top.expr
			top.expr = 0
		case pg_query.Token_ASCII_44, pg_query.Token_OR: // , OR
			cur -= top.expr
			top.expr = 0
			top.between = 0
		case pg_query.Token_ASCII_59: // ; starts a new statement (or a sibling in a BEGIN ATOMIC body)
			stack = append(stack[:0], level{})
			cur = 0
		case pg_query.Token_UNION, pg_query.Token_INTERSECT, pg_query.Token_EXCEPT, pg_query.Token_JOIN:
			top.chain++
			cur++
		case pg_query.Token_IDENT, pg_query.Token_UIDENT, pg_query.Token_FCONST, pg_query.Token_SCONST,
			pg_query.Token_USCONST, pg_query.Token_BCONST, pg_query.Token_XCONST, pg_query.Token_ICONST,
			pg_query.Token_PARAM, pg_query.Token_SQL_COMMENT, pg_query.Token_C_COMMENT,
			pg_query.Token_ASCII_46: // . joins the parts of a name
		default:
			top.expr++
			cur++
		}
		if cur > depth {
			depth, at = cur, t.start
		}
	})
	return depth, at, err
}

// scanTok is one token of libpg_query's scan: byte offsets and type.
type scanTok struct {
	start, end int
	token      pg_query.Token
}

// forEachToken decodes a ScanResult straight from its protobuf bytes and
// calls fn for each token. Decoding by hand, rather than proto.Unmarshal
// into pg_query.ScanResult, saves one allocation per token.
// ScanResult: field 2 is repeated ScanToken; ScanToken: 1 start, 2 end,
// 4 token (pg_query.proto). TestForEachTokenMatchesScan checks the numbers.
func forEachToken(scan []byte, fn func(scanTok)) error {
	for len(scan) > 0 {
		num, typ, n := protowire.ConsumeTag(scan)
		if n < 0 {
			return protowire.ParseError(n)
		}
		scan = scan[n:]
		if num != 2 || typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, scan); n < 0 {
				return protowire.ParseError(n)
			}
			scan = scan[n:]
			continue
		}
		b, n := protowire.ConsumeBytes(scan)
		if n < 0 {
			return protowire.ParseError(n)
		}
		scan = scan[n:]
		var t scanTok
		for len(b) > 0 {
			num, typ, n := protowire.ConsumeTag(b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			b = b[n:]
			if typ != protowire.VarintType {
				if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
					return protowire.ParseError(n)
				}
				b = b[n:]
				continue
			}
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			b = b[n:]
			switch num {
			case 1:
				t.start = int(v)
			case 2:
				t.end = int(v)
			case 4:
				t.token = pg_query.Token(v)
			}
		}
		fn(t)
	}
	return nil
}
