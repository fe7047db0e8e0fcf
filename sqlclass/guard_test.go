package sqlclass

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"github.com/pganalyze/pg_query_go/v6/parser"
)

// deepShapes are the ways to nest SQL deeply. The left-deep chains are the
// ones libpg_query has no limit for; the others its grammar stops at 10000
// levels.
var deepShapes = []struct {
	name         string
	head, repeat string
	tail         string // repeated as often as repeat, after it
	end          string
}{
	{"plus", "SELECT 1", "+1", "", ""},
	{"concat", "SELECT 'a'", "||'a'", "", ""},
	{"cast", "SELECT 1", "::int", "", ""},
	{"collate", "SELECT 'a'", ` COLLATE "C"`, "", ""},
	{"at time zone", "SELECT now()", " AT TIME ZONE 'UTC'", "", ""},
	{"is distinct", "SELECT 1", " IS DISTINCT FROM 1", "", ""},
	{"union", "SELECT 1", " UNION SELECT 1", "", ""},
	{"union lists", "SELECT 1, 2", " UNION SELECT 1, 2", "", ""},
	{"join", "SELECT 1 FROM t", " JOIN t ON true", "", ""},
	{"json arrow", "SELECT '{}'::jsonb", "->'a'", "", ""},
	{"parens", "SELECT ", "(", ")", "1"},
	{"sub-selects", "", "SELECT (", ")", "1"},
	{"functions", "SELECT ", "f(", ")", "1"},
	{"arrays", "SELECT ", "ARRAY[", "]", "1"},
	{"not", "SELECT ", "NOT ", "", "true"},
	{"case", "SELECT ", "CASE WHEN true THEN ", " END", "1"},
	{"ctes", "", "WITH a AS (", ") SELECT 1", "SELECT 1"},
	{"plus in parens", "SELECT ", "(1+", ")", "1"},
	{"between", "SELECT 1", " BETWEEN 0 AND 1", "", ""},
	{"between isnull", "SELECT ''", " BETWEEN''AND''ISNULL", "", ""}, // the AND closing a BETWEEN is no boolean AND
	{"between is true", "SELECT 1", " = 1 BETWEEN 0 AND 1 IS TRUE", "", ""},
	{"and/or mix", "SELECT 1", " + 1 AND 1 + 1 OR 1", "", ""}, // flat: AND and OR lists are one node
}

func deepText(i, n int) string {
	s := deepShapes[i]
	// head, n repeats, end, n tails: tails close what repeats open.
	return s.head + strings.Repeat(s.repeat, n) + s.end + strings.Repeat(s.tail, n)
}

// TestGuardRefusesDeepText: each shape, nested 30000 times, is refused
// with a *SyntaxError by Classify and reported unparsable by Fingerprint.
// Without the guard, the left-deep ones kill the test binary with SIGSEGV
// (from about 22000 levels on an 8 MiB thread stack).
func TestGuardRefusesDeepText(t *testing.T) {
	for i, s := range deepShapes {
		sql := deepText(i, 30000)
		_, err := Classify(sql)
		if s.name == "and/or mix" {
			if err != nil {
				t.Fatalf("%s: %v; want it classified, it is flat", s.name, err)
			}
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Fatalf("%s: got %v; want a *SyntaxError", s.name, err)
		}
		if i < 3 {
			if h, n := Fingerprint(sql); h != unparsable || n != "" {
				t.Fatalf("%s: Fingerprint gave %q", s.name, h)
			}
		}
	}
}

// TestGuardPassesUsualText: big but flat statements are not refused.
func TestGuardPassesUsualText(t *testing.T) {
	f := func(name, sql string) {
		t.Helper()
		if err := guard(sql); err != nil {
			t.Fatalf("%s (%d bytes): %v", name, len(sql), err)
		}
		if _, err := Classify(sql); err != nil {
			t.Fatalf("%s (%d bytes): %v", name, len(sql), err)
		}
	}
	f("IN list", "SELECT * FROM t WHERE id IN ("+strings.Repeat("1, ", 50000)+"1)")
	f("VALUES rows", "INSERT INTO t VALUES "+strings.Repeat("($1::int + 1, 'x' || $2), ", 5000)+"(1, 'x')")
	f("AND list", "SELECT * FROM t WHERE "+strings.Repeat("a = 1 AND b <> 'x' AND ", 2000)+"true")
	f("OR list", "SELECT * FROM t WHERE "+strings.Repeat("a = 1 OR ", 5000)+"true")
	f("select list", "SELECT "+strings.Repeat("a::text || 'x' AS c, ", 3000)+"1 FROM t")
	f("update list", "UPDATE t SET "+strings.Repeat("a = a + 1, ", 3000)+"b = 1")
	f("long string", "SELECT '"+strings.Repeat("((((+-*/ ", 100000)+"'")
	f("long comment", "SELECT 1 /* "+strings.Repeat("(((( + ", 100000)+"*/")
	f("moderate nesting", deepText(0, maxNesting-10))
}

