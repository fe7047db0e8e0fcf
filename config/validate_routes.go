package config

import (
	"slices"
	"strings"
)

func (v *validator) routes() {
	names := make(map[string]int)
	shapes := make(map[string][]int) // host and path shape -> routes, for conflicts
	for i := range v.c.Routes {
		r := &v.c.Routes[i]
		p := indexPath("routes", i)
		switch prev, dup := names[r.Name]; {
		case r.Name == "":
			v.fail(p+".name", "required")
		case !routeNameRe.MatchString(r.Name):
			v.fail(p+".name", "may hold a-z, 0-9, _ and - only, got %q", r.Name)
		case dup:
			v.fail(p+".name", "duplicate route name %q (also routes[%d])", r.Name, prev)
		default:
			names[r.Name] = i
		}
		backend := v.routeBackend(p, r)
		v.routeHost(p+".host", r.Host)
		v.routeMethods(p, r, backend)
		pathParams, shape, ok := v.routePath(p+".path", r.Path)
		if ok {
			key := r.Host + " " + shape
			v.routeConflict(p, i, shapes[key])
			shapes[key] = append(shapes[key], i)
		}
		if v.enum(p+".auth", r.Auth, AuthNone, AuthToken, AuthJWT) {
			switch {
			case r.Auth == AuthJWT && !v.c.Auth.JWT.Enabled():
				v.fail(p+".auth", "jwt needs auth.jwt (a secret, public_keys or jwks_url)")
			case r.Auth == AuthToken && len(v.c.Accounts) == 0:
				v.fail(p+".auth", "token needs at least one account")
			}
		}
		keys := v.routeParams(p, r, pathParams, backend)
		for j, k := range r.CacheKey {
			if !keys[k] {
				v.fail(indexPath(p+".cache_key", j), "%q is not one of the route's params", k)
			}
		}
		if r.RateLimit != nil {
			v.rateLimit(p+".rate_limit", *r.RateLimit)
		}
		v.headerRules(p+".response_headers", r, r.ResponseHeaders, pathParams, false)
		v.backendOnly(p, r, backend)
		switch backend {
		case BackendSQL:
			v.sqlRoute(p, r)
		case BackendUpstream:
			v.upstreamRoute(p, r, pathParams)
		case BackendStatic:
			v.staticRoute(p, r)
		case BackendMock:
			v.mockRoute(p, r)
		}
		if backend != BackendSQL && backend != "" && r.Cache > 0 && !r.Methods.Has("GET") && !r.Methods.Has("HEAD") {
			v.fail(p+".cache", "only GET and HEAD responses are cached on %s routes, and the route allows %s", backend, r.Methods)
		}
	}
}

// routeBackend checks that the route has exactly one backend and returns it, or "" when it
// has none or several.
func (v *validator) routeBackend(p string, r *Route) string {
	switch b := r.backends(); len(b) {
	case 0:
		v.fail(p, "needs a backend: set one of sql, upstream, static or mock")
	case 1:
		return b[0]
	default:
		v.fail(p, "has %d backends (%s); set exactly one of sql, upstream, static or mock", len(b), strings.Join(b, ", "))
	}
	return ""
}

func (v *validator) sqlRoute(p string, r *Route) {
	if strings.TrimSpace(r.SQL) == "" {
		v.fail(p+".sql", "required")
	}
	v.enum(p+".result", r.Result, ResultOne, ResultMany, ResultValue)
	if r.Coalesce != "" && v.enum(p+".coalesce", r.Coalesce, CoalesceAuto, CoalescePipeline, CoalesceOff) && r.Result == ResultMany && r.Coalesce != CoalesceOff {
		v.fail(p+".coalesce", "must be off for result many: a many result may stream, and a run reads every result whole")
	}
	for j, t := range r.InvalidateOn {
		if !tableRe.MatchString(t) {
			v.fail(indexPath(p+".invalidate_on", j), "must be a table name such as customer or public.customer, got %q", t)
		}
	}
	v.settings(p+".settings", r.Settings)
	v.dbRef(p+".database", r.Database)
}

// Methods each backend allows. CONNECT and TRACE are never routed.
var (
	sqlMethods     = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}
	staticMethods  = []string{"GET", "HEAD"}
	gatewayMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
)

func (v *validator) routeMethods(p string, r *Route, backend string) {
	allowed := gatewayMethods
	switch backend {
	case BackendSQL:
		allowed = sqlMethods
		if r.Methods.Any() {
			v.fail(p+".method", "an sql route needs a method (Load's default is GET)")
		}
	case BackendStatic:
		allowed = staticMethods
	}
	for j, m := range r.Methods {
		mp := p + ".method"
		if len(r.Methods) > 1 {
			mp = indexPath(mp, j)
		}
		if v.enum(mp, m, allowed...) && slices.Index(r.Methods, m) < j {
			v.fail(mp, "duplicate method %q", m)
		}
	}
}

