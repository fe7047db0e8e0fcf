package config

import "gopkg.in/yaml.v3"

// The config sections of what pgfast reports and runs beside requests: logs
// and audit, route script limits, tracing and the OpenAPI document.

// Log configures logging.
type Log struct {
	// Level is debug, info (default), warn or error; flag --log-level, env PGFAST_LOG_LEVEL or
	// APP__LOG_LEVEL. Load lowers its case.
	Level string `yaml:"level"`
	// Format is json (default: slog JSON lines on stderr) or text.
	Format string `yaml:"format"`
	// Access writes one line per request: false (default), true (JSON lines on stderr) or
	// {format: json | "<template>", file: path} (AccessLog).
	Access AccessLog `yaml:"access"`
	// Audit configures the audit log: written as a file path (as before) or as the map
	// {file, routes, opensearch}.
	Audit Audit `yaml:"audit"`
	// AuditParams writes query parameters to the audit log. Default false: they are redacted.
	AuditParams bool `yaml:"audit_params"`
}

// Audit configures the audit log: one JSON line per raw query (and per declared route's
// request with Routes), always written locally, to File or stdout; OpenSearch is an extra copy,
// never the only one. Read once at start: a reload does not reopen the file or the sink (Routes
// does follow a reload).
type Audit struct {
	// File is the audit log's file; "" (default) means stdout. The scalar form `audit: PATH`
	// sets it.
	File string `yaml:"file"`
	// Routes audits declared routes' requests too (route, status, duration, params count or,
	// with audit_params, values). Default false: only the raw query API is audited.
	Routes bool `yaml:"routes"`
	// OpenSearch also sends every audit line to an OpenSearch index through its _bulk API (pg-api's
	// OPENSEARCH_ENABLED=true with OPENSEARCH_API_URL and OPENSEARCH_API_TOKEN set the same).
	OpenSearch OpenSearch `yaml:"opensearch"`
}

// OpenSearch is the audit log's OpenSearch sink: off while URL is empty.
type OpenSearch struct {
	// URL is the cluster's base URL (https://opensearch.internal:9200); documents go to
	// URL/_bulk. Default "": off. Env OPENSEARCH_API_URL (with OPENSEARCH_ENABLED=true).
	URL string `yaml:"url"`
	// Token authenticates: "user:password" is sent as HTTP Basic, anything else as a Bearer
	// token. A secret: write env:NAME. Env OPENSEARCH_API_TOKEN (with OPENSEARCH_ENABLED=true).
	Token Secret `yaml:"token"`
	// Index receives the audit documents. Default pgfast-audit.
	Index string `yaml:"index"`
	// Batch is the most documents one _bulk request carries. Default 500; must be > 0.
	Batch int `yaml:"batch"`
	// FlushInterval bounds how long a line waits for its batch to fill. Default 1s; must be > 0.
	FlushInterval Duration `yaml:"flush_interval"`
}

// Enabled reports whether the sink is configured.
func (o OpenSearch) Enabled() bool { return o.URL != "" }

// ScriptLimits bound each call of a route's Lua script: past Timeout the call is stopped
// and the request answers 500; MaxMemoryBytes bounds what one call may allocate (strings
// built, heap grown).
type ScriptLimits struct {
	// Timeout bounds one on_request or on_response call. Default 20ms; must be > 0.
	Timeout Duration `yaml:"timeout"`
	// MaxMemoryBytes bounds one call's memory. Default 64MiB; must be > 0.
	MaxMemoryBytes ByteSize `yaml:"max_memory_bytes"`
}

// Tracing configures OpenTelemetry tracing (DESIGN §7): a server span per request with a
// child span per stage that ran (auth, limit, cache, acquire, db, upstream, encode), its parent
// taken from the request's W3C traceparent/tracestate, and the traceparent sent on to
// upstreams. Off while OTLPEndpoint is empty, and then it costs nothing. Read once at start: a
// reload does not change it.
type Tracing struct {
	// OTLPEndpoint is the OTLP/HTTP collector's base URL (http://otel-collector:4318); spans go
	// to OTLPEndpoint/v1/traces, as the OpenTelemetry SDK appends it. Default "": off. The SDK's
	// OTEL_EXPORTER_OTLP_HEADERS (and _TIMEOUT, _COMPRESSION) apply.
	OTLPEndpoint string `yaml:"otlp_endpoint"`
	// Sample is the fraction of traces started here that are recorded, 0..1: a request
	// without a traceparent is sampled at this ratio, one with a traceparent follows its
	// parent's sampled flag. Default 0.1; 1 records every request.
	Sample float64 `yaml:"sample"`
	// ServiceName is the spans' service.name resource attribute. Default pgfast.
	ServiceName string `yaml:"service_name"`
}

// Enabled reports whether tracing is configured.
func (t Tracing) Enabled() bool { return t.OTLPEndpoint != "" }

// OpenAPI configures GET <path>: the OpenAPI 3.1 document generated from the compiled route
// table (also `pgfast openapi --config FILE`).
type OpenAPI struct {
	// Enabled serves the document. Default true.
	Enabled bool `yaml:"enabled"`
	// Path is where it is served. Default "/openapi.json".
	Path string `yaml:"path"`
}

// auditMap is the map form of Audit.
type auditMap Audit

// UnmarshalYAML reads a file path or the {file, routes, opensearch} map.
func (a *Audit) UnmarshalYAML(n *yaml.Node) error {
	d := newDecoder("")
	a.decodeAt(d, n, "")
	return d.err()
}

func (a *Audit) decodeAt(d *decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.MappingNode {
		d.decodeString(n, valueOf(&a.File), path)
		return
	}
	m := auditMap(*a)
	if d.decode(n, valueOf(&m), path) {
		*a = Audit(m)
	}
}
