package script

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testTimeout is the configuration's default script_limits.timeout, for
// the tests about timeouts.
const testTimeout = 20 * time.Millisecond

// roomyTimeout is the Timeout of the other tests and of the benchmarks:
// on a shared, loaded machine a goroutine can wait tens of milliseconds
// for a CPU, and a wall-clock limit of 20ms would then stop calls that
// did nothing wrong.
const roomyTimeout = 2 * time.Second

// compile builds a Script from src with the configuration's defaults and
// closes it when the test ends; edit adjusts the Options first.
func compile(t testing.TB, src string, edit ...func(*Options)) *Script {
	t.Helper()
	o := Options{Name: "test", File: "test.lua", Source: []byte(src), Timeout: roomyTimeout,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))}
	for _, f := range edit {
		f(&o)
	}
	s, err := Compile(o)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// newRequest is a GET /users request with a header map.
func newRequest() *Request {
	return &Request{Method: "GET", Path: "/users", Headers: HeaderMap{}, IP: "10.0.0.1", Route: "users",
		Query: QueryMap{"limit": "10"}}
}

// runResponse calls on_response with body and returns the response.
func runResponse(t *testing.T, s *Script, body string) (*Response, error) {
	t.Helper()
	res := &Response{Status: 200, Headers: HeaderMap{}, Body: []byte(body)}
	err := s.OnResponse(context.Background(), newRequest(), res)
	return res, err
}
