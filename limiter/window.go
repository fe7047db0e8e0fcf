package limiter

import (
	"math/bits"
	"time"
)

// SlidingWindow is the local sliding window counter (pg-api's algorithm, as
// described in Cloudflare's "Counting things, a lot of different things",
// 2017). Time is cut into fixed windows of Rule.Per; a key counts its
// requests in the current and the previous window, and a request at elapsed
// e into the current window is allowed iff
//
//	current + floor(previous × (Per - e) / Per) < Rate
//
// that is, the previous window is assumed evenly spread and the part of it
// still inside the sliding window [t-Per, t] is counted. Rejected requests
// are not counted.
//
// Each key's state (window number and both counts) is packed into one
// atomic uint64 updated by compare-and-swap: no mutex on the decision path,
// no allocation for a key already seen.
type SlidingWindow struct {
	p    windowParams
	rule Rule
	t    *table
	j    *janitor
}

var _ Limiter = (*SlidingWindow)(nil)

// NewSlidingWindow returns a local sliding-window limiter for opts.Rule
// (Rate requests per window of Per; Burst is ignored) and starts its
// janitor. Close stops the janitor.
func NewSlidingWindow(opts Options) (*SlidingWindow, error) {
	opts.Algorithm = AlgorithmSlidingWindow
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	w := &SlidingWindow{
		p:    windowParams{per: int64(opts.Rule.Per), limit: opts.Rule.Rate},
		rule: opts.Rule,
		t:    newTable(),
	}
	w.j = startJanitor(opts.SweepInterval, opts.clock, w.Sweep)
	return w, nil
}

// Allow implements Limiter.
func (w *SlidingWindow) Allow(key []byte, now time.Time) Decision {
	t := unixNano(now)
	win := t / w.p.per
	elapsed := t - win*w.p.per
	h := w.t.hash(key)
	s := w.t.shard(h)
	for {
		e := s.get(h)
		for v := e.Load(); v != dead; v = e.Load() {
			cur, prev := unpackWindow(v, win)
			if cur+weighted(prev, w.p.per-elapsed, w.p.per) >= w.p.limit {
				s.count(false)
				return w.p.decision(false, elapsed, cur, prev)
			}
			if e.CompareAndSwap(v, packWindow(win, cur+1, prev)) {
				s.count(true)
				return w.p.decision(true, elapsed, cur+1, prev)
			}
		}
		// The janitor removed the entry; look again (see GCRA.Allow).
	}
}

// Sweep removes the keys with nothing counted in the current or the
// previous window at now, which is what an unknown key has. It returns the
// number removed. The janitor calls it every Options.SweepInterval.
func (w *SlidingWindow) Sweep(now time.Time) int {
	per := w.p.per
	return w.t.sweep(now, func(v uint64, now int64) bool {
		cur, prev := unpackWindow(v, now/per)
		return cur == 0 && prev == 0
	})
}

// Stats implements Limiter.
func (w *SlidingWindow) Stats() Stats {
	var st Stats
	w.t.stats(&st)
	return st
}

// Rule returns the rule the limiter enforces, with defaults applied.
func (w *SlidingWindow) Rule() Rule { return w.rule }

// Close stops the janitor. It is idempotent and always returns nil.
func (w *SlidingWindow) Close() error {
	w.j.close()
	return nil
}

// The state word: bits 63..42 the window number (mod 2^22), 41..21 the
// previous window's count, 20..0 the current window's count. The window
// number only has to tell "current", "previous" and "older" apart; a key
// idle for a multiple of 2^22 windows could be misread, but the janitor
// removes idle keys long before (2^22 one-second windows is 48 days).
const (
	countBits  = 21
	countMask  = 1<<countBits - 1
	windowMask = 1<<(64-2*countBits) - 1
)

func packWindow(win, cur, prev int64) uint64 {
	return uint64(win)&windowMask<<(2*countBits) | uint64(prev)<<countBits | uint64(cur)
}

// unpackWindow returns the current and previous counts as seen from window
// win: the stored window rolls forward once, or is forgotten if older.
func unpackWindow(v uint64, win int64) (cur, prev int64) {
	stored := v >> (2 * countBits)
	c := int64(v & countMask)
	switch stored {
	case uint64(win) & windowMask:
		return c, int64(v >> countBits & countMask)
	case uint64(win-1) & windowMask:
		return 0, c
	default:
		return 0, 0
	}
}

// weighted returns floor(prev × remain / per), the part of the previous
// window still inside the sliding one, without overflowing (remain <= per,
// so the quotient fits; the product may not, for long windows).
func weighted(prev, remain, per int64) int64 {
	if prev == 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(prev), uint64(remain))
	q, _ := bits.Div64(hi, lo, uint64(per))
	return int64(q)
}

// windowParams is a Rule in the sliding window's terms, in nanoseconds.
type windowParams struct {
	per   int64
	limit int64
}

// decision builds the Decision for a request elapsed nanoseconds into its
// window, given the counts after it (cur includes it when allowed). The
// Redis limiter calls it with the script's results, so both share it.
func (p *windowParams) decision(allowed bool, elapsed, cur, prev int64) Decision {
	d := Decision{
		Allowed: allowed,
		Limit:   p.limit,
		// k more requests fit iff cur + k - 1 + w < limit, w the weighted
		// previous count; the largest such k is limit - cur - floor(w).
		Remaining: max(p.limit-cur-weighted(prev, p.per-elapsed, p.per), 0),
		Reset:     time.Duration(p.per - elapsed),
	}
	if !allowed {
		d.RetryAfter = time.Duration(p.retryAfter(elapsed, cur, prev))
	}
	return d
}

// retryAfter returns the time until a request would be allowed, given the
// counts of a rejected one.
func (p *windowParams) retryAfter(elapsed, cur, prev int64) int64 {
	if cur >= p.limit {
		// The current window alone is full: wait for the next, where it
		// becomes the weighted previous count.
		return p.per - elapsed + p.firstFree(p.limit, cur)
	}
	return p.firstFree(p.limit-cur, prev) - elapsed
}

// firstFree returns the earliest offset e in [0, Per] into a window at
// which floor(prev × (Per - e) / Per) < room, for room >= 1:
// prev × (Per - e) < room × Per, that is e >= Per + 1 - ceil(room × Per / prev).
func (p *windowParams) firstFree(room, prev int64) int64 {
	if prev < room {
		return 0
	}
	hi, lo := bits.Mul64(uint64(room), uint64(p.per))
	q, r := bits.Div64(hi, lo, uint64(prev)) // room <= prev, so q <= Per fits
	if r != 0 {
		q++
	}
	return p.per + 1 - int64(q)
}
