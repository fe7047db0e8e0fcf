package sqlexec

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Coalescing. Under load the pool's gate is full and requests for a route
// queue for a connection, each to spend one round trip on one statement.
// A coalescing statement lets them share: the first request to find no
// run gathering becomes the leader of a run, which waits at the gate as
// usual; requests for the same statement that arrive meanwhile join it
// instead of queueing themselves. Once the run has a connection it is
// answered in one keyed statement (keyed.go) or pipelined, each member's
// Bind and Execute followed by its own Sync (so each is its own implicit
// transaction, its settings SET LOCAL to it, its error its own), and each
// result is encoded into its member's buffer. A run of one is the
// ordinary execution. With a free slot at the gate the run gets a
// connection at once and runs alone: runs grow only while every connection
// is busy. Every run is conducted by a runner goroutine (runner.go), not
// by its leader's.

// maxCoalesced bounds a run: enough to amortize a round trip over many
// requests, few enough that the messages sent ahead of reading stay small.
// DB.RunBudget bounds it further by time, so that the last member does not
// wait long behind the others.
const maxCoalesced = 64

// coalescer gathers the runs of one statement.
type coalescer struct {
	mu sync.Mutex
	// gathering is the newest run, which requests join while its leader
	// waits for its turn or for a connection; nil when no leader waits.
	gathering *run
	// running counts the runs past their turn (waiting for a connection
	// or executing), at most bound() but for a while after the bound
	// fell (conduct brings it back down, see there) or expire sent runs
	// on; queue holds the runs waiting for a turn, oldest first.
	running int
	queue   []*run
	// expiry ends the wait for a turn of the queued runs older than the
	// pool's acquire timeout (expire); created with the first queued run.
	expiry *time.Timer

	// cost is a moving average of the connection time per request (a
	// run's time divided by its members), in nanoseconds; 0 until the
	// first execution.
	cost atomic.Int64

	runs    atomic.Int64 // runs of two members or more
	keyed   atomic.Int64 // those answered by one keyed execution (keyed.go)
	members atomic.Int64 // requests answered by those runs
	waiting atomic.Int64 // requests in runs whose leader waits for its turn or a connection
}

// run is one leader's batch of requests, the leader first.
type run struct {
	members []*member
	keys    []byte // the members' values as an array, for a keyed run
	// queued is when the run joined its statement's queue to wait for
	// a turn; zero when it never waited for one.
	queued time.Time
}

// member is one request waiting on a run.
type member struct {
	args   [][]byte
	out    []byte
	base   int // len(out) when it joined: a keyed run that gives up truncates out back to it
	joined time.Time
	// acquired is when its run's leader got a connection (or gave up).
	acquired time.Time
	noRows   bool
	err      error
	// crashed is, for a run's leader, the panic that ended the run
	// (answer), raised again by Fetch on the leader's own goroutine.
	crashed any
	// done receives once the run has filled out, noRows and err.
	done chan struct{}
}

var (
	runPool    = sync.Pool{New: func() any { return new(run) }}
	memberPool = sync.Pool{New: func() any { return &member{done: make(chan struct{}, 1)} }}
)

// Fetched is a result read whole by Fetch.
type Fetched struct {
	Body []byte
	// NoRows: a One or Value result had no row.
	NoRows bool
	// AcquireWait is how long the request waited for a connection: its
	// own, or its run leader's from the moment it joined.
	AcquireWait time.Duration
}

// CoalesceStats counts a statement's pipelined runs and the requests they
// answered, and says how many requests wait in runs now.
type CoalesceStats struct {
	Runs    int64
	Keyed   int64 // runs answered by one keyed execution
	Members int64
	Waiting int64
}

// CoalesceStats reports the statement's runs; zero when it does not
// coalesce.
func (s *Statement) CoalesceStats() CoalesceStats {
	if s.co == nil {
		return CoalesceStats{}
	}
	return CoalesceStats{Runs: s.co.runs.Load(), Keyed: s.co.keyed.Load(), Members: s.co.members.Load(), Waiting: s.co.waiting.Load()}
}

// Coalesces reports whether Fetch may run the statement together with
// other requests for it.
func (s *Statement) Coalesces() bool { return s.co != nil }

