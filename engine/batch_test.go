package engine

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

func (f *queryFixture) batch(t *testing.T, token, body string) response {
	t.Helper()
	return do(t, "POST", f.url+"/v1/batch", body, "Authorization", "Bearer "+token)
}

func TestBatchIndependentAndTransactional(t *testing.T) {
	f := newQueryFixture(t, "")
	// transaction:false: the failure in the middle touches nothing else.
	r := f.batch(t, tokRW, `{"queries":[
		{"query":"INSERT INTO items VALUES (10, 'ten', 10)"},
		{"query":"INSERT INTO items VALUES (1, 'dup', 1)"},
		{"query":"SELECT name FROM items WHERE id = $1","params":[10]}]}`)
	r.expect(t, 200, `{"results":[{"columns":[],"rows":[],"row_count":0,"truncated":false},{"error":{"code":"conflict"`,
		`"sqlstate":"23505"`, `{"columns":[{"name":"name","type":"text"}],"rows":[{"name":"ten"}],"row_count":1,"truncated":false}],"duration_ms":`)
	// transaction:true: all or nothing, the failing query's status and index.
	r = f.batch(t, tokRW, `{"transaction":true,"queries":[
		{"query":"INSERT INTO items VALUES (20, 'twenty', 20)"},
		{"query":"INSERT INTO items VALUES (21, 'bad', -5)"},
		{"query":"INSERT INTO items VALUES (22, 'twentytwo', 22)"}]}`)
	r.expect(t, 422, `"sqlstate":"23514"`, `"index":1`)
	f.query(t, tokRW, `{"query":"SELECT count(*) AS n FROM items WHERE id >= 20"}`).expect(t, 200, `"rows":[{"n":0}]`)
	r = f.batch(t, tokRW, `{"transaction":true,"queries":[
		{"query":"INSERT INTO items VALUES (20, 'twenty', 20)"},
		{"query":"UPDATE items SET qty = qty + 1 WHERE id = 20"}]}`)
	r.expect(t, 200, `"results":[`)
	f.query(t, tokRW, `{"query":"SELECT qty FROM items WHERE id = 20"}`).expect(t, 200, `"rows":[{"qty":21}]`)

	// Errors raised at commit (a deferred constraint) belong to their
	// statement and do not shift the others' results.
	r = f.batch(t, tokRW, `{"queries":[
		{"query":"INSERT INTO deferred VALUES (1)"},
		{"query":"INSERT INTO deferred VALUES (1)"},
		{"query":"SELECT count(*) AS n FROM deferred"}]}`)
	r.expect(t, 200, `{"results":[{"columns":[],"rows":[],"row_count":0,"truncated":false},{"error":{"code":"conflict"`, `"rows":[{"n":1}]`)
	r = f.batch(t, tokRW, `{"transaction":true,"queries":[
		{"query":"INSERT INTO deferred VALUES (2)"},
		{"query":"INSERT INTO deferred VALUES (2)"}]}`)
	r.expect(t, 409, `"sqlstate":"23505"`, `"index":1`)
	f.query(t, tokRW, `{"query":"SELECT count(*) AS n FROM deferred WHERE x = 2"}`).expect(t, 200, `"rows":[{"n":0}]`)

	// Limits and shape errors.
	var many strings.Builder
	many.WriteString(`{"queries":[`)
	for i := 0; i < 1001; i++ {
		if i > 0 {
			many.WriteByte(',')
		}
		many.WriteString(`{"query":"SELECT 1"}`)
	}
	many.WriteString(`]}`)
	f.batch(t, tokRW, many.String()).expect(t, 400, "at most 1000")
	f.batch(t, tokRW, `{"queries":[]}`).expect(t, 400, "empty")
	f.batch(t, tokRW, `{"queries":[{"query":"DROP TABLE items"}]}`).expect(t, 200, `"code":"forbidden"`)
	f.batch(t, tokRW, `{"queries":[{"query":"SELECT $1::int","params":["x"]},{"query":"SELECT 2 AS b"}]}`).
		expect(t, 200, `{"error":{"code":"bad_request","message":"params[0]`, `"rows":[{"b":2}]`)
}

// countingProxy forwards TCP between pgfast and PostgreSQL and counts
// round trips. It holds the server's bytes back until the client has been
// quiet for a moment, then releases them; a client write after a release
// starts a new round trip. A pipelining client writes everything, goes
// quiet, reads: one round trip however many statements it sent. A client
// that waits for each answer would need one release per statement.
type countingProxy struct {
	ln    net.Listener
	turns atomic.Int64
	wg    sync.WaitGroup
}

