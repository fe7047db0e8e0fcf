package config

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// A declared route's parameters and settings, as the config file writes them.

// Param sources a RouteParam may read from.
const (
	SourcePath   = "path"
	SourceQuery  = "query"
	SourceHeader = "header"
	SourceJWT    = "jwt"
	SourceBody   = "body"
)

// RouteParam is one positional parameter ($1, $2, …) of a declared route: "SOURCE.NAME" with
// SOURCE one of path, query, header, jwt (a claim) or body (a top-level JSON field), or the map
// {from: query.limit, default: 10, max: 1000, required: false}.
type RouteParam struct {
	// Source is where the value comes from: path, query, header, jwt or body.
	Source string
	// Name is the path segment, query key, header, claim or body field.
	Name string
	// Default is the raw scalar text used when the value is absent; nil means none (SQL NULL).
	Default *string
	// Max caps a numeric value (a page size, say); nil means no cap.
	Max *int64
	// Required makes an absent value a 400 instead of Default or NULL.
	Required bool
}

// routeParamMap is the map form of RouteParam.
type routeParamMap struct {
	From     string     `yaml:"from"`
	Default  *yaml.Node `yaml:"default"`
	Max      *int64     `yaml:"max"`
	Required bool       `yaml:"required"`
}

// ParseRouteParam parses "SOURCE.NAME".
func ParseRouteParam(s string) (RouteParam, error) {
	src, name, ok := strings.Cut(s, ".")
	if !ok || name == "" || strings.TrimSpace(name) != name {
		return RouteParam{}, fmt.Errorf("cannot parse param %q: want SOURCE.NAME such as \"path.id\"", s)
	}
	if !isParamSource(src) {
		return RouteParam{}, fmt.Errorf("unknown source %q in %q (want path, query, header, jwt or body)", src, s)
	}
	return RouteParam{Source: src, Name: name}, nil
}

func isParamSource(s string) bool {
	switch s {
	case SourcePath, SourceQuery, SourceHeader, SourceJWT, SourceBody:
		return true
	}
	return false
}

// Key returns "SOURCE.NAME", the form cache_key lists.
func (p RouteParam) Key() string { return p.Source + "." + p.Name }

// String renders p as its key plus any default, max and required flag.
func (p RouteParam) String() string {
	s := p.Key()
	if p.Default != nil {
		s += " default " + strconv.Quote(*p.Default)
	}
	if p.Max != nil {
		s += " max " + strconv.FormatInt(*p.Max, 10)
	}
	if p.Required {
		s += " required"
	}
	return s
}

// UnmarshalYAML reads "SOURCE.NAME" or the {from, default, max, required} map.
func (p *RouteParam) UnmarshalYAML(n *yaml.Node) error {
	d := newDecoder("")
	p.decodeAt(d, n, "")
	return d.err()
}

func (p *RouteParam) decodeAt(d *decoder, n *yaml.Node, path string) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == tagStr {
		v, err := ParseRouteParam(n.Value)
		if err != nil {
			d.fail(n, path, "%v", err)
			return
		}
		*p = v
		return
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "must be \"SOURCE.NAME\" or a map with from, default, max, required; got %s", describe(n))
		return
	}
	var m routeParamMap
	if !d.decode(n, valueOf(&m), path) {
		return
	}
	if m.From == "" {
		d.fail(n, joinPath(path, "from"), "required")
		return
	}
	v, err := ParseRouteParam(m.From)
	if err != nil {
		d.fail(n, joinPath(path, "from"), "%v", err)
		return
	}
	v.Max, v.Required = m.Max, m.Required
	if m.Default != nil && m.Default.ShortTag() != tagNull {
		if m.Default.Kind != yaml.ScalarNode {
			d.fail(m.Default, joinPath(path, "default"), "must be a scalar, got a %s", kindName(m.Default))
			return
		}
		def := m.Default.Value
		v.Default = &def
	}
	*p = v
}

// Settings are PostgreSQL run-time settings (work_mem, random_page_cost, TimeZone, …) applied to
// a database's connections or with SET LOCAL for one route. Any YAML scalar is accepted and
// kept as written ("64MB", "1.1"); booleans become "on" and "off" as PostgreSQL prints them.
type Settings map[string]string

// UnmarshalYAML reads a map of scalars.
func (s *Settings) UnmarshalYAML(n *yaml.Node) error {
	d := newDecoder("")
	s.decodeAt(d, n, "")
	return d.err()
}

func (s *Settings) decodeAt(d *decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "must be a map of setting names to values, got %s", describe(n))
		return
	}
	out := make(Settings, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], d.deref(n.Content[i+1], path)
		if v == nil {
			return
		}
		if k.Kind != yaml.ScalarNode {
			d.fail(k, path, "setting names must be strings, got a %s", kindName(k))
			continue
		}
		p := mapPath(path, k.Value)
		d.mark(p, v)
		if _, dup := out[k.Value]; dup {
			d.fail(k, p, "duplicate key")
			continue
		}
		if v.Kind != yaml.ScalarNode || v.ShortTag() == tagNull {
			d.fail(v, p, "must be a scalar value, got %s", describe(v))
			continue
		}
		val := v.Value
		if v.ShortTag() == tagBool {
			val = "off"
			if b, _ := parseBool(v.Value); b {
				val = "on"
			}
		}
		out[k.Value] = val
	}
	*s = out
}
