package sqlclass

import "strings"

type tokenKind uint8

const (
	tokWord tokenKind = iota
	tokNumber
	tokString // '…', E'…', $tag$…$tag$, B'…', X'…'
	tokIdent  // "…"
	tokParam  // $1
	tokSemicolon
	tokPunct
)

type token struct {
	kind  tokenKind
	text  string
	upper string // words only
}

// tokens lexes PostgreSQL's SQL dialect closely enough to find statement
// boundaries and keywords: comments (nested /* */ as PostgreSQL allows),
// standard and E” strings, quoted identifiers and dollar quoting are all
// skipped as units, so a ';' or keyword inside them is never seen.
// See the "Lexical Structure" chapter of PostgreSQL's documentation.
func tokens(s string) ([]token, error) {
	var out []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			depth := 0
			for {
				if i+1 >= len(s) {
					return nil, ErrUnterminated
				}
				if s[i] == '/' && s[i+1] == '*' {
					depth++
					i += 2
				} else if s[i] == '*' && s[i+1] == '/' {
					depth--
					i += 2
					if depth == 0 {
						break
					}
				} else {
					i++
				}
			}
		case c == '\'':
			end, err := skipQuoted(s, i, false)
			if err != nil {
				return nil, err
			}
			out = append(out, token{kind: tokString, text: s[i:end]})
			i = end
		case (c == 'E' || c == 'e') && i+1 < len(s) && s[i+1] == '\'':
			end, err := skipQuoted(s, i+1, true)
			if err != nil {
				return nil, err
			}
			out = append(out, token{kind: tokString, text: s[i:end]})
			i = end
		case (c == 'B' || c == 'b' || c == 'X' || c == 'x' || c == 'N' || c == 'n') && i+1 < len(s) && s[i+1] == '\'':
			end, err := skipQuoted(s, i+1, false)
			if err != nil {
				return nil, err
			}
			out = append(out, token{kind: tokString, text: s[i:end]})
			i = end
		case (c == 'U' || c == 'u') && i+2 < len(s) && s[i+1] == '&' && (s[i+2] == '\'' || s[i+2] == '"'):
			end, err := skipQuoted(s, i+2, false)
			if err != nil {
				return nil, err
			}
			kind := tokString
			if s[i+2] == '"' {
				kind = tokIdent
			}
			out = append(out, token{kind: kind, text: s[i:end]})
			i = end
		case c == '"':
			end, err := skipQuoted(s, i, false)
			if err != nil {
				return nil, err
			}
			out = append(out, token{kind: tokIdent, text: s[i:end]})
			i = end
		case c == '$':
			if i+1 < len(s) && isDigit(s[i+1]) {
				j := i + 1
				for j < len(s) && isDigit(s[j]) {
					j++
				}
				out = append(out, token{kind: tokParam, text: s[i:j]})
				i = j
				continue
			}
			// Dollar quote: $tag$ … $tag$, tag an identifier or empty.
			j := i + 1
			for j < len(s) && (isIdentStart(s[j]) || isDigit(s[j])) {
				j++
			}
			if j < len(s) && s[j] == '$' {
				tag := s[i : j+1]
				end := strings.Index(s[j+1:], tag)
				if end < 0 {
					return nil, ErrUnterminated
				}
				stop := j + 1 + end + len(tag)
				out = append(out, token{kind: tokString, text: s[i:stop]})
				i = stop
				continue
			}
			out = append(out, token{kind: tokPunct, text: "$"})
			i++
		case c == ';':
			out = append(out, token{kind: tokSemicolon, text: ";"})
			i++
		case isDigit(c) || c == '.' && i+1 < len(s) && isDigit(s[i+1]):
			j := i
			for j < len(s) && (isDigit(s[j]) || s[j] == '.' || s[j] == '_' || s[j] == 'e' || s[j] == 'E' ||
				(s[j] == '+' || s[j] == '-') && j > i && (s[j-1] == 'e' || s[j-1] == 'E')) {
				j++
			}
			out = append(out, token{kind: tokNumber, text: s[i:j]})
			i = j
		case isIdentStart(c):
			j := i
			for j < len(s) && isIdentChar(s[j]) {
				j++
			}
			w := s[i:j]
			out = append(out, token{kind: tokWord, text: w, upper: strings.ToUpper(w)})
			i = j
		default:
			out = append(out, token{kind: tokPunct, text: s[i : i+1]})
			i++
		}
	}
	return out, nil
}

// skipQuoted returns the index just past the quoted run starting at s[i]
// (a ' or "). Doubled quotes stay inside; with backslash (E” strings) a
// backslash escapes the next byte.
func skipQuoted(s string, i int, backslash bool) (int, error) {
	q := s[i]
	j := i + 1
	for j < len(s) {
		switch {
		case backslash && s[j] == '\\':
			j += 2
		case s[j] == q:
			if j+1 < len(s) && s[j+1] == q {
				j += 2
				continue
			}
			return j + 1, nil
		default:
			j++
		}
	}
	return 0, ErrUnterminated
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}
func isIdentChar(c byte) bool { return isIdentStart(c) || isDigit(c) || c == '$' }
