package upstream

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/valyala/fasthttp"
)

// Smooth weighted round robin gives each target its weight's share, within
// 5%, over 10,000 requests sent through Do to real servers.
func TestRoundRobinWeights(t *testing.T) {
	weights := []int{1, 2, 3}
	var targets []Target
	for _, w := range weights {
		targets = append(targets, Target{URL: startServer(t, okHandler).URL(), Weight: w})
	}
	o := testOptions(targets...)
	o.Name = "rr"
	u := newUpstream(t, o)
	const n = 10_000
	for i := range n {
		if r := call(u, "GET", "/", nil); r.err != nil || r.status != 200 {
			t.Fatalf("request %d: got %d, %v; want 200", i, r.status, r.err)
		}
	}
	st := u.Stats()
	for i, ts := range st.Targets {
		want := float64(n) * float64(weights[i]) / 6
		if got := float64(ts.Codes[1]); math.Abs(got-want) > 0.05*want {
			t.Errorf("target %d (weight %d): got %v requests; want %v ± 5%%", i, weights[i], got, want)
		}
	}
	if st.Requests != n {
		t.Errorf("Stats.Requests: got %d; want %d", st.Requests, n)
	}
}

// The smooth variant interleaves: weights 5,1,1 give a a b ... not a a a a a.
func TestRoundRobinIsSmooth(t *testing.T) {
	u := newUpstream(t, testOptions(
		Target{URL: "http://10.0.0.1:1", Weight: 5}, Target{URL: "http://10.0.0.2:1", Weight: 1}, Target{URL: "http://10.0.0.3:1", Weight: 1},
	))
	bl := &u.pool.Load().bl
	var seq []int
	for range 7 {
		var tried triedSet
		n, _ := bl.pick(time.Now().UnixNano(), false, 0, &tried)
		n.inflight.Add(-1)
		seq = append(seq, n.idx)
	}
	// nginx's documented sequence for {a=5, b=1, c=1}: a a b a c a a.
	if got, want := fmt.Sprint(seq), "[0 0 1 0 2 0 0]"; got != want {
		t.Fatalf("sequence: got %s; want %s", got, want)
	}
}

// Least connections sends new requests to the idle target while the other
// holds a slow one.
func TestLeastConnPrefersIdle(t *testing.T) {
	release := make(chan struct{})
	slow := startServer(t, func(ctx *fasthttp.RequestCtx) {
		<-release
		ctx.SetStatusCode(http.StatusServiceUnavailable)
	})
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	t.Cleanup(func() { close(release) }) // runs first: lets the held request go
	idle := startServer(t, okHandler)
	o := testOptions(Target{URL: slow.URL(), Weight: 1}, Target{URL: idle.URL(), Weight: 1})
	o.Name, o.Balance, o.Timeout = "lc", LeastConn, 30*time.Second
	u := newUpstream(t, o)
	// Fire requests one by one until the slow target holds one (those the
	// idle target gets finish at once). Each is placed when it is either
	// in flight at the slow target or answered by the idle one.
	for fired := int64(1); targetStats(t, u, slow.URL()).InFlight < 1; fired++ {
		if fired > 50 {
			t.Fatalf("50 requests sent and none held by the slow target")
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			call(u, "GET", "/slow", nil)
		}()
		waitFor(t, "the request to be placed", 5*time.Second, func() bool {
			st := u.Stats()
			return st.Targets[0].InFlight+st.Targets[1].Codes[1] == fired
		})
	}
	idleBefore := targetStats(t, u, idle.URL()).Requests
	slowBefore := targetStats(t, u, slow.URL()).Requests
	for i := range 100 {
		if r := call(u, "GET", "/", nil); r.err != nil || r.status != 200 || r.target != idle.URL() {
			t.Fatalf("request %d: got %s %d %v; want 200 from the idle target %s", i, r.target, r.status, r.err, idle.URL())
		}
	}
	if got := targetStats(t, u, idle.URL()).Requests - idleBefore; got != 100 {
		t.Fatalf("idle target: got %d requests; want 100", got)
	}
	if got := targetStats(t, u, slow.URL()).Requests - slowBefore; got != 0 {
		t.Fatalf("slow target: got %d new requests; want 0", got)
	}
}

// Least connections with equal loads alternates (the weighted round robin
// tie-break) instead of always choosing the first target.
func TestLeastConnTieBreak(t *testing.T) {
	o := testOptions(Target{URL: "http://10.0.0.1:1", Weight: 1}, Target{URL: "http://10.0.0.2:1", Weight: 2})
	o.Balance = LeastConn
	u := newUpstream(t, o)
	bl := &u.pool.Load().bl
	counts := make([]int, 2)
	for range 300 {
		var tried triedSet
		n, _ := bl.pick(time.Now().UnixNano(), false, 0, &tried)
		n.inflight.Add(-1)
		counts[n.idx]++
	}
	if counts[0] != 100 || counts[1] != 200 {
		t.Fatalf("tie-break counts: got %v; want [100 200]", counts)
	}
}

