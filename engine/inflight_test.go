package engine

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

func TestInflightBudget(t *testing.T) {
	var b inflight
	f := func(n, limit int64, want bool) {
		t.Helper()
		if got := b.tryAcquire(n, limit); got != want {
			t.Fatalf("tryAcquire(%d, %d) with %d used: got %v; want %v", n, limit, b.used.Load(), got, want)
		}
	}
	f(60, 100, true)
	f(50, 100, false)
	f(40, 100, true)
	b.release(70)
	f(70, 100, true)
	if b.used.Load() != 100 || b.peak.Load() != 100 {
		t.Fatalf("got used %d, peak %d; want 100, 100", b.used.Load(), b.peak.Load())
	}
	h := &heldBudget{b: &b}
	b.release(100)
	if !h.grow(10, 64, 100) || h.n != 64 {
		t.Fatalf("grow by a step: holds %d; want 64", h.n)
	}
	if !h.grow(90, 64, 100) || h.n != 90 {
		t.Fatalf("grow near the limit: holds %d; want exactly 90", h.n)
	}
	if h.grow(101, 64, 100) {
		t.Fatal("grow past the limit succeeded")
	}
	h.shrink(30)
	h.Close()
	h.Close()
	if b.used.Load() != 0 {
		t.Fatalf("got %d used after Close; want 0", b.used.Load())
	}
}

// TestBatchMemoryBounded: three concurrent batches whose results each
// exceed server.max_inflight_response_bytes cannot take the process past
// it; they get 503 with Retry-After, never 500, and the server serves on.
func TestBatchMemoryBounded(t *testing.T) {
	ts := startServer(t, parseConfig(t, `
accounts:
  - {id: big, api_token: sk_big, allowed_operations: [SELECT], max_connections: 3, max_rows: 0}
server: {max_inflight_response_bytes: 4MiB}
`), pgtest.NewDatabase(t))
	const query = `{"query":"SELECT g AS n, repeat('b', 1000) AS pad FROM generate_series(1, 2000) g"}`
	batch := `{"queries":[` + strings.Repeat(query+",", 2) + query + `]}` // about 6 MB of results
	var wg sync.WaitGroup
	statuses := make([]response, 3)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = do(t, "POST", ts.url+"/v1/batch", batch, "Authorization", "Bearer sk_big")
		}()
	}
	wg.Wait()
	rejected := 0
	for i, r := range statuses {
		switch r.status {
		case 503:
			rejected++
			r.expect(t, 503, `"code":"unavailable"`, "server.max_inflight_response_bytes")
			if r.header.Get("Retry-After") == "" {
				t.Fatalf("batch %d: 503 without Retry-After", i)
			}
		case 200:
		default:
			t.Fatalf("batch %d: got %d %s; want 200 or 503", i, r.status, clip(r.body))
		}
	}
	if rejected == 0 {
		t.Fatal("no batch was refused; want the ones past the budget to get 503")
	}
	_, peak := ts.e.InflightBytes()
	if peak > 4<<20 || peak == 0 {
		t.Fatalf("got an in-flight peak of %d bytes; want between 1 and 4 MiB", peak)
	}
	// The batch that succeeded holds its budget until fasthttp has written
	// its response and reset its context, a moment after the client has it.
	deadline := time.Now().Add(10 * time.Second)
	for used, _ := ts.e.InflightBytes(); used != 0; used, _ = ts.e.InflightBytes() {
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes of budget still held 10s after every batch was answered; want 0", used)
		}
		time.Sleep(time.Millisecond)
	}
	small := `{"queries":[{"query":"SELECT 1 AS ok"}]}`
	do(t, "POST", ts.url+"/v1/batch", small, "Authorization", "Bearer sk_big").expect(t, 200, `"ok":1`)
	// fasthttp closes a response's budget a moment after the client has it.
	for deadline, used := time.Now().Add(5*time.Second), int64(1); used != 0; used, _ = ts.e.InflightBytes() {
		if time.Now().After(deadline) {
			t.Fatalf("got %d bytes still held after every response was written; want 0", used)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := ts.e.streamCounters.rejected.Load(); n != uint64(rejected) {
		t.Fatalf("got %d refusals counted; want %d", n, rejected)
	}
}
