package config

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// AccessFormatJSON is log.access.format's default: one JSON object per line.
const AccessFormatJSON = "json"

// AccessLog is log.access: one line per request. It is written as a boolean (true: JSON lines
// on the process log's destination, stderr) or as a map {format, file}, which turns the log on.
type AccessLog struct {
	// Enabled writes the access log. Default false; true, or the map form, turns it on.
	Enabled bool `yaml:"-"`
	// Format is "json" (default) or a template of text and {field} placeholders, such as
	// `{client_ip} "{method} {path}" {status} {bytes} {duration_ms}ms {request_id}`; the fields
	// are listed by AccessFields, plus {header.NAME} for a request header. {{ and }} are literal
	// braces. Parsed once per load (ParseAccessFormat).
	Format string `yaml:"format"`
	// File is the file lines are appended to; "" (default) means the process log's destination
	// (stderr). SIGUSR1 reopens it, for logrotate. Relative paths are relative to the working
	// directory, as log.audit's are.
	File string `yaml:"file"`
}

// accessLogMap is the map form of AccessLog.
type accessLogMap struct {
	Format string `yaml:"format"`
	File   string `yaml:"file"`
}

// AccessFields are the fields an access-log template may name, besides {header.NAME}.
var AccessFields = []string{"method", "path", "status", "bytes", "duration_ms", "client_ip", "route", "account", "cache", "upstream", "request_id"}

// UnmarshalYAML reads a boolean or the {format, file} map.
func (a *AccessLog) UnmarshalYAML(n *yaml.Node) error {
	d := newDecoder("")
	a.decodeAt(d, n, "")
	return d.err()
}

// MarshalYAML writes false when the log is off, else the map form, so the output reads back.
func (a AccessLog) MarshalYAML() (any, error) {
	if !a.Enabled {
		return false, nil
	}
	return accessLogMap{Format: a.Format, File: a.File}, nil
}

func (a *AccessLog) decodeAt(d *decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.MappingNode {
		on, ok := false, n.Kind == yaml.ScalarNode
		if ok {
			on, ok = parseBool(n.Value) // as the other booleans: true/false, on/off, yes/no
		}
		if !ok {
			d.fail(n, path, "must be true, false or a map with format and file; got %s", describe(n))
			return
		}
		*a = AccessLog{Enabled: on, Format: AccessFormatJSON}
		return
	}
	m := accessLogMap{Format: AccessFormatJSON}
	if !d.decode(n, valueOf(&m), path) {
		return
	}
	if _, err := ParseAccessFormat(m.Format); err != nil {
		d.fail(n, joinPath(path, "format"), "%v", err)
		return
	}
	*a = AccessLog{Enabled: true, Format: m.Format, File: m.File}
}

// ParseAccessFormat parses an access-log format: nil for "json", else the template's parts:
// literal text, and placeholders whose Source is a field of AccessFields, or "header" with the
// header's Name. The engine compiles the parts once per load.
func ParseAccessFormat(s string) ([]TemplatePart, error) {
	if s == AccessFormatJSON {
		return nil, nil
	}
	if s == "" {
		return nil, fmt.Errorf(`must be "json" or a template such as "{method} {path} {status}"`)
	}
	var parts []TemplatePart
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, TemplatePart{Literal: lit.String()})
			lit.Reset()
		}
	}
	want := "{" + strings.Join(AccessFields, "}, {") + "} or {header.NAME}"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\n' || c == '\r':
			return nil, fmt.Errorf("a template is one line: it cannot hold a line break")
		case c == '{' && strings.HasPrefix(s[i:], "{{"), c == '}' && strings.HasPrefix(s[i:], "}}"):
			lit.WriteByte(c)
			i++
		case c == '}':
			return nil, fmt.Errorf("stray } at byte %d of %q (write }} for a literal brace)", i, s)
		case c == '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("unclosed { at byte %d of %q (write {{ for a literal brace)", i, s)
			}
			name := s[i+1 : i+end]
			var p TemplatePart
			switch h, ok := strings.CutPrefix(name, SourceHeader+"."); {
			case ok && isToken(h):
				p = TemplatePart{Source: SourceHeader, Name: h}
			case ok:
				return nil, fmt.Errorf("{%s}: %q is not a header name", name, h)
			case !slices.Contains(AccessFields, name):
				return nil, fmt.Errorf("unknown field {%s} (want %s)", name, want)
			default:
				p = TemplatePart{Source: name}
			}
			flush()
			parts = append(parts, p)
			i += end
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return parts, nil
}
