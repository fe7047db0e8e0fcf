package engine

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pgfast/pgfast/config"
	"github.com/pgfast/pgfast/embedpg/pgtest"
)

func TestMain(m *testing.M) { pgtest.RunMain(m) }

// leakChecks are goleak's options for a test that checks that what its
// requests started has ended: besides ignore (goleak.IgnoreCurrent, taken
// before the requests), the goroutines that outlive requests by design,
// fasthttp's idle workers and sqlexec's runners (which end 2 s after
// their last run).
func leakChecks(ignore goleak.Option) []goleak.Option {
	return []goleak.Option{ignore,
		goleak.IgnoreTopFunction("github.com/valyala/fasthttp.(*workerPool).workerFunc"),
		goleak.IgnoreAnyFunction("github.com/pgfast/pgfast/sqlexec.(*runner).loop"),
	}
}

// testServer is an engine serving on free loopback ports.
type testServer struct {
	e     *Engine
	url   string // http://127.0.0.1:port
	admin string
	done  chan error
}

// parseConfig parses YAML for a test, failing it on error.
func parseConfig(t testing.TB, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), "yaml")
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// startServer runs an engine for cfg; dbURL, when set, becomes
// databases.main.url. It stops when the test ends.
func startServer(t testing.TB, cfg *config.Config, dbURL string) *testServer {
	t.Helper()
	if dbURL != "" {
		if cfg.Databases[config.MainDatabase] == nil {
			cfg.Databases[config.MainDatabase] = config.NewDatabase(dbURL)
		}
		cfg.Databases[config.MainDatabase].URL = config.Secret(dbURL)
	}
	e, err := New(context.Background(), cfg, Options{Logger: discardLogger(), AuditWriter: io.Discard})
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	return serveEngine(t, e)
}

// serveEngine serves e on free loopback ports until the test ends.
func serveEngine(t testing.TB, e *Engine) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	aln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{e: e, url: "http://" + ln.Addr().String(), admin: "http://" + aln.Addr().String(), done: make(chan error, 2)}
	go func() { ts.done <- e.Serve(ln) }()
	go func() { ts.done <- e.ServeAdmin(aln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		e.Shutdown(ctx)
	})
	return ts
}

type response struct {
	status int
	header http.Header
	body   string
}

var testClient = &http.Client{Timeout: 30 * time.Second}

func do(t testing.TB, method, url, body string, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i] == "Host" {
			req.Host = headers[i+1] // net/http sends req.Host, not a Host header
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func get(t testing.TB, url string, headers ...string) response {
	t.Helper()
	return do(t, "GET", url, "", headers...)
}

func (r response) expect(t testing.TB, status int, bodyContains ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("got status %d (body %s); want %d", r.status, clip(r.body), status)
	}
	for _, s := range bodyContains {
		if !strings.Contains(r.body, s) {
			t.Fatalf("got body %s; want it to contain %s", clip(r.body), s)
		}
	}
}

// clip shortens a body for a failure message.
func clip(s string) string {
	if len(s) <= 600 {
		return s
	}
	return s[:300] + fmt.Sprintf(" …(%d bytes)… ", len(s)-600) + s[len(s)-300:]
}

func configSecret(s string) config.Secret { return config.Secret(s) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }
