package sqlclass

import (
	"errors"
	"testing"
)

func TestUnescape(t *testing.T) {
	f := func(raw, want string) {
		t.Helper()
		if got := unescape(raw); got != want {
			t.Fatalf("unescape(%q) = %q; want %q", raw, got, want)
		}
	}
	f("set_config", "set_config")
	f(`a\"b`, `a"b`)
	f(`c\\d`, `c\d`)
	f(`\u0001\n\t\/`, "\x01\n\t/")
	f(`\u00e9\ud83d\ude00`, "é😀")
}

// TestWalkerIsStrict: output the walker cannot fully read is an error,
// never skipped.
func TestWalkerIsStrict(t *testing.T) {
	f := func(js string, want error) {
		t.Helper()
		j := jsonWalker{b: js}
		if _, _, err := j.parseResult(); !errors.Is(err, want) {
			t.Fatalf("%s: got %v; want %v", js, err, want)
		}
	}
	ok := `{"version":170007,"stmts":[{"stmt":{"SelectStmt":{"targetList":[{"ResTarget":{"val":{"A_Const":{"ival":{"ival":1}}}}}],"op":"SETOP_NONE"}}}]}`
	f(ok, nil)
	f(`{"version":170007,"stmts":[{"stmt":{"SelectStmt":{"newField":{}}}}]}`, errUnknown)
	f(`{"version":170007,"stmts":[{"stmt":{"NewStmt":{}}}]}`, errUnknown)
	f(ok[:len(ok)-1], errBadJSON)
	f(ok+"x", errBadJSON)
	f(`{"version":170007,"stmts":[{"stmt":{"SelectStmt":{"op":"SETOP_NONE",}}}]}`, errBadJSON)
	f(`{"version":170007,"stmts":[{"stmt":{"SelectStmt":{"op":"\q"}}}]}`, errBadJSON)
	f(`{"version":17x,"stmts":[]}`, errBadJSON)
	f(`{"version":170007,"stmts":[{"stmt":{"SelectStmt":{"targetList":null}}}]}`, errBadJSON)
}
