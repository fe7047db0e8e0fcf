package engine

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	json "github.com/goccy/go-json"
	"github.com/pgfast/pgfast/embedpg/pgtest"
	"go.uber.org/goleak"
)

// bigSchema is a table whose full scan is several MB of JSON (about 60
// bytes a row), beside the single-row customer table.
const bigSchema = routeSchema + `
CREATE TABLE big (id int PRIMARY KEY, pad text NOT NULL);
INSERT INTO big SELECT g, repeat('p', 24) || g FROM generate_series(1, 200000) g;
`

const bigRoutes = `
routes:
  - name: big
    path: /big
    sql: SELECT id, pad FROM big ORDER BY id
    result: many
  - name: customer
    path: /customers/{id}
    sql: SELECT customer_id, name FROM customer WHERE customer_id = $1
    params: [path.id]
    result: one
`

// slowReader is a raw HTTP client with a 4 KiB receive buffer that sends
// one request and then reads a few bytes every 100 ms, the way a client on
// a bad link (or a deliberately slow one) reads a large response.
type slowReader struct {
	conn  net.Conn
	mu    sync.Mutex
	got   int
	first []byte // the first bytes read: the status line
	err   error  // what ended the reading, if anything did
	head  chan struct{}
	done  chan struct{}
}

// dialSmallBuffer connects with SO_RCVBUF set before connect, so the TCP
// window the server sees stays small.
func dialSmallBuffer(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func startSlowReader(t *testing.T, addr, request string, perTick int) *slowReader {
	t.Helper()
	s := &slowReader{conn: dialSmallBuffer(t, addr), head: make(chan struct{}), done: make(chan struct{})}
	if _, err := io.WriteString(s.conn, request); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(s.done)
		buf := make([]byte, perTick)
		headSeen := false
		for {
			n, err := s.conn.Read(buf)
			s.mu.Lock()
			s.got += n
			s.err = err
			s.mu.Unlock()
			if n > 0 && !headSeen {
				headSeen = true
				s.mu.Lock()
				s.first = append([]byte(nil), buf[:n]...)
				s.mu.Unlock()
				close(s.head)
			}
			if err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	return s
}

func (s *slowReader) state() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got, s.err
}

func (s *slowReader) close() {
	s.conn.Close()
	<-s.done
}

// TestSlowReadersDoNotStarvePool is DESIGN §4's promise: ten clients
// reading a large route slowly cannot take the pool from everyone else,
// because rows are read at the database's pace and the connection goes
// back as soon as the result is complete.
func TestSlowReadersDoNotStarvePool(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, bigSchema)
	// stream_min_rate 0: the slow readers are never cut here, so only the
	// spool can give the connections back; write_timeout outlasts the test.
	ts := startServer(t, parseConfig(t, bigRoutes+`
databases:
  main: {max_conns: 4, acquire_timeout: 10s}
server: {stream_min_rate: 0, write_timeout: 120s}
`), dbURL)
	// Everything running now (cluster, server, pools) is expected; what
	// the slow readers start (producers, spools) must be gone at the end.
	get(t, ts.url+"/customers/1").expect(t, 200)
	ignore := goleak.IgnoreCurrent()
	addr := strings.TrimPrefix(ts.url, "http://")
	readers := make([]*slowReader, 10)
	for i := range readers {
		readers[i] = startSlowReader(t, addr, "GET /big HTTP/1.1\r\nHost: pgfast\r\n\r\n", 16)
	}
	for i, s := range readers {
		select {
		case <-s.head:
		case <-time.After(20 * time.Second):
			t.Fatalf("slow reader %d got no response head", i)
		}
	}
	// Every big result is read at the database's pace; then the pool is
	// free although no slow reader has read more than a sliver.
	deadline := time.Now().Add(30 * time.Second)
	for {
		p := ts.e.Stats().Pools["main"]
		if p.InUse == 0 && p.GateWaiting == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slow readers still hold %d pool connections (%d waiting at the gate)", p.InUse, p.GateWaiting)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i := 0; i < 20; i++ {
		start := time.Now()
		r := get(t, fmt.Sprintf("%s/customers/%d", ts.url, i%50+1))
		if took := time.Since(start); r.status != 200 || took > time.Second {
			t.Fatalf("request %d with ten slow readers: got %d in %s (%s); want 200 within 1s", i, r.status, took, clip(r.body))
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i, s := range readers {
		s.mu.Lock()
		first := string(s.first)
		s.mu.Unlock()
		if !strings.HasPrefix(first, "HTTP/1.1 200") {
			t.Fatalf("slow reader %d: got %q; want a 200", i, first)
		}
		if got, err := s.state(); err != nil || got > 1<<20 {
			t.Fatalf("slow reader %d: read %d bytes, err %v; want it still reading slowly", i, got, err)
		}
		s.close()
	}
	// Several MB each, read ahead of a client taking 160 bytes a second:
	// past the per-response memory bound it went to temporary files.
	if n := ts.e.streamCounters.spilled.Load(); n != 10 {
		t.Fatalf("got %d responses spilled; want all 10", n)
	}
	// Their responses end with their connections: memory read ahead for
	// them goes back to the budget.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if used, _ := ts.e.InflightBytes(); used == 0 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("got %d in-flight bytes after the slow readers left; want 0", used)
		}
	}
	testClient.CloseIdleConnections()
	goleak.VerifyNone(t, leakChecks(ignore)...)
}

