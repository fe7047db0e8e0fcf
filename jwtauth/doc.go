// Package jwtauth verifies JSON Web Tokens (RFC 7519) for pgfast's
// `auth: jwt` routes: it takes the token's bytes and returns its claims or
// an *Error saying why it was refused. It knows nothing of HTTP; the engine
// takes the token from the Authorization header and answers 401 with the
// error's text.
//
// # Algorithms and keys
//
// HS256 (a configured secret), RS256, ES256 (P-256) and EdDSA (Ed25519),
// with public keys from PEM or from a JWKS URL refreshed in the
// background. Each key type verifies exactly one algorithm and the
// token's alg must be that one: an RSA public key is never an HMAC secret
// (the HS/RS confusion), and "none" is always refused. A token's kid
// selects the key (a PEM key's kid is its RFC 7638 thumbprint, a JWKS
// key's kid its own); a token without kid is tried against every key of
// its algorithm. Keys named by the token itself (jwk, jku, x5u headers) are
// ignored. exp and nbf are checked with a leeway, iss and aud when
// configured; Options.Require names registered claims a token must carry
// (pgfast's config requires exp by default).
//
// # Why crypto/* and not a JWT library
//
// The signature checks are the standard library's (crypto/hmac,
// crypto/rsa, crypto/ecdsa, crypto/ed25519); only the JOSE framing around
// them is written here (token.go, signature.go). github.com/golang-jwt/jwt/v5
// would do the same checks, but behind a generic key callback that hands
// back an untyped key, and with claims decoded into a map of any; doing the
// framing here lets the package bind alg to key type before any
// cryptography runs, report each refusal with its own reason, pool HMAC
// states, and keep every claim as ready-to-use text so that a route
// parameter lookup allocates nothing. The tests sign with golang-jwt, so
// interoperability is checked against an independent implementation.
//
// JSON is parsed by encoding/json, into maps so that member names match
// exactly (struct decoding would read "ALG" as "alg"); a header or claims
// set naming a member twice, which encoding/json would resolve silently to
// the last, is refused as malformed (members.go). A faster parser
// would only speed up the first sight of a token; the cache makes every
// later one skip parsing altogether, so the robust, well-fuzzed decoder
// wins.
//
// # The cache
//
// Verified tokens are cached by their bytes (a seeded hash, then a full
// compare with the stored copy) up to Options.CacheSize entries, each
// living until its exp. A repeat costs no signature check and no
// allocation, and exp/nbf are checked again on every hit. A change of the
// key set empties the cache, so a token signed by a retired key is not
// accepted from memory.
//
// # JWKS
//
// The set is fetched at New (a failure is logged, not fatal, and retried
// with backoff), then every Options.JWKSRefresh by one goroutine owned by
// the Verifier and stopped by Close. A token naming an unknown kid
// triggers one immediate refresh, at most once per
// Options.JWKSMissInterval, and waits for it; past that it is refused as
// "unknown key id". A failed or empty fetch keeps the keys already known.
package jwtauth