// Hash keeps a key on one target across requests sent through Do.
func TestHashSticky(t *testing.T) {
	var targets []Target
	for range 3 {
		targets = append(targets, Target{URL: startServer(t, okHandler).URL(), Weight: 1})
	}
	o := testOptions(targets...)
	o.Name, o.Balance = "hash", Hash
	u := newUpstream(t, o)
	seen := map[string]int{}
	for i := range 300 {
		key := []byte("user-" + strconv.Itoa(i))
		first := call(u, "GET", "/", key)
		if first.err != nil {
			t.Fatalf("key %s: %v", key, first.err)
		}
		for range 3 {
			if r := call(u, "GET", "/", key); r.target != first.target {
				t.Fatalf("key %s: went to %s, then to %s; want one target", key, first.target, r.target)
			}
		}
		seen[first.target]++
	}
	if len(seen) != 3 {
		t.Fatalf("300 keys spread over %d targets: %v; want all 3 used", len(seen), seen)
	}
}

// hashAssign maps each of n keys to a target index by the balancer alone.
func hashAssign(t *testing.T, u *Upstream, n int) []string {
	t.Helper()
	bl := &u.pool.Load().bl
	out := make([]string, n)
	for i := range out {
		var tried triedSet
		node, _ := bl.pick(time.Now().UnixNano(), true, keyHashOf("user-"+strconv.Itoa(i)), &tried)
		if node == nil {
			t.Fatalf("key %d: no target", i)
		}
		node.inflight.Add(-1)
		out[i] = node.url
	}
	return out
}

func keyHashOf(k string) uint64 { return xxhash.Sum64String(k) }

// Adding a fourth target moves at most 1/4 + 5% of 10,000 keys, all of
// them to the new target; marking a target down moves only its own keys,
// each always to the same runner-up.
func TestHashMovesFewKeys(t *testing.T) {
	urls := []string{"http://10.0.0.1:80", "http://10.0.0.2:80", "http://10.0.0.3:80", "http://10.0.0.4:80"}
	opts := func(k int) Options {
		var ts []Target
		for _, u := range urls[:k] {
			ts = append(ts, Target{URL: u, Weight: 1})
		}
		o := testOptions(ts...)
		o.Balance = Hash
		return o
	}
	const n = 10_000
	three := newUpstream(t, opts(3))
	four := newUpstream(t, opts(4))
	before, after := hashAssign(t, three, n), hashAssign(t, four, n)
	moved := 0
	for i := range before {
		if before[i] != after[i] {
			moved++
			if after[i] != urls[3] {
				t.Fatalf("key %d moved from %s to %s; want only moves to the new target", i, before[i], after[i])
			}
		}
	}
	if limit := n/4 + n*5/100; moved > limit {
		t.Fatalf("adding a 4th target moved %d of %d keys; want at most %d (1/N + 5%%)", moved, n, limit)
	}
	if moved < n/4-n*5/100 {
		t.Fatalf("adding a 4th target moved only %d of %d keys; the new target should get about 1/4", moved, n)
	}
	t.Logf("adding a 4th target moved %d of %d keys (%.1f%%)", moved, n, 100*float64(moved)/n)

	// Target 1 down: its keys go elsewhere, deterministically; others stay.
	three.pool.Load().bl.targets[1].up.Store(false)
	down1, down2 := hashAssign(t, three, n), hashAssign(t, three, n)
	for i := range before {
		switch {
		case down1[i] != down2[i]:
			t.Fatalf("key %d: %s then %s with target 1 down; want the same runner-up", i, down1[i], down2[i])
		case before[i] != urls[1] && down1[i] != before[i]:
			t.Fatalf("key %d moved from %s to %s though its target is up", i, before[i], down1[i])
		case before[i] == urls[1] && down1[i] == urls[1]:
			t.Fatalf("key %d stayed on the down target", i)
		}
	}
	// Weights: a target of weight 2 among 1,1 gets about half the keys.
	wo := testOptions(Target{URL: urls[0], Weight: 2}, Target{URL: urls[1], Weight: 1}, Target{URL: urls[2], Weight: 1})
	wo.Balance = Hash
	w := newUpstream(t, wo)
	share := 0
	for _, u := range hashAssign(t, w, n) {
		if u == urls[0] {
			share++
		}
	}
	if share < n*45/100 || share > n*55/100 {
		t.Fatalf("weight 2 of 4: got %d of %d keys; want about half", share, n)
	}
}

// An empty hash key is balanced by round robin.
func TestHashEmptyKeyRoundRobin(t *testing.T) {
	o := testOptions(Target{URL: "http://10.0.0.1:1", Weight: 1}, Target{URL: "http://10.0.0.2:1", Weight: 1})
	o.Balance = Hash
	u := newUpstream(t, o)
	bl := &u.pool.Load().bl
	var seq []int
	for range 4 {
		var tried triedSet
		n, _ := bl.pick(time.Now().UnixNano(), false, 0, &tried)
		n.inflight.Add(-1)
		seq = append(seq, n.idx)
	}
	if got := fmt.Sprint(seq); got != "[0 1 0 1]" {
		t.Fatalf("empty key: got %s; want [0 1 0 1]", got)
	}
}
