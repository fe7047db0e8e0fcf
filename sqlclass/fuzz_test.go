package sqlclass

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// FuzzClassify feeds Classify and Fingerprint arbitrary text: they must not
// panic (or crash inside libpg_query), the byte walker must agree with the
// oracle of walk_ref_test.go, and the results must keep their promises.
func FuzzClassify(f *testing.F) {
	for _, s := range corpusTexts(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		st, err := classify(sql)
		if err == nil && st.Statements > 0 && st.Ops == 0 {
			t.Fatalf("%q: a statement with no operation", sql)
		}
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("%q: error %T, want *SyntaxError", sql, err)
			}
		}
		checkAgainstOracle(t, sql)
		checkFingerprint(t, sql)
		checkMaxTokens(t, sql)
	})
}

// checkFingerprint fails t when Fingerprint leaves a literal (or a comment)
// in the normalized text of sql.
func checkFingerprint(t *testing.T, sql string) {
	t.Helper()
	hash, norm := fingerprint(sql)
	if hash == unparsable {
		if norm != "" {
			t.Fatalf("%q: unparsable with text %q", sql, norm)
		}
		return
	}
	if len(hash) != 16 {
		t.Fatalf("%q: hash %q", sql, hash)
	}
	res, err := pg_query.Scan(norm)
	if err != nil {
		t.Fatalf("%q: normalized text %q does not scan: %v", sql, norm, err)
	}
	for _, tok := range res.Tokens {
		switch tok.Token {
		case pg_query.Token_SCONST, pg_query.Token_USCONST, pg_query.Token_BCONST, pg_query.Token_XCONST,
			pg_query.Token_ICONST, pg_query.Token_FCONST, pg_query.Token_SQL_COMMENT, pg_query.Token_C_COMMENT:
			t.Fatalf("%q: normalized text %q keeps %s %q", sql, norm, tok.Token, norm[tok.Start:tok.End])
		}
	}
}

// corpusTexts returns every seed of testdata/fuzz: the statements the
// differential test runs and the malformed ones FuzzClassify starts from.
func corpusTexts(tb testing.TB) []string {
	tb.Helper()
	var out []string
	for _, dir := range []string{"FuzzDifferential", "FuzzClassify"} {
		files, err := filepath.Glob(filepath.Join("testdata", "fuzz", dir, "*"))
		if err != nil {
			tb.Fatal(err)
		}
		for _, name := range files {
			s, err := readSeed(name)
			if err != nil {
				tb.Fatalf("%s: %v", name, err)
			}
			out = append(out, s)
		}
	}
	if len(out) < 50 {
		tb.Fatalf("only %d seeds in testdata/fuzz", len(out))
	}
	return out
}

// readSeed reads a one-string seed in the "go test fuzz v1" format.
func readSeed(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	if !sc.Scan() || sc.Text() != "go test fuzz v1" {
		return "", errBadSeed
	}
	if !sc.Scan() {
		return "", errBadSeed
	}
	line := sc.Text()
	q, ok := strings.CutPrefix(line, "string(")
	if !ok || !strings.HasSuffix(q, ")") {
		return "", errBadSeed
	}
	s, err := strconv.Unquote(strings.TrimSuffix(q, ")"))
	if err != nil {
		return "", err
	}
	return s, sc.Err()
}

var errBadSeed = &SyntaxError{Message: `seed file is not "go test fuzz v1" with one string`}

// TestSeedsAreValid keeps the seed files readable by go test's fuzzer: one
// string each, valid UTF-8 not required but the format exact.
func TestSeedsAreValid(t *testing.T) {
	texts := corpusTexts(t)
	invalid := 0
	for _, s := range texts {
		if !utf8.ValidString(s) {
			invalid++
		}
	}
	t.Logf("%d seeds (%d not valid UTF-8)", len(texts), invalid)
}
