package engine

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// staticBackend serves files under one directory (a `static` route). The
// request path below the route's prefix names the file; nothing outside
// the directory is ever opened, through `..` or through a symbolic link.
// Conditional requests (ETag, Last-Modified), single byte ranges and
// pre-compressed siblings (file.br, file.gz) are answered as a CDN would.
type staticBackend struct {
	root   string // absolute, symlinks resolved
	index  string // served for a directory; "" = none
	prefix int    // segments of the route's pattern before /*
	// cacheControl is "max-age=N" (or "no-cache" for 0): static files
	// are revalidated with their ETag.
	cacheControl []byte
}

func newStaticBackend(dir, index string, maxAge time.Duration, pattern string) (*staticBackend, error) {
	abs, err := filepath.Abs(dir)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		return nil, fmt.Errorf("static.dir %s: %w", dir, err)
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("static.dir %s: not a directory", dir)
	}
	b := &staticBackend{root: abs, index: index, prefix: len(splitPattern(strings.TrimSuffix(pattern, "/*")))}
	b.cacheControl = []byte("no-cache")
	if maxAge > 0 {
		b.cacheControl = []byte("max-age=" + strconv.FormatInt(int64(maxAge/time.Second), 10))
	}
	return b, nil
}

var (
	errStaticNotFound     = errNotFound("no such file")
	headerLastModified    = []byte(fasthttp.HeaderLastModified)
	headerIfModifiedSince = []byte(fasthttp.HeaderIfModifiedSince)
	headerRange           = []byte(fasthttp.HeaderRange)
	headerAcceptRanges    = []byte(fasthttp.HeaderAcceptRanges)
	valueBytes            = []byte("bytes")
)

func (b *staticBackend) serve(r *request) error {
	switch string(r.ctx.Method()) {
	case "GET", "HEAD":
	default:
		r.ctx.Response.Header.Set(fasthttp.HeaderAllow, "GET, HEAD")
		return &Error{Status: 405, Code: codeMethodNotAllowed, Message: "a static route answers GET and HEAD"}
	}
	name, err := b.resolve(r.ctx.Path())
	if err != nil {
		return err
	}
	f, fi, err := b.open(name)
	if err != nil {
		return err
	}
	h := &r.ctx.Response.Header
	if ct := mime.TypeByExtension(filepath.Ext(name)); ct != "" {
		h.SetContentType(ct)
	} else {
		h.SetContentType("application/octet-stream")
	}
	// A range is served from the file itself; a whole body may come from
	// its pre-compressed sibling, with its own validator (RFC 9110 §8.8.3).
	ranged := len(r.ctx.Request.Header.PeekCanonical(headerRange)) > 0
	suffix := ""
	if !ranged {
		f, fi, suffix = b.precompressed(r, name, f, fi)
	}
	etag := fmt.Appendf(r.buf[:0], `"%x-%x%s"`, fi.Size(), fi.ModTime().UnixNano(), suffix)
	h.SetCanonical(headerETag, etag)
	h.SetCanonical(headerLastModified, fasthttp.AppendHTTPDate(nil, fi.ModTime()))
	h.SetCanonical(headerCacheControl, b.cacheControl)
	h.SetCanonical(headerAcceptRanges, valueBytes)
	if notModified(r, etag, fi.ModTime()) {
		f.Close()
		r.ctx.SetStatusCode(fasthttp.StatusNotModified)
		return nil
	}
	if ranged {
		return b.serveRange(r, f, fi.Size(), r.ctx.Request.Header.PeekCanonical(headerRange))
	}
	size := fi.Size()
	r.ctx.SetStatusCode(fasthttp.StatusOK)
	if string(r.ctx.Method()) == "HEAD" {
		f.Close()
		h.SetContentLength(int(size))
		r.ctx.Response.SkipBody = true
		return nil
	}
	r.ctx.Response.SetBodyStream(f, int(size)) // fasthttp closes f once written
	return nil
}

// resolve maps the request path below the route's prefix to a cleaned,
// relative file name. A segment of "..", or a NUL, is refused outright
// rather than cleaned away.
func (b *staticBackend) resolve(path []byte) (string, error) {
	segs := strings.Split(strings.Trim(string(path), "/"), "/")
	if len(segs) < b.prefix {
		return "", errStaticNotFound
	}
	rest := segs[b.prefix:]
	for _, s := range rest {
		if s == ".." || strings.ContainsRune(s, 0) || strings.ContainsRune(s, '\\') {
			return "", errBadRequest("path escapes the static directory")
		}
	}
	return filepath.Join(rest...), nil
}

