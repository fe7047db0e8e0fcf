package config

import (
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The route checks of DESIGN §9's gateway keys: host, the keys each backend owns, rewrite and
// header rules.

// backendOnly refuses the keys of another backend than the route's; nothing when the route has
// no single backend (routeBackend reported that).
func (v *validator) backendOnly(p string, r *Route, backend string) {
	if backend == "" {
		return
	}
	refuse := func(key, owner string, set bool) {
		if set {
			v.fail(p+"."+key, "applies to %s routes only, and this route's backend is %s", owner, backend)
		}
	}
	if backend != BackendSQL {
		refuse("result", BackendSQL, r.Result != "")
		refuse("invalidate_on", BackendSQL, len(r.InvalidateOn) > 0)
		refuse("timeout", BackendSQL, r.Timeout != nil)
		refuse("settings", BackendSQL, len(r.Settings) > 0)
		refuse("database", BackendSQL, r.Database != "")
		refuse("coalesce", BackendSQL, r.Coalesce != "")
	}
	if backend != BackendUpstream {
		refuse("rewrite", BackendUpstream, r.Rewrite != nil)
		refuse("host_header", BackendUpstream, r.HostHeader != "")
		refuse("request_headers", BackendUpstream, !r.RequestHeaders.IsZero())
	}
}

func (v *validator) upstreamRoute(p string, r *Route, pathParams map[string]bool) {
	u := v.c.Upstreams[r.Upstream]
	if u == nil {
		have := make([]string, 0, len(v.c.Upstreams))
		for n := range v.c.Upstreams {
			have = append(have, n)
		}
		slices.Sort(have)
		if len(have) == 0 {
			v.fail(p+".upstream", "no upstream named %q (upstreams: none)", r.Upstream)
		} else {
			v.fail(p+".upstream", "no upstream named %q (upstreams: %s)", r.Upstream, strings.Join(have, ", "))
		}
	} else if u.Balance == BalanceHash {
		switch src, name, err := parsePlaceholder(u.HashKey, false); {
		case err != nil: // upstreams() reports it
		case src == SourcePath && !pathParams[name]:
			v.fail(p+".upstream", "upstreams.%s.hash_key %s needs a {%s} segment in the path %q", r.Upstream, u.HashKey, name, r.Path)
		case src == SourceJWT && r.Auth != AuthJWT:
			v.fail(p+".upstream", "upstreams.%s.hash_key %s needs auth: jwt on the route", r.Upstream, u.HashKey)
		}
	}
	if rw := r.Rewrite; rw != nil {
		if rw.Match == "" {
			v.fail(p+".rewrite.match", "required")
		} else if re, err := regexp.Compile(rw.Match); err != nil {
			v.fail(p+".rewrite.match", "not an RE2 regular expression: %v", err)
		} else if msg := checkExpand(re, rw.Replace); msg != "" {
			v.fail(p+".rewrite.replace", "%s, got %q", msg, rw.Replace)
		}
	}
	if h := r.HostHeader; h != "" && !isHostPort(h) {
		v.fail(p+".host_header", "must be host or host:port such as api.internal:8080, got %q", h)
	}
	v.headerRules(p+".request_headers", r, r.RequestHeaders, pathParams, true)
}

// checkExpand returns what is wrong with a rewrite's replacement for re, or "": every $n, ${n}
// and ${name} must name a group of re. It follows regexp.Expand's parsing: $name takes the
// longest run of letters, digits and _, so "$1x" names a group "1x", not group 1 then x.
func checkExpand(re *regexp.Regexp, repl string) string {
	for {
		_, after, ok := strings.Cut(repl, "$")
		if !ok {
			return ""
		}
		repl = after
		if strings.HasPrefix(repl, "$") {
			repl = repl[1:]
			continue
		}
		name := repl
		if strings.HasPrefix(repl, "{") {
			end := strings.IndexByte(repl, '}')
			if end < 0 {
				return "unclosed ${ (write $$ for a dollar sign)"
			}
			name, repl = repl[1:end], repl[end+1:]
		} else {
			end := 0
			for end < len(repl) && (repl[end] == '_' || isAlnum(repl[end])) {
				end++
			}
			name, repl = repl[:end], repl[end:]
		}
		if name == "" {
			return "a $ needs a group number or name after it (write $$ for a dollar sign)"
		}
		if n, err := strconv.Atoi(name); err == nil {
			if n > re.NumSubexp() {
				return "$" + name + " names a group the match does not have (it has " + strconv.Itoa(re.NumSubexp()) + ")"
			}
		} else if re.SubexpIndex(name) < 0 {
			return "$" + name + " names no group of the match (write ${1}x for group 1 followed by x)"
		}
	}
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func (v *validator) staticRoute(p string, r *Route) {
	s := r.Static
	if s.Dir == "" {
		v.fail(p+".static.dir", "required")
	}
	if s.Index != "" && (strings.ContainsAny(s.Index, `/\`) || s.Index == "." || s.Index == "..") {
		v.fail(p+".static.index", "must be a file name such as index.html, got %q", s.Index)
	}
	if !r.IsPrefix() {
		v.fail(p+".path", "a static route serves the files below a prefix: end the path with /*, got %q", r.Path)
	}
}

func (v *validator) mockRoute(p string, r *Route) {
	m := r.Mock
	switch {
	case m.Status < 100 || m.Status > 599:
		v.fail(p+".mock.status", "must be 100 to 599, got %d", m.Status)
	case m.Body != "" && (m.Status < 200 || m.Status == 204 || m.Status == 304):
		// RFC 9110 §6.4.1: these responses end at the headers.
		v.fail(p+".mock.body", "a %d response cannot have a body", m.Status)
	}
	for _, name := range sortedKeys(m.Headers) {
		hp := mapPath(p+".mock.headers", name)
		if msg := checkHeaderName(name, false); msg != "" {
			v.fail(hp, "%s", msg)
		} else if strings.ContainsFunc(m.Headers[name], func(c rune) bool { return c < ' ' && c != '\t' || c == 0x7f }) {
			v.fail(hp, "a header value cannot hold control characters, got %q", m.Headers[name])
		}
	}
}

// headerRules checks request_headers (request true) or response_headers.
func (v *validator) headerRules(path string, r *Route, h HeaderRules, pathParams map[string]bool, request bool) {
	set := make(map[string]string) // lower-case name -> as written, of set
	for _, rule := range []struct {
		key    string
		values map[string]string
	}{{"set", h.Set}, {"add", h.Add}} {
		seen := make(map[string]string)
		for _, name := range sortedKeys(rule.values) {
			hp := mapPath(path+"."+rule.key, name)
			if msg := checkHeaderName(name, request); msg != "" {
				v.fail(hp, "%s", msg)
				continue
			}
			lower := strings.ToLower(name)
			if prev, dup := seen[lower]; dup {
				v.fail(hp, "same header as %q (names are case-insensitive)", prev)
				continue
			}
			seen[lower] = name
			if rule.key == "set" {
				set[lower] = name
			}
			parts, err := ParseTemplate(rule.values[name])
			if err != nil {
				v.fail(hp, "%v", err)
				continue
			}
			for _, part := range parts {
				switch {
				case part.Source == SourcePath && !pathParams[part.Name]:
					v.fail(hp, "{path.%s}: the path %q has no {%s} segment", part.Name, r.Path, part.Name)
				case part.Source == SourceJWT && r.Auth != AuthJWT:
					v.fail(hp, "{jwt.%s} needs auth: jwt on the route", part.Name)
				}
			}
		}
	}
	for j, name := range h.Remove {
		hp := indexPath(path+".remove", j)
		switch {
		case !isToken(name):
			v.fail(hp, "must be a header name, got %q", name)
		case set[strings.ToLower(name)] != "":
			v.fail(hp, "%q is also in set; remove runs first, so drop one of them", name)
		}
	}
}

// hopByHop are the headers a proxy removes both ways (RFC 9110 §7.6.1), plus the two that frame
// the body, which the server computes.
var hopByHop = []string{"connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade", "content-length"}

// checkHeaderName returns what is wrong with setting header name, or "".
func checkHeaderName(name string, request bool) string {
	lower := strings.ToLower(name)
	switch {
	case !isToken(name):
		return "not a header name"
	case slices.Contains(hopByHop, lower) || strings.HasPrefix(lower, "proxy-"):
		return name + " is managed by pgfast (hop-by-hop or body framing) and cannot be set"
	case request && lower == "host":
		return "Host cannot be set here; use the route's host_header"
	}
	return ""
}

// routeHost checks a route's host pattern.
func (v *validator) routeHost(path, h string) {
	switch name := strings.TrimPrefix(h, "*."); {
	case h == "":
	case strings.ToLower(h) != h:
		v.fail(path, "must be lower case, got %q (host names are matched case-insensitively)", h)
	case strings.Contains(h, ":"):
		v.fail(path, "must have no port (a route matches its host on any port), got %q", h)
	case !isHostname(name):
		v.fail(path, "must be a host name such as api.example.com or a wildcard such as *.example.com, got %q", h)
	}
}

// isHostname reports whether s is a lower-case DNS name (RFC 1123 §2.1) or an IPv4 address:
// dot-separated labels of a-z, 0-9 and -, neither starting nor ending with -.
func isHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !(c == '-' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}

// isHostPort reports whether s is host or host:port, the host a name or an IP address.
func isHostPort(s string) bool {
	host := s
	if h, port, err := net.SplitHostPort(s); err == nil {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return false
		}
		host = h
	}
	return net.ParseIP(strings.Trim(host, "[]")) != nil || isHostname(strings.ToLower(host))
}

// sortedKeys returns m's keys in order, so that problems come out the same each run.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
