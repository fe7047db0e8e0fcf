package config

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The decoder walks a yaml.Node tree against the Go types of the config, tracking the field path,
// so that every problem names its field and line and unknown keys are caught at any depth.
// yaml.v3's KnownFields stops at the first problem and names no path, hence this walker. It
// collects all problems instead of stopping at the first, so one `pgfast check` lists them all.

// maxNodes bounds the nodes one document may expand to, aliases included, so that a small file
// of nested aliases (the "billion laughs" shape) cannot make decoding take unbounded time.
const maxNodes = 1 << 20

// maxErrors bounds the problems one pass reports; past it the rest is noise.
const maxErrors = 100

// decoder holds the state of one decoding pass.
type decoder struct {
	file      string
	errs      []error
	lines     origin              // path -> where the value is written; nil to skip
	budget    int                 // nodes left before maxNodes is hit
	active    map[*yaml.Node]bool // maps being decoded, to refuse a merge key that includes itself
	exhausted bool                // the node budget or the error budget is spent: stop
}

// pathDecoder is implemented by config types whose map forms have keys of their own, so that
// errors inside them carry the full path (routes[0].rate_limit.burst).
type pathDecoder interface {
	decodeAt(d *decoder, n *yaml.Node, path string)
}

// defaulter is implemented by collection elements (a database, an account, a route) whose
// defaults must be in place before the file's values are decoded over them, so that an explicit
// zero (statement_timeout: 0) stays distinguishable from an absent key.
type defaulter interface {
	setDefaults()
}

func newDecoder(file string) *decoder {
	return &decoder{file: file, budget: maxNodes, active: make(map[*yaml.Node]bool)}
}

// err returns all problems found, joined, or nil.
func (d *decoder) err() error { return joinErrors(d.errs) }

// fail records a problem at path, located at n.
func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	if d.exhausted {
		return
	}
	if len(d.errs) == maxErrors {
		d.exhausted = true
		d.errs = append(d.errs, &FieldError{Msg: "too many problems; fix these first"})
		return
	}
	line := 0
	if n != nil {
		line = n.Line
	}
	d.errs = append(d.errs, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...), Line: line, Where: locate(d.file, line)})
}

// mark records where the value at path is written.
func (d *decoder) mark(path string, n *yaml.Node) {
	if d.lines != nil && n.Line > 0 {
		d.lines[path] = locate(d.file, n.Line)
	}
}

// deref follows aliases and charges the node budget; it returns nil, after recording the
// problem, once the budget is spent.
func (d *decoder) deref(n *yaml.Node, path string) *yaml.Node {
	for hops := 0; n.Kind == yaml.AliasNode; hops++ {
		if n.Alias == nil || hops > 1000 {
			d.fail(n, path, "cannot resolve alias *%s", n.Value)
			return nil
		}
		n = n.Alias
	}
	if d.exhausted {
		return nil
	}
	if d.budget--; d.budget < 0 {
		d.fail(n, path, "document expands to more than %d values (too many aliases?)", maxNodes)
		d.exhausted = true
		return nil
	}
	return n
}

// decode decodes n into v and reports whether that added no problem.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) bool {
	before := len(d.errs)
	d.decodeValue(n, v, path)
	return len(d.errs) == before
}

var (
	nodePtrType = reflect.TypeFor[*yaml.Node]()
	configType  = reflect.TypeFor[Config]()
)

