package cache

import (
	"bytes"
	"io"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
)

// maxPooledBuffer is the largest compression buffer returned to the pool, so that one
// huge body does not keep its buffer alive for good.
const maxPooledBuffer = 1 << 20

// compressor makes the compressed variants of bodies at fixed levels. Writers and
// buffers are pooled because building a brotli or gzip writer costs hundreds of
// kilobytes of tables.
type compressor struct {
	gzipPool   sync.Pool // *gzip.Writer
	brotliPool sync.Pool // *brotli.Writer
	bufPool    sync.Pool // *bytes.Buffer
}

func newCompressor(gzipLevel, brotliLevel int) *compressor {
	c := &compressor{}
	c.gzipPool.New = func() any {
		w, err := gzip.NewWriterLevel(io.Discard, gzipLevel)
		if err != nil {
			// Options.Validate accepted the level, so gzip must too.
			panic("BUG: cache: gzip rejected a validated level: " + err.Error())
		}
		return w
	}
	c.brotliPool.New = func() any { return brotli.NewWriterLevel(io.Discard, brotliLevel) }
	c.bufPool.New = func() any { return new(bytes.Buffer) }
	return c
}

// gzip returns the gzip encoding of body, or nil when it is not smaller than body.
func (c *compressor) gzip(body []byte) []byte {
	w := c.gzipPool.Get().(*gzip.Writer)
	defer c.gzipPool.Put(w)
	return c.encode(body, w, w.Reset)
}

// brotli returns the brotli encoding of body, or nil when it is not smaller than body.
func (c *compressor) brotli(body []byte) []byte {
	w := c.brotliPool.Get().(*brotli.Writer)
	defer c.brotliPool.Put(w)
	return c.encode(body, w, w.Reset)
}

func (c *compressor) encode(body []byte, w io.WriteCloser, reset func(io.Writer)) []byte {
	buf := c.bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooledBuffer {
			c.bufPool.Put(buf)
		}
	}()
	reset(buf)
	// Point the writer away from buf before both go back to their pools.
	defer reset(io.Discard)
	if _, err := w.Write(body); err != nil {
		return nil
	}
	if err := w.Close(); err != nil {
		return nil
	}
	if buf.Len() >= len(body) {
		return nil
	}
	// An exact-size copy: the entry's cost is its length, and the pooled buffer is reused.
	return bytes.Clone(buf.Bytes())
}
