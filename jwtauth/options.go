package jwtauth

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// ErrInvalidOptions is wrapped by every error Options.Validate (and so New)
// returns for a bad configuration.
var ErrInvalidOptions = errors.New("jwtauth: invalid options")

// Defaults used when an Options field is zero, for the fields pgfast's
// configuration has no key for (see Options).
const (
	// DefaultJWKSMissInterval is the least time between two refreshes
	// caused by tokens naming a key id the verifier does not know; it keeps
	// a flood of forged kids from turning into a flood of fetches.
	DefaultJWKSMissInterval = 30 * time.Second
	// DefaultHTTPTimeout bounds one JWKS fetch with the default client.
	DefaultHTTPTimeout = 5 * time.Second
	// DefaultCacheSize is the number of verified tokens kept. At about
	// 1 KB per entry (the token, its claims and the map slot) that is 10 MB.
	DefaultCacheSize = 10000
	// MinSecretBytes is the shortest HS256 secret accepted: RFC 7518 §3.2
	// requires a key at least as long as the hash output (256 bits).
	MinSecretBytes = 32
	// MinRSABits is the smallest RSA modulus accepted (RFC 7518 §3.3).
	MinRSABits = 2048
)

// The algorithm names Options.Algorithms accepts (RFC 7518 §3.1, RFC 8037 §3.1).
const (
	HS256 = "HS256"
	RS256 = "RS256"
	ES256 = "ES256"
	EdDSA = "EdDSA"
)

// Options configures a Verifier. The zero value is not usable by itself:
// at least one key source (Secret, PublicKeys or JWKSURL) must be set, and
// JWKSRefresh with JWKSURL; every other field's zero value works and means
// what its doc says.
//
// Defaults live in one place. The configuration's defaults (config.Default,
// documented in the config reference: leeway 30s, jwks_refresh 5m) are the
// user-facing contract, and the engine passes them through unchanged, so
// this package sets no default of its own for a field the configuration
// sets: a zero Leeway means no leeway, never "the default". The defaults
// below (JWKSMissInterval, HTTPClient, CacheSize, Now, Logger) are for
// fields the configuration has no key for.
type Options struct {
	// Secret is the HS256 key shared with the issuer, at least
	// MinSecretBytes long. Empty: no HMAC key, so HS256 tokens are refused.
	Secret []byte
	// Algorithms lists the accepted "alg" values among HS256, RS256, ES256
	// and EdDSA. Default: those for which a key is configured (HS256 with
	// Secret; each PublicKeys entry's own; RS256, ES256 and EdDSA with a
	// JWKSURL). Narrow it when the issuer is known to use one algorithm.
	// "none" is never accepted, whatever this says.
	Algorithms []string
	// Issuer, when set, must equal the token's iss claim.
	Issuer string
	// Audience, when set, must be the token's aud claim or one of its
	// elements when aud is an array.
	Audience string
	// Leeway is added to exp and subtracted from nbf before comparing them
	// with now, to absorb clock skew between the issuer and pgfast. 0 means
	// none: a token is refused from the instant of its exp. RFC 7519 §4.1.4
	// allows "some small leeway, usually no more than a few minutes";
	// pgfast's auth.jwt.leeway defaults to 30s. Must not be negative.
	Leeway time.Duration
	// Require lists registered claims (RFC 7519 §4.1) every token must
	// carry with a non-null value, among exp, nbf, iat, iss, aud and sub; a
	// token lacking one is refused with a reason naming it. RFC 7519 makes
	// them all optional, so the default (empty) requires none, but a token
	// without exp is valid forever: pgfast's auth.jwt.require defaults to
	// [exp]. Requiring iss or aud only asks for presence; Issuer and
	// Audience check their values.
	Require []string
	// PublicKeys are PEM blocks holding public keys: "PUBLIC KEY" (PKIX:
	// RSA of at least 2048 bits, ECDSA P-256 or Ed25519), "RSA PUBLIC KEY"
	// (PKCS #1) or "CERTIFICATE" (its key is used; the certificate itself
	// is not checked). An entry may hold several blocks. A key's id is its
	// RFC 7638 thumbprint: a token with a kid must name it that way, a
	// token without a kid is tried against every key of its algorithm.
	PublicKeys [][]byte
	// JWKSURL is a JSON Web Key Set (RFC 7517 §5) fetched at New and then
	// every JWKSRefresh by a goroutine the Verifier owns until Close. If it
	// cannot be fetched at New, the Verifier starts without those keys,
	// logs, and retries with backoff. Only RSA, EC P-256 and Ed25519
	// signature keys are used; symmetric ("oct") keys are ignored, since a
	// shared secret must not travel over HTTP.
	JWKSURL string
	// JWKSRefresh is the time between two fetches of JWKSURL, and the
	// longest wait between retries of a failing one. Required (> 0) with
	// JWKSURL, unused without it: it has no default here, as pgfast's
	// auth.jwt.jwks_refresh always sets it (default 5m). There is no "never
	// refresh": a key the provider withdrew would stay trusted until
	// restart. Identity providers publish a new key well before they sign
	// with it, so minutes are enough; a token with an unknown kid also
	// triggers a refresh (see JWKSMissInterval).
	JWKSRefresh time.Duration
	// JWKSMissInterval is the least time between two refreshes triggered by
	// an unknown kid; tokens naming unknown kids in between are refused at
	// once. Default: DefaultJWKSMissInterval (30s), or JWKSRefresh if that
	// is shorter (and set).
	JWKSMissInterval time.Duration
	// HTTPClient fetches JWKSURL. Default: a client with a 5s timeout. A
	// client without a Timeout makes a kid-miss wait unbounded; set one.
	HTTPClient *http.Client
	// CacheSize is how many verified tokens are remembered, so that a
	// repeat costs a hash and a compare instead of a signature check.
	// Default: DefaultCacheSize (10000). Negative disables the cache.
	CacheSize int
	// Now returns the current time for exp and nbf checks. Default:
	// time.Now. Tests set a fake clock.
	Now func() time.Time
	// Logger receives JWKS fetch failures and recoveries. Default:
	// slog.Default().
	Logger *slog.Logger
}

