package jwtauth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// Validate (and New) refuse options that cannot verify anything or that
// would verify weakly, naming the field.
func TestOptionsValidate(t *testing.T) {
	hs, rs, es, _, _ := testKeys(t)
	secret := hs.priv.([]byte)
	bad := func(o Options, want string) {
		t.Helper()
		err := o.Validate()
		if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), want) {
			t.Fatalf("Validate(%+v): got %v; want ErrInvalidOptions containing %q", o, err, want)
		}
		if v, err := New(context.Background(), o); err == nil {
			v.Close()
			t.Fatalf("New(%+v): got no error; want %q", o, want)
		}
	}
	bad(Options{}, "no key configured")
	bad(Options{Secret: secret[:16]}, "Secret is 16 bytes; want at least 32")
	bad(Options{Secret: secret, Algorithms: []string{"none"}}, `Algorithms: "none" is not one of`)
	bad(Options{Secret: secret, Algorithms: []string{"hs256"}}, `Algorithms: "hs256" is not one of`)
	bad(Options{Secret: secret, Algorithms: []string{RS256}}, "Algorithms: RS256 has no key; add a PublicKeys entry")
	bad(Options{PublicKeys: [][]byte{rs.pem}, Algorithms: []string{HS256}}, "Algorithms: HS256 has no key; set Secret")
	bad(Options{PublicKeys: [][]byte{rs.pem, []byte("junk")}}, "PublicKeys[1]: no PEM block found")
	bad(Options{JWKSURL: "ftp://idp/keys"}, `JWKSURL = "ftp://idp/keys"; want an http(s) URL`)
	bad(Options{JWKSURL: "https:///keys"}, "want an http(s) URL with a host")
	bad(Options{JWKSURL: "http://[::1"}, "JWKSURL:")
	bad(Options{Secret: secret, JWKSRefresh: -time.Second}, "JWKSRefresh = -1s")
	bad(Options{JWKSURL: "https://idp.example/jwks"}, "JWKSRefresh = 0s; want a positive duration with JWKSURL")
	bad(Options{Secret: secret, Leeway: -time.Second}, "Leeway = -1s; want 0 (none)")
	bad(Options{Secret: secret, JWKSMissInterval: -time.Second}, "JWKSMissInterval = -1s")

	good := func(o Options, wantAllowed ...string) {
		t.Helper()
		c, err := o.compile()
		if err != nil {
			t.Fatalf("compile(%+v): %v", o, err)
		}
		var got []string
		for a := range numAlgs {
			if c.allowed[a] {
				got = append(got, a.String())
			}
		}
		if strings.Join(got, ",") != strings.Join(wantAllowed, ",") {
			t.Fatalf("allowed algorithms: got %v; want %v", got, wantAllowed)
		}
	}
	good(Options{Secret: secret}, HS256)
	good(Options{PublicKeys: [][]byte{es.pem}}, ES256)
	good(Options{Secret: secret, PublicKeys: [][]byte{rs.pem}}, HS256, RS256)
	good(Options{JWKSURL: "https://idp.example/.well-known/jwks.json", JWKSRefresh: time.Minute}, RS256, ES256, EdDSA)
	good(Options{Secret: secret, JWKSURL: "https://idp.example/jwks", JWKSRefresh: time.Minute, Algorithms: []string{ES256}}, ES256)
}

// The defaults are the documented ones, and only fields the configuration
// never sets have one: a zero Leeway stays zero (no leeway; TestLeeway shows
// it), a zero JWKSRefresh stays zero (refused with JWKSURL).
func TestOptionsDefaults(t *testing.T) {
	o := Options{}.withDefaults()
	if o.Leeway != 0 || o.JWKSRefresh != 0 || o.JWKSMissInterval != DefaultJWKSMissInterval ||
		o.CacheSize != DefaultCacheSize || o.HTTPClient.Timeout != DefaultHTTPTimeout || o.Now == nil || o.Logger == nil {
		t.Fatalf("defaults: got %+v", o)
	}
	if o := (Options{JWKSRefresh: 10 * time.Second}).withDefaults(); o.JWKSMissInterval != 10*time.Second {
		t.Fatalf("short refresh: got miss interval %s; want 10s", o.JWKSMissInterval)
	}
}
