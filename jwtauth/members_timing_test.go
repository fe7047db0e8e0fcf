package jwtauth

import "testing"

// The duplicate check is off the cache-hit path: a cached token still
// verifies without allocating (see verifier_allocs_test.go), and a full
// verification pays for one more pass over the JSON.
func BenchmarkCountMembers(b *testing.B) {
	payload := []byte(`{"sub":"user-42","tenant":"acme","iss":"https://idp.example","aud":["api","pgfast"],` +
		`"exp":1700003600,"nbf":1700000000,"iat":1700000000,"scope":"read write","o":{"a":[1,{"b":null}]}}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if countMembers(payload) != 9 {
			b.Fatal("wrong count")
		}
	}
}
