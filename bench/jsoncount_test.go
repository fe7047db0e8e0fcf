package bench

import "testing"

func TestCountArray(t *testing.T) {
	f := func(in string, want int, wantErr bool) {
		t.Helper()
		got, err := countArray([]byte(in))
		if (err != nil) != wantErr || got != want {
			t.Fatalf("countArray(%q): got %d, %v; want %d, error %v", in, got, err, want, wantErr)
		}
	}
	f(`[]`, 0, false)
	f(` [ ] `, 0, false)
	f(`[1]`, 1, false)
	f(`[1,2,3]`, 3, false)
	f(`[{"a":1,"b":[1,2]},{"a":2}]`, 2, false)
	f(`[{"s":"],[,{\"x\":1},"},{"t":"\\"}]`, 2, false) // brackets, commas and escapes inside strings
	f("[\n {\"a\": 1} ,\n {\"a\": 2}\n]\n", 2, false)
	f(`["a","b"]`, 2, false)
	f(`[[],[]]`, 2, false)
	f(`{"a":1}`, 0, true)
	f(`[{"a":1}`, 0, true)
	f(`[{"a":"1}]`, 0, true)
	f(`[1]]`, 0, true)
	f(`[1] x`, 0, true)
	f(``, 0, true)
}
