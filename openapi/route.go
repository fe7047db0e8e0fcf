package openapi

// Route describes one compiled route for the document.
type Route struct {
	// Name is the route's name; it becomes the operationId.
	Name string
	// Host is the route's host ("api.example.com", "*.example.com"), empty
	// for any host. OpenAPI keys paths without hosts: it is written as
	// x-pgfast-host on the operation.
	Host string
	// Methods the route answers; empty means the backend's default: GET
	// for sql, GET and HEAD for static, GET POST PUT PATCH DELETE for
	// upstream and mock.
	Methods []string
	// Path is "/customers/{id}", or a prefix "/api/*".
	Path string
	// Backend is "sql", "upstream", "static" or "mock".
	Backend string
	// Auth is "none" (or empty), "token" or "jwt".
	Auth string
	// Params are the statement's parameters in $1.. order (sql routes).
	Params []Param
	// Result is "one", "many" or "value" (sql routes).
	Result string
	// Columns are the statement's result columns (sql routes).
	Columns []Column
	// Cached and RateLimited add x-pgfast-cache, and 429 responses.
	Cached      bool
	RateLimited bool
	// MockStatus (0 means 200) and MockContentType (empty: no body) are a
	// mock route's answer.
	MockStatus      int
	MockContentType string
}

// Param is one statement parameter.
type Param struct {
	// Name is the name in its source: path segment, query key, header,
	// body field, or JWT claim.
	Name string
	// Source is "path", "query", "header", "body" or "jwt".
	Source string
	// Type is the parameter's PostgreSQL type, as format_type or
	// pg_type.typname spells it (see SchemaForType).
	Type     string
	Required bool
	// Default is the configured default, as text; nil for none.
	Default *string
	// Max is the configured maximum of an integer parameter; nil for none.
	Max *int64
}

// Column is one result column.
type Column struct {
	Name string
	Type string
	// Nullable is false only when the column is known NOT NULL (a table
	// column with the constraint); unknown is true.
	Nullable bool
}

// Info is what the document says about the server as a whole.
type Info struct {
	// Title and Version of the API; empty means "pgfast" and "0".
	Title, Version string
	// Servers are base URLs ("https://api.example.com"); none means "/".
	Servers []string
	// RawQueryAPI adds /v1/query, /v1/batch and /v1/account (accounts are
	// configured).
	RawQueryAPI bool
	// JWT declares the jwt security scheme (auth.jwt is configured).
	JWT bool
}

// Error codes of DESIGN §4 and §9, in the order of their statuses.
