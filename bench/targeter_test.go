package bench

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// idOf returns the id in a URL made from base+prefix+id+suffix.
func idOf(t *testing.T, url, prefix, suffix string) uint64 {
	t.Helper()
	s, ok := strings.CutPrefix(url, prefix)
	if !ok {
		t.Fatalf("got URL %q; want prefix %q", url, prefix)
	}
	s, ok = strings.CutSuffix(s, suffix)
	if !ok {
		t.Fatalf("got URL %q; want suffix %q", url, suffix)
	}
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("got URL %q; want a numeric id: %v", url, err)
	}
	return id
}

func TestIDURL(t *testing.T) {
	f := func(path string, id uint64, want string) {
		t.Helper()
		if got := newIDURL("http://127.0.0.1:1", path).url(id); got != want {
			t.Fatalf("url(%q, %d): got %q; want %q", path, id, got, want)
		}
	}
	f("/customers/{id}", 42, "http://127.0.0.1:1/customers/42")
	f("/customers?limit=1&after={id}", 7, "http://127.0.0.1:1/customers?limit=1&after=7")
	f("/ping", 7, "http://127.0.0.1:1/ping")
}

func TestUniformIDs(t *testing.T) {
	tr := uniformIDs("http://h", "/c/{id}/x", 50)
	seen := map[uint64]bool{}
	for range 5000 {
		var tgt vegeta.Target
		if err := tr(&tgt); err != nil {
			t.Fatal(err)
		}
		id := idOf(t, tgt.URL, "http://h/c/", "/x")
		if id < 1 || id > 50 || tgt.Method != "GET" {
			t.Fatalf("got %s %s; want GET with an id in 1..50", tgt.Method, tgt.URL)
		}
		seen[id] = true
	}
	if len(seen) != 50 {
		t.Fatalf("got %d distinct ids in 5000 draws; want all 50", len(seen))
	}
}

func TestZipfIDs(t *testing.T) {
	tr := zipfIDs("http://h", "/c/{id}", 1000, 1.1, 1)
	counts := make([]int, 1001)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 8 { // vegeta's workers call the targeter concurrently
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5000 {
				var tgt vegeta.Target
				if err := tr(&tgt); err != nil {
					t.Error(err)
					return
				}
				id := idOf(t, tgt.URL, "http://h/c/", "")
				if id < 1 || id > 1000 {
					t.Errorf("got id %d; want 1..1000", id)
					return
				}
				mu.Lock()
				counts[id]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// P(k) ∝ k^-1.1: id 1 is the hottest, and the first ten ids take far
	// more than their uniform 1%.
	top := 0
	for id := 1; id <= 10; id++ {
		top += counts[id]
	}
	if counts[1] <= counts[2] || counts[2] <= counts[10] || top < 40000/4 {
		t.Fatalf("got counts id1 %d, id2 %d, id10 %d, top ten %d of 40000; want a Zipf skew", counts[1], counts[2], counts[10], top)
	}
}

func TestSequentialIDs(t *testing.T) {
	tr := sequentialIDs("http://h", "/c/{id}", 3)
	for want := uint64(1); want <= 3; want++ {
		var tgt vegeta.Target
		if err := tr(&tgt); err != nil {
			t.Fatal(err)
		}
		if id := idOf(t, tgt.URL, "http://h/c/", ""); id != want {
			t.Fatalf("got id %d; want %d", id, want)
		}
	}
	var tgt vegeta.Target
	if err := tr(&tgt); !errors.Is(err, vegeta.ErrNoTargets) {
		t.Fatalf("after the last id: got %v; want vegeta.ErrNoTargets", err)
	}
}

func TestBatchBodies(t *testing.T) {
	query := `SELECT "a" FROM t WHERE id = $1`
	tr := batchBodies("http://h", "tok", query, 100, 10)
	var tgt vegeta.Target
	if err := tr(&tgt); err != nil {
		t.Fatal(err)
	}
	if tgt.Method != "POST" || tgt.URL != "http://h/v1/batch" || tgt.Header.Get("Authorization") != "Bearer tok" {
		t.Fatalf("got %s %s %v; want POST http://h/v1/batch with the bearer token", tgt.Method, tgt.URL, tgt.Header)
	}
	var body struct {
		Queries []struct {
			Query  string `json:"query"`
			Params []int  `json:"params"`
		} `json:"queries"`
	}
	if err := json.Unmarshal(tgt.Body, &body); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, tgt.Body)
	}
	if len(body.Queries) != 100 {
		t.Fatalf("got %d queries; want 100", len(body.Queries))
	}
	for _, q := range body.Queries {
		if q.Query != query || len(q.Params) != 1 || q.Params[0] < 1 || q.Params[0] > 10 {
			t.Fatalf("got %+v; want the query with one id in 1..10", q)
		}
	}
	f := func(size int, want string) {
		t.Helper()
		id := uint64(0)
		got := string(appendBatchBody(nil, []byte(`"q"`), size, func() uint64 { id++; return id }))
		if got != want {
			t.Fatalf("got %s; want %s", got, want)
		}
	}
	f(1, `{"queries":[{"query":"q","params":[1]}]}`)
	f(2, `{"queries":[{"query":"q","params":[1]},{"query":"q","params":[2]}]}`)
}
