package engine

import (
	"fmt"
	"strings"
)

// maxPathParams bounds the {param} segments of one route, so a lookup can
// record them in a fixed array instead of allocating.
const maxPathParams = 8

// pathParams holds the values of a matched route's {param} segments as
// sub-slices of the request path: valid until the handler returns.
type pathParams struct {
	n      int
	values [maxPathParams][]byte
}

// Get returns the i-th {param} value, in path order.
func (p *pathParams) Get(i int) []byte { return p.values[i] }

// router maps (method, path) to a value: static segments and {param}
// segments, compiled once when the route table loads. A lookup walks the
// path's segments over a trie whose children are keyed by string; indexing a
// map with string(bytes) does not allocate, so neither does the lookup.
type router[T any] struct {
	root node[T]
}

type node[T any] struct {
	children map[string]*node[T]
	param    *node[T] // a {name} segment; static children win over it
	methods  map[string]T
}

// add registers value for method and pattern ("/customers/{id}"). It returns
// the names of the pattern's {param} segments in order.
func (r *router[T]) add(method, pattern string, value T) ([]string, error) {
	if !strings.HasPrefix(pattern, "/") {
		return nil, fmt.Errorf("path %q must start with /", pattern)
	}
	n := &r.root
	var names []string
	for _, seg := range splitPattern(pattern) {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			name := seg[1 : len(seg)-1]
			if name == "" || strings.ContainsAny(name, "{}/") {
				return nil, fmt.Errorf("path %q: bad parameter segment %q", pattern, seg)
			}
			for _, prev := range names {
				if prev == name {
					return nil, fmt.Errorf("path %q: parameter {%s} appears twice", pattern, name)
				}
			}
			names = append(names, name)
			if len(names) > maxPathParams {
				return nil, fmt.Errorf("path %q: more than %d parameters", pattern, maxPathParams)
			}
			if n.param == nil {
				n.param = &node[T]{}
			}
			n = n.param
			continue
		}
		if strings.ContainsAny(seg, "{}") {
			return nil, fmt.Errorf("path %q: a segment is either static or a whole {param}: %q", pattern, seg)
		}
		if n.children == nil {
			n.children = map[string]*node[T]{}
		}
		child := n.children[seg]
		if child == nil {
			child = &node[T]{}
			n.children[seg] = child
		}
		n = child
	}
	if n.methods == nil {
		n.methods = map[string]T{}
	}
	if _, dup := n.methods[method]; dup {
		return nil, fmt.Errorf("%s %s is declared twice", method, pattern)
	}
	n.methods[method] = value
	return names, nil
}

// splitPattern returns the segments of a path pattern; "/" has none.
func splitPattern(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// lookupResult says what a lookup found: the value, or whether the path
// exists with other methods (405) or not at all (404).
type lookupResult int

const (
	lookupFound lookupResult = iota
	lookupNoPath
	lookupNoMethod
)

// lookup finds method and path. path must be the decoded request path
// without query string; the recorded params are sub-slices of it.
func (r *router[T]) lookup(method, path []byte, params *pathParams) (T, lookupResult) {
	var zero T
	params.n = 0
	n := r.match(&r.root, path, params)
	if n == nil || len(n.methods) == 0 {
		return zero, lookupNoPath
	}
	v, ok := n.methods[string(method)]
	if !ok {
		// HEAD is served by GET, as HTTP says it must be.
		if string(method) == "HEAD" {
			if v, ok = n.methods["GET"]; ok {
				return v, lookupFound
			}
		}
		return zero, lookupNoMethod
	}
	return v, lookupFound
}

// match walks path segment by segment. Static children are preferred; on a
// dead end below a static child it backtracks to the {param} alternative.
func (r *router[T]) match(n *node[T], path []byte, params *pathParams) *node[T] {
	for len(path) > 0 && path[0] == '/' {
		path = path[1:]
	}
	if len(path) == 0 {
		return n
	}
	end := 0
	for end < len(path) && path[end] != '/' {
		end++
	}
	seg, rest := path[:end], path[end:]
	if child := n.children[string(seg)]; child != nil {
		if found := r.match(child, rest, params); found != nil && len(found.methods) > 0 {
			return found
		}
	}
	if n.param != nil && params.n < maxPathParams {
		i := params.n
		params.values[i] = seg
		params.n++
		if found := r.match(n.param, rest, params); found != nil && len(found.methods) > 0 {
			return found
		}
		params.n = i
	}
	return nil
}

// allowed lists the methods a path answers, for the Allow header of a 405.
func (r *router[T]) allowed(path []byte) []string {
	var params pathParams
	n := r.match(&r.root, path, &params)
	if n == nil {
		return nil
	}
	out := make([]string, 0, len(n.methods))
	for m := range n.methods {
		out = append(out, m)
	}
	return out
}
