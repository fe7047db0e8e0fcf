package upstream

import (
	"crypto/tls"
	"slices"
)

// sameOptions reports whether a and b (both normalized) build the same
// targets, health checks and breakers: everything but Retries and Logger,
// which only the Upstream reads.
func sameOptions(a, b *Options) bool {
	return a.Name == b.Name &&
		slices.Equal(a.Targets, b.Targets) &&
		a.Balance == b.Balance &&
		a.ConnectTimeout == b.ConnectTimeout &&
		a.Timeout == b.Timeout &&
		a.MaxConnsPerTarget == b.MaxConnsPerTarget &&
		a.MaxResponseBodySize == b.MaxResponseBodySize &&
		equalPtr(a.HealthCheck, b.HealthCheck) &&
		equalPtr(a.Breaker, b.Breaker) &&
		sameTLS(a.TLS, b.TLS)
}

// equalPtr reports whether a and b are both nil or point to equal values.
func equalPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// sameTLS compares the fields of two client TLS configurations that the
// engine sets (DESIGN §9: ca_file, server_name, insecure_skip_verify) plus
// the usual others. A reload builds a new *tls.Config each time, so the
// pointers differ; their contents are what matters.
func sameTLS(a, b *tls.Config) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a == b {
		return true
	}
	if a.ServerName != b.ServerName || a.InsecureSkipVerify != b.InsecureSkipVerify ||
		a.MinVersion != b.MinVersion || a.MaxVersion != b.MaxVersion ||
		!slices.Equal(a.NextProtos, b.NextProtos) || !slices.Equal(a.CipherSuites, b.CipherSuites) ||
		len(a.Certificates) != len(b.Certificates) {
		return false
	}
	if (a.RootCAs == nil) != (b.RootCAs == nil) || a.RootCAs != nil && !a.RootCAs.Equal(b.RootCAs) {
		return false
	}
	for i := range a.Certificates {
		if !slices.EqualFunc(a.Certificates[i].Certificate, b.Certificates[i].Certificate, slices.Equal[[]byte]) {
			return false
		}
	}
	// Callbacks cannot be compared; a config that sets one is the same
	// only as the same pointer.
	return a.VerifyPeerCertificate == nil && b.VerifyPeerCertificate == nil &&
		a.VerifyConnection == nil && b.VerifyConnection == nil &&
		a.GetClientCertificate == nil && b.GetClientCertificate == nil
}
