package sqlclass

import (
	"encoding/json"
	"strconv"
	"strings"
)

// The JSON reading of jsonWalker. It accepts well-formed JSON only (RFC
// 8259), which is what libpg_query writes (its escape_json is
// PostgreSQL's), and never recurses on its own: nesting follows the walk,
// which bounds it.

// members calls fn for each key of the object at pos, with pos on the value;
// fn must consume the value.
func (j *jsonWalker) members(fn func(key string) error) error {
	if !j.consume('{') {
		return errBadJSON
	}
	if j.consume('}') {
		return nil
	}
	for {
		key, err := j.str()
		if err != nil {
			return err
		}
		if !j.consume(':') {
			return errBadJSON
		}
		if err := fn(key); err != nil {
			return err
		}
		if j.consume(',') {
			continue
		}
		if j.consume('}') {
			return nil
		}
		return errBadJSON
	}
}

// array calls fn for each element of the array at pos; fn must consume it.
func (j *jsonWalker) array(fn func() error) error {
	if !j.consume('[') {
		return errBadJSON
	}
	if j.consume(']') {
		return nil
	}
	for {
		if err := fn(); err != nil {
			return err
		}
		if j.consume(',') {
			continue
		}
		if j.consume(']') {
			return nil
		}
		return errBadJSON
	}
}

// str reads a string at pos and returns its raw contents (still escaped).
func (j *jsonWalker) str() (string, error) {
	if !j.consume('"') {
		return "", errBadJSON
	}
	start := j.pos
	for j.pos < len(j.b) {
		switch c := j.b[j.pos]; {
		case c == '"':
			s := j.b[start:j.pos]
			j.pos++
			return s, nil
		case c == '\\':
			if !validEscape(j.b[j.pos+1:]) {
				return "", errBadJSON
			}
			j.pos += 2
		case c < 0x20:
			return "", errBadJSON
		default:
			j.pos++
		}
	}
	return "", errBadJSON
}

// skip passes over one value of any kind. Nested arrays and objects are
// passed with a counter, not recursion.
func (j *jsonWalker) skip() error {
	j.skipSpace()
	nest := 0
	for {
		if j.pos >= len(j.b) {
			return errBadJSON
		}
		switch c := j.b[j.pos]; {
		case c == '"':
			if _, err := j.str(); err != nil {
				return err
			}
		case c == '{' || c == '[':
			if nest++; nest > maxDecodeDepth {
				return errTooDeep
			}
			j.pos++
		case c == '}' || c == ']':
			if nest--; nest < 0 {
				return errBadJSON
			}
			j.pos++
		case c == ',' || c == ':' || c == ' ' || c == '\n' || c == '\t' || c == '\r':
			if nest == 0 {
				return errBadJSON
			}
			j.pos++
		case c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z':
			// A number, true, false or null: a run of these bytes.
			start := j.pos
			for j.pos < len(j.b) && (j.b[j.pos] == '-' || j.b[j.pos] == '+' || j.b[j.pos] == '.' ||
				'0' <= j.b[j.pos] && j.b[j.pos] <= '9' || 'a' <= j.b[j.pos] && j.b[j.pos] <= 'z' || j.b[j.pos] == 'E') {
				j.pos++
			}
			if !validScalar(j.b[start:j.pos]) {
				return errBadJSON
			}
		default:
			return errBadJSON
		}
		if nest == 0 {
			return nil
		}
	}
}

// validEscape reports whether s starts with what may follow a backslash in
// a JSON string.
func validEscape(s string) bool {
	if s == "" {
		return false
	}
	switch s[0] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return true
	case 'u':
		if len(s) < 5 {
			return false
		}
		_, err := strconv.ParseUint(s[1:5], 16, 16)
		return err == nil
	}
	return false
}

// validScalar reports whether s is true, false, null or a number: an
// optional minus, then a digit, then digits and the . e E + - of fractions
// and exponents. (Where a number ends is all the walker needs to know.)
func validScalar(s string) bool {
	switch s {
	case "true", "false", "null":
		return true
	}
	s = strings.TrimPrefix(s, "-")
	if s == "" || s[0] < '0' || s[0] > '9' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
			return false
		}
	}
	return true
}

func (j *jsonWalker) skipSpace() {
	for j.pos < len(j.b) {
		switch j.b[j.pos] {
		case ' ', '\n', '\t', '\r':
			j.pos++
		default:
			return
		}
	}
}

// consume skips spaces, then c if it is next.
func (j *jsonWalker) consume(c byte) bool {
	j.skipSpace()
	if j.pos < len(j.b) && j.b[j.pos] == c {
		j.pos++
		return true
	}
	return false
}

// unescape decodes the raw contents of a JSON string (which str has
// checked). Without a backslash it returns raw itself. libpg_query escapes
// only quotes, backslashes and control characters, none of which a
// restricted name holds, but names are decoded all the same before they are
// compared; encoding/json does it, as this is the rare path.
func unescape(raw string) string {
	if strings.IndexByte(raw, '\\') < 0 {
		return raw
	}
	var s string
	if err := json.Unmarshal([]byte(`"`+raw+`"`), &s); err != nil {
		panic("BUG: sqlclass: a JSON string str accepted does not decode: " + err.Error())
	}
	return s
}
