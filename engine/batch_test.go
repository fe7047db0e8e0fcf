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

	"github.com/pgfast/pgfast/embedpg"
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

// countingProxy forwards TCP between pgfast and PostgreSQL and counts the
// client's "turns": each time the client writes after the server has
// written. A pipelined batch is one turn however many statements it holds.
type countingProxy struct {
	ln    net.Listener
	turns atomic.Int64
	wg    sync.WaitGroup
}

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
			var lastFromServer atomic.Bool
			lastFromServer.Store(true)
			pipe := func(dst, src net.Conn, fromClient bool) {
				defer dst.Close()
				buf := make([]byte, 64<<10)
				for {
					n, err := src.Read(buf)
					if n > 0 {
						if fromClient && lastFromServer.Swap(false) {
							p.turns.Add(1)
						}
						if !fromClient {
							lastFromServer.Store(true)
						}
						if _, werr := dst.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}
			go pipe(s, c, true)
			go pipe(c, s, false)
		}
	}()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func TestBatchIsOneRoundTrip(t *testing.T) {
	dbURL := embedpg.NewDatabase(t, querySchema)
	c := embedpg.Shared(t)
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
	before := proxy.turns.Load()
	r := do(t, "POST", ts.url+"/v1/batch", body.String(), "Authorization", "Bearer tok")
	r.expect(t, 200, `"rows":[{"id":1,"name":"one"}]`)
	if got := strings.Count(r.body, `"row_count":1`); got != 100 {
		t.Fatalf("got %d results with one row; want 100", got)
	}
	if turns := proxy.turns.Load() - before; turns != 1 {
		t.Fatalf("a 100-query batch took %d round trips to PostgreSQL; want 1", turns)
	}
}
