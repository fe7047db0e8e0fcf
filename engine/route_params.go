package engine

import (
	"bytes"
	"strconv"

	json "github.com/goccy/go-json"

	"github.com/pgfast/pgfast/config"
	"github.com/pgfast/pgfast/sqlexec"
)

// param says where one $N of a route comes from and how to check it,
// compiled from the config's params entry and the statement's type.
type param struct {
	source   paramSource
	label    string // "path.id", for errors
	name     string
	nameB    []byte // query/header name; headers in fasthttp's canonical form
	pathIdx  int
	def      []byte
	hasDef   bool
	max      int64
	hasMax   bool
	maxText  []byte // max as the decimal text a clamped value becomes
	required bool
	oid      uint32
}

type paramSource uint8

const (
	fromPath paramSource = iota
	fromQuery
	fromHeader
	fromJWT
	fromBody
)

var paramSources = map[string]paramSource{
	config.SourcePath: fromPath, config.SourceQuery: fromQuery, config.SourceHeader: fromHeader,
	config.SourceJWT: fromJWT, config.SourceBody: fromBody,
}

// maxRouteParams bounds a route's parameters so a request can gather them
// in a fixed array.
const maxRouteParams = 16

// routeValues are one request's parameter values: sub-slices of the
// request, or a param's default or max. Valid until the handler returns.
type routeValues struct {
	n int
	v [maxRouteParams][]byte
}

func (vs *routeValues) args() [][]byte { return vs.v[:vs.n] }

// gather collects the parameters from the request, applying defaults and
// caps, and checks each against its type with the SQL backend's codec (the
// answer /v1/query gives for the same text).
func gather(r *request, params []param, out *routeValues) error {
	out.n = len(params)
	for i := range params {
		p := &params[i]
		v, present, err := p.lookup(r)
		if err != nil {
			return err
		}
		if !present {
			if p.required {
				return errBadRequest("missing required parameter " + p.label)
			}
			if p.hasDef {
				v = p.def
			}
			out.v[i] = v // nil is SQL NULL
			continue
		}
		if !sqlexec.Valid(p.oid, v) {
			return errBadRequest(p.label + ": " + strconv.Quote(string(v)) + " is not a valid " + sqlexec.TypeName(p.oid))
		}
		if bytes.IndexByte(v, 0) >= 0 {
			return errBadRequest(p.label + ": contains a NUL byte, which PostgreSQL text cannot hold")
		}
		if p.hasMax {
			if n, _ := sqlexec.ParseInt(v, 64); n > p.max {
				v = p.maxText
			}
		}
		out.v[i] = v
	}
	return nil
}

// lookup finds the parameter's value in the request.
func (p *param) lookup(r *request) ([]byte, bool, error) {
	switch p.source {
	case fromPath:
		return r.params.Get(p.pathIdx), true, nil
	case fromQuery:
		v := r.ctx.QueryArgs().PeekBytes(p.nameB)
		return v, v != nil, nil
	case fromHeader:
		v := r.ctx.Request.Header.PeekCanonical(p.nameB)
		return v, v != nil, nil
	case fromJWT:
		v, ok := r.claims.Claim(p.name)
		return v, ok, nil
	}
	return r.bodyField(p.name)
}

// bodyField returns a top-level field of the request's JSON body, parsed
// once per request: strings unquoted, numbers as written (every digit),
// objects and arrays as JSON text, null as absent.
func (r *request) bodyField(name string) ([]byte, bool, error) {
	if r.body == nil {
		r.body = map[string]json.RawMessage{}
		if err := decodeJSON(r.ctx.PostBody(), &r.body); err != nil {
			return nil, false, err
		}
	}
	raw, ok := r.body[name]
	if !ok || string(raw) == "null" {
		return nil, false, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, false, errBadRequest("body." + name + ": " + err.Error())
		}
		return []byte(s), true, nil
	}
	return raw, true, nil
}

// decodeJSON parses a request body strictly enough to reject what is not
// JSON, keeping numbers as their decimal text (json.Number) so that
// 12345678901234567890 reaches PostgreSQL with every digit.
func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return errBadRequest("request body is empty; want a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return errBadRequest("request body is not valid JSON: " + err.Error())
	}
	if dec.More() {
		return errBadRequest("request body holds more than one JSON value")
	}
	return nil
}
