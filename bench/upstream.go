package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"time"
)

// upstreamBody is what the proxy scenario's upstream answers to every GET: a
// fixed JSON object of about 100 bytes, a small API answer, so that the
// scenario measures the proxy's cost per request rather than bytes copied.
var upstreamBody = []byte(`{"id":42,"name":"bench","email":"bench@example.com","active":true,"note":"a fixed upstream answer"}`)

// upstreamBodyLength is upstreamBody's Content-Length, formatted once.
var upstreamBodyLength = strconv.Itoa(len(upstreamBody))

// fixedUpstream is the small HTTP server the proxy scenario proxies to in
// standalone mode: net/http on a free loopback port, answering upstreamBody
// to any GET. It is started before the standalone config is built (the
// config names its URL) and stopped after the engine, whose client holds
// connections to it.
type fixedUpstream struct {
	srv    *http.Server
	url    string // http://127.0.0.1:port
	served chan error
}

// startUpstream starts a fixedUpstream; close stops it.
func startUpstream() (*fixedUpstream, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("cannot listen for the proxy scenario's upstream: %w", err)
	}
	u := &fixedUpstream{
		srv: &http.Server{
			Handler:           http.HandlerFunc(serveFixed),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       time.Minute,
			// Connections the load generator drops at the end of an
			// attack are not worth a log line.
			ErrorLog: log.New(io.Discard, "", 0),
		},
		url:    "http://" + ln.Addr().String(),
		served: make(chan error, 1),
	}
	go func() { u.served <- u.srv.Serve(ln) }()
	return u, nil
}

// serveFixed answers upstreamBody to GET (and its headers to HEAD), 405 to
// other methods.
func serveFixed(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", upstreamBodyLength)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(upstreamBody)
	}
}

// close stops the server: idle connections at once, busy ones after their
// request, all within five seconds.
func (u *fixedUpstream) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := u.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, u.srv.Close())
	}
	if serr := <-u.served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("cannot stop the proxy scenario's upstream: %w", err)
	}
	return nil
}
