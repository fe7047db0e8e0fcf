package engine

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"

	"github.com/pgfast/pgfast/config"
	"github.com/pgfast/pgfast/upstream"
)

// gatewayUpstream is one entry of the config's upstreams: its balancer,
// health checks and breakers, kept across a reload while its config is
// unchanged (so are its targets' health and breaker states).
type gatewayUpstream struct {
	name string
	cfg  config.Upstream
	up   *upstream.Upstream
}

// openUpstreams builds st.upstreams, taking over the unchanged ones of prev.
func openUpstreams(e *Engine, st, prev *state) error {
	names := make([]string, 0, len(st.cfg.Upstreams))
	for name := range st.cfg.Upstreams {
		names = append(names, name)
	}
	sort.Strings(names)
	st.upstreams = map[string]*gatewayUpstream{}
	for _, name := range names {
		uc := st.cfg.Upstreams[name]
		if prev != nil {
			if old := prev.upstreams[name]; old != nil && reflect.DeepEqual(old.cfg, *uc) {
				st.upstreams[name] = old
				continue
			}
		}
		o, err := upstreamOptions(e, name, uc)
		if err != nil {
			return fmt.Errorf("upstreams.%s: %w", name, err)
		}
		u, err := upstream.New(o)
		if err != nil {
			return fmt.Errorf("upstreams.%s: %w", name, err)
		}
		st.upstreams[name] = &gatewayUpstream{name: name, cfg: *uc, up: u}
	}
	return nil
}

var balances = map[string]upstream.Balance{
	config.BalanceRoundRobin: upstream.RoundRobin, config.BalanceLeastConn: upstream.LeastConn, config.BalanceHash: upstream.Hash,
}

// upstreamOptions maps an upstreams entry to upstream.Options.
func upstreamOptions(e *Engine, name string, uc *config.Upstream) (upstream.Options, error) {
	o := upstream.Options{
		Name:              name,
		Balance:           balances[uc.Balance],
		ConnectTimeout:    uc.ConnectTimeout.Std(),
		Timeout:           uc.Timeout.Std(),
		MaxConnsPerTarget: uc.MaxConnsPerTarget,
		Retries:           uc.Retries,
		Logger:            e.log.With("upstream", name),
	}
	for _, t := range uc.Targets {
		o.Targets = append(o.Targets, upstream.Target{URL: t.URL, Weight: t.Weight})
	}
	if h := uc.HealthCheck; h != nil {
		o.HealthCheck = &upstream.HealthCheck{Path: h.Path, Interval: h.Interval.Std(), Timeout: h.Timeout.Std(), Healthy: h.Healthy, Unhealthy: h.Unhealthy}
	}
	if b := uc.CircuitBreaker; b != nil {
		o.Breaker = &upstream.Breaker{Failures: b.Failures, Window: b.Window.Std(), ErrorRatio: b.ErrorRatio,
			MinRequests: b.MinRequests, OpenFor: b.OpenFor.Std(), HalfOpenRequests: b.HalfOpenRequests}
	}
	if !uc.TLS.IsZero() {
		tc := &tls.Config{ServerName: uc.TLS.ServerName, InsecureSkipVerify: uc.TLS.InsecureSkipVerify} //nolint:gosec // the operator's explicit choice
		if uc.TLS.CAFile != "" {
			pem, err := os.ReadFile(uc.TLS.CAFile)
			if err != nil {
				return o, fmt.Errorf("tls.ca_file: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return o, fmt.Errorf("tls.ca_file %s: no PEM certificate in it", uc.TLS.CAFile)
			}
		}
		o.TLS = tc
	}
	return o, nil
}

// compileUpstreamBackend builds an upstream route's backend.
func compileUpstreamBackend(st *state, rc *config.Route) (*upstreamBackend, error) {
	gu := st.upstreams[rc.Upstream]
	if gu == nil {
		return nil, fmt.Errorf("upstream %q is not configured", rc.Upstream)
	}
	b := &upstreamBackend{up: gu.up, name: gu.name, maxBody: int64(rc.MaxBodyBytes), dropAuthorization: rc.Auth == config.AuthToken}
	names := pathNames(rc.Path)
	if rw := rc.Rewrite; rw != nil {
		re, err := regexp.Compile(rw.Match)
		if err != nil {
			return nil, fmt.Errorf("rewrite.match: %w", err)
		}
		b.rewrite, b.replace = re, []byte(rw.Replace)
	}
	h := &rc.RequestHeaders
	rules, err := compileHeaderRules(h.Set, h.Add, h.Remove, names)
	if err != nil {
		return nil, fmt.Errorf("request_headers: %w", err)
	}
	if !rules.empty() {
		b.reqHeaders = rules
	}
	if rc.HostHeader != "" {
		b.hostHeader = []byte(rc.HostHeader)
	}
	if gu.cfg.Balance == config.BalanceHash {
		if b.hashKey, err = compileValue("{"+gu.cfg.HashKey+"}", names); err != nil {
			return nil, fmt.Errorf("upstreams.%s.hash_key: %w", gu.name, err)
		}
	}
	return b, nil
}
