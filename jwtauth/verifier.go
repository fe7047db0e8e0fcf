package jwtauth

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Verifier checks JWTs against a fixed policy (algorithms, issuer,
// audience, leeway) and a set of keys that may change (JWKS). It is safe
// for concurrent use. Build it with New; Close stops its background
// refresh.
type Verifier struct {
	opts    Options // with defaults applied
	allowed [numAlgs]bool
	have    [numAlgs]bool // a key source exists for the algorithm
	static  []*key
	require []requirement
	keys    atomic.Pointer[keySet]
	cache   *tokenCache  // nil when disabled
	jwks    *jwksFetcher // nil without JWKSURL

	closeOnce sync.Once
	verified  atomic.Uint64
	refused   atomic.Uint64
}

// New builds a Verifier from opts. With a JWKSURL it fetches the key set
// once, bounded by ctx and the HTTP client's timeout; a failure is logged
// and retried in the background, not returned, so that pgfast can start
// while the identity provider is briefly away (tokens needing those keys
// are refused until a fetch succeeds). ctx bounds only that first fetch;
// the background refresh runs until Close.
func New(ctx context.Context, opts Options) (*Verifier, error) {
	c, err := opts.compile()
	if err != nil {
		return nil, err
	}
	v := &Verifier{opts: c.opts, allowed: c.allowed, have: c.have, static: c.static, require: c.require}
	if c.opts.CacheSize > 0 {
		v.cache = newTokenCache(c.opts.CacheSize)
	}
	v.keys.Store(newKeySet(c.static, nil))
	if c.opts.JWKSURL != "" {
		v.jwks = newJWKSFetcher(&v.opts, v.installKeys)
		v.jwks.start(ctx)
	}
	return v, nil
}

// Close stops the JWKS refresh goroutine and waits for it. It is
// idempotent. Verify keeps working afterwards with the keys last fetched.
func (v *Verifier) Close() {
	v.closeOnce.Do(func() {
		if v.jwks != nil {
			v.jwks.stop()
		}
	})
}

// installKeys makes fetched the verifier's JWKS keys, next to the
// configured ones, and forgets every cached token: those verified with a
// key that is gone must be checked again.
func (v *Verifier) installKeys(fetched []*key) {
	v.keys.Store(newKeySet(v.static, fetched))
	if v.cache != nil {
		v.cache.clear()
	}
}

// Verify checks token (the compact serialization, without "Bearer ") and
// returns its claims. Failures are *Error values (401 material).
//
// A token verified before and still cached costs a hash, a compare and
// the exp/nbf check against the current time: no signature check and no
// allocation. Otherwise: the header's alg must be allowed and match the
// key (selected by kid, or every key of that algorithm when there is no
// kid), the signature must verify, and then the claims: no name twice,
// those of Options.Require present, exp, nbf, iss and aud. Verify does not
// keep token; it may be reused on return.
func (v *Verifier) Verify(token []byte) (*Claims, error) {
	now := v.opts.Now()
	if v.cache != nil {
		if c, ok := v.cache.get(token); ok {
			if err := c.checkTime(now); err != nil {
				v.refused.Add(1)
				return nil, err
			}
			return c, nil
		}
	}
	c, err := v.verify(token, now)
	if err != nil {
		v.refused.Add(1)
		return nil, err
	}
	v.verified.Add(1)
	return c, nil
}

// verify is the full check of a token the cache does not hold.
func (v *Verifier) verify(token []byte, now time.Time) (*Claims, error) {
	var gen uint64
	if v.cache != nil {
		gen = v.cache.generation() // before the key set: see tokenCache.put
	}
	p, err := splitToken(token)
	if err != nil {
		return nil, err
	}
	h, err := parseHeader(p.header)
	if err != nil {
		return nil, err
	}
	candidates, err := v.selectKeys(h)
	if err != nil {
		return nil, err
	}
	var buf [512]byte // an RSA-4096 signature fits
	sig, err := b64.AppendDecode(buf[:0], p.signature)
	if err != nil {
		return nil, errMalformed("signature is not base64url", err)
	}
	ok := false
	for _, k := range candidates {
		if k.verify(p.signingInput, sig) {
			ok = true
			break
		}
	}
	if !ok {
		return nil, ErrBadSignature
	}
	payload, err := b64.AppendDecode(nil, p.payload)
	if err != nil {
		return nil, errMalformed("payload is not base64url", err)
	}
	c, err := parseClaims(payload, v.opts.Issuer, v.opts.Audience, v.opts.Leeway, v.require)
	if err != nil {
		return nil, err
	}
	if err := c.checkTime(now); err != nil {
		return nil, err
	}
	if v.cache != nil {
		v.cache.put(token, c, gen, now)
	}
	return c, nil
}

// Refusals about algorithms, one per algorithm, built once.
var (
	errAlgNotAllowed [numAlgs]*Error // known, but not in Options.Algorithms
	errAlgWrongKey   [numAlgs]*Error // no key of this type, or kid names another type
)

func init() {
	for a := range numAlgs {
		errAlgNotAllowed[a] = &Error{Reason: "algorithm " + a.String() + " not allowed"}
		errAlgWrongKey[a] = &Error{Reason: "algorithm " + a.String() + " not allowed for this key"}
	}
}

// selectKeys returns the keys a token with header h may be verified with.
// This is where alg is bound to the key type: an HS256 token is only ever
// checked with the configured secret, an RS256 token only with RSA keys,
// and so on, so no public key can be used as an HMAC secret.
func (v *Verifier) selectKeys(h header) ([]*key, error) {
	if isNone(h.alg) {
		return nil, ErrAlgNone
	}
	a, ok := algByName(h.alg)
	if !ok {
		return nil, &Error{Reason: "algorithm " + strconv.Quote(truncate(h.alg)) + " not allowed"}
	}
	if !v.allowed[a] {
		if v.have[a] {
			return nil, errAlgNotAllowed[a]
		}
		return nil, errAlgWrongKey[a]
	}
	set := v.keys.Load()
	if a == algHS256 {
		// Issuers often put a kid on HS256 tokens too; it does not select
		// anything, since there is one secret. But a kid naming a public
		// key is the signature of an HS/RS confusion attempt.
		if h.hasKid && set.byKid[h.kid] != nil {
			return nil, errAlgWrongKey[a]
		}
		return set.byAlg[a], nil
	}
	if !h.hasKid {
		if len(set.byAlg[a]) == 0 && v.jwks != nil {
			v.jwks.missRefresh() // the JWKS may not have been reachable yet
			set = v.keys.Load()
		}
		if len(set.byAlg[a]) == 0 {
			return nil, errAlgWrongKey[a]
		}
		return set.byAlg[a], nil
	}
	k := set.byKid[h.kid]
	if k == nil && v.jwks != nil {
		// Look again even when missRefresh did not fetch: another
		// request's refresh may have installed the key meanwhile.
		v.jwks.missRefresh()
		k = v.keys.Load().byKid[h.kid]
	}
	if k == nil {
		return nil, &Error{Reason: "unknown key id " + strconv.Quote(truncate(h.kid))}
	}
	if k.alg != a {
		return nil, errAlgWrongKey[a]
	}
	return []*key{k}, nil
}

// Stats is a snapshot of a Verifier's counters, for /metrics.
type Stats struct {
	// CacheHits counts tokens answered from the cache (only their exp and
	// nbf checked again).
	CacheHits uint64
	// Verified counts tokens accepted after a full check (signature included).
	Verified uint64
	// Refused counts tokens refused, for any reason.
	Refused uint64
	// CacheEntries is the number of tokens cached now.
	CacheEntries int
	// Keys is the number of verification keys known now.
	Keys int
	// JWKSFetches and JWKSErrors count successful and failed JWKS fetches.
	JWKSFetches, JWKSErrors uint64
	// JWKSMissRefreshes counts fetches triggered by an unknown kid.
	JWKSMissRefreshes uint64
}

// Stats returns the current counters.
func (v *Verifier) Stats() Stats {
	s := Stats{
		Verified: v.verified.Load(),
		Refused:  v.refused.Load(),
		Keys:     v.keys.Load().n,
	}
	if v.cache != nil {
		s.CacheHits = v.cache.hitCount()
		s.CacheEntries = v.cache.len()
	}
	if v.jwks != nil {
		s.JWKSFetches = v.jwks.fetches.Load()
		s.JWKSErrors = v.jwks.errors.Load()
		s.JWKSMissRefreshes = v.jwks.missRefs.Load()
	}
	return s
}
