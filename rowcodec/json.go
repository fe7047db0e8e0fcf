package rowcodec

import "unicode/utf8"

// jsonMaxDepth bounds the nesting validJSON follows, with a bit stack that
// lives on the goroutine stack (no allocation). PostgreSQL's own limit is
// max_stack_depth, which in practice stops well below this.
const jsonMaxDepth = 64 * 256

// appendJSON emits a json value: json_send (src/backend/utils/adt/json.c)
// sends the text as stored, and row_to_json embeds it verbatim, so after a
// validity check (syntax and UTF-8) it is copied as is.
func appendJSON(dst, src []byte) ([]byte, error) {
	if !validJSON(src) {
		return dst, errJSON
	}
	return append(dst, src...), nil
}

// appendJSONB emits a jsonb value: jsonb_send (src/backend/utils/adt/jsonb.c)
// sends a version byte (1) and then jsonb_out's text, which row_to_json also
// embeds verbatim.
func appendJSONB(dst, src []byte) ([]byte, error) {
	if len(src) == 0 || src[0] != 1 {
		return dst, errJSONB
	}
	return appendJSON(dst, src[1:])
}

// appendJSONPath emits a jsonpath value as a string: jsonpath_send
// (src/backend/utils/adt/jsonpath.c) sends a version byte and the text.
func appendJSONPath(dst, src []byte) ([]byte, error) {
	if len(src) == 0 || src[0] != 1 {
		return dst, errJSONB
	}
	return AppendString(dst, src[1:]), nil
}

// appendTextJSON emits a text-format value whose text is JSON when it is
// valid JSON (json, jsonb) and as a string otherwise.
func appendTextJSON(dst, src []byte) ([]byte, error) {
	if validJSON(src) {
		return append(dst, src...), nil
	}
	return AppendString(dst, src), nil
}

// isJSONSpace reports the four whitespace bytes of RFC 8259.
func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(s []byte, i int) int {
	for i < len(s) && isJSONSpace(s[i]) {
		i++
	}
	return i
}

// validJSON reports whether s holds exactly one JSON value (RFC 8259),
// with optional surrounding whitespace, in valid UTF-8. It allocates
// nothing: containers are tracked in a fixed bit stack (1 = object).
func validJSON(s []byte) bool {
	var stack [jsonMaxDepth / 64]uint64
	depth := 0
	inObject := func() bool { return stack[(depth-1)/64]&(1<<((depth-1)%64)) != 0 }
	i := skipSpace(s, 0)
value:
	for {
		if i >= len(s) {
			return false
		}
		switch c := s[i]; c {
		case '{', '[':
			if depth == jsonMaxDepth {
				return false
			}
			bit := uint64(1) << (depth % 64)
			if c == '{' {
				stack[depth/64] |= bit
			} else {
				stack[depth/64] &^= bit
			}
			depth++
			i = skipSpace(s, i+1)
			if i < len(s) && (s[i] == '}' && c == '{' || s[i] == ']' && c == '[') {
				depth--
				i++
				break
			}
			if c == '{' {
				if i = objectKey(s, i); i < 0 {
					return false
				}
			}
			continue value
		case '"':
			if i = scanString(s, i); i < 0 {
				return false
			}
		case 't':
			if !hasPrefixAt(s, i, "true") {
				return false
			}
			i += 4
		case 'f':
			if !hasPrefixAt(s, i, "false") {
				return false
			}
			i += 5
		case 'n':
			if !hasPrefixAt(s, i, "null") {
				return false
			}
			i += 4
		default:
			if i = scanNumber(s, i); i < 0 {
				return false
			}
		}
		// After a value: a separator, a closing bracket, or the end.
		for {
			i = skipSpace(s, i)
			if depth == 0 {
				return i == len(s)
			}
			if i >= len(s) {
				return false
			}
			obj := inObject()
			switch s[i] {
			case ',':
				i = skipSpace(s, i+1)
				if obj {
					if i = objectKey(s, i); i < 0 {
						return false
					}
				}
				continue value
			case '}':
				if !obj {
					return false
				}
			case ']':
				if obj {
					return false
				}
			default:
				return false
			}
			depth--
			i++
		}
	}
}

// objectKey scans `"key" :` at s[i:] and returns the index of the value
// that follows (after whitespace), or -1.
func objectKey(s []byte, i int) int {
	if i >= len(s) || s[i] != '"' {
		return -1
	}
	if i = scanString(s, i); i < 0 {
		return -1
	}
	i = skipSpace(s, i)
	if i >= len(s) || s[i] != ':' {
		return -1
	}
	return skipSpace(s, i+1)
}

func hasPrefixAt(s []byte, i int, lit string) bool {
	return len(s)-i >= len(lit) && string(s[i:i+len(lit)]) == lit
}

// scanString checks the JSON string starting at s[i] == '"' and returns
// the index after its closing quote, or -1.
func scanString(s []byte, i int) int {
	i++
	for {
		i += plainPrefix(s[i:])
		if i >= len(s) {
			return -1
		}
		switch c := s[i]; {
		case c == '"':
			return i + 1
		case c == '\\':
			if i+1 >= len(s) {
				return -1
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(s)-i < 6 {
					return -1
				}
				for _, h := range s[i+2 : i+6] {
					if !isHex(h) {
						return -1
					}
				}
				i += 6
			default:
				return -1
			}
		case c < 0x20:
			return -1
		default:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				return -1
			}
			i += size
		}
	}
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// scanNumber checks the JSON number at s[i:] and returns the index after
// it, or -1.
func scanNumber(s []byte, i int) int {
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		i = skipDigits(s, i)
	default:
		return -1
	}
	if i < len(s) && s[i] == '.' {
		j := skipDigits(s, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := skipDigits(s, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func skipDigits(s []byte, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// validNumber reports whether s is exactly one JSON number, as
// IsValidJsonNumber (src/backend/utils/adt/json.c) decides whether
// row_to_json prints a numeric type's text bare or quoted.
func validNumber(s []byte) bool {
	return len(s) > 0 && scanNumber(s, 0) == len(s)
}

// appendTextNumber emits a text-format number (int2/4/8, float4/8,
// numeric) bare when it is a JSON number and quoted otherwise (NaN,
// Infinity), like row_to_json.
func appendTextNumber(dst, src []byte) ([]byte, error) {
	if validNumber(src) {
		return append(dst, src...), nil
	}
	return AppendString(dst, src), nil
}

// appendTextBool emits a text-format bool ("t"/"f") as a JSON literal.
func appendTextBool(dst, src []byte) ([]byte, error) {
	switch string(src) {
	case "t", "true":
		return append(dst, "true"...), nil
	case "f", "false":
		return append(dst, "false"...), nil
	}
	return AppendString(dst, src), nil
}
