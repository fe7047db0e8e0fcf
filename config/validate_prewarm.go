package config

import (
	"slices"
	"strings"
)

// prewarm checks cache.prewarm against the route table: each entry names a cached sql route
// and gives values for that route's params only, including every param a request cannot
// leave out.
func (v *validator) prewarm() {
	seen := make(map[string]int)
	for i, pw := range v.c.Cache.Prewarm {
		p := indexPath("cache.prewarm", i)
		if pw.Route == "" {
			v.fail(p+".route", "required: the name of a cached sql route")
			continue
		}
		j := slices.IndexFunc(v.c.Routes, func(r Route) bool { return r.Name == pw.Route })
		if j < 0 {
			v.fail(p+".route", "no route named %q", pw.Route)
			continue
		}
		r := &v.c.Routes[j]
		rp := indexPath("routes", j)
		switch b := r.Backend(); {
		case r.Cache <= 0:
			v.fail(p+".route", "route %q has no cache (set %s.cache to a duration); only cached routes can be prewarmed", pw.Route, rp)
			continue
		case b != BackendSQL:
			v.fail(p+".route", "route %q is a %s route; only sql routes can be prewarmed (the others key their cache by the whole request)", pw.Route, b)
			continue
		}
		if k := slices.IndexFunc(r.Params, func(prm RouteParam) bool { return prm.Source == SourceJWT }); k >= 0 {
			v.fail(p+".route", "route %q reads %s, and a prewarm carries no token", pw.Route, r.Params[k].Key())
			continue
		}
		keys := make([]string, 0, len(pw.Params))
		for k := range pw.Params {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		given := make(map[int]bool, len(keys))
		for _, k := range keys {
			kp := mapPath(p+".params", k)
			prm, err := ParseRouteParam(k)
			if err != nil {
				v.fail(kp, "%v", err)
				continue
			}
			n := prewarmParam(r.Params, prm)
			if n < 0 {
				v.fail(kp, "%s is not one of route %q's params (%s)", k, pw.Route, paramKeys(r.Params))
				continue
			}
			given[n] = true
		}
		for n, prm := range r.Params {
			if !given[n] && (prm.Required || prm.Source == SourcePath) {
				v.fail(p+".params", "route %q needs a value for %s", pw.Route, prm.Key())
			}
		}
		id := pw.Route
		for _, k := range keys {
			id += "\x00" + k + "=" + pw.Params[k]
		}
		if prev, dup := seen[id]; dup {
			v.fail(p, "same entry as cache.prewarm[%d]", prev)
		} else {
			seen[id] = i
		}
	}
}

// prewarmParam returns the index of the route param that a prewarm's key names, or -1.
// Header names compare case-insensitively, as HTTP does.
func prewarmParam(params []RouteParam, key RouteParam) int {
	return slices.IndexFunc(params, func(prm RouteParam) bool {
		if prm.Source != key.Source {
			return false
		}
		if prm.Source == SourceHeader {
			return strings.EqualFold(prm.Name, key.Name)
		}
		return prm.Name == key.Name
	})
}

// paramKeys lists params as written in a route ("path.id, query.limit"), or "none".
func paramKeys(params []RouteParam) string {
	if len(params) == 0 {
		return "none"
	}
	keys := make([]string, len(params))
	for i, prm := range params {
		keys[i] = prm.Key()
	}
	return strings.Join(keys, ", ")
}
