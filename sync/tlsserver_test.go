package sync

import (
	"bytes"
	"log"
	"net"
	"net/http"
	gosync "sync"
	"testing"
	"time"

	"parley/server"
)

// plainKeep bounds the plaintext a tlsServer keeps per test (it counts
// everything).
const plainKeep = 1 << 20

// tlsServer serves a handler the way parleyd does (server.ListenTLS with a
// certificate kept in a folder) on 127.0.0.1, and records the plaintext
// every connection sent it after its TLS handshake: what that server, or
// an impostor holding its key, could read. It is the one TLS test server
// of sync's tests.
type tlsServer struct {
	ln     net.Listener
	hs     *http.Server
	served chan struct{}

	mu    gosync.Mutex
	conns int          // TLS connections accepted
	n     int64        // plaintext bytes received
	plain bytes.Buffer // the first plainKeep of them
}

// startTLS serves h with cert until the test ends (or Close).
func startTLS(t testing.TB, h http.Handler, cert *server.Certificate) *tlsServer {
	t.Helper()
	ln, err := server.ListenTLS("127.0.0.1:0", cert)
	if err != nil {
		t.Fatalf("listen TLS: %v", err)
	}
	s := &tlsServer{served: make(chan struct{})}
	s.ln = recordingListener{Listener: ln, s: s}
	s.hs = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: log.New(testWriter{t}, "tls test server: ", 0)}
	go func() {
		defer close(s.served)
		s.hs.Serve(s.ln)
	}()
	t.Cleanup(s.Close)
	return s
}

func (s *tlsServer) addr() string { return s.ln.Addr().String() }

// Close stops accepting and closes every connection not hijacked (the
// WebSockets are closed by server.Server.Close). Idempotent.
func (s *tlsServer) Close() {
	s.hs.Close()
	<-s.served
}

// received returns how many plaintext bytes arrived, and the first of them.
func (s *tlsServer) received() (int64, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n, bytes.Clone(s.plain.Bytes())
}

type recordingListener struct {
	net.Listener
	s *tlsServer
}

func (l recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.s.mu.Lock()
	l.s.conns++
	l.s.mu.Unlock()
	return recordingConn{Conn: c, s: l.s}, nil
}

// recordingConn wraps a *tls.Conn: Read returns decrypted bytes, which it
// records.
type recordingConn struct {
	net.Conn
	s *tlsServer
}

func (c recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.s.mu.Lock()
		c.s.n += int64(n)
		if room := plainKeep - c.s.plain.Len(); room > 0 {
			c.s.plain.Write(p[:min(n, room)])
		}
		c.s.mu.Unlock()
	}
	return n, err
}

// loadCert loads (or, rotating, replaces) the env's server certificate in
// its folder; the next start serves it.
func (e *env) loadCert(rotate bool) {
	e.t.Helper()
	cert, err := server.LoadCertificate(e.dir, "test", rotate)
	if err != nil {
		e.t.Fatalf("server certificate: %v", err)
	}
	e.cert = cert
}
