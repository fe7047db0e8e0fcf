package config

import (
	"net"
	"net/url"
	"strconv"
)

func (v *validator) server() {
	s := &v.c.Server
	v.addr("server.addr", s.Addr)
	if s.AdminAddr != "" && s.AdminAddr != "off" {
		v.addr("server.admin_addr", s.AdminAddr)
		// Port 0 asks the system for a free port, so equal ":0" addresses
		// still end up on different ports.
		if sameListener(s.AdminAddr, s.Addr) {
			v.fail("server.admin_addr", "must differ from server.addr, got %q and %q", s.AdminAddr, s.Addr)
		}
	}
	if s.ShutdownTimeout <= 0 {
		v.fail("server.shutdown_timeout", "must be > 0, got %s", s.ShutdownTimeout)
	}
	if s.MaxBodyBytes <= 0 {
		v.fail("server.max_body_bytes", "must be > 0, got %s", s.MaxBodyBytes)
	}
	if s.StreamMinRate < 0 {
		v.fail("server.stream_min_rate", "must be >= 0, got %s", s.StreamMinRate)
	}
	if s.MaxInflightResponseBytes < MiB {
		v.fail("server.max_inflight_response_bytes", "must be at least 1MiB, got %s", s.MaxInflightResponseBytes)
	}
	if s.MaxSpillBytes < 0 {
		v.fail("server.max_spill_bytes", "must be >= 0, got %s", s.MaxSpillBytes)
	}
	if s.MaxHeaderBytes < KiB {
		v.fail("server.max_header_bytes", "must be at least 1KiB, got %s", s.MaxHeaderBytes)
	}
	if s.MaxConns <= 0 {
		v.fail("server.max_conns", "must be > 0, got %d", s.MaxConns)
	}
	for i, o := range s.CORS.AllowedOrigins {
		p := indexPath("server.cors.allowed_origins", i)
		if o == "*" {
			if s.CORS.AllowCredentials {
				v.fail(p, "\"*\" cannot be combined with allow_credentials: true (browsers refuse it); list the origins")
			}
			continue
		}
		if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
			v.fail(p, "must be \"*\" or scheme://host[:port], got %q", o)
		}
	}
	for i, m := range s.CORS.AllowedMethods {
		if !isToken(m) {
			v.fail(indexPath("server.cors.allowed_methods", i), "must be an HTTP method, got %q", m)
		}
	}
	for _, f := range []struct {
		path string
		list []string
	}{{"server.cors.allowed_headers", s.CORS.AllowedHeaders}, {"server.cors.expose_headers", s.CORS.ExposeHeaders}} {
		for i, h := range f.list {
			if !isToken(h) {
				v.fail(indexPath(f.path, i), "must be a header name, got %q", h)
			}
		}
	}
	if l := s.Compression.GzipLevel; l < 1 || l > 9 {
		// gzip's level 0 stores without compressing (klauspost/compress NoCompression):
		// never smaller, so it would only cost time. brotli's 0 is its fastest quality.
		v.fail("server.compression.gzip_level", "must be 1 to 9 (0 would store, not compress; set enabled: false to turn compression off), got %d", l)
	}
	if l := s.Compression.BrotliLevel; l < 0 || l > 11 {
		v.fail("server.compression.brotli_level", "must be 0 to 11, got %d", l)
	}
	if (s.TLS.CertFile == "") != (s.TLS.KeyFile == "") {
		v.fail("server.tls", "set both cert_file and key_file, or neither")
	}
}

// addr checks a host:port listen address.
func (v *validator) addr(path, s string) {
	_, port, err := net.SplitHostPort(s)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil {
		v.fail(path, "must be host:port such as \":8580\", got %q", s)
	}
}

// sameListener reports whether two host:port addresses would bind the same
// port on a shared interface: equal ports where the hosts are equal or one
// of them is every interface. Port 0 asks the system for a free port, so
// two ":0" addresses still end up on different ports.
func sameListener(a, b string) bool {
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	if errA != nil || errB != nil || pa != pb || pa == "0" {
		return false
	}
	any := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return ha == hb || any(ha) || any(hb)
}
