package engine

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// TestRouteRequestsCoalesceWhileConnectionsAreBusy holds both connections
// of the pool (two requests blocked on a table lock), queues 38 more
// requests for the same `one` route, then lets go: the 38 run as one
// pipelined run and each gets its own answer (its row, its 404, its own
// error), and /metrics counts the run.
func TestRouteRequestsCoalesceWhileConnectionsAreBusy(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, routeSchema)
	ts := startServer(t, parseConfig(t, `
databases:
  main: {url: "postgres://set-by-the-test", max_conns: 2, min_conns: 2, max_concurrent_queries: 2, acquire_timeout: 20s}
routes:
  - name: customer
    path: /c/{id}
    sql: SELECT customer_id, name, 100 / (customer_id - 7) AS q FROM customer WHERE customer_id = $1
    params: [path.id]
  - name: solo
    path: /s/{id}
    sql: SELECT customer_id, name FROM customer WHERE customer_id = $1
    params: [path.id]
    coalesce: false
`), dbURL)
	get(t, ts.url+"/c/1").expect(t, 200, `"q":-16`)
	// Both connections open (and their statements prepared) before the
	// lock, which would block a connection opening behind it.
	pool := ts.e.state.Load().dbs["main"].pool
	poll(t, 10*time.Second, func() (bool, string) {
		st := pool.Stats()
		return st.Idle == 2, fmt.Sprintf("%d idle connections; want 2", st.Idle)
	})
	lock := connect(t, dbURL)
	tx, err := lock.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(context.Background(), "LOCK TABLE customer IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	const n = 40
	answers := make([]response, n+1)
	var wg sync.WaitGroup
	ask := func(id int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[id] = get(t, ts.url+"/c/"+strconv.Itoa(id))
		}()
	}
	ask(1)
	ask(2)
	waitBackends(t, dbURL, "customer_id - 7", 2)
	for id := 3; id <= n; id++ {
		ask(id)
	}
	stmt := ts.e.state.Load().routes[0].stmt
	poll(t, 10*time.Second, func() (bool, string) {
		w := stmt.CoalesceStats().Waiting
		return w == n-2, fmt.Sprintf("%d requests wait in runs; want %d", w, n-2)
	})
	if err := tx.Rollback(context.Background()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for id := 1; id <= n; id++ {
		switch a := answers[id]; id {
		case 7:
			a.expect(t, 422, `division by zero`)
		default:
			a.expect(t, 200, fmt.Sprintf(`{"customer_id":%d,"name":"name %d","q":%d}`, id, id, 100/(id-7)))
		}
	}
	if st := stmt.CoalesceStats(); st.Runs != 1 || st.Members != n-2 || st.Waiting != 0 {
		t.Errorf("coalesce stats %+v; want one run of %d requests", st, n-2)
	}
	m := get(t, ts.admin+"/metrics")
	m.expect(t, 200, `pgfast_route_coalesced_runs_total{route="customer"} 1`,
		fmt.Sprintf(`pgfast_route_coalesced_total{route="customer"} %d`, n-2), `pgfast_route_coalesce_waiting{route="customer"} 0`)
	if contains(m.body, `route="solo"} `) {
		t.Errorf("/metrics has coalescing series for a route with coalesce: false")
	}
	get(t, ts.url+"/c/99").expect(t, 404, `"code":"not_found"`)
	get(t, ts.url+"/s/3").expect(t, 200, `{"customer_id":3,"name":"name 3"}`)
}