// Fetch runs the statement with args and appends its whole result to dst.
// A coalescing statement called with a context that cannot be cancelled
// may run in a pipelined run with other requests (see Coalescing above);
// otherwise it runs alone, as Run and Fill would.
func (s *Statement) Fetch(ctx context.Context, args [][]byte, dst []byte) (Fetched, error) {
	if s.co == nil || ctx.Done() != nil {
		// A member's own cancellation could not stop its leader's run.
		x, err := s.Run(ctx, args)
		if err != nil {
			return Fetched{Body: dst}, err
		}
		return s.fill(x, dst)
	}
	m := memberPool.Get().(*member)
	m.args, m.out, m.base, m.joined = args, dst, len(dst), time.Now()
	c := s.co
	c.mu.Lock()
	if r := c.gathering; r != nil && len(r.members) < c.limit(s.db.RunBudget) {
		r.members = append(r.members, m)
		c.waiting.Add(1)
		c.mu.Unlock()
	} else {
		s.lead(m) // unlocks c.mu
	}
	<-m.done
	f, err, crashed := Fetched{Body: m.out, NoRows: m.noRows, AcquireWait: m.waited()}, m.err, m.crashed
	*m = member{done: m.done}
	memberPool.Put(m)
	if crashed != nil {
		panic(crashed) // the leader's request fails as any handler panic does
	}
	return f, err
}

// fill reads x's whole result into dst and releases x.
func (s *Statement) fill(x *Rows, dst []byte) (Fetched, error) {
	body, _, err := x.Fill(dst, 0)
	f := Fetched{Body: body, NoRows: x.NoRows(), AcquireWait: x.AcquireWait()}
	x.Release(err)
	return f, err
}

// lead starts a run with m, called with s.co.mu held (it unlocks it): it
// hands the run to a runner (runner.go), or queues it for a turn, and m
// waits on it like any member. A request's goroutine never conducts a run:
// waiting at the gate and driving pgx and the encoder grows a goroutine's
// stack to 8 KiB, which a parked request then keeps, and a moment of runs
// of one (a statement that turned slow, or a first burst) would leave every
// request goroutine with such a stack.
//
// While runs of several fit in the budget, DB.MaxRuns bounds the runs under
// way, so that runs grow instead of multiplying. Runs of one (a statement
// slower than the budget, or whose cost is not known yet) gather nothing
// and are bounded by the gate's slots instead: they get every connection
// they would get without coalescing, on as many runners, and the requests
// past that queue with no goroutine busy on their behalf.
func (s *Statement) lead(m *member) {
	c := s.co
	r := runPool.Get().(*run)
	r.members = append(r.members[:0], m)
	c.gathering = r
	c.waiting.Add(1)
	if bound := s.bound(); bound > 0 && c.running >= bound && s.db.Pool.AcquireTimeout() > 0 {
		// Enough runs are under way: this one gathers (if it may) until
		// one ends and hands it its turn, instead of taking a connection
		// with the few requests it has. With acquire_timeout 0 nothing
		// waits for a connection, so no run waits for a turn either: it
		// meets the gate, which refuses it at once when full.
		s.enqueue(r)
		c.mu.Unlock()
		return
	}
	c.running++
	c.mu.Unlock()
	dispatch(s, r)
}

// bound is how many runs of s may be under way at once (0: no bound),
// called with s.co.mu held: DB.MaxRuns while runs of several fit in the
// budget, the gate's slots for runs of one.
func (s *Statement) bound() int {
	if s.co.limit(s.db.RunBudget) == 1 {
		return s.db.Pool.Slots()
	}
	return s.db.MaxRuns
}

// conduct waits for a connection for r while later requests join,
// answers every member and lets them go. The run's turn passes to the
// oldest queued run, which conduct returns for its caller to conduct next
// (nil when none waits).
func (s *Statement) conduct(r *run) (next *run) {
	c := s.co
	x, err := acquire(context.Background(), s.db, s.timeout, r.queued)
	c.mu.Lock()
	if c.gathering == r {
		c.gathering = nil
	}
	c.mu.Unlock()
	// Nobody joins r from here on.
	c.waiting.Add(-int64(len(r.members)))
	now := time.Now()
	for _, o := range r.members {
		o.acquired = now
	}
	var crashed any
	if err != nil {
		for _, o := range r.members {
			o.err = err
		}
	} else {
		crashed = s.answer(x, r, now)
	}
	c.mu.Lock()
	if bound := s.bound(); len(c.queue) > 0 && (bound <= 0 || c.running <= bound) {
		// running stays: next takes r's place. Past the bound (runs of
		// one of a first burst, then a cost that fits runs of several;
		// runs that expire sent on) r's place is not handed on, so the
		// runs under way come back down to it; the runs still under way
		// hand on theirs.
		next = c.queue[0]
		c.queue = slices.Delete(c.queue, 0, 1)
	} else {
		c.running--
	}
	c.mu.Unlock()
	r.members[0].crashed = crashed
	for _, o := range r.members {
		o.done <- struct{}{}
	}
	clear(r.members)
	r.members, r.keys, r.queued = r.members[:0], r.keys[:0], time.Time{}
	runPool.Put(r)
	return next
}

// runHook, when set (tests), is called before a run is answered.
var runHook func()

