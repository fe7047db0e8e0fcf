package jwtauth

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// countMembers returns the number of members of obj, a JSON object that
// json.Unmarshal has already accepted: the colons outside strings at the
// object's own nesting level, one per member. Comparing it with the size of
// the map Unmarshal made tells whether a member name occurs twice, which
// encoding/json accepts silently, keeping the last value.
//
// RFC 7515 §4 and RFC 7519 §4 want header and claim names unique, and let
// a parser either refuse duplicates or take the last one. Taking one
// silently means two parsers of the same token can disagree about its
// subject or algorithm (a proxy reading the first "sub", pgfast the last),
// so pgfast refuses them. The scan is one pass without allocation, and
// runs only on a full verification, never on a cache hit.
func countMembers(obj []byte) int {
	depth, n := 0, 0
	for i := 0; i < len(obj); i++ {
		switch obj[i] {
		case '"':
			for i++; i < len(obj) && obj[i] != '"'; i++ {
				if obj[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case ':':
			if depth == 1 {
				n++
			}
		}
	}
	return n
}

// duplicateMember returns the first member name of obj (valid JSON, as
// for countMembers) that occurs twice, for the refusal's text. It is the
// slow path, taken once countMembers has found a duplicate.
func duplicateMember(obj []byte) string {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if _, err := dec.Token(); err != nil {
		return ""
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return ""
		}
		name, _ := t.(string)
		if seen[name] {
			return name
		}
		seen[name] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return ""
		}
	}
	return ""
}

// errDuplicate returns the refusal of a header or claims set (what) whose
// JSON object obj repeats a member name.
func errDuplicate(what string, obj []byte) *Error {
	return errMalformed(what+" "+strconv.Quote(truncate(duplicateMember(obj)))+" occurs more than once", nil)
}
