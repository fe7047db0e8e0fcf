package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
)

func (v *validator) upstreams() {
	names := make([]string, 0, len(v.c.Upstreams))
	for name := range v.c.Upstreams {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		u := v.c.Upstreams[name]
		p := mapPath("upstreams", name)
		if !isSimpleName(name) {
			v.fail(p, "names may hold letters, digits, _ and - only")
		}
		if u == nil {
			v.fail(p, "must not be empty")
			continue
		}
		https := v.targets(p, u.Targets)
		if v.enum(p+".balance", u.Balance, BalanceRoundRobin, BalanceLeastConn, BalanceHash) {
			switch {
			case u.Balance == BalanceHash && u.HashKey == "":
				v.fail(p+".hash_key", "required with balance: hash (header.X, query.X, path.X, jwt.X or ip)")
			case u.Balance == BalanceHash:
				if _, _, err := parsePlaceholder(u.HashKey, false); err != nil {
					v.fail(p+".hash_key", "%v", err)
				}
			case u.HashKey != "":
				v.fail(p+".hash_key", "applies to balance: hash only, got balance %q", u.Balance)
			}
		}
		if u.ConnectTimeout <= 0 {
			v.fail(p+".connect_timeout", "must be > 0, got %s", u.ConnectTimeout)
		}
		if u.MaxConnsPerTarget <= 0 {
			v.fail(p+".max_conns_per_target", "must be > 0, got %d", u.MaxConnsPerTarget)
		}
		if u.Retries < 0 {
			v.fail(p+".retries", "must be >= 0 (0 never retries), got %d", u.Retries)
		}
		if h := u.HealthCheck; h != nil {
			hp := p + ".health_check"
			if !strings.HasPrefix(h.Path, "/") {
				v.fail(hp+".path", "must start with /, got %q", h.Path)
			}
			v.positive(hp+".interval", h.Interval)
			if v.positive(hp+".timeout", h.Timeout) && h.Timeout > h.Interval && h.Interval > 0 {
				v.fail(hp+".timeout", "must not exceed interval (%s), got %s", h.Interval, h.Timeout)
			}
			v.atLeastOne(hp+".healthy", h.Healthy)
			v.atLeastOne(hp+".unhealthy", h.Unhealthy)
		}
		if b := u.CircuitBreaker; b != nil {
			bp := p + ".circuit_breaker"
			v.atLeastOne(bp+".failures", b.Failures)
			v.positive(bp+".window", b.Window)
			if !(b.ErrorRatio > 0 && b.ErrorRatio <= 1) {
				v.fail(bp+".error_ratio", "must be in (0, 1], such as 0.5, got %g", b.ErrorRatio)
			}
			v.atLeastOne(bp+".min_requests", b.MinRequests)
			v.positive(bp+".open_for", b.OpenFor)
			v.atLeastOne(bp+".half_open_requests", b.HalfOpenRequests)
		}
		t := u.TLS
		switch {
		case t.IsZero():
		case !https:
			v.fail(p+".tls", "applies to https:// targets only, and this upstream has none")
		case t.CAFile != "" && t.InsecureSkipVerify:
			v.fail(p+".tls", "set ca_file or insecure_skip_verify, not both")
		}
		if t.ServerName != "" && !isHostname(strings.ToLower(t.ServerName)) {
			v.fail(p+".tls.server_name", "must be a host name such as api.internal, got %q", t.ServerName)
		}
	}
}

// targets checks an upstream's targets and reports whether any valid one is https.
func (v *validator) targets(p string, targets []Target) (https bool) {
	if len(targets) == 0 {
		v.fail(p+".targets", "needs at least one target")
	}
	seen := make(map[string]int)
	for i, t := range targets {
		tp := indexPath(p+".targets", i)
		key, isHTTPS, msg := checkTargetURL(t.URL)
		if msg != "" {
			v.fail(tp+".url", "%s", msg)
		} else if prev, dup := seen[key]; dup {
			v.fail(tp+".url", "%s is also targets[%d]", key, prev)
		} else {
			seen[key] = i
			https = https || isHTTPS
		}
		if t.Weight <= 0 {
			v.fail(tp+".weight", "must be > 0, got %d", t.Weight)
		}
	}
	return https
}

// checkTargetURL checks an upstream target's URL. It returns the URL in a canonical form
// (scheme://host:port, lower case, the default port written) to tell duplicates apart, whether
// it is https, or what is wrong with it. A URL with user info is shown redacted.
func checkTargetURL(s string) (key string, https bool, msg string) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Opaque != "" {
		return "", false, fmt.Sprintf("must be an http:// or https:// URL such as http://127.0.0.1:9001, got %q", s)
	}
	switch {
	case u.User != nil:
		return "", false, fmt.Sprintf("must not hold user info (send credentials with request_headers), got %q", u.Redacted())
	case u.Hostname() == "":
		return "", false, fmt.Sprintf("needs a host, got %q", s)
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", false, fmt.Sprintf("must have no path, query or fragment (a route's rewrite sets the upstream path), got %q", s)
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", false, fmt.Sprintf("port must be 1 to 65535, got %q", s)
	}
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return u.Scheme + "://" + host + ":" + port, u.Scheme == "https", ""
}

// positive checks that a duration is > 0 and reports whether it is.
func (v *validator) positive(path string, d Duration) bool {
	if d <= 0 {
		v.fail(path, "must be > 0, got %s", d)
		return false
	}
	return true
}

func (v *validator) atLeastOne(path string, n int) {
	if n < 1 {
		v.fail(path, "must be at least 1, got %d", n)
	}
}

// files checks that the input files and directories of the gateway keys exist: each static
// route's dir (a directory) and each upstream's tls.ca_file (a file). Load runs it after
// making the paths relative to the config file; Validate does not touch the file system.
func (v *validator) files() {
	for i, r := range v.c.Routes {
		if r.Static != nil && r.Static.Dir != "" {
			v.file(indexPath("routes", i)+".static.dir", r.Static.Dir, true)
		}
		if r.Script != "" {
			v.file(indexPath("routes", i)+".script", r.Script, false)
		}
	}
	names := make([]string, 0, len(v.c.Upstreams))
	for name, u := range v.c.Upstreams {
		if u != nil && u.TLS.CAFile != "" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		v.file(mapPath("upstreams", name)+".tls.ca_file", v.c.Upstreams[name].TLS.CAFile, false)
	}
}

// file checks that name exists and is a directory (dir) or not.
func (v *validator) file(path, name string, dir bool) {
	fi, err := os.Stat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		v.fail(path, "%q does not exist", name)
	case err != nil:
		v.fail(path, "cannot read it: %v", err)
	case dir && !fi.IsDir():
		v.fail(path, "%q is not a directory", name)
	case !dir && fi.IsDir():
		v.fail(path, "%q is a directory; want a file", name)
	}
}