// answer answers r on x. A panic on the way (a bug in encoding, in the
// driver) must not strand the run: every member gets an error, the
// connection, in an unknown state, is closed and released, and the panic
// is returned, with its stack, for the leader's Fetch to raise again once
// the members are let go and the run's turn is passed on.
func (s *Statement) answer(x *Rows, r *run, now time.Time) (crashed any) {
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		crashed = fmt.Sprintf("%v\n%s", p, debug.Stack())
		err := fmt.Errorf("BUG: sqlexec: a coalesced run of %s failed: %v", s.name, p)
		for _, o := range r.members {
			o.err = err
		}
		ctx, cancel := context.WithTimeout(context.Background(), cancelWait)
		_ = x.conn.PgConn().Close(ctx)
		cancel()
		x.Release(err)
	}()
	if runHook != nil {
		runHook()
	}
	c := s.co
	if len(r.members) == 1 {
		s.runAlone(x, r.members[0])
		c.observe(time.Since(now), 1)
		return nil
	}
	c.runs.Add(1)
	c.members.Add(int64(len(r.members)))
	s.runMany(x, r)
	c.observe(time.Since(now), len(r.members))
	return nil
}

// enqueue queues r for a turn, called with s.co.mu held. The wait for a
// turn counts against the pool's acquire timeout (conduct acquires since
// r.queued), and lasts at most that: past it, expire sends the run on to
// the gate, which gives it a connection if a slot is free and refuses it
// at once otherwise, so that runs ahead that are blocked (a lock, a
// statement suddenly slow) cost its requests one acquire timeout, not the
// blocked runs' whole statement timeout.
func (s *Statement) enqueue(r *run) {
	c := s.co
	r.queued = time.Now()
	c.queue = append(c.queue, r)
	wait := s.db.Pool.AcquireTimeout() // > 0: see lead
	switch {
	case len(c.queue) > 1:
		// The timer is armed for an older run: expire rearms it for the
		// runs behind.
	case c.expiry == nil:
		c.expiry = time.AfterFunc(wait, s.expire)
	default:
		c.expiry.Reset(wait)
	}
}

// expire sends the queued runs that have waited the pool's acquire
// timeout on to the gate, and rearms the timer for the oldest of the rest.
func (s *Statement) expire() {
	c := s.co
	wait := s.db.Pool.AcquireTimeout()
	now := time.Now()
	c.mu.Lock()
	n := 0
	for n < len(c.queue) && now.Sub(c.queue[n].queued) >= wait {
		n++
	}
	due := slices.Clone(c.queue[:n])
	c.queue = slices.Delete(c.queue, 0, n)
	c.running += n
	if len(c.queue) > 0 {
		c.expiry.Reset(wait - now.Sub(c.queue[0].queued))
	}
	c.mu.Unlock()
	for _, r := range due {
		dispatch(s, r)
	}
}

// limit is how many members a run may take: as many as fit in budget at
// the recent cost per request, one while that cost is unknown.
func (c *coalescer) limit(budget time.Duration) int {
	cost := c.cost.Load()
	if cost <= 0 {
		return 1
	}
	return int(min(max(int64(budget)/cost, 1), maxCoalesced))
}

// costShift weighs a new sample by 1/8 in the cost average.
const costShift = 3

// observe folds a run's connection time, took for n members, into the
// cost average.
func (c *coalescer) observe(took time.Duration, n int) {
	sample := max(int64(took)/int64(n), 1)
	for {
		old := c.cost.Load()
		next := sample
		if old != 0 {
			next = old + (sample-old)>>costShift
		}
		if c.cost.CompareAndSwap(old, next) {
			return
		}
	}
}

// waited is m's AcquireWait: from joining to its run's connection.
func (m *member) waited() time.Duration { return max(m.acquired.Sub(m.joined), 0) }

// runAlone is a run of one: the ordinary execution on x.
func (s *Statement) runAlone(x *Rows, m *member) {
	s.prime(x)
	if err := s.send(x, m.args); err != nil {
		x.Release(err)
		m.err = err
		return
	}
	var f Fetched
	f, m.err = s.fill(x, m.out)
	m.out, m.noRows = f.Body, f.NoRows
}

// runMany answers a run of two or more: keyed when the statement has a
// keyed form and the server takes it, pipelined otherwise.
func (s *Statement) runMany(x *Rows, r *run) {
	if s.keyed == nil {
		s.runPipelined(x, r.members)
		return
	}
	s.prime(x)
	ok, err := s.runKeyed(x, r)
	switch {
	case err != nil:
		for _, o := range r.members {
			o.err = err
		}
	case ok:
		s.co.keyed.Add(1)
	default:
		s.runPipelined(x, r.members)
		return
	}
	x.done = true // read to its Sync, or the connection is gone
	x.Release(err)
}
