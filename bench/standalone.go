package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/pgfast/pgfast"
	"github.com/pgfast/pgfast/config"
	"github.com/pgfast/pgfast/embedpg"
	"github.com/pgfast/pgfast/engine"
)

// Standalone mode's own names: an account whose rate limit no scenario can
// reach, an uncached twin of the demo's cached /customers/{id} for the
// select and peak scenarios, and the upstream route of the proxy scenario
// (DefaultProxyPath and below) to bench's own upstream.
const (
	standaloneToken      = "sk_bench_local_only"
	standaloneSelectPath = "/bench/customers/{id}"
	standaloneRoute      = "customer_nocache"
	demoCachedRoute      = "customer"
	standaloneUpstream   = "bench"
	standaloneProxyRoute = "bench-proxy"
	standaloneProxyPath  = DefaultProxyPath + "*"
)

// standalone is a throwaway PostgreSQL with the demo data, a small HTTP
// upstream, and a pgfast engine serving both on free loopback ports, all
// owned by this process.
type standalone struct {
	cluster  *embedpg.Cluster
	upstream *fixedUpstream
	eng      *engine.Engine
	url      string // http://127.0.0.1:port
	admin    string
	served   chan error
}

// startStandalone starts the cluster, loads customers demo rows, starts the
// upstream and serves standaloneConfig, changed by tweaks (tests add
// routes). Close stops all three.
func startStandalone(ctx context.Context, customers int, log *slog.Logger, tweaks ...func(*config.Config)) (_ *standalone, err error) {
	s := &standalone{served: make(chan error, 2)}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	s.cluster, err = embedpg.Start(ctx, embedpg.Options{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("cannot start PostgreSQL for standalone mode: %w", err)
	}
	if _, err = embedpg.LoadDemo(ctx, s.cluster.URL(), pgfast.DemoSchema, customers); err != nil {
		return nil, err
	}
	// The config names the upstream's URL, known once it listens.
	if s.upstream, err = startUpstream(); err != nil {
		return nil, err
	}
	cfg, err := standaloneConfig(s.cluster.URL(), s.upstream.url)
	if err != nil {
		return nil, err
	}
	for _, t := range tweaks {
		t(cfg)
	}
	s.eng, err = engine.New(ctx, cfg, engine.Options{Logger: log, AuditWriter: io.Discard})
	if err != nil {
		return nil, fmt.Errorf("cannot start pgfast for standalone mode: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("cannot listen for standalone mode: %w", err)
	}
	aln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("cannot listen for standalone mode: %w", err)
	}
	s.url, s.admin = "http://"+ln.Addr().String(), "http://"+aln.Addr().String()
	go func() { s.served <- s.eng.Serve(ln) }()
	go func() { s.served <- s.eng.ServeAdmin(aln) }()
	return s, nil
}

// close drains the engine, then stops the upstream (which the engine's
// client was connected to) and PostgreSQL. Safe on a partly started
// standalone.
func (s *standalone) close() error {
	var errs []error
	if s.eng != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := s.eng.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		cancel()
		if s.url != "" {
			for range 2 {
				<-s.served
			}
		}
	}
	if s.upstream != nil {
		if err := s.upstream.close(); err != nil {
			errs = append(errs, err)
		}
	}
	if s.cluster != nil {
		if err := s.cluster.Stop(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// standaloneConfig is the demo config (testdata/demo.yaml) on url, plus an
// uncached twin of the customer route at standaloneSelectPath and an
// upstream route at standaloneProxyPath to upstreamURL (every upstream
// setting at its default), with the demo account replaced by one whose rate
// limit and pool fit the load.
func standaloneConfig(url, upstreamURL string) (*config.Config, error) {
	cfg, err := config.Parse(pgfast.DemoConfig, "yaml")
	if err != nil {
		return nil, fmt.Errorf("BUG: demo config does not parse: %w", err)
	}
	cfg.Databases[config.MainDatabase].URL = config.Secret(url)
	var twin *config.Route
	for i := range cfg.Routes {
		if cfg.Routes[i].Name == demoCachedRoute {
			r := cfg.Routes[i]
			twin = &r
		}
	}
	if twin == nil {
		return nil, fmt.Errorf("BUG: demo config has no %q route", demoCachedRoute)
	}
	twin.Name, twin.Path, twin.Cache, twin.InvalidateOn = standaloneRoute, standaloneSelectPath, 0, nil
	cfg.Routes = append(cfg.Routes, *twin)
	if cfg.Upstreams == nil {
		cfg.Upstreams = map[string]*config.Upstream{}
	}
	cfg.Upstreams[standaloneUpstream] = config.NewUpstream(upstreamURL)
	cfg.Routes = append(cfg.Routes, config.Route{Name: standaloneProxyRoute, Path: standaloneProxyPath, Upstream: standaloneUpstream,
		Auth: config.AuthNone, MaxBodyBytes: cfg.Server.MaxBodyBytes})
	if len(cfg.Accounts) == 0 {
		return nil, errors.New("BUG: demo config has no account")
	}
	acc := cfg.Accounts[0]
	acc.ID, acc.Name, acc.APIToken = "acc_bench", "Bench", config.Secret(standaloneToken)
	acc.RateLimit = &config.RateLimit{Rate: config.Rate{N: 1_000_000, Per: time.Second}}
	acc.MaxConnections = 20
	cfg.Accounts = []config.Account{acc}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("BUG: standalone config is invalid: %w", err)
	}
	return cfg, nil
}
