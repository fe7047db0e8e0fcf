package config

import (
	"fmt"
	"testing"
)

func TestValidateGatewayRoutes(t *testing.T) {
	f := func(src string, want ...string) {
		t.Helper()
		c, err := Parse([]byte(src), "yaml")
		if c != nil {
			t.Fatalf("%q: got a config with the error", src)
		}
		wantErrs(t, src, err, want...)
	}
	const (
		ups  = "upstreams:\n  u: {targets: [{url: 'http://h:1'}]}\n"
		jwt  = "auth: {jwt: {secret: env:JWT_SECRET}}\n"
		up   = ups + "routes:\n  - {name: a, path: '/a/*', upstream: u"
		mock = "routes:\n  - {name: a, path: /a, mock: {}"
	)

	// One backend, exactly.
	f("routes:\n  - {name: a, path: /a, sql: x, upstream: u, mock: {}}\n",
		`config: routes[0]: has 3 backends (sql, upstream, mock); set exactly one of sql, upstream, static or mock (line 2)`)
	f("routes:\n  - {name: a, path: /a, static: {dir: d}, mock: {status: 204}}\n",
		`config: routes[0]: has 2 backends (static, mock); set exactly one of sql, upstream, static or mock (line 2)`)
	f("routes:\n  - {name: a, path: /a, upstream: nope}\n", `config: routes[0].upstream: no upstream named "nope" (upstreams: none) (line 2)`)
	f(ups+"  v: {targets: [{url: 'http://h:2'}]}\nroutes:\n  - {name: a, path: /a, upstream: w}\n",
		`config: routes[0].upstream: no upstream named "w" (upstreams: u, v) (line 5)`)

	// A hash key from the path or a token needs it on every route of the upstream.
	const hash = "upstreams:\n  u: {targets: [{url: 'http://h:1'}], balance: hash, hash_key: %s}\n" + jwt + "routes:\n  - {name: a, path: '%s', upstream: u}\n"
	f(fmt.Sprintf(hash, "path.tenant", "/t/{id}/*"), `config: routes[0].upstream: upstreams.u.hash_key path.tenant needs a {tenant} segment in the path "/t/{id}/*" (line 5)`)
	f(fmt.Sprintf(hash, "jwt.sub", "/t/*"), `config: routes[0].upstream: upstreams.u.hash_key jwt.sub needs auth: jwt on the route (line 5)`)
	if _, err := Parse([]byte(fmt.Sprintf(hash, "path.tenant", "/t/{tenant}/*")), "yaml"); err != nil {
		t.Errorf("hash on a path param the route has: unexpected error: %v", err)
	}

	// Keys of another backend.
	f(up+", result: many, invalidate_on: [t], timeout: 1s, settings: {work_mem: 1MB}, database: main}\n",
		`config: routes[0].result: applies to sql routes only, and this route's backend is upstream (line 4)`,
		`config: routes[0].invalidate_on: applies to sql routes only, and this route's backend is upstream (line 4)`,
		`config: routes[0].timeout: applies to sql routes only, and this route's backend is upstream (line 4)`,
		`config: routes[0].settings: applies to sql routes only, and this route's backend is upstream (line 4)`,
		`config: routes[0].database: applies to sql routes only, and this route's backend is upstream (line 4)`)
	f("routes:\n  - {name: a, path: /a, sql: x, rewrite: {match: a}, host_header: h, request_headers: {remove: [Cookie]}}\n",
		`config: routes[0].rewrite: applies to upstream routes only, and this route's backend is sql (line 2)`,
		`config: routes[0].host_header: applies to upstream routes only, and this route's backend is sql (line 2)`,
		`config: routes[0].request_headers: applies to upstream routes only, and this route's backend is sql (line 2)`)
	f(mock+", timeout: 0}\n", `config: routes[0].timeout: applies to sql routes only, and this route's backend is mock (line 2)`)
	f(mock+", coalesce: off}\n", `config: routes[0].coalesce: applies to sql routes only, and this route's backend is mock (line 2)`)
	f("routes:\n  - {name: a, path: /a, sql: x, result: many, coalesce: pipeline}\n",
		`config: routes[0].coalesce: must be off for result many: a many result may stream, and a run reads every result whole (line 2)`)
	f("routes:\n  - {name: a, path: /a, sql: x, coalesce: yes}\n",
		`config: routes[0].coalesce: must be one of auto, pipeline, off; got "yes" (line 2)`)
	for _, ok := range []string{"result: many, coalesce: off", "result: many", "result: one, coalesce: pipeline", "result: value, coalesce: off", "coalesce: auto"} {
		if _, err := Parse([]byte("routes:\n  - {name: a, path: /a, sql: x, "+ok+"}\n"), "yaml"); err != nil {
			t.Errorf("%s: unexpected error: %v", ok, err)
		}
	}

	// host
	f(mock+", host: API.example.com}\n", `config: routes[0].host: must be lower case, got "API.example.com" (host names are matched case-insensitively) (line 2)`)
	f(mock+", host: 'api.example.com:8443'}\n", `config: routes[0].host: must have no port (a route matches its host on any port), got "api.example.com:8443" (line 2)`)
	for _, h := range []string{"api..example.com", "api.example.com.", "*", "*.", "a.*.example.com", "-a.example.com", "api_x.example.com", "**.example.com"} {
		f(mock+", host: '"+h+"'}\n", `config: routes[0].host: must be a host name such as api.example.com or a wildcard such as *.example.com, got "`+h+`" (line 2)`)
	}

	// method
	f(mock+", method: [GET, FETCH, GET]}\n",
		`config: routes[0].method[1]: must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS; got "FETCH" (line 2)`,
		`config: routes[0].method[2]: duplicate method "GET" (line 2)`)
	f(mock+", method: get}\n", `config: routes[0].method: must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS; got "get" (line 2)`)
	f(mock+", method: {GET: 1}}\n", `config: routes[0].method: must be a method such as GET or a list such as [GET, POST], got a map (line 2)`)
	f(mock+", method: [[GET]]}\n", `config: routes[0].method[0]: must be a string, got a list (line 2)`)
	f("routes:\n  - {name: a, path: /a, sql: x, method: HEAD}\n", `config: routes[0].method: must be one of GET, POST, PUT, PATCH, DELETE; got "HEAD" (line 2)`)
	f("routes:\n  - {name: a, path: /a/*, static: {dir: d}, method: [GET, POST]}\n", `config: routes[0].method[1]: must be one of GET, HEAD; got "POST" (line 2)`)

	// Prefix paths.
	for path, seg := range map[string]string{"/a/*/b": "*", "/a*": "a*", "/a/b*": "b*", "/*/{id}": "*"} {
		f("routes:\n  - {name: a, mock: {}, path: '"+path+"'}\n", `config: routes[0].path: segment "`+seg+`": * is allowed only as the whole last segment, making a prefix such as /api/* (line 2)`)
	}

	// Routes matching the same requests: same host pattern, same path shape, a method in common.
	const two = "routes:\n  - {name: a, path: '/c/{id}', mock: {}%s}\n  - {name: b, path: '/c/{key}', mock: {}%s}\n"
	conflict := func(a, b, msg string) {
		t.Helper()
		f(fmt.Sprintf(two, a, b), `config: routes[1].path: `+msg+` is also routes[0] (a) (line 3)`)
	}
	conflict("", "", "any method /c/{key}")
	conflict(", method: [GET, POST]", "", "GET,POST /c/{key}")
	conflict(", method: [GET, POST]", ", method: [PUT, POST]", "POST /c/{key}")
	conflict(", host: api.example.com", ", host: api.example.com, method: DELETE", "DELETE api.example.com/c/{key}")
	conflict(", host: '*.example.com'", ", host: '*.example.com'", "any method *.example.com/c/{key}")
	f("routes:\n  - {name: a, path: '/c/*', mock: {}}\n  - {name: b, path: '/c/*', upstream: u}\n"+ups,
		`config: routes[1].path: any method /c/* is also routes[0] (a) (line 3)`)
	for _, ok := range [][2]string{
		{", method: GET", ", method: POST"},                         // no method in common
		{", host: api.example.com", ", host: '*.example.com'"},      // exact and wildcard differ
		{", host: api.example.com", ""},                             // a host and any host differ
		{", host: a.example.com", ", host: b.example.com"},          // different hosts
		{", method: [GET, HEAD]", ", method: [POST, PUT, OPTIONS]"}, // disjoint lists
	} {
		if _, err := Parse([]byte(fmt.Sprintf(two, ok[0], ok[1])), "yaml"); err != nil {
			t.Errorf("%s / %s: unexpected error: %v", ok[0], ok[1], err)
		}
	}
	if _, err := Parse([]byte("routes:\n  - {name: a, path: '/c/*', mock: {}}\n  - {name: b, path: '/c/{id}', mock: {}}\n  - {name: c, path: /c/x, mock: {}}\n"), "yaml"); err != nil {
		t.Errorf("a prefix, a param path and an exact path: unexpected error: %v", err)
	}

	// Params and cache on other backends.
	f(up+", method: POST, params: [body.name]}\n",
		`config: routes[0].params[0]: body.name: body params would hold the request body, which an upstream route streams (line 4)`)
	f(mock+", method: [GET, HEAD], params: [body.name]}\n",
		`config: routes[0].params[0]: body.name: body params need a method with a body (POST, PUT, PATCH or DELETE) (line 2)`)
	f(mock+", params: [query.q], cache_key: [query.x]}\n", `config: routes[0].cache_key[0]: "query.x" is not one of the route's params (line 2)`)
	f(up+", method: [POST, PUT], cache: 10s}\n",
		`config: routes[0].cache: only GET and HEAD responses are cached on upstream routes, and the route allows POST,PUT (line 4)`)

	// rewrite and host_header
	f(up+", rewrite: {replace: /x}}\n", `config: routes[0].rewrite.match: required (line 4)`)
	f(up+", rewrite: {match: '^/a/(.*'}}\n", "config: routes[0].rewrite.match: not an RE2 regular expression: error parsing regexp: missing closing ): `^/a/(.*` (line 4)")
	f(up+", rewrite: {match: '^/a/(?=x)'}}\n", "config: routes[0].rewrite.match: not an RE2 regular expression: error parsing regexp: invalid or unsupported Perl syntax: `(?=` (line 4)")
	for repl, msg := range map[string]string{
		"/v2/$2":        "$2 names a group the match does not have (it has 1)",
		"/v2/$1x":       "$1x names no group of the match (write ${1}x for group 1 followed by x)",
		"/v2/${rest}":   "$rest names no group of the match (write ${1}x for group 1 followed by x)",
		"/v2/${1":       "unclosed ${ (write $$ for a dollar sign)",
		"/v2/$-":        "a $ needs a group number or name after it (write $$ for a dollar sign)",
		"/v2/$1/$name/": "$name names no group of the match (write ${1}x for group 1 followed by x)",
	} {
		f(up+", rewrite: {match: '^/a/(.*)$', replace: '"+repl+"'}}\n", `config: routes[0].rewrite.replace: `+msg+`, got "`+repl+`" (line 4)`)
	}
	for _, repl := range []string{"/v2/$1", "/v2/${1}x", "/v2/${rest}/$rest", "$$1", ""} {
		if _, err := Parse([]byte(up+", rewrite: {match: '^/a/(?P<rest>.*)$', replace: '"+repl+"'}}\n"), "yaml"); err != nil {
			t.Errorf("replace %q: unexpected error: %v", repl, err)
		}
	}
	f(up+", host_header: 'api internal'}\n", `config: routes[0].host_header: must be host or host:port such as api.internal:8080, got "api internal" (line 4)`)
	f(up+", host_header: 'api.internal:0'}\n", `config: routes[0].host_header: must be host or host:port such as api.internal:8080, got "api.internal:0" (line 4)`)

	// Header rules and their placeholders.
	f(jwt+up+", auth: jwt, request_headers: {set: {X-User: '{jwt.sub}', X-Id: '{path.id}', X-Q: '{query.q} {header.X-A} {ip} {request_id}'}}}\n",
		`config: routes[0].request_headers.set.X-Id: {path.id}: the path "/a/*" has no {id} segment (line 5)`)
	f(up+", request_headers: {add: {X-User: 'user {jwt.sub}'}}}\n",
		`config: routes[0].request_headers.add.X-User: {jwt.sub} needs auth: jwt on the route (line 4)`)
	f(up+", request_headers: {set: {X-A: '{cookie.sid}', X-B: '{path.}', X-C: '{header.X Y}', X-D: '{ip', X-E: 'a}b', X-F: '{IP}'}}}\n",
		`config: routes[0].request_headers.set.X-A: unknown placeholder "cookie.sid" (want {path.X}, {query.X}, {header.X}, {jwt.X}, {ip} or {request_id}) (line 4)`,
		`config: routes[0].request_headers.set.X-B: "path." needs a name after the dot, such as path.id (line 4)`,
		`config: routes[0].request_headers.set.X-C: "header.X Y": not a header name (line 4)`,
		`config: routes[0].request_headers.set.X-D: unclosed { at byte 0 of "{ip" (write {{ for a literal brace) (line 4)`,
		`config: routes[0].request_headers.set.X-E: stray } at byte 1 of "a}b" (write }} for a literal brace) (line 4)`,
		`config: routes[0].request_headers.set.X-F: unknown placeholder "IP" (want {path.X}, {query.X}, {header.X}, {jwt.X}, {ip} or {request_id}) (line 4)`)
	f(up+", request_headers: {set: {Host: h, Connection: close, Proxy-Authorization: x, 'X Y': z, x-a: 1, X-A: 2}, add: {Content-Length: '3'}}}\n",
		`config: routes[0].request_headers.set.Connection: Connection is managed by pgfast (hop-by-hop or body framing) and cannot be set (line 4)`,
		`config: routes[0].request_headers.set.Host: Host cannot be set here; use the route's host_header (line 4)`,
		`config: routes[0].request_headers.set.Proxy-Authorization: Proxy-Authorization is managed by pgfast (hop-by-hop or body framing) and cannot be set (line 4)`,
		`config: routes[0].request_headers.set["X Y"]: not a header name (line 4)`,
		`config: routes[0].request_headers.set.x-a: same header as "X-A" (names are case-insensitive) (line 4)`,
		`config: routes[0].request_headers.add.Content-Length: Content-Length is managed by pgfast (hop-by-hop or body framing) and cannot be set (line 4)`)
	f(up+", request_headers: {set: {X-A: \"a\\nb\"}, remove: [x-a, 'X:Y']}}\n",
		`config: routes[0].request_headers.set.X-A: a header value cannot hold control characters, got "a\nb" (line 4)`,
		`config: routes[0].request_headers.remove[0]: "x-a" is also in set; remove runs first, so drop one of them (line 4)`,
		`config: routes[0].request_headers.remove[1]: must be a header name, got "X:Y" (line 4)`)
	f(up+", request_headers: {sett: {}}}\n", `config: routes[0].request_headers.sett: unknown key (did you mean "set"? known keys: set, add, remove) (line 4)`)
	f(up+", request_headers: {set: {X-A: true}}}\n", `config: routes[0].request_headers.set.X-A: must be a string, got boolean true (quote it to keep the text) (line 4)`)
	f("routes:\n  - {name: a, path: '/a/{id}', static: {dir: d}, response_headers: {set: {X-Id: '{path.id}', X-U: '{jwt.sub}'}}}\n",
		`config: routes[0].response_headers.set.X-U: {jwt.sub} needs auth: jwt on the route (line 2)`,
		`config: routes[0].path: a static route serves the files below a prefix: end the path with /*, got "/a/{id}" (line 2)`)

	// static
	f("routes:\n  - {name: a, path: /a/*, static: {}}\n", `config: routes[0].static.dir: required (line 2)`)
	f("routes:\n  - {name: a, path: /a/*, static: {dir: d, index: ../secret}}\n", `config: routes[0].static.index: must be a file name such as index.html, got "../secret" (line 2)`)
	f("routes:\n  - {name: a, path: /a/*, static: {dir: d, max_age: -1s}}\n", `config: routes[0].static.max_age: must not be negative, got "-1s" (line 2)`)
	f("routes:\n  - {name: a, path: /a/*, static: {dir: d, root: x}}\n", `config: routes[0].static.root: unknown key (known keys: dir, index, max_age) (line 2)`)

	// mock
	f(mock[:len(mock)-2]+"{status: 99}}\n", `config: routes[0].mock.status: must be 100 to 599, got 99 (line 2)`)
	f(mock[:len(mock)-2]+"{status: 600}}\n", `config: routes[0].mock.status: must be 100 to 599, got 600 (line 2)`)
	f(mock[:len(mock)-2]+"{status: 204, body: x}}\n", `config: routes[0].mock.body: a 204 response cannot have a body (line 2)`)
	f(mock[:len(mock)-2]+"{headers: {Transfer-Encoding: chunked, 'a b': c, X-A: \"x\\r\\ny\"}}}\n",
		`config: routes[0].mock.headers.Transfer-Encoding: Transfer-Encoding is managed by pgfast (hop-by-hop or body framing) and cannot be set (line 2)`,
		`config: routes[0].mock.headers.X-A: a header value cannot hold control characters, got "x\r\ny" (line 2)`,
		`config: routes[0].mock.headers["a b"]: not a header name (line 2)`)
	f(mock[:len(mock)-2]+"{status: '200'}}\n", `config: routes[0].mock.status: must be an integer, got "200" (line 2)`)
	f(mock+", max_body_bytes: lots}\n", `config: routes[0].max_body_bytes: cannot parse size "lots": want bytes or a number with B, KB, KiB, MB, MiB, GB, GiB, TB or TiB (line 2)`)
}
