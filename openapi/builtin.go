package openapi

import "strconv"

// statusBody is {"status": value}.
func statusBody(value string) map[string]any {
	return map[string]any{
		"type":       "object",
		"required":   []any{"status"},
		"properties": map[string]any{"status": map[string]any{"type": "string", "const": value}},
	}
}

// builtins adds /ping, /health and /ready, which every server answers.
func (b *builder) builtins() {
	get := func(path, id, summary string, schema map[string]any) map[string]any {
		op := map[string]any{
			"operationId": id,
			"summary":     summary,
			"tags":        []any{"pgfast"},
			"responses": map[string]any{
				"200": map[string]any{"description": "OK", "content": jsonContent(schema)},
			},
		}
		b.paths[path] = map[string]any{"get": op}
		return op
	}
	get("/ping", "ping", "A fixed small body: the HTTP ceiling for benchmarks.", map[string]any{
		"type":       "object",
		"required":   []any{"pong"},
		"properties": map[string]any{"pong": map[string]any{"type": "boolean", "const": true}},
	})
	get("/health", "health", "The process is up.", statusBody("ok"))
	ready := get("/ready", "ready", "Every database answers; 503 when one does not.", statusBody("ready"))
	addResponse(ready, 503)
}

// rawQueryAPI adds the accounts' API: /v1/query, /v1/batch, /v1/account.
func (b *builder) rawQueryAPI() {
	b.schemes["bearerAuth"] = true
	ref := func(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }
	op := func(id, summary string, body, result map[string]any, statuses ...int) map[string]any {
		o := map[string]any{
			"operationId": id,
			"summary":     summary,
			"tags":        []any{"raw query API"},
			"security":    []any{map[string]any{"bearerAuth": []any{}}},
			"responses": map[string]any{
				"200": map[string]any{"description": "OK", "content": jsonContent(result)},
			},
		}
		if body != nil {
			o["requestBody"] = map[string]any{"required": true, "content": jsonContent(body)}
		}
		for _, s := range statuses {
			addResponse(o, s)
		}
		return o
	}
	b.paths["/v1/query"] = map[string]any{"post": op("query",
		"Run one SQL statement as the account; rows are streamed.",
		ref("QueryRequest"), ref("QueryResult"),
		400, 401, 403, 409, 413, 422, 429, 500, 503, 504)}
	b.paths["/v1/batch"] = map[string]any{"post": op("batch",
		"Run up to 1000 statements in one pipelined round trip.",
		ref("BatchRequest"), ref("BatchResult"),
		400, 401, 403, 409, 413, 422, 429, 500, 503, 504)}
	b.paths["/v1/account"] = map[string]any{"get": op("account",
		"The calling account, its rate limit and its pool.",
		nil, ref("Account"), 401, 429, 500)}
}

func str() map[string]any { return typed("string") }

func integer() map[string]any { return typed("integer") }

