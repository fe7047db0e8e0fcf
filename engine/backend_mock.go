package engine

import (
	"context"

	"github.com/pgfast/pgfast/cache"
	"github.com/valyala/fasthttp"
)

// mockBackend answers every request with a fixed response (a `mock`
// route): status, headers and body encoded once at compile time.
type mockBackend struct {
	status      int
	contentType []byte
	headers     [][2][]byte // canonical name, value
	body        []byte
}

func newMockBackend(status int, headers map[string]string, body string) *mockBackend {
	m := &mockBackend{status: status, body: []byte(body)}
	for k, v := range headers {
		name := canonicalHeader(k)
		if name == fasthttp.HeaderContentType {
			m.contentType = []byte(v)
			continue
		}
		m.headers = append(m.headers, [2][]byte{[]byte(name), []byte(v)})
	}
	if m.contentType == nil {
		m.contentType = []byte("text/plain; charset=utf-8")
	}
	return m
}

func (m *mockBackend) serve(r *request) error {
	m.write(r)
	return nil
}

func (m *mockBackend) write(r *request) {
	h := &r.ctx.Response.Header
	h.SetContentTypeBytes(m.contentType)
	for _, kv := range m.headers {
		h.SetCanonical(kv[0], kv[1])
	}
	r.ctx.SetStatusCode(m.status)
	r.ctx.Response.SetBodyRaw(m.body)
}

// fill makes the mock cacheable like any backend (a cache in front of a
// mock is pointless but allowed: the pipeline is the same for all).
func (m *mockBackend) fill(*request) fetchFunc {
	return func(context.Context, int) (fetched, error) {
		f := fetched{status: m.status, contentType: m.contentType, body: append([]byte(nil), m.body...)}
		for _, kv := range m.headers {
			f.header = append(f.header, cache.HeaderField{Name: kv[0], Value: kv[1]})
		}
		return f, nil
	}
}
