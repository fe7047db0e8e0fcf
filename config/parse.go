package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Parse decodes a config file's bytes (format "yaml", "json", or "" to tell by content), fills
// defaults and validates. Unlike Load it reads no environment: env:NAME secrets stay
// unresolved (and their format unchecked) and no PGFAST_* override applies. Tests and config
// checks use it; the binary uses Load.
func Parse(data []byte, format string) (*Config, error) {
	c, err := decodeConfig(data, format, "")
	if err != nil {
		return nil, err
	}
	c.withDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// decodeConfig decodes data over the base defaults, recording where each value was written.
// file, when known, names the source in errors.
func decodeConfig(data []byte, format, file string) (*Config, error) {
	root, err := parseTree(data, format, file)
	if err != nil {
		return nil, err
	}
	c := base()
	c.origin = make(origin)
	if root == nil {
		return c, nil
	}
	d := newDecoder(file)
	d.lines = c.origin
	d.decode(root, reflect.ValueOf(c).Elem(), "")
	if err := d.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// formatOf tells the format of a file by its extension: "json", "yaml", or "" when unknown.
func formatOf(name string) string {
	switch {
	case strings.HasSuffix(name, ".json"):
		return "json"
	case strings.HasSuffix(name, ".yaml"), strings.HasSuffix(name, ".yml"):
		return "yaml"
	}
	return ""
}

// parseTree parses data into a node tree; nil for an empty document.
func parseTree(data []byte, format, file string) (*yaml.Node, error) {
	switch format {
	case "json":
		return parseJSON(data, file)
	case "yaml", "yml":
		return parseYAML(data, file)
	case "":
		if t := bytes.TrimLeft(data, " \t\r\n\ufeff"); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
			if n, err := parseJSON(data, file); err == nil {
				return n, nil
			}
		}
		// Flow-style YAML starts like JSON too, so anything JSON refused is tried as YAML.
		return parseYAML(data, file)
	}
	return nil, fmt.Errorf("config: unknown format %q (want yaml or json)", format)
}

var yamlErrLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func parseYAML(data []byte, file string) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, yamlError(err, file)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, &FieldError{Msg: "holds more than one YAML document", Line: extra.Line, Where: locate(file, extra.Line)}
	case !errors.Is(err, io.EOF):
		return nil, yamlError(err, file)
	}
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil, nil
		}
		return doc.Content[0], nil
	}
	return &doc, nil
}

// yamlError turns a yaml.v3 syntax error into a FieldError with its line.
func yamlError(err error, file string) error {
	msg := err.Error()
	line := 0
	if m := yamlErrLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	return &FieldError{Msg: "cannot parse YAML: " + msg, Line: line, Where: locate(file, line)}
}

// maxJSONDepth bounds nesting; the config schema itself is at most six levels deep.
const maxJSONDepth = 64

// parseJSON converts JSON into the same node tree YAML gives, with lines, so that one strict
// walker serves both formats. It goes through encoding/json, not the YAML parser, so that JSON's
// own rules (and error messages) apply.
func parseJSON(data []byte, file string) (*yaml.Node, error) {
	p := &jsonParser{dec: json.NewDecoder(bytes.NewReader(data)), data: data, file: file}
	p.dec.UseNumber()
	n, err := p.value(0)
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	if err != nil {
		return nil, p.wrap(err)
	}
	if _, err := p.dec.Token(); !errors.Is(err, io.EOF) {
		line := p.line()
		return nil, &FieldError{Msg: "cannot parse JSON: unexpected data after the top-level value", Line: line, Where: locate(file, line)}
	}
	return n, nil
}

type jsonParser struct {
	dec  *json.Decoder
	data []byte
	file string
}

// line returns the line of the last token read.
func (p *jsonParser) line() int {
	off := min(int(p.dec.InputOffset()), len(p.data))
	return 1 + bytes.Count(p.data[:max(off-1, 0)], []byte{'\n'})
}

func (p *jsonParser) wrap(err error) error {
	line := p.line()
	var se *json.SyntaxError
	if errors.As(err, &se) {
		// Offset counts the bytes read before the bad one.
		off := min(int(se.Offset), len(p.data))
		line = 1 + bytes.Count(p.data[:max(off, 0)], []byte{'\n'})
	}
	msg := err.Error()
	if errors.Is(err, io.ErrUnexpectedEOF) {
		msg = "unexpected end of input"
	}
	return &FieldError{Msg: "cannot parse JSON: " + msg, Line: line, Where: locate(p.file, line)}
}

func (p *jsonParser) value(depth int) (*yaml.Node, error) {
	tok, err := p.dec.Token()
	if err != nil {
		if depth > 0 && errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return p.node(tok, depth)
}

func (p *jsonParser) node(tok json.Token, depth int) (*yaml.Node, error) {
	line := p.line()
	switch t := tok.(type) {
	case json.Delim:
		if depth >= maxJSONDepth {
			return nil, fmt.Errorf("nested deeper than %d levels", maxJSONDepth)
		}
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: line}
		if t == '[' {
			n.Kind, n.Tag = yaml.SequenceNode, "!!seq"
		}
		for p.dec.More() {
			if n.Kind == yaml.MappingNode {
				k, err := p.value(depth + 1)
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, k)
			}
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, v)
		}
		if _, err := p.dec.Token(); err != nil { // the closing delimiter
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		return n, nil
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tagStr, Value: t, Style: yaml.DoubleQuotedStyle, Line: line}, nil
	case json.Number:
		tag := tagInt
		if strings.ContainsAny(string(t), ".eE") {
			tag = tagFloat
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: string(t), Line: line}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tagBool, Value: strconv.FormatBool(t), Line: line}, nil
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tagNull, Value: "null", Line: line}, nil
	}
	return nil, fmt.Errorf("BUG: unexpected JSON token %T", tok)
}
