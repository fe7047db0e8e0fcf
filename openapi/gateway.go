package openapi

import (
	"net/http"
	"strconv"
)

// upstreamOperation describes a proxied route: whatever the upstream
// answers passes through, plus the gateway's own errors.
func (b *builder) upstreamOperation(r *Route, method string) map[string]any {
	op := map[string]any{
		"summary":           r.Name,
		"description":       "Proxied to an upstream; its responses, 4xx and 5xx included, pass through untouched.",
		"x-pgfast-upstream": true,
	}
	rs := responses(op)
	rs["default"] = map[string]any{"description": "The upstream's response.", "content": map[string]any{"*/*": map[string]any{}}}
	if method == "post" || method == "put" || method == "patch" {
		op["requestBody"] = map[string]any{"description": "Streamed to the upstream as is.", "content": map[string]any{"*/*": map[string]any{}}}
		addResponse(op, 413)
	}
	for _, s := range []int{502, 503, 504} {
		addResponse(op, s)
	}
	return op
}

// staticOperation describes a route serving files from a directory.
func (b *builder) staticOperation(r *Route, method string) map[string]any {
	op := map[string]any{
		"summary":         r.Name,
		"description":     "A file from a directory, with ETag, Last-Modified, Range requests and pre-compressed .gz/.br variants.",
		"x-pgfast-static": true,
		"parameters": []any{map[string]any{
			"name": "Range", "in": "header", "required": false, "schema": typed("string"),
			"description": "RFC 9110 byte ranges, e.g. bytes=0-1023.",
		}},
	}
	file := map[string]any{"*/*": map[string]any{"schema": map[string]any{"type": "string", "contentMediaType": "application/octet-stream"}}}
	headers := map[string]any{
		"ETag":          map[string]any{"schema": typed("string")},
		"Last-Modified": map[string]any{"schema": typed("string")},
		"Accept-Ranges": map[string]any{"schema": typed("string")},
	}
	rs := responses(op)
	rs["200"] = map[string]any{"description": "The file.", "headers": headers, "content": file}
	rs["206"] = map[string]any{"description": "The requested range of the file.", "headers": headers, "content": file}
	rs["304"] = map[string]any{"description": "Not modified (If-None-Match, If-Modified-Since)."}
	rs["416"] = map[string]any{"description": "Range not satisfiable."}
	addResponse(op, 404)
	return op
}

// mockOperation describes a route that answers a fixed response.
func (b *builder) mockOperation(r *Route, method string) map[string]any {
	status := r.MockStatus
	if status == 0 {
		status = 200
	}
	resp := map[string]any{"description": or(http.StatusText(status), "Mock response.")}
	if r.MockContentType != "" {
		resp["content"] = map[string]any{r.MockContentType: map[string]any{}}
	}
	op := map[string]any{"summary": r.Name, "description": "A fixed (mock) response.", "x-pgfast-mock": true}
	responses(op)[strconv.Itoa(status)] = resp
	return op
}