// withDefaults returns a copy of o with every zero field that has a default
// (those the configuration does not set) set to it.
func (o Options) withDefaults() Options {
	if o.JWKSMissInterval == 0 {
		o.JWKSMissInterval = DefaultJWKSMissInterval
		if o.JWKSRefresh > 0 {
			o.JWKSMissInterval = min(o.JWKSMissInterval, o.JWKSRefresh)
		}
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	if o.CacheSize == 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Validate reports whether o (with defaults applied) describes a verifier
// this package can build: at least one key, every key parseable and
// strong enough, every algorithm known and backed by a key source.
// Errors wrap ErrInvalidOptions and name the field.
func (o Options) Validate() error {
	_, err := o.compile()
	return err
}

// compiled is what Options turn into: the static keys and the set of
// allowed algorithms.
type compiled struct {
	opts    Options
	static  []*key
	have    [numAlgs]bool // a key source exists for the algorithm
	allowed [numAlgs]bool
	require []requirement // Options.Require, without repeats
}

// compile applies the defaults and checks o; New builds the Verifier from
// its result, so Validate and New can never disagree.
func (o Options) compile() (*compiled, error) {
	o = o.withDefaults()
	c := &compiled{opts: o}
	if len(o.Secret) > 0 {
		if len(o.Secret) < MinSecretBytes {
			return nil, fmt.Errorf("%w: Secret is %d bytes; want at least %d (RFC 7518 §3.2), e.g. 32 random bytes", ErrInvalidOptions, len(o.Secret), MinSecretBytes)
		}
		c.static = append(c.static, newHMACKey(o.Secret))
	}
	for i, p := range o.PublicKeys {
		keys, err := parsePEMKeys(p)
		if err != nil {
			return nil, fmt.Errorf("%w: PublicKeys[%d]: %w", ErrInvalidOptions, i, err)
		}
		c.static = append(c.static, keys...)
	}
	have := &c.have
	for _, k := range c.static {
		have[k.alg] = true
	}
	if o.JWKSURL != "" {
		u, err := url.Parse(o.JWKSURL)
		if err != nil {
			return nil, fmt.Errorf("%w: JWKSURL: %w", ErrInvalidOptions, err)
		}
		if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("%w: JWKSURL = %q; want an http(s) URL with a host", ErrInvalidOptions, o.JWKSURL)
		}
		have[algRS256], have[algES256], have[algEdDSA] = true, true, true
	}
	if len(c.static) == 0 && o.JWKSURL == "" {
		return nil, fmt.Errorf("%w: no key configured; set Secret, PublicKeys or JWKSURL", ErrInvalidOptions)
	}
	if len(o.Algorithms) == 0 {
		c.allowed = *have
	}
	for _, name := range o.Algorithms {
		a, ok := algByName(name)
		if !ok {
			return nil, fmt.Errorf("%w: Algorithms: %q is not one of HS256, RS256, ES256, EdDSA", ErrInvalidOptions, name)
		}
		if !have[a] {
			return nil, fmt.Errorf("%w: Algorithms: %s has no key; %s", ErrInvalidOptions, name, a.keyHint())
		}
		c.allowed[a] = true
	}
	for _, name := range o.Require {
		r, ok := requirementOf(name)
		if !ok {
			return nil, fmt.Errorf("%w: Require: %q is not one of exp, nbf, iat, iss, aud, sub", ErrInvalidOptions, name)
		}
		if !slices.Contains(c.require, r) {
			c.require = append(c.require, r)
		}
	}
	switch {
	case o.Leeway < 0:
		return nil, fmt.Errorf("%w: Leeway = %s; want 0 (none) or a positive duration", ErrInvalidOptions, o.Leeway)
	case o.JWKSRefresh < 0, o.JWKSURL != "" && o.JWKSRefresh == 0:
		return nil, fmt.Errorf("%w: JWKSRefresh = %s; want a positive duration with JWKSURL, such as 5m", ErrInvalidOptions, o.JWKSRefresh)
	case o.JWKSMissInterval < 0:
		return nil, fmt.Errorf("%w: JWKSMissInterval = %s; want a positive duration", ErrInvalidOptions, o.JWKSMissInterval)
	}
	return c, nil
}
