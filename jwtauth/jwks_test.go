package jwtauth

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// jwksServer is a real HTTP server on a random loopback port serving a
// JWK Set the test can change.
type jwksServer struct {
	*httptest.Server
	mu     sync.Mutex
	doc    []byte
	status int
	delay  time.Duration
	hits   atomic.Int64
}

func newJWKSServer(t *testing.T, doc []byte) *jwksServer {
	t.Helper()
	s := &jwksServer{doc: doc, status: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		doc, status, delay := s.doc, s.status, s.delay
		s.mu.Unlock()
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.WriteHeader(status)
		_, _ = w.Write(doc)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(doc []byte, status int) {
	s.mu.Lock()
	s.doc, s.status = doc, status
	s.mu.Unlock()
}

func (s *jwksServer) setDelay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

// quietLogger drops the JWKS warnings the failure tests provoke.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// waitFor polls cond until it holds or 10s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// verifyOK fails the test unless tok verifies.
func verifyOK(t *testing.T, v *Verifier, tok []byte, what string) *Claims {
	t.Helper()
	c, err := v.Verify(tok)
	if err != nil {
		t.Fatalf("%s: Verify: got %v; want success", what, err)
	}
	return c
}

// verifyRefused fails the test unless tok is refused with reason want.
func verifyRefused(t *testing.T, v *Verifier, tok []byte, want, what string) {
	t.Helper()
	_, err := v.Verify(tok)
	if err == nil {
		t.Fatalf("%s: Verify: got success; want %q", what, want)
	}
	if got := reasonOf(t, err); got != want {
		t.Fatalf("%s: reason: got %q; want %q", what, got, want)
	}
}

// The background refresh picks up a rotation: the new kid verifies without
// any kid-miss refresh, and a token of the retired key, though cached, is
// refused afterwards.
func TestJWKSRotation(t *testing.T) {
	_, rs, es, ed, rs2 := testKeys(t)
	srv := newJWKSServer(t, jwksDoc(t, jwkOf(t, rs.pub, "k1", RS256), jwkOf(t, es.pub, "e1", ""), jwkOf(t, ed.pub, "", "")))
	clk := newClock()
	v := newVerifier(t, Options{JWKSURL: srv.URL, JWKSRefresh: 20 * time.Millisecond, JWKSMissInterval: time.Hour, Now: clk.Now})
	tok1 := rs.sign(t, claimsAt("u1"), map[string]any{"kid": "k1"})
	verifyOK(t, v, tok1, "k1 before rotation")
	verifyOK(t, v, es.sign(t, claimsAt("u1"), map[string]any{"kid": "e1"}), "ES256 from JWKS")
	verifyOK(t, v, ed.sign(t, claimsAt("u1"), ed.withKid()), "EdDSA from JWKS, thumbprint kid")
	verifyOK(t, v, ed.sign(t, claimsAt("u1"), nil), "EdDSA from JWKS, no kid")

	srv.set(jwksDoc(t, jwkOf(t, rs2.pub, "k2", RS256)), http.StatusOK)
	waitFor(t, "k2 to be installed", func() bool { return v.keys.Load().byKid["k2"] != nil })
	verifyOK(t, v, rs2.sign(t, claimsAt("u2"), map[string]any{"kid": "k2"}), "k2 after rotation")
	if st := v.Stats(); st.JWKSMissRefreshes != 0 || st.JWKSFetches < 2 || st.Keys != 1 {
		t.Fatalf("stats %+v; want >= 2 fetches, no kid-miss refresh, 1 key", st)
	}
	verifyRefused(t, v, tok1, `unknown key id "k1"`, "k1 after rotation")
}

// An unknown kid triggers at most one refresh per JWKSMissInterval, which
// the request waits for: a newly published key verifies on first sight,
// concurrent misses share one fetch, and a flood of forged kids costs no
// more fetches.
func TestJWKSKidMissRefresh(t *testing.T) {
	_, rs, es, ed, rs2 := testKeys(t)
	srv := newJWKSServer(t, jwksDoc(t, jwkOf(t, rs.pub, "k1", "")))
	clk := newClock()
	v := newVerifier(t, Options{JWKSURL: srv.URL, JWKSRefresh: time.Hour, JWKSMissInterval: 30 * time.Second, Now: clk.Now, Logger: quietLogger()})
	hits := func(want int64, what string) {
		t.Helper()
		if got := srv.hits.Load(); got != want {
			t.Fatalf("%s: JWKS fetches: got %d; want %d", what, got, want)
		}
	}
	hits(1, "after New")

	srv.set(jwksDoc(t, jwkOf(t, rs.pub, "k1", ""), jwkOf(t, rs2.pub, "k2", "")), http.StatusOK)
	verifyOK(t, v, rs2.sign(t, claimsAt("u"), map[string]any{"kid": "k2"}), "newly published k2")
	hits(2, "after the k2 miss")

	forged := rs.sign(t, claimsAt("u"), map[string]any{"kid": "forged"})
	verifyRefused(t, v, forged, `unknown key id "forged"`, "forged kid within the interval")
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, err := v.Verify(forged); err == nil {
				t.Error("forged kid: got success; want refusal")
			}
		})
	}
	wg.Wait()
	hits(2, "after 51 forged kids within the interval")

	clk.Add(31 * time.Second)
	verifyRefused(t, v, forged, `unknown key id "forged"`, "forged kid after the interval")
	hits(3, "after the interval")
	verifyRefused(t, v, forged, `unknown key id "forged"`, "forged kid again")
	hits(3, "right after")

	// A slow fetch in flight: every concurrent request with the new kid
	// joins it and verifies.
	clk.Add(31 * time.Second)
	srv.setDelay(100 * time.Millisecond)
	srv.set(jwksDoc(t, jwkOf(t, rs.pub, "k1", ""), jwkOf(t, es.pub, "k3", ""), jwkOf(t, ed.pub, "k4", "")), http.StatusOK)
	tok3 := es.sign(t, claimsAt("u"), map[string]any{"kid": "k3"})
	var failed atomic.Int64
	for range 20 {
		wg.Go(func() {
			if _, err := v.Verify(tok3); err != nil {
				failed.Add(1)
				t.Errorf("k3 during the shared refresh: %v", err)
			}
		})
	}
	wg.Wait()
	hits(4, "after 20 concurrent k3 misses")
	if st := v.Stats(); st.JWKSMissRefreshes != 3 {
		t.Fatalf("stats %+v; want 3 kid-miss refreshes", st)
	}
	// A token without kid finds the key by algorithm, no fetch needed.
	verifyOK(t, v, ed.sign(t, claimsAt("u"), nil), "EdDSA without kid")
	hits(4, "after a kid-less token")
}

