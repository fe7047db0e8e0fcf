package engine

import (
	"fmt"
	"slices"

	"github.com/pgfast/pgfast/config"
)

// headerRules are a route's request_headers or response_headers compiled:
// names in fasthttp's canonical form, values split into literal text and
// {path.X} / {query.X} / {header.X} / {jwt.X} / {ip} / {request_id}
// placeholders resolved per request without allocating.
type headerRules struct {
	set    []headerValue
	add    []headerValue
	remove [][]byte
}

type headerValue struct {
	name  []byte
	parts []valuePart
}

// valuePart is literal text, or one placeholder.
type valuePart struct {
	literal []byte
	kind    placeholder
	name    string // the X of {header.X}, {query.X}, {jwt.X}; canonical for headers
	nameB   []byte
	pathIdx int // {path.X}
}

type placeholder uint8

const (
	phLiteral placeholder = iota
	phPath
	phQuery
	phHeader
	phJWT
	phIP
	phRequestID
)

func (h *headerRules) empty() bool { return h == nil || len(h.set)+len(h.add)+len(h.remove) == 0 }

// compileHeaderRules compiles set, add and remove; pathNames are the
// route's {param} names in order, for {path.X}.
func compileHeaderRules(set, add map[string]string, remove []string, pathNames []string) (*headerRules, error) {
	h := &headerRules{}
	for _, src := range []struct {
		m   map[string]string
		out *[]headerValue
	}{{set, &h.set}, {add, &h.add}} {
		for _, k := range sortedKeys(src.m) {
			parts, err := compileValue(src.m[k], pathNames)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			*src.out = append(*src.out, headerValue{name: []byte(canonicalHeader(k)), parts: parts})
		}
	}
	for _, k := range remove {
		h.remove = append(h.remove, []byte(canonicalHeader(k)))
	}
	return h, nil
}

// compileValue turns a header value template (config.ParseTemplate) into
// parts resolved per request.
func compileValue(v string, pathNames []string) ([]valuePart, error) {
	tps, err := config.ParseTemplate(v)
	if err != nil {
		return nil, err
	}
	parts := make([]valuePart, 0, len(tps))
	for _, tp := range tps {
		p, err := compilePart(tp, pathNames)
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	return parts, nil
}

// compilePart resolves one template part (or a hash key) to its lookup.
func compilePart(tp config.TemplatePart, pathNames []string) (valuePart, error) {
	switch tp.Source {
	case "":
		return valuePart{literal: []byte(tp.Literal)}, nil
	case config.SourceIP:
		return valuePart{kind: phIP}, nil
	case config.SourceRequestID:
		return valuePart{kind: phRequestID}, nil
	case config.SourcePath:
		for i, n := range pathNames {
			if n == tp.Name {
				return valuePart{kind: phPath, pathIdx: i}, nil
			}
		}
		return valuePart{}, fmt.Errorf("{path.%s}: the path has no {%s} segment", tp.Name, tp.Name)
	case config.SourceQuery:
		return valuePart{kind: phQuery, name: tp.Name, nameB: []byte(tp.Name)}, nil
	case config.SourceHeader:
		c := canonicalHeader(tp.Name)
		return valuePart{kind: phHeader, name: c, nameB: []byte(c)}, nil
	case config.SourceJWT:
		return valuePart{kind: phJWT, name: tp.Name}, nil
	}
	return valuePart{}, fmt.Errorf("unknown placeholder source %q", tp.Source)
}

// appendValue resolves parts for r into dst. A placeholder with no value
// (absent header, claim or query arg) resolves to nothing.
func appendValue(dst []byte, r *request, parts []valuePart) []byte {
	for i := range parts {
		p := &parts[i]
		switch p.kind {
		case phLiteral:
			dst = append(dst, p.literal...)
		case phPath:
			if p.pathIdx < r.params.n {
				dst = append(dst, r.params.Get(p.pathIdx)...)
			}
		case phQuery:
			dst = append(dst, r.ctx.QueryArgs().PeekBytes(p.nameB)...)
		case phHeader:
			dst = append(dst, r.ctx.Request.Header.PeekCanonical(p.nameB)...)
		case phJWT:
			if r.claims != nil {
				v, _ := r.claims.Claim(p.name)
				dst = append(dst, v...)
			}
		case phIP:
			dst = append(dst, r.ctx.RemoteIP().String()...)
		case phRequestID:
			dst = append(dst, r.requestID()...)
		}
	}
	return dst
}

// headerEditor is what the rules edit: a request's or a response's headers.
type headerEditor interface {
	DelBytes(key []byte)
	SetCanonical(key, value []byte)
	AddBytesKV(key, value []byte)
}

// apply edits headers for r: remove, then set, then add.
func (h *headerRules) apply(r *request, out headerEditor) {
	for _, k := range h.remove {
		out.DelBytes(k)
	}
	for i := range h.set {
		r.buf = appendValue(r.buf[:0], r, h.set[i].parts)
		out.SetCanonical(h.set[i].name, r.buf)
	}
	for i := range h.add {
		r.buf = appendValue(r.buf[:0], r, h.add[i].parts)
		out.AddBytesKV(h.add[i].name, r.buf)
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
