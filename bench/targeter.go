package bench

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// idPlaceholder marks where a route path takes the customer id.
const idPlaceholder = "{id}"

// idURL is a URL template split around its {id}, so that a request's URL is
// one concatenation. A path without {id} gives the same URL for every id.
type idURL struct {
	prefix, suffix string
	hasID          bool
}

func newIDURL(base, path string) idURL {
	pre, suf, ok := strings.Cut(path, idPlaceholder)
	return idURL{prefix: base + pre, suffix: suf, hasID: ok}
}

// appendURL appends the URL for id to dst.
func (u idURL) appendURL(dst []byte, id uint64) []byte {
	dst = append(dst, u.prefix...)
	if u.hasID {
		dst = strconv.AppendUint(dst, id, 10)
	}
	return append(dst, u.suffix...)
}

func (u idURL) url(id uint64) string { return string(u.appendURL(make([]byte, 0, 64), id)) }

// Targeters are called by every vegeta worker at once, so each one below is
// safe for concurrent use.

// uniformIDs targets GET path with ids drawn uniformly from 1..n (the
// select and peak scenarios: no id is more likely to be hot).
func uniformIDs(base, path string, n int) vegeta.Targeter {
	u := newIDURL(base, path)
	return func(t *vegeta.Target) error {
		t.Method, t.URL = http.MethodGet, u.url(1+rand.Uint64N(uint64(n)))
		return nil
	}
}

// zipfIDs targets GET path with ids 1..keys drawn from a Zipf distribution of
// skew s, id 1 the hottest (the cached scenario: a few keys get most
// requests, as on real read-mostly APIs).
func zipfIDs(base, path string, keys int, s float64, seed uint64) vegeta.Targeter {
	u := newIDURL(base, path)
	var mu sync.Mutex // rand.Zipf is not safe for concurrent use
	z := rand.NewZipf(rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), s, 1, uint64(keys-1))
	return func(t *vegeta.Target) error {
		mu.Lock()
		id := z.Uint64() + 1
		mu.Unlock()
		t.Method, t.URL = http.MethodGet, u.url(id)
		return nil
	}
}

// sequentialIDs targets GET path with ids 1..n once each, then stops the
// attack (vegeta.ErrNoTargets): the cached scenario's warm-up.
func sequentialIDs(base, path string, n int) vegeta.Targeter {
	u := newIDURL(base, path)
	var next atomic.Uint64
	return func(t *vegeta.Target) error {
		id := next.Add(1)
		if id > uint64(n) {
			return vegeta.ErrNoTargets
		}
		t.Method, t.URL = http.MethodGet, u.url(id)
		return nil
	}
}

// fixed targets one URL with GET.
func fixed(url string) vegeta.Targeter {
	return func(t *vegeta.Target) error {
		t.Method, t.URL = http.MethodGet, url
		return nil
	}
}

// batchBodies targets POST /v1/batch with size entries of query, each with a
// random id from 1..ids as $1.
func batchBodies(base, token, query string, size, ids int) vegeta.Targeter {
	q, _ := json.Marshal(query) // a string always encodes
	header := http.Header{
		"Authorization": {"Bearer " + token},
		"Content-Type":  {"application/json"},
	}
	url := base + "/v1/batch"
	return func(t *vegeta.Target) error {
		t.Method, t.URL, t.Header = http.MethodPost, url, header
		t.Body = appendBatchBody(make([]byte, 0, size*(len(q)+32)+16), q, size, func() uint64 {
			return 1 + rand.Uint64N(uint64(ids))
		})
		return nil
	}
}

// appendBatchBody appends a /v1/batch body of size entries, each
// {"query":<query>,"params":[id]} with id from next. query is the statement
// already encoded as a JSON string.
func appendBatchBody(dst, query []byte, size int, next func() uint64) []byte {
	dst = append(dst, `{"queries":[`...)
	for i := range size {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"query":`...)
		dst = append(dst, query...)
		dst = append(dst, `,"params":[`...)
		dst = strconv.AppendUint(dst, next(), 10)
		dst = append(dst, "]}"...)
	}
	return append(dst, "]}"...)
}
