package cache_test

import (
	"context"
	"fmt"
	"time"

	"github.com/pgfast/pgfast/cache"
)

// A declared route's handler keys the request by route and parameters, serves a hit,
// and on a miss runs the query once however many requests wait for it.
func Example() {
	c, err := cache.New(cache.Options{MaxBytes: 1 << 20})
	if err != nil {
		panic(err)
	}
	defer c.Close()

	const customerRoute = 3
	var h cache.Hasher // one per worker, reused
	h.Reset(customerRoute)
	h.WriteString("42") // path.id
	key := h.Sum()

	queries := 0
	fill := func(ctx context.Context) (*cache.Entry, error) {
		queries++ // the query runs here, bounded by the route's timeout
		return c.NewEntry(customerRoute, cache.Meta{Status: 200}, []byte(`{"customer_id":42}`), time.Minute, 10*time.Second), nil
	}
	for range 3 {
		e, _, err := c.Do(context.Background(), key, fill)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%d %s\n", e.Status, e.Body)
	}
	fmt.Println("queries:", queries)

	c.PurgeRoute(customerRoute) // NOTIFY pgfast_invalidate, 'customer'
	_, hit := c.Get(key)
	fmt.Println("hit after purge:", hit)
	// Output:
	// 200 {"customer_id":42}
	// 200 {"customer_id":42}
	// 200 {"customer_id":42}
	// queries: 1
	// hit after purge: false
}
