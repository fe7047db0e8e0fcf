package engine

import (
	"reflect"
	"strings"
	"testing"

	json "github.com/goccy/go-json"
)

// decodeAsBefore decodes a /v1/query body the way serveQuery did before
// its runs were pooled: a Decoder with UseNumber into []any params.
func decodeAsBefore(body string) (q struct {
	Query    string `json:"query"`
	Params   []any  `json:"params"`
	Database string `json:"database"`
	Format   string `json:"format"`
}, err error,
) {
	err = decodeJSON([]byte(body), &q)
	return q, err
}

// TestQueryDecodeUnchanged: the pooled run decodes every body to what the
// decoder of old gave (the same values, nil params when there are none)
// and refuses the same bodies with the same message. Each body is decoded
// twice by one run, after a body with other params, so that memory left
// by an earlier request cannot leak into the next.
func TestQueryDecodeUnchanged(t *testing.T) {
	run := acquireQueryRun(nil, nil)
	f := func(body string) {
		t.Helper()
		want, wantErr := decodeAsBefore(body)
		for range 2 {
			if err := run.decode([]byte(`{"query":"x","params":["left","over",{"a":1},7,8,9],"format":"array"}`)); err != nil {
				t.Fatal(err)
			}
			releaseQueryRun(run)
			run = acquireQueryRun(nil, nil)
			err := run.decode([]byte(body))
			switch {
			case (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error():
				t.Errorf("%s: got error %v; want %v", body, err, wantErr)
			case err == nil && (run.q.Query != want.Query || run.q.Database != want.Database || run.q.Format != want.Format):
				t.Errorf("%s: got %q %q %q; want %q %q %q", body, run.q.Query, run.q.Database, run.q.Format, want.Query, want.Database, want.Format)
			case err == nil && !reflect.DeepEqual(run.args(), want.Params):
				t.Errorf("%s: got params %#v; want %#v", body, run.args(), want.Params)
			}
			releaseQueryRun(run)
			run = acquireQueryRun(nil, nil)
		}
	}
	f(`{"query":"SELECT 1"}`)
	f(`{"query":"SELECT 1","params":null}`)
	f(`{"query":"SELECT 1","params":[]}`)
	f(`{"query":"SELECT $1","params":[1]}`)
	f(`{"query":"SELECT $1","params":[-0.5e+10, 12345678901234567890123, 0]}`)
	f(`{"query":"q","params":[null, true, false, "", "plain", "tab\tescaped", "\u00e9t\u00e9", "quote\"d", "é"]}`)
	f("{\"query\":\"q\",\"params\":[\"bad \xff utf8\"]}")
	f(`{"query":"q","params":[[1,"a",[null]], {"k":{"n":2.50}}, []]}`)
	f(`{"params":[1],"query":"SELECT \"x\"","database":"main","format":"object","unknown":[1,{}]}`)
	f(`{"QUERY":"case","Params":[1]}`)
	f(`{"query":"a","query":"b"}`)
	f(`null`)
	f(`{}`)
	f(`{"query":"q","params":[2]}}`) // the Decoder stops after the object; found by FuzzQueryDecode
	f(`{"query":"q","params":[` + strings.Repeat(`"p",`, 100) + `1]}`)
	// refused
	f(``)
	f(`   `)
	f(`not json`)
	f(`{"query":"q"} {"query":"again"}`)
	f(`{"query":"q"} x`)
	f(`{"query":5}`)
	f(`{"query":"q","params":"x"}`)
	f(`{"query":"q","params":[01]}`)
	f(`{"query":"q","params":[1.]}`)
	f("{\"query\":\"q\",\"params\":[\"ctl \x01\"]}")
	f(`{"query":"q","params":["\x"]}`)
	f(`{"query":"q","params":[tru]}`)
	f(`{"query":"q","params":[1,]}`)
	f(`{"query":"q",}`)
	f(`[1]`)
	releaseQueryRun(run)
}

// TestParamValueViews: numbers and plain strings are views of the raw
// bytes (no copy), the rest decoded copies; both read as the old values.
func TestParamValueViews(t *testing.T) {
	f := func(raw string, want any) {
		t.Helper()
		got, err := paramValue([]byte(raw))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %#v, %v; want %#v", raw, got, err, want)
		}
	}
	f(`12`, json.Number("12"))
	f(`-1.5e3`, json.Number("-1.5e3"))
	f(`"abc"`, "abc")
	f(`"a\nb"`, "a\nb")
	f(`"\ud83d\ude00"`, "😀")
	f(`null`, nil)
	f(`true`, true)
	f(`[1,"x"]`, []any{json.Number("1"), "x"})
	if _, err := paramValue(nil); err == nil {
		t.Errorf("an empty raw param: got no error")
	}
}

// FuzzQueryDecode: for any body, the pooled run and the decoder of old
// agree: the same error text, or the same query, fields and params.
func FuzzQueryDecode(f *testing.F) {
	for _, s := range []string{
		`{"query":"SELECT $1","params":[1, -2.5e3, "s", "\u00e9\n", null, true, [1,{"a":"b"}]]}`,
		`{"query":"q","params":[]}`, `{"query":"q","params":null}`, `{"query":"q"} x`, `{"query":5}`,
		`{"query":"q","params":[01]}`, "{\"query\":\"q\",\"params\":[\"\xff\"]}", `null`, ``, `{}}`,
	} {
		f.Add(s)
	}
	run := acquireQueryRun(nil, nil)
	f.Fuzz(func(t *testing.T, body string) {
		want, wantErr := decodeAsBefore(body)
		err := run.decode([]byte(body))
		defer func() {
			releaseQueryRun(run)
			run = acquireQueryRun(nil, nil)
		}()
		if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
			t.Fatalf("%q: got error %v; want %v", body, err, wantErr)
		}
		if err == nil && (run.q.Query != want.Query || run.q.Database != want.Database || run.q.Format != want.Format ||
			!reflect.DeepEqual(run.args(), want.Params)) {
			t.Fatalf("%q: got %q %#v; want %q %#v", body, run.q.Query, run.args(), want.Query, want.Params)
		}
	})
}