// open opens name under root, following a directory to its index; a name
// whose real path (symbolic links resolved) leaves root is not found.
func (b *staticBackend) open(name string) (*os.File, fs.FileInfo, error) {
	full := filepath.Join(b.root, name)
	real, err := filepath.EvalSymlinks(full)
	if err != nil || !within(b.root, real) {
		return nil, nil, errStaticNotFound
	}
	fi, err := os.Stat(real)
	if err != nil {
		return nil, nil, errStaticNotFound
	}
	if fi.IsDir() {
		if b.index == "" {
			return nil, nil, errStaticNotFound
		}
		return b.open(filepath.Join(name, b.index))
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, errStaticNotFound
	}
	f, err := os.Open(real)
	if err != nil {
		return nil, nil, errStaticNotFound
	}
	return f, fi, nil
}

// within reports whether path is root or below it.
func within(root, path string) bool {
	return path == root || strings.HasPrefix(path, root+string(filepath.Separator))
}

// precompressed swaps f for name.br or name.gz when the client accepts it
// and the sibling exists and is not older than the file (a stale sibling
// is not served for an edited file). It returns the file to send, its
// info and the ETag suffix of its coding.
func (b *staticBackend) precompressed(r *request, name string, f *os.File, fi fs.FileInfo) (*os.File, fs.FileInfo, string) {
	setVary(&r.ctx.Response.Header, valueAcceptEnc)
	ae := r.ctx.Request.Header.PeekCanonical(headerAcceptEncoding)
	for _, c := range []struct {
		enc []byte
		ext string
	}{{encBrotli, ".br"}, {encGzip, ".gz"}} {
		if !bytes.Contains(ae, c.enc) {
			continue
		}
		z, zi, err := b.open(name + c.ext)
		if err != nil {
			continue
		}
		if zi.ModTime().Before(fi.ModTime()) {
			z.Close()
			continue
		}
		f.Close()
		r.ctx.Response.Header.SetContentEncodingBytes(c.enc)
		return z, zi, "-" + c.ext[1:]
	}
	return f, fi, ""
}

// notModified answers If-None-Match, or else If-Modified-Since.
func notModified(r *request, etag []byte, mod time.Time) bool {
	if inm := r.ctx.Request.Header.PeekCanonical(headerIfNoneMatch); len(inm) > 0 {
		return bytes.Contains(inm, etag) || bytes.Equal(bytes.TrimSpace(inm), []byte("*"))
	}
	if ims := r.ctx.Request.Header.PeekCanonical(headerIfModifiedSince); len(ims) > 0 {
		t, err := fasthttp.ParseHTTPDate(ims)
		return err == nil && !mod.Truncate(time.Second).After(t)
	}
	return false
}

// serveRange answers one byte range (bytes=a-b, a-, -n) with 206, an
// unsatisfiable one with 416; a list of ranges gets the whole file.
func (b *staticBackend) serveRange(r *request, f *os.File, size int64, spec []byte) error {
	start, end, ok := parseRange(string(spec), size)
	if !ok {
		f.Close()
		r.ctx.Response.Header.Set(fasthttp.HeaderContentRange, "bytes */"+strconv.FormatInt(size, 10))
		return &Error{Status: 416, Code: codeBadRequest, Message: "range not satisfiable for a file of " + strconv.FormatInt(size, 10) + " bytes"}
	}
	if start == 0 && end == size-1 {
		r.ctx.SetStatusCode(fasthttp.StatusOK)
		r.ctx.Response.SetBodyStream(f, int(size))
		return nil
	}
	if _, err := f.Seek(start, 0); err != nil {
		f.Close()
		return fmt.Errorf("static: seek: %w", err)
	}
	n := end - start + 1
	r.ctx.Response.Header.SetContentRange(int(start), int(end), int(size))
	r.ctx.SetStatusCode(fasthttp.StatusPartialContent)
	r.ctx.Response.SetBodyStream(&limitedFile{f: f, n: n}, int(n))
	return nil
}

// parseRange reads a single "bytes=" range against size; a multi-range
// request is answered whole (start 0, end size-1).
func parseRange(spec string, size int64) (start, end int64, ok bool) {
	v, found := strings.CutPrefix(spec, "bytes=")
	if !found || size == 0 {
		return 0, 0, false
	}
	if strings.Contains(v, ",") {
		return 0, size - 1, true
	}
	a, z, found := strings.Cut(strings.TrimSpace(v), "-")
	if !found {
		return 0, 0, false
	}
	var err error
	switch {
	case a == "": // the last z bytes
		var n int64
		if n, err = strconv.ParseInt(z, 10, 64); err != nil || n <= 0 {
			return 0, 0, false
		}
		return max(size-n, 0), size - 1, true
	default:
		if start, err = strconv.ParseInt(a, 10, 64); err != nil || start < 0 || start >= size {
			return 0, 0, false
		}
		end = size - 1
		if z != "" {
			if end, err = strconv.ParseInt(z, 10, 64); err != nil || end < start {
				return 0, 0, false
			}
			end = min(end, size-1)
		}
		return start, end, true
	}
}

// limitedFile reads n bytes of f and closes f with itself.
type limitedFile struct {
	f *os.File
	n int64
}

func (l *limitedFile) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.f.Read(p)
	l.n -= int64(n)
	return n, err
}

func (l *limitedFile) Close() error { return l.f.Close() }
