package limiter

import (
	"strconv"
	"time"
)

// CeilSeconds returns d in whole seconds rounded up, and 0 for d <= 0.
// Rounding up keeps a client that waits the advertised time from arriving a
// fraction of a second too early.
func CeilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	s := int64(d / time.Second)
	if d%time.Second != 0 {
		s++
	}
	return s
}

// AppendHeaderSeconds appends d as the plain integer seconds of a
// RateLimit-Reset header (CeilSeconds) and returns the extended slice.
func AppendHeaderSeconds(dst []byte, d time.Duration) []byte {
	return strconv.AppendInt(dst, CeilSeconds(d), 10)
}

// AppendRetryAfter appends d as the delay-seconds of a Retry-After header
// (RFC 9110 §10.2.3): rounded up and at least 1, since a rejected client told
// "0" would retry at once.
func AppendRetryAfter(dst []byte, d time.Duration) []byte {
	return strconv.AppendInt(dst, max(CeilSeconds(d), 1), 10)
}

// ResetSeconds returns Reset in whole seconds rounded up, as RateLimit-Reset
// prints it.
func (d *Decision) ResetSeconds() int64 {
	return CeilSeconds(d.Reset)
}

// RetryAfterSeconds returns Retry-After in whole seconds: 0 when the request
// was allowed, otherwise RetryAfter rounded up and at least 1.
func (d *Decision) RetryAfterSeconds() int64 {
	if d.Allowed {
		return 0
	}
	return max(CeilSeconds(d.RetryAfter), 1)
}
