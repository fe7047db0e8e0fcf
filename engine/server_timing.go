package engine

import (
	"time"

	"github.com/valyala/fasthttp"
)

// stage is a step of the pipeline that Server-Timing reports (DESIGN §7).
type stage uint8

const (
	stageAuth     stage = iota // the API token or JWT checked
	stageLimit                 // the rate limiter's decision
	stageCache                 // the cache lookup (a hit's answer is the lookup)
	stageAcquire               // waiting for a pool connection (the gate included)
	stageDB                    // the statement until PostgreSQL's first result message; a cache miss's fill
	stageUpstream              // the upstream exchange up to its response headers; a cache miss's fill
	stageEncode                // reading and encoding the rows (rowcodec runs as rows arrive)
	numStages
)

// stageNames are the Server-Timing metric names, in the order the header
// lists them.
var stageNames = [numStages]string{"auth", "limit", "cache", "acquire", "db", "upstream", "encode"}

// timings are a request's stage durations: fixed fields, so measuring and
// reporting them allocate nothing.
type timings struct {
	dur [numStages]time.Duration
	// at is when stage s last ended, in Unix nanoseconds (a time.Time
	// takes three times the room, in every parked request): tracing draws
	// the stage's span as dur[s] up to at[s] (DESIGN §7). A stored time,
	// no clock read.
	at  [numStages]int64
	set uint8 // bit s: stage s ran
}

// add counts d, ended at end, to stage s (a stage may run more than once:
// it adds up).
func (t *timings) add(s stage, d time.Duration, end time.Time) {
	t.dur[s] += d
	t.at[s] = end.UnixNano()
	t.set |= 1 << s
}

// ended is when stage s last ended.
func (t *timings) ended(s stage) time.Time { return time.Unix(0, t.at[s]) }

// timed records stage s as lasting from t0 until now, and returns now for
// the next stage to start from. time.Now costs about 20 ns (vDSO), a few
// per request.
func (r *request) timed(s stage, t0 time.Time) time.Time {
	now := time.Now()
	r.timing.add(s, now.Sub(t0), now)
	return now
}

var (
	headerServerTiming = []byte("Server-Timing")
	durSep             = []byte(";dur=")
	totalName          = []byte("total")
)

// setResponseHeaders writes X-Request-Id and Server-Timing on r's response.
// It runs once, when the handler finishes, before fasthttp writes the
// headers: for a streamed body (a large result, an upstream's stream) that
// is before the body, so total is the time to the first byte, not to the
// last. It allocates nothing: r.buf and the request id are the request's.
func (r *request) setResponseHeaders() {
	h := &r.ctx.Response.Header
	h.SetCanonical(headerXRequestID, r.requestID())
	r.buf = appendServerTiming(r.buf[:0], &r.timing, since(r.ctx))
	h.SetCanonical(headerServerTiming, r.buf)
}

// appendServerTiming appends the Server-Timing value (W3C Server Timing):
// each stage that ran, then total, durations in milliseconds, as in
// "auth;dur=0.012, cache;dur=0.002, total;dur=0.051".
func appendServerTiming(dst []byte, t *timings, total time.Duration) []byte {
	for s := range numStages {
		if t.set&(1<<s) == 0 {
			continue
		}
		dst = append(dst, stageNames[s]...)
		dst = append(dst, durSep...)
		dst = appendMillis(dst, t.dur[s])
		dst = append(dst, commaSpace...)
	}
	dst = append(dst, totalName...)
	dst = append(dst, durSep...)
	return appendMillis(dst, total)
}

// appendMillis appends d in milliseconds with three decimals (microsecond
// resolution): "12.345", "0.002". Negative durations (a clock step) are 0.
func appendMillis(dst []byte, d time.Duration) []byte {
	us := max(int64(d/time.Microsecond), 0)
	dst = fasthttp.AppendUint(dst, int(us/1000))
	frac := us % 1000
	return append(dst, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
}
