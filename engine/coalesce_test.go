package engine

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// TestRouteRequestsCoalesceWhileConnectionsAreBusy holds both connections
// of the pool (two requests blocked on a table lock), queues 38 more
// requests for the same `one` route, then lets go: the 38 run as one run
// and each gets its own answer (its row, its 404, its own error), and
// /metrics counts the run. The route is one SELECT of $1, so the run is
// keyed (one statement); with id 7 among the 38 that statement fails on a
// division by zero, and the run is answered pipelined instead.
func TestRouteRequestsCoalesceWhileConnectionsAreBusy(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, routeSchema)
	ts := startServer(t, parseConfig(t, `
databases:
  main: {url: "postgres://set-by-the-test", max_conns: 2, min_conns: 2, max_concurrent_queries: 2, acquire_timeout: 20s, coalesce_budget: 1h}
routes:
  - name: customer
    path: /c/{id}
    sql: SELECT customer_id, name, 100 / (customer_id - 7) AS q FROM customer WHERE customer_id = $1
    params: [path.id]
  - name: piped
    path: /p/{id}
    sql: SELECT customer_id, name FROM customer WHERE customer_id = $1
    params: [path.id]
    coalesce: pipeline
  - name: solo
    path: /s/{id}
    sql: SELECT customer_id, name FROM customer WHERE customer_id = $1
    params: [path.id]
    coalesce: off
`), dbURL)
	routes := ts.e.state.Load().routes
	stmt := routes[0].stmt
	if !stmt.Keyed() || !routes[1].stmt.Coalesces() || routes[1].stmt.Keyed() || routes[2].stmt.Coalesces() {
		t.Fatalf("coalesce modes: auto keyed %v, pipeline coalesces %v keyed %v, off coalesces %v",
			stmt.Keyed(), routes[1].stmt.Coalesces(), routes[1].stmt.Keyed(), routes[2].stmt.Coalesces())
	}
	get(t, ts.url+"/c/1").expect(t, 200, `"q":-16`)
	// Both connections open (and their statements prepared) before the
	// lock, which would block a connection opening behind it.
	pool := ts.e.state.Load().dbs["main"].pool
	poll(t, 10*time.Second, func() (bool, string) {
		st := pool.Stats()
		return st.Idle == 2, fmt.Sprintf("%d idle connections; want 2", st.Idle)
	})

	// queue holds both connections with the first two ids, queues the
	// others and lets go once they all wait in a run.
	queue := func(ids []int) map[int]response {
		t.Helper()
		lock := connect(t, dbURL)
		tx, err := lock.Begin(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(context.Background())
		if _, err := tx.Exec(context.Background(), "LOCK TABLE customer IN ACCESS EXCLUSIVE MODE"); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		answers := map[int]response{}
		var wg sync.WaitGroup
		for i, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := get(t, ts.url+"/c/"+strconv.Itoa(id))
				mu.Lock()
				answers[id] = r
				mu.Unlock()
			}()
			if i < 2 {
				// Each of the first two on a backend before the next
				// request: a run handed to its runner gathers until it
				// has a connection, and would take the second id too.
				waitBackends(t, dbURL, "customer_id - 7", i+1)
			}
		}
		poll(t, 10*time.Second, func() (bool, string) {
			w := stmt.CoalesceStats().Waiting
			return w == int64(len(ids)-2), fmt.Sprintf("%d requests wait in runs; want %d", w, len(ids)-2)
		})
		if err := tx.Rollback(context.Background()); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		return answers
	}
	check := func(answers map[int]response) {
		t.Helper()
		for id, a := range answers {
			switch {
			case id == 7:
				a.expect(t, 422, `division by zero`)
			case id > 50:
				a.expect(t, 404, `"code":"not_found"`)
			default:
				a.expect(t, 200, fmt.Sprintf(`{"customer_id":%d,"name":"name %d","q":%d}`, id, id, 100/(id-7)))
			}
		}
	}

	ids := make([]int, 0, 40)
	for id := 1; id <= 40; id++ {
		ids = append(ids, id)
	}
	ids[39] = 99 // no such customer
	check(queue(ids))
	if st := stmt.CoalesceStats(); st.Runs != 1 || st.Keyed != 0 || st.Members != 38 || st.Waiting != 0 {
		t.Errorf("coalesce stats %+v; want one pipelined run of 38 requests (the keyed one failed)", st)
	}
	ids = slices.DeleteFunc(ids, func(id int) bool { return id == 7 })
	check(queue(ids))
	if st := stmt.CoalesceStats(); st.Runs != 2 || st.Keyed != 1 || st.Members != 38+37 {
		t.Errorf("coalesce stats %+v; want a second run, keyed, of 37 requests", st)
	}

	m := get(t, ts.admin+"/metrics")
	m.expect(t, 200, `pgfast_route_coalesced_runs_total{route="customer"} 2`, `pgfast_route_coalesced_keyed_runs_total{route="customer"} 1`,
		`pgfast_route_coalesced_total{route="customer"} 75`, `pgfast_route_coalesce_waiting{route="customer"} 0`,
		`pgfast_route_coalesced_runs_total{route="piped"} 0`)
	if contains(m.body, `route="solo"} `) {
		t.Errorf("/metrics has coalescing series for a route with coalesce: off")
	}
	get(t, ts.url+"/s/3").expect(t, 200, `{"customer_id":3,"name":"name 3"}`)
	stats := get(t, ts.admin+"/admin/stats")
	stats.expect(t, 200, `"coalesce":{"runs":2,"keyed_runs":1,"requests":75,"waiting":0}`)
	if n := strings.Count(stats.body, `"coalesce":`); n != 2 {
		t.Errorf("/admin/stats: %d routes with coalesce stats; want customer and piped, not solo: %s", n, stats.body)
	}
	get(t, ts.url+"/p/3").expect(t, 200, `{"customer_id":3,"name":"name 3"}`)
}
