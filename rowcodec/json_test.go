package rowcodec

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestValidJSON(t *testing.T) {
	f := func(in string, want bool) {
		t.Helper()
		if got := validJSON([]byte(in)); got != want {
			t.Errorf("validJSON(%q): got %v; want %v", in, got, want)
		}
		// encoding/json is the second opinion on syntax (it lets invalid
		// UTF-8 through, which validJSON refuses).
		if std := json.Valid([]byte(in)); std != want && utf8.ValidString(in) {
			t.Errorf("json.Valid(%q) = %v disagrees with the expected %v", in, std, want)
		}
	}
	f(`null`, true)
	f(` {"a": [1, 2.5e-3, -0, true, false, null, "x"]} `, true)
	f(`{"a":1,"a":2}`, true)
	f(`[]`, true)
	f(`{}`, true)
	f(`[[[[]]]]`, true)
	f(`"\u0000\ud83d\ude00\/"`, true)
	f(`"é😀"`, true)
	f(`-0.0E+5`, true)
	f(``, false)
	f(` `, false)
	f(`{`, false)
	f(`[1,]`, false)
	f(`{"a":1,}`, false)
	f(`{"a" 1}`, false)
	f(`{1:1}`, false)
	f(`[1 2]`, false)
	f(`01`, false)
	f(`1.`, false)
	f(`.5`, false)
	f(`1e`, false)
	f(`+1`, false)
	f(`NaN`, false)
	f(`tru`, false)
	f(`"a`, false)
	f("\"tab\there\"", false)
	f(`"\x"`, false)
	f(`"\u12"`, false)
	f(`[}`, false)
	f(`{]`, false)
	f(`1 2`, false)
	f("\"\xff\"", false)
}

func TestValidJSONDepth(t *testing.T) {
	deep := strings.Repeat("[", jsonMaxDepth) + strings.Repeat("]", jsonMaxDepth)
	if !validJSON([]byte(deep)) {
		t.Errorf("validJSON of %d nested arrays: got false; want true", jsonMaxDepth)
	}
	tooDeep := "[" + deep + "]"
	if validJSON([]byte(tooDeep)) {
		t.Errorf("validJSON of %d nested arrays: got true; want false", jsonMaxDepth+1)
	}
}

func TestJSONTypes(t *testing.T) {
	checkDecode(t, appendJSON, []byte(` {"a": [1, 2]} `), ` {"a": [1, 2]} `)
	checkDecodeError(t, appendJSON, []byte(`{"a":`))
	checkDecode(t, appendJSONB, []byte("\x01"+`{"a": 1e400}`), `{"a": 1e400}`)
	checkDecodeError(t, appendJSONB, []byte("\x02{}"))
	checkDecodeError(t, appendJSONB, nil)
	checkDecode(t, appendJSONPath, []byte("\x01$.\"a\""), `"$.\"a\""`)
	checkDecodeError(t, appendJSONPath, []byte("$"))
}

func TestTextFormat(t *testing.T) {
	f := func(dec decoder, in, want string) {
		t.Helper()
		checkDecode(t, dec, []byte(in), want)
	}
	f(appendTextNumber, "12.50", "12.50")
	f(appendTextNumber, "-1e+100", "-1e+100")
	f(appendTextNumber, "NaN", `"NaN"`)
	f(appendTextNumber, "-Infinity", `"-Infinity"`)
	f(appendTextBool, "t", "true")
	f(appendTextBool, "f", "false")
	f(appendTextBool, "maybe", `"maybe"`)
	f(appendTextJSON, `{"a":1}`, `{"a":1}`)
	f(appendTextJSON, `{"a":`, `"{\"a\":"`)
}
