package engine

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"
	"github.com/pgfast/pgfast/embedpg/pgtest"
	"go.uber.org/goleak"
)

// rawGet sends GET path on c and reads the response.
func rawGet(t *testing.T, c net.Conn, br *bufio.Reader, path string) (*http.Response, string) {
	t.Helper()
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: pgfast\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", path, err)
	}
	return resp, string(b)
}

// TestMaxConnsAnswersJSON503: past server.max_conns a connection gets the
// JSON error shape with Retry-After, then is closed; once a connection
// closes, a new one is served again.
func TestMaxConnsAnswersJSON503(t *testing.T) {
	ts := startServer(t, parseConfig(t, "server: {max_conns: 2}\n"), pgtest.NewDatabase(t))
	addr := strings.TrimPrefix(ts.url, "http://")
	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		return c, bufio.NewReader(c)
	}
	c1, br1 := dial()
	c2, br2 := dial()
	defer c2.Close()
	for _, p := range []struct {
		c  net.Conn
		br *bufio.Reader
	}{{c1, br1}, {c2, br2}} {
		if resp, body := rawGet(t, p.c, p.br, "/ping"); resp.StatusCode != 200 {
			t.Fatalf("within max_conns: got %d %s; want 200", resp.StatusCode, body)
		}
	}
	// What serving started so far (fasthttp's pools and clock) stays; what
	// refusing a connection starts must be gone at the end.
	ignore := goleak.IgnoreCurrent()

	c3, br3 := dial()
	defer c3.Close()
	resp, body := rawGet(t, c3, br3, "/ping")
	if resp.StatusCode != 503 || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("past max_conns: got %d %q Retry-After %q; want 503 application/json with Retry-After 1",
			resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Retry-After"))
	}
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code != "unavailable" || !strings.Contains(e.Error.Message, "server.max_conns") {
		t.Fatalf("got body %s (%v); want {\"error\":{\"code\":\"unavailable\",…server.max_conns…}}", body, err)
	}
	if _, err := br3.ReadByte(); err != io.EOF {
		t.Fatalf("after the 503: got %v; want the connection closed (EOF)", err)
	}
	if n := ts.e.streamCounters.connsOver.Load(); n != 1 {
		t.Fatalf("got %d refused connections counted; want 1", n)
	}
	if n := ts.e.Stats().Streams.ConnsRejected; n != 1 {
		t.Fatalf("/admin/stats streams.conns_rejected: got %d; want 1", n)
	}

	// A place frees up when a connection closes.
	c1.Close()
	deadline := time.Now().Add(5 * time.Second)
	for ts.e.conns.Load() > 1 {
		if time.Now().After(deadline) {
			t.Fatalf("got %d open connections after closing one; want 1", ts.e.conns.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	c4, br4 := dial()
	defer c4.Close()
	if resp, body := rawGet(t, c4, br4, "/ping"); resp.StatusCode != 200 {
		t.Fatalf("after a connection closed: got %d %s; want 200", resp.StatusCode, body)
	}
	c2.Close()
	c3.Close()
	c4.Close()
	goleak.VerifyNone(t, leakChecks(ignore)...)
}

// TestMaxConnsAnswersJSON503OverTLS: a refused TLS client gets the same
// answer, after a handshake.
func TestMaxConnsAnswersJSON503OverTLS(t *testing.T) {
	cert, key := selfSigned(t)
	ts := startServer(t, parseConfig(t, "server: {max_conns: 1, tls: {cert_file: "+cert+", key_file: "+key+"}}\n"), pgtest.NewDatabase(t))
	addr := strings.TrimPrefix(ts.url, "http://")
	dial := func() (net.Conn, *bufio.Reader) {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		return c, bufio.NewReader(c)
	}
	c1, br1 := dial()
	defer c1.Close()
	if resp, body := rawGet(t, c1, br1, "/ping"); resp.StatusCode != 200 {
		t.Fatalf("within max_conns: got %d %s; want 200", resp.StatusCode, body)
	}
	c2, br2 := dial()
	defer c2.Close()
	resp, body := rawGet(t, c2, br2, "/ping")
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" || !strings.Contains(body, `"code":"unavailable"`) {
		t.Fatalf("past max_conns over TLS: got %d Retry-After %q %s; want the JSON 503", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
}

// selfSigned writes a throwaway certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
