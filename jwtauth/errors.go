package jwtauth

// Error is why a token was refused. Every failure Verify returns is an
// *Error, and every *Error means the request is unauthorized (HTTP 401):
// the engine tests for it with errors.As and shows Error() to the client.
// The text never contains key material, only the reason and, for an
// unknown key, the token's own kid.
type Error struct {
	// Reason says what is wrong with the token, e.g. "token expired".
	Reason string
	// Err is the underlying cause, when there is one (a base64 or JSON
	// error inside a malformed token); nil otherwise.
	Err error
}

// Error returns "jwtauth: " followed by the reason.
func (e *Error) Error() string { return "jwtauth: " + e.Reason }

// Unwrap returns the underlying cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// The refusals whose text never varies are shared values, so that a cached
// token refused for its time (the common case on a cache hit) costs no
// allocation; compare with errors.Is. They must not be modified.
var (
	// ErrTokenExpired: now is past exp plus the leeway.
	ErrTokenExpired = &Error{Reason: "token expired"}
	// ErrTokenNotYetValid: now plus the leeway is before nbf.
	ErrTokenNotYetValid = &Error{Reason: "token not yet valid"}
	// ErrWrongAudience: Options.Audience is set and the token's aud does
	// not contain it.
	ErrWrongAudience = &Error{Reason: "wrong audience"}
	// ErrWrongIssuer: Options.Issuer is set and the token's iss differs.
	ErrWrongIssuer = &Error{Reason: "wrong issuer"}
	// ErrBadSignature: the signature does not verify with the key.
	ErrBadSignature = &Error{Reason: "bad signature"}
	// ErrAlgNone: the token claims to be unsigned ("alg":"none", RFC 7519
	// §6); pgfast never accepts one.
	ErrAlgNone = &Error{Reason: "algorithm none is not allowed"}
)

// errMalformed returns the refusal for a token that is not a well-formed
// JWS compact serialization or whose JSON is not what RFC 7519 requires.
func errMalformed(what string, cause error) *Error {
	return &Error{Reason: "malformed token: " + what, Err: cause}
}
