package config

import (
	"reflect"
	"testing"
)

func TestParseTemplate(t *testing.T) {
	f := func(in string, want ...TemplatePart) {
		t.Helper()
		got, err := ParseTemplate(in)
		if err != nil {
			t.Fatalf("%q: unexpected error: %v", in, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: got %+v; want %+v", in, got, want)
		}
	}
	lit := func(s string) TemplatePart { return TemplatePart{Literal: s} }
	f("")
	f("DENY", lit("DENY"))
	f("{jwt.sub}", TemplatePart{Source: SourceJWT, Name: "sub"})
	f("Bearer {header.X-Token}!", lit("Bearer "), TemplatePart{Source: SourceHeader, Name: "X-Token"}, lit("!"))
	f("{ip}{request_id}", TemplatePart{Source: SourceIP}, TemplatePart{Source: SourceRequestID})
	f("{path.id}/{query.page[size]}", TemplatePart{Source: SourcePath, Name: "id"}, lit("/"), TemplatePart{Source: SourceQuery, Name: "page[size]"})
	f("{{literal}} {{", lit("{literal} {"))
	f("a\tb", lit("a\tb"))

	bad := func(in, want string) {
		t.Helper()
		if _, err := ParseTemplate(in); err == nil || err.Error() != want {
			t.Fatalf("%q: got %v; want %s", in, err, want)
		}
	}
	bad("{}", `unknown placeholder "" (want {path.X}, {query.X}, {header.X}, {jwt.X}, {ip} or {request_id})`)
	bad("{query.}", `"query." needs a name after the dot, such as query.id`)
	bad("{path.a-b}", `"path.a-b": a path param name has letters, digits and _`)
	bad("{jwt.a b}", `"jwt.a b": a name cannot hold braces or spaces`)
	bad("x{ip", `unclosed { at byte 1 of "x{ip" (write {{ for a literal brace)`)
	bad("}", `stray } at byte 0 of "}" (write }} for a literal brace)`)
	bad("a\x7fb", `a header value cannot hold control characters, got "a\x7fb"`)
}
