package upstream

import (
	"math"
	"sync"
	"time"
)

// triedSet is the set of targets a request has tried, by index: a bitset
// on the caller's stack, so a retry allocates nothing.
type triedSet [MaxTargets / 64]uint64

func (s *triedSet) has(i int) bool { return s[i>>6]&(1<<(i&63)) != 0 }
func (s *triedSet) add(i int)      { s[i>>6] |= 1 << (i & 63) }

// balancer chooses targets. Round robin's current weights are its only
// mutable state, under mu; hashing needs none.
type balancer struct {
	balance Balance
	targets []*node
	uniform bool // every weight equal: hash scores need no logarithm

	mu sync.Mutex
	cw []int64 // smooth weighted round robin's current weights, by index
}

// candidate reports whether t may be chosen at now: not tried yet, up, and
// admitted by its breaker as far as a look can tell.
func candidate(t *node, now int64, tried *triedSet) bool {
	return !tried.has(t.idx) && t.up.Load() && t.br.available(now)
}

// pick chooses a target for a request at now (unix nanoseconds) among
// those not in tried, admits it through its breaker and counts it in
// flight. keyHash is used under Hash when hashed is true. It returns nil
// when no target is available; the caller adds the chosen target to tried.
// pick allocates nothing.
func (bl *balancer) pick(now int64, hashed bool, keyHash uint64, tried *triedSet) (t *node, probe bool) {
	// A half-open breaker may refuse at admit a target that looked
	// available (its probe slots were taken meanwhile): leave it out and
	// choose again, at most once per target.
	var skip triedSet
	for range bl.targets {
		var i int
		switch {
		case bl.balance == Hash && hashed:
			i = bl.pickHash(now, keyHash, tried, &skip)
		case bl.balance == LeastConn:
			i = bl.pickLeastConn(now, tried, &skip)
		default:
			i = bl.pickRoundRobin(now, tried, &skip)
		}
		if i < 0 {
			return nil, false
		}
		t = bl.targets[i]
		ok, probe := t.br.admit(now)
		if ok {
			if bl.balance == Hash && hashed {
				t.inflight.Add(1) // the locked pickers count it themselves
			}
			return t, probe
		}
		if bl.balance != Hash || !hashed {
			t.inflight.Add(-1)
		}
		skip.add(i)
	}
	return nil, false
}

// pickRoundRobin is smooth weighted round robin (nginx's
// ngx_http_upstream_get_peer): every candidate's current weight grows by
// its weight, the largest wins and loses the candidates' total. Over W =
// Σweights picks each target wins exactly its weight, spread out. Returns
// the index chosen, counted in flight, or -1.
func (bl *balancer) pickRoundRobin(now int64, tried, skip *triedSet) int {
	bl.mu.Lock()
	best := -1
	var total int64
	for i, t := range bl.targets {
		if skip.has(i) || !candidate(t, now, tried) {
			continue
		}
		bl.cw[i] += t.weight
		total += t.weight
		if best < 0 || bl.cw[i] > bl.cw[best] {
			best = i
		}
	}
	if best >= 0 {
		bl.cw[best] -= total
		bl.targets[best].inflight.Add(1)
	}
	bl.mu.Unlock()
	return best
}

// pickLeastConn chooses the candidate with the fewest requests in flight
// per unit of weight; among equals, smooth weighted round robin decides.
// Returns the index chosen, counted in flight, or -1.
func (bl *balancer) pickLeastConn(now int64, tried, skip *triedSet) int {
	bl.mu.Lock()
	// First pass: the least load, as the fraction minConns/minWeight
	// (compared by cross-multiplying, so no division).
	lo := -1
	var minConns, minWeight int64
	for i, t := range bl.targets {
		if skip.has(i) || !candidate(t, now, tried) {
			continue
		}
		c := t.inflight.Load()
		if lo < 0 || c*minWeight < minConns*t.weight {
			lo, minConns, minWeight = i, c, t.weight
		}
	}
	if lo < 0 {
		bl.mu.Unlock()
		return -1
	}
	// Second pass: round robin among the targets at that load. A count
	// that moved since the first pass only narrows the tie set; the first
	// pass's choice stands when nothing else is left.
	best := -1
	var total int64
	for i, t := range bl.targets {
		if skip.has(i) || !candidate(t, now, tried) {
			continue
		}
		if t.inflight.Load()*minWeight != minConns*t.weight {
			continue
		}
		bl.cw[i] += t.weight
		total += t.weight
		if best < 0 || bl.cw[i] > bl.cw[best] {
			best = i
		}
	}
	if best < 0 {
		best = lo
	} else {
		bl.cw[best] -= total
	}
	bl.targets[best].inflight.Add(1)
	bl.mu.Unlock()
	return best
}

// pickHash is weighted rendezvous hashing (Thaler and Ravishankar, "A
// Name-Based Mapping Scheme for Rendezvous", 1996; the weighted form of
// Schindelhauer and Schomaker, 2005): each target scores -weight / ln(u),
// with u in (0, 1) derived from the key's hash and the target's, and the
// highest score wins. Unavailable targets are skipped, so a key whose
// target is out goes to its runner-up, the same one every time; a new
// target takes only the keys it now wins (weight ÷ total of them). It
// costs one logarithm per target, and no state, so no lock. Returns the
// index chosen (not yet counted in flight) or -1.
func (bl *balancer) pickHash(now int64, keyHash uint64, tried, skip *triedSet) int {
	best := -1
	if bl.uniform {
		// -w/ln(u) grows with u, so with equal weights the largest mixed
		// hash wins: the same ranking, without a logarithm per target.
		var bestX uint64
		for i, t := range bl.targets {
			if skip.has(i) || !candidate(t, now, tried) {
				continue
			}
			if x := mix64(keyHash ^ t.seed); best < 0 || x > bestX {
				best, bestX = i, x
			}
		}
		return best
	}
	var bestScore float64
	for i, t := range bl.targets {
		if skip.has(i) || !candidate(t, now, tried) {
			continue
		}
		if s := hashScore(keyHash, t); best < 0 || s > bestScore {
			best, bestScore = i, s
		}
	}
	return best
}

// hashScore is t's rendezvous score for a key hash.
func hashScore(keyHash uint64, t *node) float64 {
	x := mix64(keyHash ^ t.seed)
	// The top 53 bits, centred in their interval: u is in (0, 1), never 0
	// or 1, so the logarithm is finite and negative.
	u := (float64(x>>11) + 0.5) / (1 << 53)
	return -float64(t.weight) / math.Log(u)
}

// mix64 is the SplitMix64 finalizer (Steele, Lea and Flood, "Fast
// Splittable Pseudorandom Number Generators", 2014): it spreads the key's
// hash XOR the target's seed over all 64 bits, so that the scores of two
// targets are independent.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// unavailable explains why pick found nothing for a request's first try:
// an *OpenError when some target is up but every one that is up is held by
// its breaker, else ErrNoTarget.
func (bl *balancer) unavailable(name string, now int64) error {
	anyOpen := false
	var wait time.Duration = math.MaxInt64
	for _, t := range bl.targets {
		if !t.up.Load() {
			continue
		}
		if t.br.available(now) {
			// Up and admitting now: it was free a moment ago but lost a race
			// for a probe slot. Call it open, with no wait.
			wait = 0
			anyOpen = true
			continue
		}
		anyOpen = true
		wait = min(wait, t.br.retryAfter(now))
	}
	if !anyOpen {
		return ErrNoTarget
	}
	return &OpenError{Upstream: name, RetryAfter: wait}
}
