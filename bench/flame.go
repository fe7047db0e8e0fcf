package bench

import (
	"bufio"
	"errors"
	"fmt"
	"hash/fnv"
	"html"
	"io"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/google/pprof/profile"
)

// Frame is one node of a folded profile: a function on a call path, the
// samples spent in it and below it, and its callees. The root is "all".
type Frame struct {
	Name     string
	Value    int64
	Children []*Frame // by name, after Fold
	index    map[string]*Frame
}

func (f *Frame) child(name string) *Frame {
	if c := f.index[name]; c != nil {
		return c
	}
	if f.index == nil {
		f.index = map[string]*Frame{}
	}
	c := &Frame{Name: name}
	f.index[name] = c
	f.Children = append(f.Children, c)
	return c
}

// Fold merges p's samples into a call tree, root first. Each sample adds
// its value (CPU time for a CPU profile: the "cpu" sample type, else the
// last) to every frame of its stack; inlined calls are frames of their own,
// as pprof shows them.
func Fold(p *profile.Profile) (*Frame, error) {
	if len(p.SampleType) == 0 {
		return nil, errors.New("bench: profile has no sample types")
	}
	vi := len(p.SampleType) - 1
	for i, st := range p.SampleType {
		if st.Type == "cpu" {
			vi = i
		}
	}
	root := &Frame{Name: "all"}
	for _, s := range p.Sample {
		v := s.Value[vi]
		if v == 0 {
			continue
		}
		root.Value += v
		f := root
		// Location[0] is the leaf; within a location the last line is the
		// caller the others were inlined into.
		for i := len(s.Location) - 1; i >= 0; i-- {
			lines := s.Location[i].Line
			if len(lines) == 0 {
				f = f.child(fmt.Sprintf("0x%x", s.Location[i].Address))
				f.Value += v
				continue
			}
			for j := len(lines) - 1; j >= 0; j-- {
				name := "?"
				if fn := lines[j].Function; fn != nil {
					name = fn.Name
				}
				f = f.child(name)
				f.Value += v
			}
		}
	}
	root.sortChildren()
	return root, nil
}

func (f *Frame) sortChildren() {
	f.index = nil
	sort.Slice(f.Children, func(i, j int) bool { return f.Children[i].Name < f.Children[j].Name })
	for _, c := range f.Children {
		c.sortChildren()
	}
}

// Count returns how many frames of the tree hold at least minShare of the
// root's value: the rectangles a flame graph with that threshold draws.
func (f *Frame) Count(minShare float64) int {
	return f.count(float64(f.Value) * minShare)
}

func (f *Frame) count(floor float64) int {
	if float64(f.Value) < floor || f.Value == 0 {
		return 0
	}
	n := 1
	for _, c := range f.Children {
		n += c.count(floor)
	}
	return n
}

// FlameOptions shape a flame graph. The zero value works.
type FlameOptions struct {
	// Title is drawn at the top. Default "CPU flame graph".
	Title string
	// Width is the image width in pixels. Default 1200.
	Width int
	// MinShare hides frames below this share of all samples, to keep the
	// file small. Default 0.002 (0.2%).
	MinShare float64
}

func (o FlameOptions) withDefaults() FlameOptions {
	if o.Title == "" {
		o.Title = "CPU flame graph"
	}
	if o.Width == 0 {
		o.Width = 1200
	}
	if o.MinShare == 0 {
		o.MinShare = 0.002
	}
	return o
}

const (
	frameHeight = 16
	titleHeight = 28
	charWidth   = 7 // of the 12px monospace font, for truncating labels
)

// WriteFlameGraph draws root as an SVG flame graph: one rectangle per frame
// holding at least MinShare of the samples, its width its share, callers
// below callees. Hovering a frame shows its name and share (an SVG title);
// any browser opens the file.
func WriteFlameGraph(w io.Writer, root *Frame, opts FlameOptions) error {
	o := opts.withDefaults()
	if root.Value <= 0 {
		return errors.New("bench: profile has no samples")
	}
	floor := float64(root.Value) * o.MinShare
	depth := root.depth(floor)
	height := titleHeight + depth*frameHeight + 4
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="monospace" font-size="12">`+"\n",
		o.Width, height, o.Width, height)
	fmt.Fprintf(bw, `<text x="%d" y="18" text-anchor="middle" font-size="15">%s</text>`+"\n", o.Width/2, html.EscapeString(o.Title))
	scale := float64(o.Width) / float64(root.Value)
	var draw func(f *Frame, x float64, level int)
	draw = func(f *Frame, x float64, level int) {
		wpx := float64(f.Value) * scale
		y := height - 4 - (level+1)*frameHeight
		share := float64(f.Value) / float64(root.Value) * 100
		name := html.EscapeString(f.Name)
		fmt.Fprintf(bw, `<g><title>%s (%.2f%%)</title><rect x="%.2f" y="%d" width="%.2f" height="%d" fill="%s" rx="2"/>`,
			name, share, x, y, wpx, frameHeight-1, frameColor(f.Name))
		if label := fitLabel(f.Name, wpx); label != "" {
			fmt.Fprintf(bw, `<text x="%.2f" y="%d">%s</text>`, x+3, y+frameHeight-4, html.EscapeString(label))
		}
		bw.WriteString("</g>\n")
		cx := x
		for _, c := range f.Children {
			if float64(c.Value) >= floor {
				draw(c, cx, level+1)
			}
			cx += float64(c.Value) * scale
		}
	}
	draw(root, 0, 0)
	bw.WriteString("</svg>\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("cannot write flame graph: %w", err)
	}
	return nil
}

// depth is the number of levels with a frame of at least floor.
func (f *Frame) depth(floor float64) int {
	if float64(f.Value) < floor {
		return 0
	}
	d := 0
	for _, c := range f.Children {
		d = max(d, c.depth(floor))
	}
	return d + 1
}

// fitLabel returns name cut to the width of a frame, "" when not even a few
// characters fit.
func fitLabel(name string, width float64) string {
	n := int((width - 6) / charWidth)
	switch {
	case n < 3:
		return ""
	case len(name) <= n:
		return name
	}
	cut := n - 2
	for cut > 0 && !utf8.RuneStart(name[cut]) {
		cut--
	}
	return name[:cut] + ".."
}

// frameColor gives a function a stable warm color, so the same function
// looks the same in every graph.
func frameColor(name string) string {
	h := fnv.New32a()
	h.Write([]byte(name))
	v := h.Sum32()
	r := 205 + v%50
	g := 80 + (v>>8)%150
	b := 40 + (v>>16)%50
	return "rgb(" + strconv.Itoa(int(r)) + "," + strconv.Itoa(int(g)) + "," + strconv.Itoa(int(b)) + ")"
}