func object(required []any, props map[string]any) map[string]any {
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

// rawSchemas are the schemas of the raw query API.
func rawSchemas() map[string]any {
	format := map[string]any{"type": "string", "enum": []any{"object", "array"}, "default": "object",
		"description": "object: each row an object keyed by column name; array: each row an array in column order."}
	params := map[string]any{"type": "array", "items": map[string]any{},
		"description": "$1, $2, … in order; numbers keep their precision."}
	columns := map[string]any{"type": "array", "items": object([]any{"name", "type"}, map[string]any{
		"name": str(),
		"type": map[string]any{"type": "string", "description": "pg_type.typname: int4, _int4, an enum's or composite's own name"},
	})}
	rows := map[string]any{"type": "array", "items": map[string]any{"type": []any{"object", "array"}},
		"description": "Values are encoded per column type as the route schemas describe (SchemaForType)."}
	result := func(extra map[string]any) map[string]any {
		props := map[string]any{
			"columns":   columns,
			"rows":      rows,
			"row_count": map[string]any{"type": "integer", "minimum": 0},
			"truncated": map[string]any{"type": "boolean", "description": "The account's max_rows cut the result; row_count is then the rows returned."},
		}
		for k, v := range extra {
			props[k] = v
		}
		return object([]any{"columns", "rows", "row_count"}, props)
	}
	duration := map[string]any{"type": "number", "minimum": 0}
	errRef := map[string]any{"$ref": "#/components/schemas/ErrorDetail"}
	return map[string]any{
		"QueryRequest": object([]any{"query"}, map[string]any{
			"query":    map[string]any{"type": "string", "description": "One SQL statement, parameters as $1, $2, …"},
			"params":   params,
			"database": map[string]any{"type": "string", "description": "A configured database; the account's when absent."},
			"format":   format,
		}),
		"QueryResult": result(map[string]any{"duration_ms": duration}),
		"BatchRequest": object([]any{"queries"}, map[string]any{
			"queries": map[string]any{"type": "array", "maxItems": 1000, "items": object([]any{"query"}, map[string]any{
				"query":  str(),
				"params": params,
			})},
			"transaction": map[string]any{"type": "boolean", "default": false,
				"description": "true: all or nothing, and a failure answers with the failing query's status and error (with index); false: each query stands alone, status 200."},
			"database": str(),
			"format":   format,
		}),
		"BatchResult": object([]any{"results"}, map[string]any{
			"results": map[string]any{"type": "array", "items": map[string]any{"anyOf": []any{
				result(nil),
				object([]any{"error"}, map[string]any{"error": errRef}),
			}}},
			"duration_ms": duration,
		}),
		"Account": object([]any{"id", "name", "database", "allowed_operations", "rate_limit", "pool"}, map[string]any{
			"id":                 str(),
			"name":               str(),
			"database":           str(),
			"allowed_operations": map[string]any{"type": "array", "items": str()},
			"rate_limit": object([]any{"limit", "remaining", "reset_seconds"}, map[string]any{
				"limit": integer(), "remaining": integer(), "reset_seconds": integer(),
			}),
			"pool": object([]any{"max_conns", "in_use", "idle", "acquire_count", "empty_acquire_count"}, map[string]any{
				"max_conns": integer(), "in_use": integer(), "idle": integer(),
				"acquire_count": integer(), "empty_acquire_count": integer(),
			}),
		}),
	}
}

// components returns the shared schemas, error responses and the security
// schemes in use.
func (b *builder) components() map[string]any {
	schemas := map[string]any{
		"Error": object([]any{"error"}, map[string]any{"error": map[string]any{"$ref": "#/components/schemas/ErrorDetail"}}),
		"ErrorDetail": object([]any{"code", "message"}, map[string]any{
			"code":     map[string]any{"type": "string", "enum": errorCodes},
			"message":  str(),
			"sqlstate": map[string]any{"type": "string", "pattern": "^[0-9A-Z]{5}$", "description": "PostgreSQL's SQLSTATE, when it raised the error."},
			"detail":   str(),
			"hint":     str(),
			"position": map[string]any{"type": "integer", "minimum": 1, "description": "1-based character position in the statement."},
			"index":    map[string]any{"type": "integer", "minimum": 0, "description": "The failing query of a transactional batch."},
		}),
	}
	if _, ok := b.paths["/v1/query"]; ok {
		for k, v := range rawSchemas() {
			schemas[k] = v
		}
	}
	resps := map[string]any{}
	for status, e := range errorResponses {
		r := map[string]any{
			"description": "HTTP " + strconv.Itoa(status) + ": " + e.desc,
			"content":     jsonContent(map[string]any{"$ref": "#/components/schemas/Error"}),
		}
		if e.retry {
			r["headers"] = map[string]any{"Retry-After": map[string]any{
				"description": "Seconds to wait before retrying.",
				"schema":      map[string]any{"type": "integer", "minimum": 0},
			}}
		}
		resps[e.name] = r
	}
	c := map[string]any{"schemas": schemas, "responses": resps}
	sec := map[string]any{}
	if b.schemes["bearerAuth"] {
		sec["bearerAuth"] = map[string]any{"type": "http", "scheme": "bearer",
			"description": "An account's API token: Authorization: Bearer <token>."}
	}
	if b.schemes["jwt"] {
		sec["jwt"] = map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
			"description": "A JSON Web Token verified with auth.jwt."}
	}
	if len(sec) > 0 {
		c["securitySchemes"] = sec
	}
	return c
}
