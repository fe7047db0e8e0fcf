package upstream

import (
	"fmt"
	"io"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// bigBody is the size of the streamed bodies: far more than the heap bound,
// so a body buffered anywhere fails the test.
const bigBody = 200 << 20

// heapBound is how much the heap may grow while a big body passes.
const heapBound = 32 << 20

// patternByte is the byte at offset off of a pattern body: a cycle of 251
// (a prime, so it does not line up with any buffer size).
func patternByte(off int64) byte { return byte(off % 251) }

// patternReader produces n bytes of the pattern, calling tick at every
// 16 MB.
type patternReader struct {
	n, off int64
	tick   func()
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.off >= r.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n-r.off)]
	for i := range p {
		p[i] = patternByte(r.off + int64(i))
	}
	if r.tick != nil && (r.off+int64(len(p)))>>24 != r.off>>24 {
		r.tick()
	}
	r.off += int64(len(p))
	return len(p), nil
}

// checkPattern reads r to the end, checking the pattern, calling tick at
// every 16 MB; it returns the number of bytes read.
func checkPattern(r io.Reader, tick func()) (int64, error) {
	buf := make([]byte, 64<<10)
	var off int64
	for {
		n, err := r.Read(buf)
		for i := range buf[:n] {
			if buf[i] != patternByte(off+int64(i)) {
				return off, fmt.Errorf("byte %d: got %d; want %d", off+int64(i), buf[i], patternByte(off+int64(i)))
			}
		}
		if tick != nil && (off+int64(n))>>24 != off>>24 {
			tick()
		}
		off += int64(n)
		if err == io.EOF {
			return off, nil
		}
		if err != nil {
			return off, err
		}
	}
}

// heapWatch records the peak of HeapInuse over a baseline.
type heapWatch struct {
	base, peak uint64
}

func newHeapWatch() *heapWatch {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return &heapWatch{base: m.HeapInuse, peak: m.HeapInuse}
}

func (h *heapWatch) sample() {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	h.peak = max(h.peak, m.HeapInuse)
}

func (h *heapWatch) growth() uint64 { return h.peak - h.base }

// A 200 MB response passes through Do as a stream: the test reads
// resp.BodyStream() while the heap grows by less than 32 MB.
func TestStreamLargeResponse(t *testing.T) {
	srv := startServer(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetBodyStream(&patternReader{n: bigBody}, bigBody)
	})
	o := testOptions(Target{URL: srv.URL(), Weight: 1})
	o.Timeout = time.Minute
	u := newUpstream(t, o)
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("/big")

	h := newHeapWatch()
	start := time.Now()
	if _, err := u.Do(req, resp, nil); err != nil {
		t.Fatalf("Do: %v", err)
	}
	if cl := resp.Header.ContentLength(); cl != bigBody {
		t.Fatalf("Content-Length: got %d; want %d", cl, bigBody)
	}
	h.sample()
	n, err := checkPattern(resp.BodyStream(), h.sample)
	if err != nil || n != bigBody {
		t.Fatalf("body: got %d bytes, %v; want %d intact bytes", n, err, bigBody)
	}
	if err := resp.CloseBodyStream(); err != nil {
		t.Fatalf("CloseBodyStream: %v", err)
	}
	h.sample()
	t.Logf("200 MB response in %s; heap grew by %.1f MB", time.Since(start).Round(time.Millisecond), float64(h.growth())/(1<<20))
	if h.growth() >= heapBound {
		t.Fatalf("heap grew by %d bytes; want less than %d", h.growth(), heapBound)
	}
}

// A 200 MB request body given as a stream reaches the target intact, with
// the same bound on the heap.
func TestStreamLargeRequest(t *testing.T) {
	srv := startServerOpts(t, func(ctx *fasthttp.RequestCtx) {
		n, err := checkPattern(ctx.RequestBodyStream(), nil)
		if err != nil {
			ctx.Error(err.Error(), 500)
			return
		}
		ctx.SetBodyString(strconv.FormatInt(n, 10))
	}, true)
	o := testOptions(Target{URL: srv.URL(), Weight: 1})
	o.Timeout = time.Minute
	u := newUpstream(t, o)
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod("PUT")
	req.SetRequestURI("/upload")

	h := newHeapWatch()
	start := time.Now()
	req.SetBodyStream(&patternReader{n: bigBody, tick: h.sample}, bigBody)
	if _, err := u.Do(req, resp, nil); err != nil {
		t.Fatalf("Do: %v", err)
	}
	body := readAll(t, resp)
	h.sample()
	if resp.StatusCode() != 200 || body != strconv.Itoa(bigBody) {
		t.Fatalf("target counted: got %d %q; want 200 %q", resp.StatusCode(), body, strconv.Itoa(bigBody))
	}
	t.Logf("200 MB request in %s; heap grew by %.1f MB", time.Since(start).Round(time.Millisecond), float64(h.growth())/(1<<20))
	if h.growth() >= heapBound {
		t.Fatalf("heap grew by %d bytes; want less than %d", h.growth(), heapBound)
	}
}

// With MaxResponseBodySize the body is read whole, and a larger one is
// refused.
func TestMaxResponseBodySize(t *testing.T) {
	srv := startServer(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetBody(make([]byte, 4096))
	})
	o := testOptions(Target{URL: srv.URL(), Weight: 1})
	o.MaxResponseBodySize = 4096
	u := newUpstream(t, o)
	if r := call(u, "GET", "/", nil); r.err != nil || len(r.body) != 4096 {
		t.Fatalf("4096 of 4096: got %d bytes, %v; want the whole body", len(r.body), r.err)
	}
	so := testOptions(Target{URL: srv.URL(), Weight: 1})
	so.MaxResponseBodySize, so.Retries = 1024, 3
	small := newUpstream(t, so)
	if r := call(small, "GET", "/", nil); !IsNoTarget(r.err) {
		t.Fatalf("4096 of 1024: got %v; want an error wrapping ErrNoTarget", r.err)
	}
	if st := small.Stats(); st.Targets[0].OtherErrors != 1 || st.Targets[0].Failures != 0 {
		t.Fatalf("stats: got %+v; want one other error, no breaker failure", st.Targets[0])
	}
}
