package upstream

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// ErrNoTarget means no target could answer: none was up, or the ones tried
// failed to connect or reset the connection and retries ran out (the error
// Do returns then wraps both ErrNoTarget and the last cause). The engine
// answers 502 bad_gateway.
var ErrNoTarget = errors.New("upstream: no target could serve the request")

// ErrTimeout means the exchange took longer than Options.Timeout (without
// a Timeout: that the connection itself timed out). The engine answers 504
// upstream_timeout.
var ErrTimeout = errors.New("upstream: timeout")

// OpenError means every target that is up has its circuit breaker open (or
// half-open with all its probe slots taken). The engine answers 503
// unavailable with a Retry-After header of RetryAfter rounded up to whole
// seconds (RetryAfterSeconds).
type OpenError struct {
	// Upstream is Options.Name.
	Upstream string
	// RetryAfter is the time until the first breaker half-opens and takes
	// a probe; 0 when a half-open breaker is only waiting for its probes
	// to finish.
	RetryAfter time.Duration
}

// Error tells the operator what happened and which setting governs it.
func (e *OpenError) Error() string {
	return fmt.Sprintf("upstream %q: every target's circuit breaker is open; next probe in %s (circuit_breaker.open_for)",
		e.Upstream, e.RetryAfter)
}

// RetryAfterSeconds is RetryAfter rounded up to whole seconds, at least 1,
// for a Retry-After header.
func (e *OpenError) RetryAfterSeconds() int64 {
	s := int64((e.RetryAfter + time.Second - 1) / time.Second)
	return max(s, 1)
}

// IsOpen reports whether err is, or wraps, an *OpenError.
func IsOpen(err error) bool {
	var oe *OpenError
	return errors.As(err, &oe)
}

// IsTimeout reports whether err is, or wraps, ErrTimeout.
func IsTimeout(err error) bool { return errors.Is(err, ErrTimeout) }

// IsNoTarget reports whether err is, or wraps, ErrNoTarget.
func IsNoTarget(err error) bool { return errors.Is(err, ErrNoTarget) }

// outcome classifies one attempt on one target.
type outcome uint8

const (
	outOK        outcome = iota // a response the breaker counts as a success
	outBadStatus                // a 502, 503 or 504 response
	outConnect                  // dial or TLS handshake failed
	outReset                    // the connection broke before a whole response head
	outTimeout                  // the exchange's deadline passed
	outSaturated                // every connection to the target busy; nothing sent
	outOther                    // anything else (a body too large, a caller's body stream failing)
)

// failure reports whether o counts against the target's breaker.
func (o outcome) failure() bool {
	return o == outBadStatus || o == outConnect || o == outReset || o == outTimeout
}

// neutral reports whether o says nothing about the target's health.
func (o outcome) neutral() bool {
	return o == outSaturated || o == outOther
}

// retryable reports whether o may be retried on another target (for a
// request that may be retried at all).
func (o outcome) retryable() bool {
	return o == outBadStatus || o == outConnect || o == outReset || o == outSaturated
}

// classify turns one attempt's result into an outcome.
func classify(err error, status int, now, deadline time.Time) outcome {
	if err == nil {
		if status == fasthttp.StatusBadGateway || status == fasthttp.StatusServiceUnavailable ||
			status == fasthttp.StatusGatewayTimeout {
			return outBadStatus
		}
		return outOK
	}
	return classifyErr(err, now, deadline)
}

// classifyErr is classify's slow path, for an error.
func classifyErr(err error, now, deadline time.Time) outcome {
	if errors.Is(err, fasthttp.ErrNoFreeConns) {
		return outSaturated
	}
	if isConnectErr(err) {
		// A connect cut short by the exchange's own deadline is a timeout
		// of the exchange, not a sign that the target is gone.
		if pastDeadline(now, deadline) {
			return outTimeout
		}
		return outConnect
	}
	if errors.Is(err, fasthttp.ErrTimeout) {
		return outTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return outTimeout
	}
	if errors.Is(err, fasthttp.ErrConnectionClosed) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, net.ErrClosed) {
		return outReset
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return outReset
	}
	return outOther
}

// isConnectErr reports whether err happened while connecting: the dial or
// the TLS handshake.
func isConnectErr(err error) bool {
	if errors.Is(err, fasthttp.ErrDialTimeout) || errors.Is(err, fasthttp.ErrTLSHandshakeTimeout) {
		return true
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return true
	}
	var (
		ve *tls.CertificateVerificationError
		ae tls.AlertError
		re tls.RecordHeaderError
		ue x509.UnknownAuthorityError
		he x509.HostnameError
		ce x509.CertificateInvalidError
	)
	return errors.As(err, &ve) || errors.As(err, &ae) || errors.As(err, &re) ||
		errors.As(err, &ue) || errors.As(err, &he) || errors.As(err, &ce)
}