func (d *decoder) decodeValue(n *yaml.Node, v reflect.Value, path string) {
	if n = d.deref(n, path); n == nil {
		return
	}
	d.mark(path, n)
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return
		}
		d.decodeValue(n.Content[0], v, path)
		return
	}
	if v.Type() == nodePtrType {
		v.Set(reflect.ValueOf(n))
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == tagNull {
		// null keeps a section's defaults (an empty "server:" line) and clears anything else.
		if v.Kind() != reflect.Struct {
			v.SetZero()
		}
		return
	}
	if v.CanAddr() {
		switch u := v.Addr().Interface().(type) {
		case pathDecoder:
			u.decodeAt(d, n, path)
			return
		case yaml.Unmarshaler:
			if err := u.UnmarshalYAML(n); err != nil {
				d.fail(n, path, "%v", err)
			}
			return
		}
	}
	switch v.Kind() {
	case reflect.Pointer:
		e := newElem(v.Type().Elem())
		d.decodeValue(n, e.Elem(), path)
		v.Set(e)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.Slice:
		d.decodeSlice(n, v, path)
	case reflect.String:
		d.decodeString(n, v, path)
	case reflect.Bool:
		b, ok := false, n.Kind == yaml.ScalarNode
		if ok {
			b, ok = parseBool(n.Value)
		}
		if !ok {
			d.fail(n, path, "must be true or false, got %s", describe(n))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := int64(0), error(nil)
		if n.Kind == yaml.ScalarNode && n.ShortTag() == tagInt {
			i, err = strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
		} else {
			err = strconv.ErrSyntax
		}
		if err != nil || v.OverflowInt(i) {
			d.fail(n, path, "must be an integer, got %s", describe(n))
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		f, err := 0.0, error(strconv.ErrSyntax)
		if n.Kind == yaml.ScalarNode && (n.ShortTag() == tagInt || n.ShortTag() == tagFloat) {
			f, err = strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		}
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.fail(n, path, "must be a number, got %s", describe(n))
			return
		}
		v.SetFloat(f)
	default:
		d.fail(n, path, "BUG: no decoder for %s", v.Type())
	}
}

// newElem returns a pointer to a new t with its defaults set.
func newElem(t reflect.Type) reflect.Value {
	e := reflect.New(t)
	if def, ok := e.Interface().(defaulter); ok {
		def.setDefaults()
	}
	return e
}

func (d *decoder) decodeString(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "must be a string, got %s", describe(n))
		return
	}
	switch n.ShortTag() {
	case tagStr, tagInt, tagFloat, tagTime:
		v.SetString(n.Value)
	case tagBool:
		d.fail(n, path, "must be a string, got boolean %s (quote it to keep the text)", n.Value)
	default:
		d.fail(n, path, "unsupported tag %q", n.Tag)
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "must be a map, got %s", describe(n))
		return
	}
	info := structInfoOf(v.Type())
	d.eachPair(n, path, nil, func(k, val *yaml.Node) {
		p := mapPath(path, k.Value) // known keys are simple; unknown ones get quoted
		i, ok := info.index[k.Value]
		if !ok && path == "" && strings.HasPrefix(k.Value, "x-") && v.Type() == configType {
			return // an extension key at the top, a place for YAML anchors; ignored
		}
		if !ok {
			d.fail(k, p, "unknown key (%s)", info.hint(k.Value))
			return
		}
		d.decodeValue(val, v.Field(i), p)
	})
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "must be a map, got %s", describe(n))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	et := v.Type().Elem()
	d.eachPair(n, path, nil, func(k, val *yaml.Node) {
		key := reflect.ValueOf(k.Value).Convert(v.Type().Key())
		p := mapPath(path, k.Value)
		old := v.MapIndex(key)
		if et.Kind() == reflect.Pointer {
			e := old
			if !e.IsValid() || e.IsNil() {
				e = newElem(et.Elem())
			}
			d.decodeValue(val, e.Elem(), p)
			v.SetMapIndex(key, e)
			return
		}
		e := newElem(et)
		if old.IsValid() {
			e.Elem().Set(old)
		}
		d.decodeValue(val, e.Elem(), p)
		v.SetMapIndex(key, e.Elem())
	})
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.fail(n, path, "must be a list, got %s", describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		e := s.Index(i)
		if def, ok := e.Addr().Interface().(defaulter); ok {
			def.setDefaults()
		}
		d.decodeValue(item, e, indexPath(path, i))
	}
	v.Set(s)
}

// eachPair calls fn for every key of mapping n, merge keys ("<<: *base") expanded: keys written
// in n win over merged ones, and earlier merge sources win over later ones, as YAML's merge key
// type says. Keys in skip are left out. Duplicate and non-scalar keys are problems.
func (d *decoder) eachPair(n *yaml.Node, path string, skip map[string]bool, fn func(k, v *yaml.Node)) {
	if d.active[n] {
		d.fail(n, path, "merge key includes the map it is in")
		return
	}
	d.active[n] = true
	defer delete(d.active, n)

	seen := make(map[string]bool, len(n.Content)/2)
	var merges []*yaml.Node
	keep := make([]bool, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		switch {
		case k.Kind == yaml.ScalarNode && k.ShortTag() == tagMerge:
			merges = append(merges, n.Content[i+1])
		case k.Kind != yaml.ScalarNode:
			d.fail(k, path, "keys must be strings, got %s", describe(k))
		case seen[k.Value]:
			d.fail(k, mapPath(path, k.Value), "duplicate key")
		default:
			seen[k.Value] = true
			keep[i/2] = !skip[k.Value]
		}
	}
	if len(merges) > 0 {
		for s := range skip {
			seen[s] = true
		}
		for _, m := range merges {
			if m = d.deref(m, path); m == nil {
				return
			}
			srcs := []*yaml.Node{m}
			if m.Kind == yaml.SequenceNode {
				srcs = srcs[:0]
				for _, s := range m.Content {
					if s = d.deref(s, path); s == nil {
						return
					}
					srcs = append(srcs, s)
				}
			}
			for _, src := range srcs {
				if src.Kind != yaml.MappingNode {
					d.fail(src, path, "merge key needs a map or a list of maps, got %s", describe(src))
					continue
				}
				d.eachPair(src, path, seen, fn)
				for i := 0; i+1 < len(src.Content); i += 2 {
					seen[src.Content[i].Value] = true
				}
			}
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if keep[i/2] {
			fn(n.Content[i], n.Content[i+1])
		}
	}
}