// routeConflict reports the first of the earlier routes prev (same host and path shape) whose
// methods overlap route i's: both would match the same requests.
func (v *validator) routeConflict(p string, i int, prev []int) {
	r := &v.c.Routes[i]
	for _, j := range prev {
		common, overlap := r.Methods.overlap(v.c.Routes[j].Methods)
		if !overlap {
			continue
		}
		what := common.String()
		if common.Any() {
			what = "any method"
		}
		v.fail(p+".path", "%s %s%s is also routes[%d] (%s)", what, r.Host, r.Path, j, v.c.Routes[j].Name)
		return
	}
}

// routePath checks a route path and returns its {param} names and its shape (params blanked)
// for conflict checks; ok is false when the path is unusable.
func (v *validator) routePath(path, s string) (params map[string]bool, shape string, ok bool) {
	if !strings.HasPrefix(s, "/") {
		v.fail(path, "must start with /, got %q", s)
		return nil, "", false
	}
	if slices.Contains(builtinPaths, s) {
		v.fail(path, "%s is served by pgfast itself", s)
		return nil, "", false
	}
	params = make(map[string]bool)
	ok = true
	segs := strings.Split(s[1:], "/")
	for i, seg := range segs {
		switch {
		case s == "/":
		case seg == "":
			v.fail(path, "has an empty segment: %q", s)
			ok = false
		case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}"):
			name := seg[1 : len(seg)-1]
			switch {
			case !identRe.MatchString(name):
				v.fail(path, "param segment %q: want {name} with letters, digits and _", seg)
				ok = false
			case params[name]:
				v.fail(path, "param {%s} appears twice in %q", name, s)
				ok = false
			default:
				params[name] = true
			}
			segs[i] = "{}"
		case seg == "*" && i == len(segs)-1:
			// a prefix: kept as * in the shape, so /a/* and /a/{x} do not conflict
		case strings.Contains(seg, "*"):
			v.fail(path, "segment %q: * is allowed only as the whole last segment, making a prefix such as /api/*", seg)
			ok = false
		case strings.ContainsAny(seg, "{}?# \t%"):
			v.fail(path, "segment %q: a param is a whole segment such as {id}, and ?, #, %% and spaces are not allowed", seg)
			ok = false
		}
	}
	return params, "/" + strings.Join(segs, "/"), ok
}

// routeParams checks a route's params against its path and auth and returns their keys.
func (v *validator) routeParams(p string, r *Route, pathParams map[string]bool, backend string) map[string]bool {
	keys := make(map[string]bool, len(r.Params))
	used := make(map[string]bool)
	for j, prm := range r.Params {
		pp := indexPath(p+".params", j)
		if !isParamSource(prm.Source) {
			v.fail(pp, "unknown source %q in %q (want path, query, header, jwt or body)", prm.Source, prm.Key())
			continue
		}
		if prm.Name == "" {
			v.fail(pp, "%q needs a name after the dot", prm.Key())
			continue
		}
		keys[prm.Key()] = true
		switch prm.Source {
		case SourcePath:
			used[prm.Name] = true
			if pathParams != nil && !pathParams[prm.Name] {
				v.fail(pp, "%s: the path %q has no {%s} segment", prm.Key(), r.Path, prm.Name)
			}
		case SourceJWT:
			if r.Auth != AuthJWT {
				v.fail(pp, "%s: jwt params need auth: jwt on the route", prm.Key())
			}
		case SourceHeader:
			if !isToken(prm.Name) {
				v.fail(pp, "%q: not a header name", prm.Key())
			}
		case SourceBody:
			switch {
			case backend == BackendUpstream:
				v.fail(pp, "%s: body params would hold the request body, which an upstream route streams", prm.Key())
			case !r.Methods.Any() && !slices.ContainsFunc(r.Methods, hasBody):
				v.fail(pp, "%s: body params need a method with a body (POST, PUT, PATCH or DELETE)", prm.Key())
			}
		}
		if prm.Default != nil && prm.Required {
			v.fail(pp, "%s: required and default exclude each other", prm.Key())
		}
		if prm.Max != nil && *prm.Max < 0 {
			v.fail(pp+".max", "must be >= 0, got %d", *prm.Max)
		}
	}
	if backend != BackendSQL {
		return keys // other backends need not name every {param}: matching is reason enough
	}
	names := make([]string, 0, len(pathParams))
	for name := range pathParams {
		if !used[name] {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		v.fail(p+".path", "{%s} is not used by any param (add path.%s to params)", name, name)
	}
	return keys
}

// hasBody reports whether requests of method carry a body.
func hasBody(method string) bool {
	return method != "GET" && method != "HEAD" && method != "OPTIONS"
}
