package config

import (
	"fmt"
	"strings"
)

// Placeholder sources beyond the param sources (SourcePath, SourceQuery, SourceHeader,
// SourceJWT) that header templates and hash keys may use.
const (
	SourceIP        = "ip"         // the client address, as limits.trusted_proxies tells it
	SourceRequestID = "request_id" // the request's X-Request-Id
)

// TemplatePart is one piece of a parsed header value: literal text, or a placeholder whose
// value is looked up per request.
type TemplatePart struct {
	// Literal is copied as is; set only when Source is "".
	Literal string
	// Source is the placeholder's source: path, query, header, jwt, ip or request_id; "" for
	// a literal.
	Source string
	// Name is the path param, query key, header or claim; "" for ip and request_id.
	Name string
}

// ParseTemplate splits a header value into literal text and placeholders: {path.X},
// {query.X}, {header.X}, {jwt.X}, {ip} and {request_id}, with {{ and }} for literal braces.
// Adjacent literal text is one part. The engine parses each value once, when the route is
// compiled; Validate has already refused the values it cannot parse.
func ParseTemplate(s string) ([]TemplatePart, error) {
	var parts []TemplatePart
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, TemplatePart{Literal: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < ' ' && c != '\t' || c == 0x7f:
			// RFC 9110 §5.5: no control characters; CR and LF would split the header.
			return nil, fmt.Errorf("a header value cannot hold control characters, got %q", s)
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
			src, name, err := parsePlaceholder(s[i+1:i+end], true)
			if err != nil {
				return nil, err
			}
			flush()
			parts = append(parts, TemplatePart{Source: src, Name: name})
			i += end
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return parts, nil
}

// parsePlaceholder parses "SOURCE.NAME", "ip" or (with requestID) "request_id": the inside of a
// header placeholder, or an upstream's hash_key.
func parsePlaceholder(s string, requestID bool) (src, name string, err error) {
	switch {
	case s == SourceIP:
		return SourceIP, "", nil
	case s == SourceRequestID && requestID:
		return SourceRequestID, "", nil
	}
	want := "path.X, query.X, header.X, jwt.X or ip"
	if requestID {
		want = "{path.X}, {query.X}, {header.X}, {jwt.X}, {ip} or {request_id}"
	}
	src, name, ok := strings.Cut(s, ".")
	switch src {
	case SourcePath, SourceQuery, SourceHeader, SourceJWT:
	default:
		return "", "", fmt.Errorf("unknown placeholder %q (want %s)", s, want)
	}
	switch {
	case !ok || name == "":
		return "", "", fmt.Errorf("%q needs a name after the dot, such as %s.id", s, src)
	case src == SourcePath && !identRe.MatchString(name):
		return "", "", fmt.Errorf("%q: a path param name has letters, digits and _", s)
	case src == SourceHeader && !isToken(name):
		return "", "", fmt.Errorf("%q: not a header name", s)
	case strings.ContainsAny(name, "{} \t"):
		return "", "", fmt.Errorf("%q: a name cannot hold braces or spaces", s)
	}
	return src, name, nil
}
