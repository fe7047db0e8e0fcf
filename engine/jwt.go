package engine

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"time"

	"github.com/pgfast/pgfast/config"
	"github.com/pgfast/pgfast/jwtauth"
)

// jwtOptions maps auth.jwt to jwtauth.Options, reading the PEM files.
func jwtOptions(e *Engine, j config.JWT) (jwtauth.Options, error) {
	o := jwtauth.Options{
		Secret:      []byte(j.Secret.Value()),
		Algorithms:  j.Algorithms,
		Issuer:      j.Issuer,
		Audience:    j.Audience,
		Leeway:      j.Leeway.Std(), // 0 means none, in both
		Require:     j.Require,      // config's default is [exp]; [] requires nothing
		JWKSURL:     j.JWKSURL,
		JWKSRefresh: j.JWKSRefresh.Std(),
		Logger:      e.log.With("component", "jwt"),
	}
	for _, f := range j.PublicKeys {
		b, err := os.ReadFile(f)
		if err != nil {
			return o, fmt.Errorf("auth.jwt.public_keys: cannot read %s: %w", f, err)
		}
		o.PublicKeys = append(o.PublicKeys, b)
	}
	return o, nil
}

// newVerifier builds the state's JWT verifier, or nil when auth.jwt is not
// configured. The first JWKS fetch is bounded: a key provider that is down
// does not stop pgfast from starting (tokens fail until it answers).
func newVerifier(ctx context.Context, e *Engine, j config.JWT) (*jwtauth.Verifier, error) {
	if !j.Enabled() {
		return nil, nil
	}
	o, err := jwtOptions(e, j)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	v, err := jwtauth.New(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("auth.jwt: %w", err)
	}
	return v, nil
}

// verifyJWT checks the request's bearer token. A token seen before costs a
// hash lookup (jwtauth caches verified tokens by their bytes).
func (st *state) verifyJWT(r *request) (*jwtauth.Claims, error) {
	h := r.ctx.Request.Header.PeekCanonical(headerAuthorization)
	if len(h) < len(bearerPrefix) || !bytes.EqualFold(h[:len(bearerPrefix)], bearerPrefix) {
		return nil, errUnauthorized("missing Authorization: Bearer <JWT> header")
	}
	if st.jwt == nil {
		return nil, errUnauthorized("JWT authentication is not configured")
	}
	claims, err := st.jwt.Verify(bytes.TrimSpace(h[len(bearerPrefix):]))
	if err != nil {
		return nil, errUnauthorized(err.Error())
	}
	return claims, nil
}