// TestGuardMarginOnSmallStack runs the deepest text the guard lets through,
// in every shape, in a child process whose threads get a 1 MiB stack (an
// eighth of glibc's usual default): libpg_query must survive it.
func TestGuardMarginOnSmallStack(t *testing.T) {
	if os.Getenv("SQLCLASS_SMALL_STACK_CHILD") == "1" {
		for i := range deepShapes {
			n := deepestAllowed(i)
			sql := deepText(i, n)
			_, _ = Classify(sql)
			_, _ = Fingerprint(sql)
			_, _ = refClassify(sql)
		}
		return
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to set the stack limit with")
	}
	cmd := exec.Command(sh, "-c", `ulimit -s 1024 && exec "$0" -test.run='^TestGuardMarginOnSmallStack$' -test.count=1`, os.Args[0])
	cmd.Env = append(os.Environ(), "SQLCLASS_SMALL_STACK_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child with a 1 MiB stack failed: %v\n%s", err, lastLines(string(out), 20))
	}
}

// deepestAllowed finds the largest nesting of shape i the guard accepts.
func deepestAllowed(i int) int {
	lo, hi := 1, 4*maxNesting
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if guard(deepText(i, mid)) == nil {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestNestingEstimateBoundsDepth checks the guard's premise: the depth of
// libpg_query's tree grows at most a few levels per unit of the estimate,
// so a limit in units is a limit on C recursion.
func TestNestingEstimateBoundsDepth(t *testing.T) {
	worst := 0.0
	for i, s := range deepShapes {
		for _, n := range []int{10, 100, 300} {
			sql := deepText(i, n)
			scan, err := parser.ScanToProtobuf(sql)
			if err != nil {
				t.Fatal(err)
			}
			est, _, err := nestingEstimate(scan)
			if err != nil {
				t.Fatal(err)
			}
			tree, err := parser.ParseToJSON(sql)
			if err != nil {
				continue // the grammar refused it; nothing deep was built
			}
			depth := jsonDepth(tree)
			ratio := float64(depth) / float64(est)
			worst = max(worst, ratio)
			if depth > 8*est+16 {
				t.Errorf("%s ×%d: tree depth %d for an estimate of %d", s.name, n, depth, est)
			}
		}
	}
	t.Logf("worst tree depth per estimate unit: %.2f", worst)
}

// jsonDepth is the deepest nesting of objects and arrays in JSON text.
func jsonDepth(s string) int {
	depth, deepest, inString := 0, 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

// TestForEachTokenMatchesScan: the hand decoding of the scan's protobuf
// agrees with pg_query's generated decoder.
func TestForEachTokenMatchesScan(t *testing.T) {
	for _, sql := range append(corpusTexts(t), deepText(0, 50), "SELECT U&'\\0041' || B'01' || X'ff', 1.5e3, $1 -- c\n/* d */") {
		res, err := pg_query.Scan(sql)
		if err != nil {
			continue
		}
		buf, err := parser.ScanToProtobuf(sql)
		if err != nil {
			t.Fatal(err)
		}
		var got []scanTok
		if err := forEachToken(buf, func(tok scanTok) { got = append(got, tok) }); err != nil {
			t.Fatalf("%q: %v", sql, err)
		}
		if len(got) != len(res.Tokens) {
			t.Fatalf("%q: decoded %d tokens; pg_query has %d", sql, len(got), len(res.Tokens))
		}
		for i, want := range res.Tokens {
			if got[i].start != int(want.Start) || got[i].end != int(want.End) || got[i].token != want.Token {
				t.Fatalf("%q token %d: got %+v; want %v", sql, i, got[i], want)
			}
		}
		checkMaxTokens(t, sql)
	}
}

// checkMaxTokens fails t when maxTokens, the guard's shortcut, is not an
// upper bound of the estimate it lets the guard skip.
func checkMaxTokens(t *testing.T, sql string) {
	t.Helper()
	buf, err := parser.ScanToProtobuf(sql)
	if err != nil {
		return
	}
	est, _, err := nestingEstimate(buf)
	if err != nil {
		t.Fatalf("%q: %v", sql, err)
	}
	if n := maxTokens(sql); n < est {
		t.Fatalf("%q: maxTokens %d < estimate %d", sql, n, est)
	}
}
