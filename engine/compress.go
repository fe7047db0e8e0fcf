package engine

import (
	"bytes"

	"github.com/valyala/fasthttp"

	"github.com/pgfast/pgfast/config"
)

// compressor compresses dynamic (uncached, unstreamed) JSON bodies for
// clients that accept it. Cached bodies carry their variants, made once at
// store time, and never come here.
type compressor struct {
	minBytes    int
	gzipLevel   int
	brotliLevel int
}

func newCompressor(c config.Compression) *compressor {
	if !c.Enabled {
		return nil
	}
	return &compressor{minBytes: int(c.MinBytes), gzipLevel: c.GzipLevel, brotliLevel: c.BrotliLevel}
}

// apply replaces the body with its brotli or gzip encoding when the body is
// large enough and the client asked for one of them.
func (c *compressor) apply(r *request) {
	resp := &r.ctx.Response
	if resp.IsBodyStream() || len(resp.Header.ContentEncoding()) > 0 {
		return
	}
	body := resp.Body()
	if len(body) < c.minBytes {
		return
	}
	ae := r.ctx.Request.Header.PeekCanonical(headerAcceptEncoding)
	var out []byte
	var enc []byte
	switch {
	case bytes.Contains(ae, encBrotli):
		out, enc = fasthttp.AppendBrotliBytesLevel(r.zbuf[:0], body, c.brotliLevel), encBrotli
	case bytes.Contains(ae, encGzip):
		out, enc = fasthttp.AppendGzipBytesLevel(r.zbuf[:0], body, c.gzipLevel), encGzip
	default:
		return
	}
	if len(out) >= len(body) {
		return
	}
	// The compressed bytes are copied into the response (SetBody), so r.zbuf
	// can be reused by the next request on this pooled scratch state.
	r.zbuf = out
	resp.SetBody(out)
	resp.Header.SetContentEncodingBytes(enc)
	setVary(&resp.Header, valueAcceptEnc)
}
