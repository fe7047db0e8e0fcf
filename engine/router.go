package engine

import (
	"fmt"
	"slices"
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

// router maps (host, method, path) to a value, compiled once when the route
// table loads. The most specific route wins (DESIGN §9): an exact host
// before a wildcard host (*.example.com, longest suffix first) before any
// host; within a host, a static segment before a {param} segment before a
// prefix (a pattern ending in /*), and among prefixes the longest. The
// first host whose tree has the path decides, 405 included.
//
// A lookup walks the path's segments over a trie whose children are keyed
// by string; indexing a map with string(bytes) does not allocate, so
// neither does the lookup.
type router[T any] struct {
	hosts map[string]*node[T] // exact hosts
	wild  []wildHost[T]       // *.suffix hosts, longest suffix first
	root  node[T]             // any host
}

type wildHost[T any] struct {
	suffix string // ".example.com"
	tree   *node[T]
}

type node[T any] struct {
	children map[string]*node[T]
	param    *node[T] // a {name} segment; static children win over it
	exact    methodSet[T]
	prefix   methodSet[T] // routes whose pattern ends here with /*
}

// methodSet is what a path answers, by method; anyMethod answers every
// method not listed.
type methodSet[T any] struct {
	byMethod  map[string]T
	anyMethod T
	hasAny    bool
}

func (m *methodSet[T]) empty() bool { return len(m.byMethod) == 0 && !m.hasAny }

func (m *methodSet[T]) get(method []byte) (T, bool) {
	if v, ok := m.byMethod[string(method)]; ok {
		return v, true
	}
	if string(method) == "HEAD" {
		// HEAD is served by GET, as HTTP says it must be.
		if v, ok := m.byMethod["GET"]; ok {
			return v, true
		}
	}
	return m.anyMethod, m.hasAny
}

// add registers value for host ("" any, "api.example.com", "*.example.com"),
// methods (none: any method) and pattern ("/customers/{id}", "/static/*").
// It returns the names of the pattern's {param} segments in order.
func (r *router[T]) add(host string, methods []string, pattern string, value T) ([]string, error) {
	if !strings.HasPrefix(pattern, "/") {
		return nil, fmt.Errorf("path %q must start with /", pattern)
	}
	n := r.tree(host)
	var names []string
	segs := splitPattern(pattern)
	isPrefix := len(segs) > 0 && segs[len(segs)-1] == "*"
	if isPrefix {
		segs = segs[:len(segs)-1]
	}
	for _, seg := range segs {
		var err error
		if n, names, err = n.descend(pattern, seg, names); err != nil {
			return nil, err
		}
	}
	set := &n.exact
	if isPrefix {
		set = &n.prefix
	}
	where := strings.TrimSpace(host + " " + pattern)
	if len(methods) == 0 {
		if set.hasAny {
			return nil, fmt.Errorf("any method on %s is declared twice", where)
		}
		set.anyMethod, set.hasAny = value, true
		return names, nil
	}
	for _, m := range methods {
		if _, dup := set.byMethod[m]; dup {
			return nil, fmt.Errorf("%s %s is declared twice", m, where)
		}
	}
	if set.byMethod == nil {
		set.byMethod = map[string]T{}
	}
	for _, m := range methods {
		set.byMethod[m] = value
	}
	return names, nil
}

// tree returns the trie of a host pattern, creating it.
func (r *router[T]) tree(host string) *node[T] {
	host = strings.ToLower(host)
	switch {
	case host == "":
		return &r.root
	case strings.HasPrefix(host, "*."):
		suffix := host[1:]
		for _, w := range r.wild {
			if w.suffix == suffix {
				return w.tree
			}
		}
		r.wild = append(r.wild, wildHost[T]{suffix: suffix, tree: &node[T]{}})
		slices.SortStableFunc(r.wild, func(a, b wildHost[T]) int { return len(b.suffix) - len(a.suffix) })
		for _, w := range r.wild {
			if w.suffix == suffix {
				return w.tree
			}
		}
	}
	if r.hosts == nil {
		r.hosts = map[string]*node[T]{}
	}
	if r.hosts[host] == nil {
		r.hosts[host] = &node[T]{}
	}
	return r.hosts[host]
}

// descend returns the child of n for one pattern segment, creating it.
func (n *node[T]) descend(pattern, seg string, names []string) (*node[T], []string, error) {
	if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
		name := seg[1 : len(seg)-1]
		if name == "" || strings.ContainsAny(name, "{}/*") {
			return nil, nil, fmt.Errorf("path %q: bad parameter segment %q", pattern, seg)
		}
		if slices.Contains(names, name) {
			return nil, nil, fmt.Errorf("path %q: parameter {%s} appears twice", pattern, name)
		}
		names = append(names, name)
		if len(names) > maxPathParams {
			return nil, nil, fmt.Errorf("path %q: more than %d parameters", pattern, maxPathParams)
		}
		if n.param == nil {
			n.param = &node[T]{}
		}
		return n.param, names, nil
	}
	if strings.ContainsAny(seg, "{}") {
		return nil, nil, fmt.Errorf("path %q: a segment is either static or a whole {param}: %q", pattern, seg)
	}
	if seg == "*" {
		return nil, nil, fmt.Errorf("path %q: * may only end a path (a prefix route)", pattern)
	}
	if n.children == nil {
		n.children = map[string]*node[T]{}
	}
	child := n.children[seg]
	if child == nil {
		child = &node[T]{}
		n.children[seg] = child
	}
	return child, names, nil
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

// maxHostLen is the longest DNS name; longer Host headers match only
// any-host routes.
const maxHostLen = 253

// lookup finds host, method and path. host is the request's Host header
// (a port is ignored, case too); path must be the decoded request path
// without query string; the recorded params are sub-slices of it.
func (r *router[T]) lookup(host, method, path []byte, params *pathParams) (T, lookupResult) {
	var zero T
	set := r.find(host, path, params)
	if set == nil {
		return zero, lookupNoPath
	}
	if v, ok := set.get(method); ok {
		return v, lookupFound
	}
	return zero, lookupNoMethod
}

// find returns the method set of the most specific route for the path.
func (r *router[T]) find(host, path []byte, params *pathParams) *methodSet[T] {
	params.n = 0
	if len(r.hosts) > 0 || len(r.wild) > 0 {
		var buf [maxHostLen]byte
		if h := canonicalHost(buf[:0], host); h != nil {
			if t := r.hosts[string(h)]; t != nil {
				if set := match(t, path, params); set != nil {
					return set
				}
			}
			for _, w := range r.wild {
				if len(h) > len(w.suffix) && string(h[len(h)-len(w.suffix):]) == w.suffix {
					if set := match(w.tree, path, params); set != nil {
						return set
					}
				}
			}
		}
	}
	return match(&r.root, path, params)
}

// canonicalHost appends host without its port, lower-cased; nil when it
// is empty or too long to be a name.
func canonicalHost(dst, host []byte) []byte {
	if i := lastColon(host); i >= 0 {
		host = host[:i]
	}
	if len(host) == 0 || len(host) > cap(dst) {
		return nil
	}
	for _, c := range host {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// lastColon finds the colon before a port (not one inside [IPv6]).
func lastColon(host []byte) int {
	for i := len(host) - 1; i >= 0; i-- {
		switch host[i] {
		case ':':
			return i
		case ']':
			return -1
		}
	}
	return -1
}

// match walks path segment by segment: a static child first, then the
// {param} alternative, and when neither leads anywhere, a prefix route
// ending at this node (so the deepest prefix wins).
func match[T any](n *node[T], path []byte, params *pathParams) *methodSet[T] {
	for len(path) > 0 && path[0] == '/' {
		path = path[1:]
	}
	if len(path) == 0 {
		if !n.exact.empty() {
			return &n.exact
		}
		if !n.prefix.empty() {
			return &n.prefix
		}
		return nil
	}
	end := 0
	for end < len(path) && path[end] != '/' {
		end++
	}
	seg, rest := path[:end], path[end:]
	if child := n.children[string(seg)]; child != nil {
		if set := match(child, rest, params); set != nil {
			return set
		}
	}
	if n.param != nil && params.n < maxPathParams {
		i := params.n
		params.values[i] = seg
		params.n++
		if set := match(n.param, rest, params); set != nil {
			return set
		}
		params.n = i
	}
	if !n.prefix.empty() {
		return &n.prefix
	}
	return nil
}

// allowed lists the methods a path answers, for the Allow header of a 405.
func (r *router[T]) allowed(host, path []byte) []string {
	var params pathParams
	set := r.find(host, path, &params)
	if set == nil {
		return nil
	}
	out := make([]string, 0, len(set.byMethod))
	for m := range set.byMethod {
		out = append(out, m)
	}
	return out
}
