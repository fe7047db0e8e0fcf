package engine

import (
	"math/rand/v2"
	"net/netip"
)

var headerXRequestID = []byte("X-Request-Id")

// maxRequestIDLen bounds an X-Request-Id taken from a trusted proxy.
const maxRequestIDLen = 128

// requestID is the request's id: the X-Request-Id a trusted proxy sent
// (limits.trusted_proxies), or one made here (16 hex digits). It is made
// once per request, on first use, without allocating.
func (r *request) requestID() []byte {
	if r.reqIDLen > 0 {
		return r.reqID[:r.reqIDLen]
	}
	if v := r.ctx.Request.Header.PeekCanonical(headerXRequestID); len(v) > 0 && len(v) <= maxRequestIDLen && printable(v) && r.fromTrustedProxy() {
		r.reqIDLen = copy(r.reqID[:], v)
		return r.reqID[:r.reqIDLen]
	}
	const hex = "0123456789abcdef"
	n := rand.Uint64()
	for i := 15; i >= 0; i-- {
		r.reqID[i] = hex[n&0xf]
		n >>= 4
	}
	r.reqIDLen = 16
	return r.reqID[:16]
}

// fromTrustedProxy reports whether the peer is one of limits.trusted_proxies.
func (r *request) fromTrustedProxy() bool {
	if len(r.st.trusted) == 0 {
		return false
	}
	a, ok := netip.AddrFromSlice(r.ctx.RemoteIP())
	return ok && r.st.trusted.contains(a)
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}