// TestSlowQueryReaderReleasesConnection: the same for /v1/query, on an
// account whose pool has two connections and no max_rows.
func TestSlowQueryReaderReleasesConnection(t *testing.T) {
	ts := startServer(t, parseConfig(t, `
accounts:
  - {id: wide, api_token: sk_wide, allowed_operations: [SELECT], max_connections: 2, max_rows: 0}
server: {stream_min_rate: 0, write_timeout: 120s}
`), pgtest.NewDatabase(t, routeSchema))
	addr := strings.TrimPrefix(ts.url, "http://")
	body := `{"query":"SELECT g AS n, repeat('q', 40) AS pad FROM generate_series(1, 100000) g"}`
	req := fmt.Sprintf("POST /v1/query HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk_wide\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	s1 := startSlowReader(t, addr, req, 16)
	s2 := startSlowReader(t, addr, req, 16)
	defer s1.close()
	defer s2.close()
	<-s1.head
	<-s2.head
	// Both of the account's connections ran a slow reader's query; once
	// the results are read, they are free again.
	deadline := time.Now().Add(20 * time.Second)
	for {
		start := time.Now()
		r := do(t, "POST", ts.url+"/v1/query", `{"query":"SELECT 1 AS ok"}`, "Authorization", "Bearer sk_wide")
		if r.status == 200 && time.Since(start) < time.Second {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("with two slow readers: got %d (%s); want 200 within 1s", r.status, clip(r.body))
		}
	}
	for _, s := range []*slowReader{s1, s2} {
		if got, err := s.state(); err != nil || got > 1<<20 {
			t.Fatalf("slow reader: read %d bytes, err %v; want it still reading slowly", got, err)
		}
	}
}

// TestStreamMinRateCutsSlowClient: a client reading a streamed result far
// slower than server.stream_min_rate is disconnected after the first
// second, and counted; a fast client on the same route gets every row.
func TestStreamMinRateCutsSlowClient(t *testing.T) {
	ts := startServer(t, parseConfig(t, bigRoutes+`
server: {stream_min_rate: 64KiB, write_timeout: 120s}
`), pgtest.NewDatabase(t, bigSchema))
	r := get(t, ts.url+"/big")
	r.expect(t, 200)
	var rows []struct{ ID int }
	if err := json.Unmarshal([]byte(r.body), &rows); err != nil || len(rows) != 200000 || rows[199999].ID != 200000 {
		t.Fatalf("fast client: got %d rows, err %v; want all 200000 in order", len(rows), err)
	}
	s := startSlowReader(t, strings.TrimPrefix(ts.url, "http://"), "GET /big HTTP/1.1\r\nHost: pgfast\r\n\r\n", 100)
	defer s.close()
	start := time.Now()
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		t.Fatal("a client reading 1 KB/s was not cut within 15s (stream_min_rate 64KiB)")
	}
	got, err := s.state()
	if took := time.Since(start); took < time.Second {
		t.Fatalf("cut after %s; want the first second granted", took)
	}
	if err == nil || got > 1<<20 {
		t.Fatalf("slow client read %d bytes then %v; want it cut early", got, err)
	}
	if n := ts.e.streamCounters.cut.Load(); n != 1 {
		t.Fatalf("got %d slow clients counted; want 1", n)
	}
}

// TestStreamMinRateSparesSlowDatabase: time spent waiting for rows from
// PostgreSQL is not the client's: a fast client of a slow query is not cut.
func TestStreamMinRateSparesSlowDatabase(t *testing.T) {
	ts := startServer(t, parseConfig(t, `
routes:
  - name: trickle
    path: /trickle
    sql: SELECT g AS n, repeat('t', 80) AS pad, pg_sleep(0.002)::text AS s FROM generate_series(1, 1200) g
    result: many
server: {stream_min_rate: 64KiB}
cache: {stream_threshold_bytes: 16KiB}
`), pgtest.NewDatabase(t, routeSchema))
	resp, err := testClient.Get(ts.url + "/trickle")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(bufio.NewReader(resp.Body))
	if err != nil || !json.Valid(b) {
		t.Fatalf("read %d bytes, err %v; want the whole result from a slow database", len(b), err)
	}
	if n := ts.e.streamCounters.cut.Load(); n != 0 {
		t.Fatalf("got %d clients cut; want 0", n)
	}
}
