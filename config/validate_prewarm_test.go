package config

import (
	"testing"
	"time"
)

func TestValidatePrewarm(t *testing.T) {
	const routes = `
routes:
  - {name: one, path: '/c/{id}', sql: 'SELECT $1::int, $2::int, $3', params: [path.id, query.limit, {from: header.X-Tenant, required: true}], cache: 60s}
  - {name: plain, path: /p, sql: SELECT 1}
  - {name: mocked, path: /m, mock: {body: hi}, cache: 60s}
  - {name: mine, path: /me, sql: SELECT $1, params: [jwt.sub], auth: jwt, cache: 60s}
auth: {jwt: {secret: an-hs256-secret-of-at-least-32-bytes!}}
cache:
  prewarm:
`
	f := func(entries string, want ...string) {
		t.Helper()
		c, err := Parse([]byte(routes+entries), "yaml")
		if len(want) == 0 {
			if err != nil {
				t.Fatalf("%s: got %v; want no error", entries, err)
			}
			if len(c.Cache.Prewarm) == 0 {
				t.Fatalf("%s: got no prewarm entries", entries)
			}
			return
		}
		wantErrs(t, entries, err, want...)
	}
	f("    - {route: one, params: {path.id: 1, query.limit: 10, header.x-tenant: acme}}\n")
	f("    - {route: one, params: {path.id: 1, header.X-Tenant: acme}}\n    - {route: one, params: {path.id: 2, header.X-Tenant: acme}}\n")
	f("    - {params: {path.id: 1}}\n", `config: cache.prewarm[0].route: required: the name of a cached sql route (line 10)`)
	f("    - {route: two}\n", `config: cache.prewarm[0].route: no route named "two" (line 10)`)
	f("    - {route: plain}\n", `config: cache.prewarm[0].route: route "plain" has no cache (set routes[1].cache to a duration); only cached routes can be prewarmed (line 10)`)
	f("    - {route: mocked}\n", `config: cache.prewarm[0].route: route "mocked" is a mock route; only sql routes can be prewarmed (the others key their cache by the whole request) (line 10)`)
	f("    - {route: mine}\n", `config: cache.prewarm[0].route: route "mine" reads jwt.sub, and a prewarm carries no token (line 10)`)
	f("    - {route: one, params: {path.id: 1, header.X-Tenant: a, query.offset: 5, id: 2}}\n",
		`config: cache.prewarm[0].params.id: cannot parse param "id": want SOURCE.NAME such as "path.id" (line 10)`,
		`config: cache.prewarm[0].params["query.offset"]: query.offset is not one of route "one"'s params (path.id, query.limit, header.X-Tenant) (line 10)`)
	f("    - {route: one, params: {query.limit: 10}}\n",
		`config: cache.prewarm[0].params: route "one" needs a value for path.id (line 10)`,
		`config: cache.prewarm[0].params: route "one" needs a value for header.X-Tenant (line 10)`)
	f("    - {route: one, params: {path.id: 1, header.X-Tenant: a}}\n    - {route: one, params: {path.id: '1', header.X-Tenant: a}}\n",
		`config: cache.prewarm[1]: same entry as cache.prewarm[0] (line 11)`)
}

func TestDatabaseLifecycleDefaults(t *testing.T) {
	d := NewDatabase("")
	if d.IdleTimeout.Std() != 30*time.Minute || d.MaxLifetime.Std() != time.Hour || d.HealthCheckPeriod.Std() != time.Minute {
		t.Fatalf("got idle_timeout %s, max_lifetime %s, health_check_period %s; want 30m, 1h, 1m", d.IdleTimeout, d.MaxLifetime, d.HealthCheckPeriod)
	}
	c, err := Parse([]byte("databases:\n  main: {idle_timeout: 0, max_lifetime: 0, health_check_period: 0}\n"), "yaml")
	if err != nil {
		t.Fatal(err)
	}
	if m := c.Databases[MainDatabase]; m.IdleTimeout != 0 || m.MaxLifetime != 0 || m.HealthCheckPeriod != 0 {
		t.Fatalf("got %s, %s, %s; want the explicit zeros (off) kept", m.IdleTimeout, m.MaxLifetime, m.HealthCheckPeriod)
	}
	_, err = Parse([]byte("databases:\n  main: {idle_timeout: -1s, max_lifetime: -1s, health_check_period: -1s}\n"), "yaml")
	wantErrs(t, "negative lifecycle", err,
		`config: databases.main.idle_timeout: must not be negative, got "-1s" (line 2)`,
		`config: databases.main.max_lifetime: must not be negative, got "-1s" (line 2)`,
		`config: databases.main.health_check_period: must not be negative, got "-1s" (line 2)`)
}