// An identity provider that is down when pgfast starts does not stop it:
// New succeeds with no JWKS keys, tokens are refused, and the background
// retry picks the keys up once the provider answers.
func TestJWKSUnreachableAtStart(t *testing.T) {
	_, rs, _, _, _ := testKeys(t)
	srv := newJWKSServer(t, []byte("down"))
	srv.set([]byte("down"), http.StatusServiceUnavailable)
	clk := newClock()
	v := newVerifier(t, Options{JWKSURL: srv.URL, JWKSRefresh: 5 * time.Minute, JWKSMissInterval: time.Hour, Now: clk.Now, Logger: quietLogger()})
	if st := v.Stats(); st.JWKSErrors != 1 || st.Keys != 0 {
		t.Fatalf("stats %+v; want 1 JWKS error and no key", st)
	}
	tok := rs.sign(t, claimsAt("u"), nil)
	_, err := v.Verify(tok)
	if got, want := reasonOf(t, err), "algorithm RS256 not allowed for this key"; got != want {
		t.Fatalf("before the keys: got %q; want %q", got, want)
	}
	srv.set(jwksDoc(t, jwkOf(t, rs.pub, "k1", "")), http.StatusOK)
	waitFor(t, "the retry to fetch the keys", func() bool { return v.Stats().Keys == 1 })
	verifyOK(t, v, tok, "after the retry")
}

