package bench

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"
)

// testProfile builds a CPU profile whose stacks are given leaf last, as
// "main;serve;encode" with a value in nanoseconds. A frame written "a+b"
// is a location where b was inlined into a.
func testProfile(t *testing.T, stacks map[string]int64) *profile.Profile {
	t.Helper()
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:     10_000_000,
	}
	funcs := map[string]*profile.Function{}
	fn := func(name string) *profile.Function {
		if f := funcs[name]; f != nil {
			return f
		}
		f := &profile.Function{ID: uint64(len(funcs) + 1), Name: name, SystemName: name, Filename: name + ".go"}
		funcs[name] = f
		p.Function = append(p.Function, f)
		return f
	}
	locs := map[string]*profile.Location{}
	loc := func(frame string) *profile.Location {
		if l := locs[frame]; l != nil {
			return l
		}
		l := &profile.Location{ID: uint64(len(locs) + 1), Address: uint64(0x1000 + len(locs))}
		names := strings.Split(frame, "+")
		// Line[0] is the innermost inlined function.
		for i := len(names) - 1; i >= 0; i-- {
			l.Line = append(l.Line, profile.Line{Function: fn(names[i]), Line: 1})
		}
		locs[frame] = l
		p.Location = append(p.Location, l)
		return l
	}
	for stack, v := range stacks {
		frames := strings.Split(stack, ";")
		s := &profile.Sample{Value: []int64{v / 10_000_000, v}}
		for i := len(frames) - 1; i >= 0; i-- { // leaf first
			s.Location = append(s.Location, loc(frames[i]))
		}
		p.Sample = append(p.Sample, s)
	}
	// Through the wire format, as pprof serves it.
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := profile.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

var flameStacks = map[string]int64{
	"main;serve;handle;encode":   600_000_000,
	"main;serve;handle;query":    300_000_000,
	"main;serve+parse":           95_000_000, // parse inlined into serve
	"main;gc":                    4_000_000,
	"main;serve;handle;tinyleaf": 1_000_000, // 0.1%: under the default threshold
}

// folded renders a tree as "name=value" lines, indented by depth.
func folded(f *Frame, depth int, b *strings.Builder) {
	b.WriteString(strings.Repeat(" ", depth) + f.Name + "=" + time.Duration(f.Value).String() + "\n")
	for _, c := range f.Children {
		folded(c, depth+1, b)
	}
}

func TestFold(t *testing.T) {
	root, err := Fold(testProfile(t, flameStacks))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	folded(root, 0, &b)
	want := `all=1s
 main=1s
  gc=4ms
  serve=996ms
   handle=901ms
    encode=600ms
    query=300ms
    tinyleaf=1ms
   parse=95ms
`
	if b.String() != want {
		t.Fatalf("got tree\n%s\nwant\n%s", b.String(), want)
	}
	f := func(minShare float64, want int) {
		t.Helper()
		if got := root.Count(minShare); got != want {
			t.Fatalf("Count(%v): got %d; want %d", minShare, got, want)
		}
	}
	f(0, 9)
	f(0.002, 8)  // tinyleaf (0.1%) hidden
	f(0.05, 7)   // gc (0.4%) hidden too
	f(0.5, 5)    // all, main, serve, handle, encode
	f(0.9999, 2) // all, main
	if _, err := Fold(&profile.Profile{}); err == nil {
		t.Fatal("Fold of a profile without sample types: got no error")
	}
}

// svgShape parses an SVG and counts its rects and titles, failing on any
// XML error.
func svgShape(t *testing.T, svg []byte) (rects int, titles []string) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(svg))
	inTitle := false
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return rects, titles
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, svg)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if e.Name.Local == "rect" {
				rects++
			}
			inTitle = e.Name.Local == "title"
		case xml.CharData:
			if inTitle {
				titles = append(titles, string(e))
			}
		case xml.EndElement:
			inTitle = false
		}
	}
}

func TestWriteFlameGraph(t *testing.T) {
	stacks := map[string]int64{}
	for k, v := range flameStacks {
		stacks[k] = v
	}
	// Names that need escaping in XML.
	stacks["main;serve;handle;pkg.(*T[go.shape.int]).m<&>\"'"] = 50_000_000
	root, err := Fold(testProfile(t, stacks))
	if err != nil {
		t.Fatal(err)
	}
	f := func(minShare float64) {
		t.Helper()
		var buf bytes.Buffer
		if err := WriteFlameGraph(&buf, root, FlameOptions{Title: "a <test>", MinShare: minShare}); err != nil {
			t.Fatal(err)
		}
		rects, titles := svgShape(t, buf.Bytes())
		if want := root.Count(minShare); rects != want {
			t.Fatalf("MinShare %v: got %d rects; want %d, one per frame above the threshold", minShare, rects, want)
		}
		if len(titles) != rects {
			t.Fatalf("got %d titles for %d rects; want one each", len(titles), rects)
		}
		if !strings.Contains(strings.Join(titles, "\n"), `pkg.(*T[go.shape.int]).m<&>"' (4.76%)`) {
			t.Fatalf("got titles %q; want the escaped name with its share", titles)
		}
	}
	f(0.002)
	f(0.01)
	f(0.0001)

	if err := WriteFlameGraph(io.Discard, &Frame{Name: "all"}, FlameOptions{}); err == nil {
		t.Fatal("flame graph of an empty profile: got no error")
	}
}

func TestFitLabel(t *testing.T) {
	f := func(name string, width float64, want string) {
		t.Helper()
		if got := fitLabel(name, width); got != want {
			t.Fatalf("fitLabel(%q, %v): got %q; want %q", name, width, got, want)
		}
	}
	f("runtime.mallocgc", 500, "runtime.mallocgc")
	f("runtime.mallocgc", 6+7*8, "runtim..") // 8 characters fit
	f("runtime.mallocgc", 20, "")
	f("héllo.world", 6+7*4, "h..") // never cuts a UTF-8 sequence
}
