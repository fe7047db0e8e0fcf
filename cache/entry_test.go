package cache

import (
	"bytes"
	"io"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
)

func TestNewEntryVariants(t *testing.T) {
	compressible := []byte(strings.Repeat(`{"id":1,"name":"customer"},`, 200))
	random := make([]byte, 8192)
	for i := range random {
		random[i] = byte(rand.Uint32())
	}
	f := func(name string, opts Options, body []byte, wantGzip, wantBrotli bool) {
		t.Helper()
		c := newTestCache(t, opts)
		e := c.NewEntry(1, Meta{Status: 200}, body, time.Minute, 0)
		if !bytes.Equal(e.Body, body) {
			t.Fatalf("%s: got body of %d bytes; want the %d given", name, len(e.Body), len(body))
		}
		if got := e.Gzip != nil; got != wantGzip {
			t.Fatalf("%s: got gzip variant %v; want %v", name, got, wantGzip)
		}
		if got := e.Brotli != nil; got != wantBrotli {
			t.Fatalf("%s: got brotli variant %v; want %v", name, got, wantBrotli)
		}
		if (e.GzipETag != nil) != wantGzip || (e.BrotliETag != nil) != wantBrotli {
			t.Fatalf("%s: got etags gz=%q br=%q; want them exactly when the variants exist", name, e.GzipETag, e.BrotliETag)
		}
		if e.Gzip != nil {
			zr, err := gzip.NewReader(bytes.NewReader(e.Gzip))
			if err != nil {
				t.Fatalf("%s: cannot open gzip variant: %s", name, err)
			}
			got, err := io.ReadAll(zr)
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("%s: gzip variant decompresses to %d bytes (err %v); want the %d-byte body", name, len(got), err, len(body))
			}
			if len(e.Gzip) >= len(body) {
				t.Fatalf("%s: got gzip of %d bytes; want fewer than %d", name, len(e.Gzip), len(body))
			}
		}
		if e.Brotli != nil {
			got, err := io.ReadAll(brotli.NewReader(bytes.NewReader(e.Brotli)))
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("%s: brotli variant decompresses to %d bytes (err %v); want the %d-byte body", name, len(got), err, len(body))
			}
		}
	}
	// on is what the configuration's defaults pass through (server.compression).
	on := Options{Compress: true, CompressMinBytes: 1024, GzipLevel: 6, BrotliLevel: 5}
	with := func(minBytes, gzipLevel, brotliLevel int) Options {
		return Options{Compress: true, CompressMinBytes: minBytes, GzipLevel: gzipLevel, BrotliLevel: brotliLevel}
	}
	f("compressible", on, compressible, true, true)
	f("best levels", with(1024, 9, 11), compressible, true, true)
	f("fastest levels", with(1024, 1, 0), compressible, true, true) // brotli 0 is its BestSpeed, not "default"
	f("compression off", Options{}, compressible, false, false)
	f("below min size", on, compressible[:1023], false, false)
	f("at min size", on, compressible[:1024], true, true)
	f("custom min size", with(100, 6, 5), compressible[:200], true, true)
	f("min size 0 compresses every body", with(0, 6, 5), compressible[:200], true, true) // not 1024
	f("incompressible", on, random, false, false)
	f("empty", with(0, 6, 5), nil, false, false)
}

func TestNewEntryETag(t *testing.T) {
	c := newTestCache(t, Options{Compress: true, CompressMinBytes: 1, GzipLevel: 6, BrotliLevel: 5})
	body := []byte(strings.Repeat("abc", 100))
	a := c.NewEntry(1, Meta{Status: 200}, body, time.Minute, 0)
	b := c.NewEntry(2, Meta{Status: 404}, body, time.Hour, 0)
	d := c.NewEntry(1, Meta{Status: 200}, append(body, 'x'), time.Minute, 0)

	if !regexp.MustCompile(`^"[0-9a-f]{16}"$`).Match(a.ETag) {
		t.Fatalf("ETag: got %s; want a quoted 16-digit hex strong validator", a.ETag)
	}
	if !bytes.Equal(a.ETag, b.ETag) {
		t.Fatalf("ETag of one body made twice: got %s and %s; want equal", a.ETag, b.ETag)
	}
	if bytes.Equal(a.ETag, d.ETag) {
		t.Fatalf("ETag of different bodies: got %s for both; want different", a.ETag)
	}
	inner := string(a.ETag[1 : len(a.ETag)-1])
	if got, want := string(a.GzipETag), `"`+inner+`-gz"`; got != want {
		t.Fatalf("GzipETag: got %s; want %s", got, want)
	}
	if got, want := string(a.BrotliETag), `"`+inner+`-br"`; got != want {
		t.Fatalf("BrotliETag: got %s; want %s", got, want)
	}
}

func TestNewEntryFields(t *testing.T) {
	c := newTestCache(t, Options{})
	body := []byte(`{"id":1}`)
	before := time.Now()
	meta := Meta{Status: 201, ContentType: []byte("text/csv"), Header: []HeaderField{{Name: []byte("X-Upstream"), Value: []byte("a")}}}
	e := c.NewEntry(42, meta, body, 10*time.Second, 5*time.Second)
	if &e.Body[0] != &body[0] {
		t.Fatalf("Body: NewEntry copied the body; want the caller's buffer taken over")
	}
	if e.Route != 42 || e.Status != 201 || string(e.ContentType) != "text/csv" || len(e.Header) != 1 || string(e.Header[0].Value) != "a" {
		t.Fatalf("Route, Status, ContentType, Header: got %d, %d, %s, %v; want 42, 201, text/csv, [X-Upstream: a]", e.Route, e.Status, e.ContentType, e.Header)
	}
	bare := c.NewEntry(42, Meta{Status: 201}, []byte(`{"id":1}`), time.Minute, 0)
	if extra := e.Cost() - bare.Cost(); extra < int64(len("text/csv")+len("X-Upstream")+len("a")) {
		t.Fatalf("Cost: content type and headers add %d bytes; want at least their length", extra)
	}
	if e.StoredAt.Before(before) || e.ExpiresAt.Sub(e.StoredAt) != 10*time.Second || e.StaleUntil.Sub(e.ExpiresAt) != 5*time.Second {
		t.Fatalf("times: got stored %v, expires +%v, stale until +%v; want now, +10s, +5s",
			e.StoredAt, e.ExpiresAt.Sub(e.StoredAt), e.StaleUntil.Sub(e.ExpiresAt))
	}
	if !e.Fresh(e.StoredAt) || e.Fresh(e.ExpiresAt) {
		t.Fatalf("Fresh: got %v at StoredAt and %v at ExpiresAt; want true, false", e.Fresh(e.StoredAt), e.Fresh(e.ExpiresAt))
	}
	if got := e.Age(e.StoredAt.Add(3 * time.Second)); got != 3*time.Second {
		t.Fatalf("Age 3s after StoredAt: got %v; want 3s", got)
	}
	if got, want := bare.Cost(), entryOverhead+int64(len(bare.Body)+len(bare.ETag)); got != want {
		t.Fatalf("Cost: got %d; want %d", got, want)
	}
}