const proxyQuiet = 20 * time.Millisecond

func newCountingProxy(t *testing.T, target string) *countingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{ln: ln}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.serve(c, s)
		}
	}()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *countingProxy) serve(c, s net.Conn) {
	var mu sync.Mutex
	var pending []byte
	lastClient := time.Now()
	released := true
	done := make(chan struct{})
	go func() { // client -> server
		defer close(done)
		defer s.Close()
		buf := make([]byte, 64<<10)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				mu.Lock()
				if released {
					p.turns.Add(1)
					released = false
				}
				lastClient = time.Now()
				mu.Unlock()
				if _, werr := s.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	go func() { // server -> proxy buffer
		buf := make([]byte, 64<<10)
		for {
			n, err := s.Read(buf)
			if n > 0 {
				mu.Lock()
				pending = append(pending, buf[:n]...)
				mu.Unlock()
			}
			if err != nil {
				return
			}
		}
	}()
	go func() { // proxy buffer -> client, once the client is quiet
		defer c.Close()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			mu.Lock()
			var out []byte
			if len(pending) > 0 && time.Since(lastClient) >= proxyQuiet {
				out, pending = pending, nil
				released = true
			}
			mu.Unlock()
			if out != nil {
				if _, err := c.Write(out); err != nil {
					return
				}
			}
		}
	}()
}

func TestBatchIsOneRoundTrip(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, querySchema)
	c := pgtest.Shared(t)
	proxy := newCountingProxy(t, fmt.Sprintf("127.0.0.1:%d", c.Port()))
	proxied := strings.Replace(dbURL, fmt.Sprintf("127.0.0.1:%d", c.Port()), proxy.ln.Addr().String(), 1)
	cfg := parseConfig(t, fmt.Sprintf(`
databases: {main: {url: %q, max_conns: 1, min_conns: 1}}
accounts: [{id: a, api_token: tok, allowed_operations: [SELECT], max_connections: 1}]
`, proxied))
	e, err := New(context.Background(), cfg, Options{Logger: discardLogger(), AuditWriter: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	ts := serveEngine(t, e)
	var body strings.Builder
	body.WriteString(`{"queries":[`)
	for i := 0; i < 100; i++ {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"query":"SELECT id, name FROM items WHERE id = $1","params":[%d]}`, i%3+1)
	}
	body.WriteString(`]}`)
	// The first batch prepares the statement on the connection.
	do(t, "POST", ts.url+"/v1/batch", body.String(), "Authorization", "Bearer tok").expect(t, 200)
	before := proxy.settledTurns(t, 0)
	r := do(t, "POST", ts.url+"/v1/batch", body.String(), "Authorization", "Bearer tok")
	r.expect(t, 200, `"rows":[{"id":1,"name":"one"}]`)
	if got := strings.Count(r.body, `"row_count":1`); got != 100 {
		t.Fatalf("got %d results with one row; want 100", got)
	}
	// After the response the account's connection is reset (one more
	// round trip, off the request's path, before it is reused).
	if turns := proxy.settledTurns(t, before); turns != 1+resetTurns {
		t.Fatalf("a 100-query batch took %d round trips to PostgreSQL; want 1 (+%d for the reset)", turns-resetTurns, resetTurns)
	}
	// Control: the proxy does see separate round trips. A query the
	// connection has not prepared takes two (prepare, then execute).
	before = proxy.turns.Load()
	do(t, "POST", ts.url+"/v1/query", `{"query":"SELECT name FROM items WHERE id = $1 AND id > 0","params":[1]}`, "Authorization", "Bearer tok").expect(t, 200)
	if turns := proxy.settledTurns(t, before); turns != 2+resetTurns {
		t.Fatalf("an unprepared query took %d round trips; want 2 (+%d for the reset; the proxy miscounts)", turns-resetTurns, resetTurns)
	}
}

// resetTurns is the round trip that returns an account connection to its
// start state after each request (pool.Options.ResetSession).
const resetTurns = 1

// settledTurns waits until the proxy has seen no new round trip for 200 ms
// (the reset runs after the response) and returns how many it saw since
// before.
func (p *countingProxy) settledTurns(t *testing.T, before int64) int64 {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	last, since := p.turns.Load(), time.Now()
	for time.Since(since) < 200*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatal("the proxy never went quiet")
		}
		time.Sleep(10 * time.Millisecond)
		if n := p.turns.Load(); n != last {
			last, since = n, time.Now()
		}
	}
	return last - before
}
