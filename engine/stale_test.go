package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgfast/pgfast/embedpg"
	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// TestStaleIfErrorServesLastGoodBody stops the database under a cached
// route: the expired body keeps being served, with Age, instead of a 503.
func TestStaleIfErrorServesLastGoodBody(t *testing.T) {
	c, err := embedpg.Start(context.Background(), embedpg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	conn, err := pgx.Connect(context.Background(), c.URL())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(context.Background(), "CREATE TABLE kv (k int PRIMARY KEY, v text); INSERT INTO kv VALUES (1, 'first')"); err != nil {
		t.Fatal(err)
	}
	conn.Close(context.Background())
	ts := startServer(t, parseConfig(t, fmt.Sprintf(`
databases: {main: {url: %q, connect_timeout: 1s, acquire_timeout: 1s}}
routes:
  - name: kv
    path: /kv/{k}
    sql: SELECT k, v FROM kv WHERE k = $1
    params: [path.k]
    cache: 300ms
    stale_if_error: 1h
  - name: fresh
    path: /fresh/{k}
    sql: SELECT k, v FROM kv WHERE k = $1
    params: [path.k]
    cache: 300ms
`, c.URL())), "")
	get(t, ts.url+"/kv/1").expect(t, 200, `"v":"first"`)
	get(t, ts.url+"/fresh/1").expect(t, 200, `"v":"first"`)
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond) // both entries expire
	r := get(t, ts.url+"/kv/1")
	r.expect(t, 200, `"v":"first"`)
	if r.header.Get("Age") == "" {
		t.Fatal("a stale body was served without Age")
	}
	get(t, ts.url+"/fresh/1").expect(t, 503, `"code":"unavailable"`)
}

// TestStaleWhileRevalidate serves an expired hot entry at once and
// refreshes it with one background query.
func TestStaleWhileRevalidate(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, routeSchema)
	ts := startServer(t, parseConfig(t, `
routes:
  - name: swr
    path: /swr/{id}
    sql: SELECT customer_id, name FROM customer WHERE customer_id = $1
    params: [path.id]
    cache: 300ms
    stale_while_revalidate: 1h
`), dbURL)
	get(t, ts.url+"/swr/5").expect(t, 200, `"name":"name 5"`)
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "UPDATE customer SET name = 'new' WHERE customer_id = 5"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	r := get(t, ts.url+"/swr/5")
	r.expect(t, 200, `"name":"name 5"`) // the old body, at once
	if r.header.Get("Age") == "" {
		t.Fatal("stale body without Age")
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		if r := get(t, ts.url+"/swr/5"); strings.Contains(r.body, `"name":"new"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the background refresh did not replace the stale body within 2s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
