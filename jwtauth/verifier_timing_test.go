package jwtauth

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Sink keeps the compiler from dropping the work benchmarks do.
var Sink atomic.Int64

// benchToken returns a realistic token (sub, iss, aud, exp, iat, a scope
// and a tenant claim) signed by s, valid at t0.
func benchToken(b *testing.B, s signer) []byte {
	c := jwt.MapClaims{"sub": "user-8f14e45f", "iss": "https://id.example", "aud": "pgfast",
		"iat": t0.Unix(), "exp": t0.Add(time.Hour).Unix(), "scope": "read write", "tenant": "acme"}
	return s.sign(b, c, s.withKid())
}

func benchVerifier(b *testing.B, cacheSize int) *Verifier {
	hs, rs, es, ed, _ := testKeys(b)
	return newVerifier(b, Options{Secret: hs.priv.([]byte), PublicKeys: [][]byte{rs.pem, es.pem, ed.pem},
		Issuer: "https://id.example", Audience: "pgfast", CacheSize: cacheSize, Now: func() time.Time { return t0 }})
}

// BenchmarkVerify: a cached token (the steady state of a client reusing
// its token: hash, compare, time check), serially and from all Ps, and
// an uncached one per algorithm (the first request of each token), with
// golang-jwt's parser as the baseline for HS256.
func BenchmarkVerify(b *testing.B) {
	hs, rs, es, ed, _ := testKeys(b)
	b.Run("cached", func(b *testing.B) {
		v := benchVerifier(b, 0)
		tok := benchToken(b, rs)
		if _, err := v.Verify(tok); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		var n int64
		for b.Loop() {
			c, _ := v.Verify(tok)
			n += int64(len(subject(c)))
		}
		Sink.Add(n)
	})
	b.Run("cached-parallel", func(b *testing.B) {
		v := benchVerifier(b, 0)
		toks := [][]byte{benchToken(b, hs), benchToken(b, rs), benchToken(b, es), benchToken(b, ed)}
		for _, tok := range toks {
			if _, err := v.Verify(tok); err != nil {
				b.Fatal(err)
			}
		}
		var next atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			tok := toks[next.Add(1)%int64(len(toks))]
			var n int64
			for pb.Next() {
				c, _ := v.Verify(tok)
				n += int64(len(subject(c)))
			}
			Sink.Add(n)
		})
	})
	for _, s := range []signer{hs, rs, es, ed} {
		b.Run("uncached/"+s.alg, func(b *testing.B) {
			v := benchVerifier(b, -1)
			tok := benchToken(b, s)
			b.ReportAllocs()
			var n int64
			for b.Loop() {
				c, err := v.Verify(tok)
				if err != nil {
					b.Fatal(err)
				}
				n += int64(len(subject(c)))
			}
			Sink.Add(n)
		})
	}
	b.Run("uncached/HS256/golang-jwt", func(b *testing.B) {
		tok := string(benchToken(b, hs))
		p := jwt.NewParser(jwt.WithValidMethods([]string{HS256}), jwt.WithIssuer("https://id.example"),
			jwt.WithAudience("pgfast"), jwt.WithTimeFunc(func() time.Time { return t0 }))
		keyFn := func(*jwt.Token) (any, error) { return hs.priv, nil }
		b.ReportAllocs()
		var n int64
		for b.Loop() {
			t, err := p.Parse(tok, keyFn)
			if err != nil {
				b.Fatal(err)
			}
			sub, _ := t.Claims.GetSubject()
			n += int64(len(sub))
		}
		Sink.Add(n)
	})
}
