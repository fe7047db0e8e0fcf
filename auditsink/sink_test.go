package auditsink

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeOpenSearch stands in for a cluster's _bulk API. It checks each
// request's shape, and answers by the request's number: every 3rd a 429,
// every 5th a 500, every 7th a 200 with "errors": true refusing the even
// items with 429 (item-wise retry); the rest take everything. It records
// the documents of every item it took, per request.
type fakeOpenSearch struct {
	t      *testing.T
	index  string
	auth   string
	mu     sync.Mutex
	n      int
	taken  [][]string // per successful request, the docs taken in order
	errors []string
}

func (f *fakeOpenSearch) fail(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

func (f *fakeOpenSearch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	n := f.n
	if r.Method != http.MethodPost || r.URL.Path != "/_bulk" {
		f.fail("request %d: got %s %s; want POST /_bulk", n, r.Method, r.URL.Path)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		f.fail("request %d: got Content-Type %q; want application/x-ndjson", n, ct)
	}
	if got := r.Header.Get("Authorization"); got != f.auth {
		f.fail("request %d: got Authorization %q; want %q", n, got, f.auth)
	}
	body, _ := io.ReadAll(r.Body)
	if !bytes.HasSuffix(body, []byte("\n")) {
		f.fail("request %d: the body does not end with a newline", n)
	}
	wantAction := `{"index":{"_index":"` + f.index + `"}}`
	var docs []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for i := 0; sc.Scan(); i++ {
		line := sc.Text()
		if i%2 == 0 {
			if line != wantAction {
				f.fail("request %d line %d: got action %q; want %q", n, i, line, wantAction)
			}
			continue
		}
		if !json.Valid([]byte(line)) {
			f.fail("request %d line %d: not JSON: %q", n, i, line)
		}
		docs = append(docs, line)
	}
	switch {
	case n%3 == 0:
		w.WriteHeader(http.StatusTooManyRequests)
		return
	case n%5 == 0:
		w.WriteHeader(http.StatusInternalServerError)
		return
	case n%7 == 0 && len(docs) > 1:
		var items []string
		var taken []string
		for i, d := range docs {
			if i%2 == 0 {
				items = append(items, `{"index":{"status":429,"error":{"type":"es_rejected_execution_exception"}}}`)
				continue
			}
			items = append(items, `{"index":{"_index":"x","status":201}}`)
			taken = append(taken, d)
		}
		f.taken = append(f.taken, taken)
		fmt.Fprintf(w, `{"took":3,"errors":true,"items":[%s]}`, strings.Join(items, ","))
		return
	}
	f.taken = append(f.taken, docs)
	items := strings.Repeat(`{"index":{"status":201}},`, len(docs))
	fmt.Fprintf(w, `{"took":1,"errors":false,"items":[%s]}`, strings.TrimSuffix(items, ","))
}

type seqDoc struct {
	Seq int    `json:"seq"`
	Msg string `json:"msg"`
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestSinkDeliversEachDocOnceInOrder(t *testing.T) {
	fake := &fakeOpenSearch{t: t, index: "audit-test", auth: "Bearer s3cret"}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	s, err := New(Options{URL: srv.URL + "/", Token: "s3cret", Index: "audit-test", Batch: 37,
		FlushInterval: 5 * time.Millisecond, MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond,
		MaxRetries: 20, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	const total = 2000
	for i := range total {
		line, _ := json.Marshal(seqDoc{Seq: i, Msg: "query \"x\"\tdone"})
		if !s.Enqueue(append(line, '\n')) {
			t.Fatalf("doc %d dropped", i)
		}
		if i%300 == 0 {
			time.Sleep(2 * time.Millisecond) // let some partial batches go on the tick
		}
	}
	s.Close()

	fake.mu.Lock()
	defer fake.mu.Unlock()
	for _, e := range fake.errors {
		t.Error(e)
	}
	seen := make([]int, total)
	for r, docs := range fake.taken {
		prev := -1
		for _, d := range docs {
			var sd seqDoc
			if err := json.Unmarshal([]byte(d), &sd); err != nil || sd.Seq < 0 || sd.Seq >= total {
				t.Fatalf("request %d: bad doc %q", r, d)
			}
			if sd.Seq <= prev {
				t.Errorf("request %d: doc %d after doc %d; want the batch's order", r, sd.Seq, prev)
			}
			prev = sd.Seq
			seen[sd.Seq]++
		}
	}
	for i, c := range seen {
		if c != 1 {
			t.Errorf("doc %d arrived %d times; want once", i, c)
		}
	}
	st := s.Stats()
	if st.Sent != total || st.Dropped != 0 || st.Failed != 0 || st.Buffered != 0 {
		t.Errorf("got stats %+v; want %d sent, none dropped, failed or buffered", st, total)
	}
	if st.Retries == 0 {
		t.Errorf("got no retries; the fake answers 429 and 500 every few requests")
	}
}

func TestSinkBoundedWhenBlocked(t *testing.T) {
	release := make(chan struct{})
	var requests sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		defer requests.Done()
		io.Copy(io.Discard, r.Body)
		<-release
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	const maxBuffered = 16 << 10
	s, err := New(Options{URL: srv.URL, Batch: 10, FlushInterval: time.Millisecond, MaxBuffered: maxBuffered,
		CloseTimeout: 50 * time.Millisecond, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	doc := []byte(`{"msg":"` + strings.Repeat("a", 90) + `"}` + "\n")
	const total = 100000
	start := time.Now()
	queued := 0
	for range total {
		if s.Enqueue(doc) {
			queued++
		}
		if b := s.Stats().Buffered; b > maxBuffered {
			t.Fatalf("buffered %d bytes; want at most %d", b, maxBuffered)
		}
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("%d writes took %s with the server stuck; Write must not wait for it", total, took)
	}
	st := s.Stats()
	if st.Dropped == 0 || st.Dropped != uint64(total-queued) {
		t.Errorf("got %d dropped, %d queued of %d; want the rest dropped and counted", st.Dropped, queued, total)
	}
	if queued > maxBuffered/len(doc)+1 {
		t.Errorf("queued %d docs of %d bytes within %d bytes", queued, len(doc)-1, maxBuffered)
	}
	close(release)
	s.Close()
	st = s.Stats()
	if st.Sent != 0 || st.Failed != uint64(queued) || st.Buffered != 0 {
		t.Errorf("after Close: got %+v; want all %d queued failed, nothing buffered", st, queued)
	}
	if s.Enqueue(doc) {
		t.Error("Enqueue after Close queued")
	}
	requests.Wait()
}

func TestSinkRefusedForGood(t *testing.T) {
	var calls int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		io.Copy(io.Discard, r.Body)
		fmt.Fprint(w, `{"errors":true,"items":[{"index":{"status":400}},{"index":{"status":201}}]}`)
	}))
	defer srv.Close()
	s, err := New(Options{URL: srv.URL, Batch: 2, FlushInterval: time.Hour, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	s.Enqueue([]byte(`{"a":1}`))
	s.Enqueue([]byte(`{"a":2}`))
	s.Close()
	if st := s.Stats(); st.Sent != 1 || st.Failed != 1 || st.Retries != 0 || calls != 1 {
		t.Errorf("got %+v after %d calls; want 1 sent, 1 failed (a 400 item is not retried), one call", st, calls)
	}
}

func TestAuthorization(t *testing.T) {
	f := func(token, want string) {
		t.Helper()
		if got := authorization(token); got != want {
			t.Errorf("authorization(%q): got %q; want %q", token, got, want)
		}
	}
	f("", "")
	f("abc.def", "Bearer abc.def")
	f("admin:admin", "Basic YWRtaW46YWRtaW4=")
}

func TestOptionsValidate(t *testing.T) {
	f := func(o Options, want string) {
		t.Helper()
		err := o.Validate()
		if (err == nil) != (want == "") || err != nil && !strings.Contains(err.Error(), want) {
			t.Errorf("Validate(%+v): got %v; want %q", o, err, want)
		}
	}
	f(Options{URL: "http://localhost:9200"}, "")
	f(Options{}, "URL is required")
	f(Options{URL: "localhost:9200"}, "http:// or https://")
	f(Options{URL: "https://x", Batch: -1}, "must not be negative")
}
