package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"time"

	"gopkg.in/yaml.v3"

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
// upstream, and pgfast serving both on free loopback ports: either a
// `pgfast serve` process of its own (as in production, so the memory row
// and a CPU profile are pgfast's alone) or an engine in this process (for
// this package's tests, whose binary is not pgfast).
type standalone struct {
	cluster  *embedpg.Cluster
	upstream *fixedUpstream
	url      string // http://127.0.0.1:port
	admin    string
	// One of the two is set once pgfast serves.
	proc   *serveProcess
	eng    *engine.Engine
	served chan error // the engine's two Serve results
}

// startStandalone starts the cluster, loads customers demo rows, starts the
// upstream and serves standaloneConfig in this process, changed by tweaks
// (tests add routes). close stops all three.
func startStandalone(ctx context.Context, customers int, log *slog.Logger, tweaks ...func(*config.Config)) (*standalone, error) {
	return launchStandalone(ctx, customers, log, nil, "", tweaks)
}

// startStandaloneProcess is startStandalone with pgfast in a process of its
// own: command (the binary and its leading arguments, e.g. pgfast serve)
// gets --config and standaloneConfigFile, and the listening sockets from
// this process (serve_process.go). close stops it.
func startStandaloneProcess(ctx context.Context, customers int, log *slog.Logger, command []string, coalesce string) (*standalone, error) {
	return launchStandalone(ctx, customers, log, command, coalesce, nil)
}

func launchStandalone(ctx context.Context, customers int, log *slog.Logger, command []string, coalesce string, tweaks []func(*config.Config)) (_ *standalone, err error) {
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("cannot listen for standalone mode: %w", err)
	}
	aln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("cannot listen for standalone mode: %w", err)
	}
	url, admin := "http://"+ln.Addr().String(), "http://"+aln.Addr().String()
	if len(command) > 0 {
		// The process gets the sockets; this one keeps no copy.
		defer ln.Close()
		defer aln.Close()
		file, err := standaloneConfigFile(s.cluster.URL(), s.upstream.url, coalesce)
		if err != nil {
			return nil, err
		}
		if s.proc, err = startServeProcess(ctx, command, file, ln, aln); err != nil {
			return nil, fmt.Errorf("cannot start pgfast for standalone mode: %w", err)
		}
		s.url, s.admin = url, admin
		return s, nil
	}
	cfg, err := standaloneConfig(s.cluster.URL(), s.upstream.url)
	if err == nil {
		for _, t := range tweaks {
			t(cfg)
		}
		s.eng, err = engine.New(ctx, cfg, engine.Options{Logger: log, AuditWriter: io.Discard})
	}
	if err != nil {
		ln.Close()
		aln.Close()
		return nil, fmt.Errorf("cannot start pgfast for standalone mode: %w", err)
	}
	s.url, s.admin = url, admin
	go func() { s.served <- s.eng.Serve(ln) }()
	go func() { s.served <- s.eng.ServeAdmin(aln) }()
	return s, nil
}

// pid is the pgfast process's id, or 0 when pgfast runs in this process.
func (s *standalone) pid() int {
	if s.proc == nil {
		return 0
	}
	return s.proc.pid()
}

// close stops pgfast (draining it), then the upstream (which pgfast's
// client was connected to) and PostgreSQL. Safe on a partly started
// standalone.
func (s *standalone) close() error {
	var errs []error
	if s.proc != nil {
		if err := s.proc.stop(); err != nil {
			errs = append(errs, err)
		}
	}
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

// standaloneConfig is standaloneConfigFile parsed: the config an
// in-process standalone serves.
func standaloneConfig(url, upstreamURL string) (*config.Config, error) {
	file, err := standaloneConfigFile(url, upstreamURL, "")
	if err != nil {
		return nil, err
	}
	cfg, err := config.Parse(file, "yaml")
	if err != nil {
		return nil, fmt.Errorf("BUG: standalone config is invalid: %w", err)
	}
	return cfg, nil
}

// standaloneConfigFile is the demo config (testdata/demo.yaml) on url, plus
// an uncached twin of the customer route at standaloneSelectPath and an
// upstream route at standaloneProxyPath to upstreamURL (every upstream
// setting at its default), with the demo account replaced by one whose rate
// limit and pool fit the load: a YAML file that `pgfast serve --config`
// reads as it is, so both standalone modes serve the same config. Every
// server setting keeps its default; coalesce, when set, is the twin's
// routes[].coalesce.
func standaloneConfigFile(url, upstreamURL, coalesce string) ([]byte, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(pgfast.DemoConfig, &doc); err != nil {
		return nil, fmt.Errorf("BUG: demo config does not parse: %w", err)
	}
	doc["databases"] = map[string]any{config.MainDatabase: map[string]any{"url": url}}
	routes, _ := doc["routes"].([]any)
	var twin map[string]any
	for _, r := range routes {
		if m, ok := r.(map[string]any); ok && m["name"] == demoCachedRoute {
			twin = maps.Clone(m)
		}
	}
	if twin == nil {
		return nil, fmt.Errorf("BUG: demo config has no %q route", demoCachedRoute)
	}
	twin["name"], twin["path"] = standaloneRoute, standaloneSelectPath
	delete(twin, "cache")
	delete(twin, "invalidate_on")
	if coalesce != "" {
		twin["coalesce"] = coalesce
	}
	doc["routes"] = append(routes, twin, map[string]any{
		"name": standaloneProxyRoute, "path": standaloneProxyPath, "upstream": standaloneUpstream, "auth": config.AuthNone,
	})
	doc["upstreams"] = map[string]any{standaloneUpstream: map[string]any{"targets": []any{map[string]any{"url": upstreamURL}}}}
	accounts, _ := doc["accounts"].([]any)
	if len(accounts) == 0 {
		return nil, errors.New("BUG: demo config has no account")
	}
	acc, ok := accounts[0].(map[string]any)
	if !ok {
		return nil, errors.New("BUG: demo config's account is not a map")
	}
	acc = maps.Clone(acc)
	acc["id"], acc["name"], acc["api_token"] = "acc_bench", "Bench", standaloneToken
	acc["rate_limit"], acc["max_connections"] = 1_000_000, 20 // a bare number is per second
	doc["accounts"] = []any{acc}
	out, err := yaml.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("BUG: cannot write the standalone config: %w", err)
	}
	return append([]byte("# Written by pgfast bench --standalone for one run.\n"), out...), nil
}
