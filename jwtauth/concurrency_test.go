package jwtauth

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Many goroutines verify a mix of good and bad tokens through a small
// cache (constant eviction) while the JWKS refresher keeps replacing the
// key set (constant cache clears). Every answer must be the right one;
// run with -race.
func TestConcurrentVerify(t *testing.T) {
	hs, rs, es, ed, _ := testKeys(t)
	docA := jwksDoc(t, jwkOf(t, es.pub, "e1", ""), jwkOf(t, ed.pub, "d1", ""))
	docB := jwksDoc(t, jwkOf(t, ed.pub, "d1", ""), jwkOf(t, es.pub, "e1", ""))
	srv := newJWKSServer(t, docA)
	clk := newClock()
	v := newVerifier(t, Options{Secret: hs.priv.([]byte), PublicKeys: [][]byte{rs.pem}, JWKSURL: srv.URL,
		JWKSRefresh: 2 * time.Millisecond, CacheSize: 8, Now: clk.Now, Logger: quietLogger()})

	type tc struct {
		tok []byte
		sub string // "" means the token must be refused
	}
	var cases []tc
	for i := range 8 {
		sub := "user-" + strconv.Itoa(i)
		c := jwt.MapClaims{"sub": sub, "exp": t0.Add(time.Hour).Unix()}
		cases = append(cases,
			tc{hs.sign(t, c, nil), sub},
			tc{rs.sign(t, c, rs.withKid()), sub},
			tc{es.sign(t, c, map[string]any{"kid": "e1"}), sub},
			tc{ed.sign(t, c, nil), sub},
			tc{hs.sign(t, jwt.MapClaims{"sub": sub, "exp": t0.Add(-time.Hour).Unix()}, nil), ""},
			tc{handMade(`{"alg":"HS256"}`, `{"sub":"`+sub+`"}`, rs.pem), ""},
		)
	}
	stop := make(chan struct{})
	var flipper sync.WaitGroup
	flipper.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(3 * time.Millisecond):
			}
			if i%2 == 0 {
				srv.set(docB, 200)
			} else {
				srv.set(docA, 200)
			}
		}
	})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			// At least 600 verifications each, and on until the key set
			// has been replaced a few times under them.
			deadline := time.Now().Add(10 * time.Second)
			for i := 0; i < 600 || (v.jwks.fetches.Load() < 4 && time.Now().Before(deadline)); i++ {
				c := cases[(g*7+i)%len(cases)]
				claims, err := v.Verify(c.tok)
				switch {
				case c.sub == "" && err == nil:
					t.Errorf("token %d: got success; want refusal", (g*7+i)%len(cases))
					return
				case c.sub != "" && err != nil:
					t.Errorf("token for %s: got %v; want success", c.sub, err)
					return
				case c.sub != "" && string(subject(claims)) != c.sub:
					t.Errorf("token for %s: got subject %q", c.sub, subject(claims))
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	flipper.Wait()
	st := v.Stats()
	if st.CacheHits == 0 || st.Verified == 0 || st.JWKSFetches < 4 || st.Verified+st.CacheHits+st.Refused < 8*600 {
		t.Fatalf("stats %+v; want cache hits, full verifications and several key changes", st)
	}
}
