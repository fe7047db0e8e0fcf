package jwtauth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// maxJWKSBytes bounds a JWKS response; real sets are a few kilobytes.
const maxJWKSBytes = 1 << 20

// minRetry is the first delay before retrying a failed JWKS fetch; it
// doubles on each failure up to JWKSRefresh.
const minRetry = time.Second

// jwksFetcher keeps the Verifier's keys in step with a JWKS URL. One
// goroutine, started by New and stopped by Close, does every fetch: on a
// timer, and when a token names an unknown kid (at most once per
// missInterval). Requests that wait for a kid-miss refresh wait for that
// goroutine's next fetch to finish.
type jwksFetcher struct {
	url          string
	client       *http.Client
	log          *slog.Logger
	refresh      time.Duration
	missInterval time.Duration
	now          func() time.Time
	install      func([]*key) // swaps in the fetched keys

	ctx    context.Context // cancelled by stop: aborts a fetch in flight
	cancel context.CancelFunc
	kick   chan struct{} // buffered 1: "fetch now"
	done   chan struct{} // closed when the goroutine has returned

	// round is closed when the fetch that starts next (or the one in
	// flight when it was created) ends; see fetch.
	round atomic.Pointer[chan struct{}]

	mu        sync.Mutex
	lastMiss  time.Time     // when a kid miss last triggered a refresh
	missRound chan struct{} // the round that refresh will close

	lastSum  [sha256.Size]byte // digest of the last document installed
	failing  bool              // the last fetch failed (for logging transitions)
	fetches  atomic.Uint64
	errors   atomic.Uint64
	missRefs atomic.Uint64
}

// newJWKSFetcher builds the fetcher; start runs it.
func newJWKSFetcher(o *Options, install func([]*key)) *jwksFetcher {
	f := &jwksFetcher{
		url: o.JWKSURL, client: o.HTTPClient, log: o.Logger, refresh: o.JWKSRefresh,
		missInterval: o.JWKSMissInterval, now: o.Now, install: install,
		kick: make(chan struct{}, 1), done: make(chan struct{}),
	}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	ch := make(chan struct{})
	f.round.Store(&ch)
	return f
}

// start fetches once, bounded by ctx, then hands over to the goroutine.
// A failed first fetch is logged and retried; it does not fail New.
func (f *jwksFetcher) start(ctx context.Context) {
	ok := f.fetch(ctx)
	go f.run(ok)
}

// stop ends the goroutine and any fetch in flight, and waits for it.
func (f *jwksFetcher) stop() {
	f.cancel()
	<-f.done
}

// run is the refresh loop: every refresh after a success, with doubling
// backoff from minRetry after a failure, and at once when kicked.
func (f *jwksFetcher) run(lastOK bool) {
	defer close(f.done)
	retry := minRetry
	next := func(ok bool) time.Duration {
		if ok {
			retry = minRetry
			return f.refresh
		}
		d := min(retry, f.refresh)
		retry = min(2*retry, f.refresh)
		return d
	}
	t := time.NewTimer(next(lastOK))
	defer t.Stop()
	for {
		select {
		case <-f.ctx.Done():
			return
		case <-t.C:
		case <-f.kick:
		}
		ok := f.fetch(f.ctx)
		t.Reset(next(ok))
	}
}

// fetch downloads, parses and installs the key set, and closes the round
// that was current when it began, waking the requests that wait for it.
func (f *jwksFetcher) fetch(ctx context.Context) bool {
	ch := make(chan struct{})
	prev := f.round.Swap(&ch)
	defer close(*prev)
	err := f.fetchOnce(ctx)
	if err != nil && f.ctx.Err() != nil {
		return false // Close interrupted the fetch: not a provider failure
	}
	if err != nil {
		f.errors.Add(1)
		if !f.failing {
			f.log.Warn("jwtauth: cannot fetch JWKS; keeping the keys already known and retrying", "url", f.url, "err", err)
		} else {
			f.log.Debug("jwtauth: cannot fetch JWKS", "url", f.url, "err", err)
		}
		f.failing = true
		return false
	}
	if f.failing {
		f.log.Info("jwtauth: JWKS fetch recovered", "url", f.url)
	}
	f.failing = false
	return true
}

// fetchOnce does one GET of the JWKS URL and installs the result when the
// document changed.
func (f *jwksFetcher) fetchOnce(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.url, nil)
	if err != nil {
		return fmt.Errorf("cannot build request: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return fmt.Errorf("status %s; want 200 OK", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return fmt.Errorf("cannot read response: %w", err)
	}
	if len(body) > maxJWKSBytes {
		return fmt.Errorf("response larger than %d bytes", maxJWKSBytes)
	}
	sum := sha256.Sum256(body)
	if bytes.Equal(sum[:], f.lastSum[:]) {
		f.fetches.Add(1)
		return nil
	}
	keys, skipped, err := parseJWKS(body)
	if err != nil {
		return err
	}
	for _, s := range skipped {
		f.log.Warn("jwtauth: JWKS key not used", "url", f.url, "index", s.index, "kid", s.kid, "reason", s.err)
	}
	if len(keys) == 0 {
		return errors.New("JWK Set has no usable signature key")
	}
	// Counted before the keys become visible, so whoever sees the new keys
	// also sees the fetch that brought them.
	f.fetches.Add(1)
	f.install(keys)
	f.lastSum = sum
	f.log.Info("jwtauth: JWKS keys installed", "url", f.url, "keys", len(keys))
	return nil
}

// missRefresh is called when a token names a kid no key has. It triggers a
// fetch unless one was triggered by a miss less than missInterval ago, and
// waits for it; requests arriving while such a fetch is in flight wait for
// the same one. It reports whether a fetch completed.
func (f *jwksFetcher) missRefresh() bool {
	now := f.now()
	f.mu.Lock()
	ch := f.missRound
	switch {
	case ch != nil && !isClosed(ch):
		// join the refresh in flight
	case f.lastMiss.IsZero() || now.Sub(f.lastMiss) >= f.missInterval || now.Before(f.lastMiss):
		f.lastMiss = now
		ch = *f.round.Load()
		f.missRound = ch
		f.missRefs.Add(1)
		select {
		case f.kick <- struct{}{}:
		default: // a fetch is already requested; it will close ch
		}
	default:
		f.mu.Unlock()
		return false
	}
	f.mu.Unlock()
	wait := f.client.Timeout + time.Second
	if f.client.Timeout == 0 {
		wait = DefaultHTTPTimeout + time.Second
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-f.ctx.Done():
		return false
	case <-t.C:
		return false
	}
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