// A failed, broken or empty refresh keeps the keys already known.
func TestJWKSBadRefreshKeepsKeys(t *testing.T) {
	_, rs, _, _, _ := testKeys(t)
	good := jwksDoc(t, jwkOf(t, rs.pub, "k1", ""))
	srv := newJWKSServer(t, good)
	clk := newClock()
	v := newVerifier(t, Options{JWKSURL: srv.URL, JWKSRefresh: time.Hour, JWKSMissInterval: time.Second, Now: clk.Now, Logger: quietLogger()})
	tok := rs.sign(t, claimsAt("u"), map[string]any{"kid": "k1"})
	for i, bad := range []struct {
		doc    []byte
		status int
	}{
		{[]byte("<html>"), http.StatusOK},
		{jwksDoc(t), http.StatusOK},
		{jwksDoc(t, map[string]any{"kty": "oct", "k": "AAAA"}), http.StatusOK},
		{good, http.StatusNotFound},
		{make([]byte, maxJWKSBytes+1), http.StatusOK},
	} {
		srv.set(bad.doc, bad.status)
		clk.Add(2 * time.Second)
		verifyRefused(t, v, rs.sign(t, claimsAt("u"), map[string]any{"kid": "other"}), `unknown key id "other"`, "kick a refresh")
		if st := v.Stats(); st.JWKSErrors != uint64(i+1) || st.Keys != 1 {
			t.Fatalf("bad document %d: stats %+v; want %d errors and the key kept", i, st, i+1)
		}
		verifyOK(t, v, tok, "k1 after a bad refresh")
	}
}

// Configured keys and JWKS keys work side by side.
func TestJWKSWithStaticKeys(t *testing.T) {
	hs, rs, es, _, _ := testKeys(t)
	srv := newJWKSServer(t, jwksDoc(t, jwkOf(t, es.pub, "e1", "")))
	clk := newClock()
	v := newVerifier(t, Options{Secret: hs.priv.([]byte), PublicKeys: [][]byte{rs.pem}, JWKSURL: srv.URL, JWKSRefresh: 5 * time.Minute, Now: clk.Now})
	verifyOK(t, v, hs.sign(t, claimsAt("u"), nil), "HS256 secret")
	verifyOK(t, v, rs.sign(t, claimsAt("u"), rs.withKid()), "RS256 PEM by thumbprint")
	verifyOK(t, v, es.sign(t, claimsAt("u"), map[string]any{"kid": "e1"}), "ES256 from JWKS")
	if st := v.Stats(); st.Keys != 3 {
		t.Fatalf("stats %+v; want 3 keys", st)
	}
}

// Close stops the refresher (goleak in TestMain checks it), is idempotent,
// and leaves Verify working with the keys last fetched; a kid miss after
// Close does not wait.
func TestCloseIsIdempotent(t *testing.T) {
	_, rs, _, _, _ := testKeys(t)
	srv := newJWKSServer(t, jwksDoc(t, jwkOf(t, rs.pub, "k1", "")))
	clk := newClock()
	v, err := New(context.Background(), Options{JWKSURL: srv.URL, JWKSRefresh: 10 * time.Millisecond, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	v.Close()
	v.Close()
	verifyOK(t, v, rs.sign(t, claimsAt("u"), map[string]any{"kid": "k1"}), "after Close")
	start := time.Now()
	verifyRefused(t, v, rs.sign(t, claimsAt("u"), map[string]any{"kid": "k2"}), `unknown key id "k2"`, "miss after Close")
	if d := time.Since(start); d > time.Second {
		t.Fatalf("miss after Close took %s; want no wait", d)
	}
}

// New's context bounds the first fetch: a provider that hangs delays start
// by no more than the context allows.
func TestNewContextBoundsFirstFetch(t *testing.T) {
	srv := newJWKSServer(t, []byte("{}"))
	srv.setDelay(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	v, err := New(ctx, Options{JWKSURL: srv.URL, JWKSRefresh: 5 * time.Minute, Logger: quietLogger()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer v.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("New took %s; want about 100ms", d)
	}
	if st := v.Stats(); st.JWKSErrors != 1 {
		t.Fatalf("stats %+v; want the timed-out fetch counted as an error", st)
	}
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("ctx: got %v; want deadline exceeded", ctx.Err())
	}
}
