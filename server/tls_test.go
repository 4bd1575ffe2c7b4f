package server

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"parley/server/wire"
)

// testDialer dials the test servers: plain ws:// for httptest, wss:// for
// parleyd and ListenTLS, whose self-signed certificate the tests check by
// fingerprint (pinnedDialer), not by a chain.
var testDialer = &websocket.Dialer{
	HandshakeTimeout: 10 * time.Second,
	TLSClientConfig:  &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13},
}

// pinnedDialer accepts only a server whose certificate has fingerprint
// want, the way sync pins it.
func pinnedDialer(want wire.Fingerprint) *websocket.Dialer {
	return &websocket.Dialer{
		HandshakeTimeout: 10 * time.Second,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13,
			VerifyConnection: func(cs tls.ConnectionState) error {
				if got := wire.CertFingerprint(cs.PeerCertificates[0].Raw); got != want {
					return fmt.Errorf("server fingerprint %s, want %s", got, want)
				}
				return nil
			}},
	}
}

func TestLoadCertificate(t *testing.T) {
	dir := t.TempDir()
	first, err := LoadCertificate(dir, "test", false)
	if err != nil {
		t.Fatalf("first start: %v", err)
	}
	if !first.Created || first.Fingerprint.IsZero() {
		t.Fatalf("first start: Created %v, fingerprint %q; want a new certificate", first.Created, first.Fingerprint)
	}
	st, err := os.Stat(filepath.Join(dir, CertFile))
	if err != nil {
		t.Fatal(err)
	}
	if mode := st.Mode().Perm(); mode != 0o600 {
		t.Errorf("certificate file mode %o, want 600 (it holds the private key)", mode)
	}
	leaf, err := x509.ParseCertificate(first.TLS.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok {
		t.Errorf("key is %T, want ECDSA", leaf.PublicKey)
	}
	if err := leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature); err != nil {
		t.Errorf("not self-signed: %v", err)
	}

	again, err := LoadCertificate(dir, "test", false)
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	if again.Created || again.Fingerprint != first.Fingerprint {
		t.Errorf("restart: Created %v, fingerprint %s; want the kept %s", again.Created, again.Fingerprint, first.Fingerprint)
	}

	rotated, err := LoadCertificate(dir, "test", true)
	if err != nil {
		t.Fatalf("rotate: %v", err)
	}
	if !rotated.Created || rotated.Fingerprint == first.Fingerprint {
		t.Errorf("rotate: Created %v, fingerprint %s; want a new one, not %s", rotated.Created, rotated.Fingerprint, first.Fingerprint)
	}
	kept, err := LoadCertificate(dir, "test", false)
	if err != nil || kept.Fingerprint != rotated.Fingerprint {
		t.Errorf("after rotation: %v, %v; want the rotated %s", kept, err, rotated.Fingerprint)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, CertFile+".tmp*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestLoadCertificateBadFile(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"not PEM", []byte("hello")},
		{"certificate without key", func() []byte {
			b, err := newCertPEM("x", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			return b[:bytes.Index(b, []byte("-----BEGIN PRIVATE KEY"))]
		}()},
		{"key of another certificate", func() []byte {
			a, _ := newCertPEM("a", time.Now())
			b, _ := newCertPEM("b", time.Now())
			i := bytes.Index(a, []byte("-----BEGIN PRIVATE KEY"))
			j := bytes.Index(b, []byte("-----BEGIN PRIVATE KEY"))
			return append(a[:i:i], b[j:]...)
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, CertFile)
			if err := os.WriteFile(path, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadCertificate(dir, "test", false)
			if !errors.Is(err, ErrBadCertFile) {
				t.Fatalf("err = %v, want ErrBadCertFile", err)
			}
			if b, _ := os.ReadFile(path); !bytes.Equal(b, tc.data) {
				t.Errorf("the unusable file was changed")
			}
		})
	}
}

// tlsServer serves a Server on ListenTLS at 127.0.0.1.
func tlsServer(t *testing.T) (addr string, cert *Certificate) {
	t.Helper()
	ts := startServer(t)
	cert, err := LoadCertificate(t.TempDir(), "test", false)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := ListenTLS("127.0.0.1:0", cert)
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: ts.Server, ReadHeaderTimeout: 5 * time.Second,
		ErrorLog: log.New(testWriter{t}, "", 0)}
	served := make(chan struct{})
	go func() {
		defer close(served)
		hs.Serve(ln)
	}()
	t.Cleanup(func() {
		hs.Close()
		<-served
	})
	return ln.Addr().String(), cert
}

// TestListenTLSOnly: the TLS listener serves wss:// and https:// with its
// certificate, and refuses plain ws:// and http://.
func TestListenTLSOnly(t *testing.T) {
	addr, cert := tlsServer(t)

	conn, _, err := pinnedDialer(cert.Fingerprint).Dial("wss://"+addr+"/v1/ws", nil)
	if err != nil {
		t.Fatalf("wss:// with the pinned fingerprint: %v", err)
	}
	conn.Close()
	other := wire.CertFingerprint([]byte("another certificate"))
	if _, _, err := pinnedDialer(other).Dial("wss://"+addr+"/v1/ws", nil); err == nil {
		t.Errorf("wss:// pinned to another fingerprint: connected")
	}

	if _, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/v1/ws", nil); err == nil {
		t.Errorf("plain ws:// connected")
	} else if resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("plain ws://: %v (response %v), want HTTP 400", err, resp)
	}
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("plain http://: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "HTTPS") {
		t.Errorf("plain http:// /healthz = %d %q, want 400 naming HTTPS", resp.StatusCode, body)
	}

	tr := &http.Transport{Proxy: nil, TLSClientConfig: pinnedDialer(cert.Fingerprint).TLSClientConfig}
	defer tr.CloseIdleConnections()
	resp, err = (&http.Client{Transport: tr}).Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("https:// /healthz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("https:// /healthz = %d, want 200", resp.StatusCode)
	}
}

// TestParleydTLS: the real binary makes its certificate at first start,
// logs its fingerprint, serves only TLS with it, keeps it across restarts
// and replaces it with -rotate-cert.
func TestParleydTLS(t *testing.T) {
	bin := parleydBinary(t)
	data := t.TempDir()
	p := startParleyd(t, bin, data)
	conn, _, err := pinnedDialer(p.fingerprint).Dial(p.url(), nil)
	if err != nil {
		t.Fatalf("wss:// pinned to the logged fingerprint %s: %v", p.fingerprint, err)
	}
	conn.Close()
	if _, _, err := websocket.DefaultDialer.Dial("ws://"+p.addr+"/v1/ws", nil); err == nil {
		t.Errorf("plain ws:// to parleyd connected")
	}
	first := p.fingerprint
	stop := func(p *proc) {
		p.cmd.Process.Kill()
		<-p.done
	}
	stop(p)

	p = startParleyd(t, bin, data)
	if p.fingerprint != first {
		t.Errorf("after a restart the fingerprint is %s, want the kept %s", p.fingerprint, first)
	}
	stop(p)

	p = startCmd(t, exec.Command(bin, "-addr", "127.0.0.1:0", "-data", data, "-name", "test", "-mdns", "off", "-metrics-addr", "off", "-rotate-cert"))
	if p.fingerprint == first {
		t.Fatalf("-rotate-cert kept the fingerprint %s", first)
	}
	if _, _, err := pinnedDialer(first).Dial(p.url(), nil); err == nil {
		t.Errorf("after -rotate-cert the old fingerprint still connects")
	}
	if conn, _, err := pinnedDialer(p.fingerprint).Dial(p.url(), nil); err != nil {
		t.Errorf("after -rotate-cert the new fingerprint: %v", err)
	} else {
		conn.Close()
	}
}

// BenchmarkLiveFrame sends one live packet frame — a 60-byte Opus packet
// behind the 9-byte wire header, in a WebSocket binary frame — from one
// end of a loopback connection to the other, plain and through ListenTLS:
// the per-packet cost TLS adds to fan-out (encrypt on one side, decrypt on
// the other, on top of the two system calls both pay). One op is one
// frame written and read.
func BenchmarkLiveFrame(b *testing.B) {
	cert, err := LoadCertificate(b.TempDir(), "bench", false)
	if err != nil {
		b.Fatal(err)
	}
	frame, err := wire.AppendPacket(nil, 1, 1, make([]byte, 60))
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"plain", "tls"} {
		b.Run(mode, func(b *testing.B) {
			got := make(chan int, 1)
			upgrader := websocket.Upgrader{}
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				conn, err := upgrader.Upgrade(w, r, nil)
				if err != nil {
					return
				}
				defer conn.Close()
				n := 0
				for {
					if _, _, err := conn.ReadMessage(); err != nil {
						got <- n
						return
					}
					n++
				}
			})
			var ln net.Listener
			if mode == "tls" {
				ln, err = ListenTLS("127.0.0.1:0", cert)
			} else {
				ln, err = net.Listen("tcp", "127.0.0.1:0")
			}
			if err != nil {
				b.Fatal(err)
			}
			hs := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
			served := make(chan struct{})
			go func() {
				defer close(served)
				hs.Serve(ln)
			}()
			defer func() {
				hs.Close()
				<-served
			}()
			scheme := "ws"
			if mode == "tls" {
				scheme = "wss"
			}
			conn, _, err := pinnedDialer(cert.Fingerprint).Dial(scheme+"://"+ln.Addr().String()+"/", nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := conn.WriteMessage(websocket.BinaryMessage, frame); err != nil {
					b.Fatal(err)
				}
			}
			conn.Close() // the reader reads what is in flight, then ends
			if n := <-got; n != b.N {
				b.Fatalf("read %d frames of %d", n, b.N)
			}
			b.StopTimer()
		})
	}
}

// BenchmarkConnect is one client connection set up to /healthz: a TCP
// connect plus one request, plain and with the TLS 1.3 handshake (ECDSA
// P-256 certificate, checked by fingerprint) — what TLS adds to every
// (re)connection. One op is one new connection and its request.
func BenchmarkConnect(b *testing.B) {
	cert, err := LoadCertificate(b.TempDir(), "bench", false)
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"plain", "tls"} {
		b.Run(mode, func(b *testing.B) {
			var ln net.Listener
			if mode == "tls" {
				ln, err = ListenTLS("127.0.0.1:0", cert)
			} else {
				ln, err = net.Listen("tcp", "127.0.0.1:0")
			}
			if err != nil {
				b.Fatal(err)
			}
			hs := &http.Server{ReadHeaderTimeout: 5 * time.Second,
				Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
			served := make(chan struct{})
			go func() {
				defer close(served)
				hs.Serve(ln)
			}()
			defer func() {
				hs.Close()
				<-served
			}()
			url := "http://" + ln.Addr().String() + "/healthz"
			if mode == "tls" {
				url = "https://" + ln.Addr().String() + "/healthz"
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				tr := &http.Transport{Proxy: nil, DisableKeepAlives: true, TLSClientConfig: pinnedDialer(cert.Fingerprint).TLSClientConfig}
				resp, err := (&http.Client{Transport: tr}).Get(url)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				tr.CloseIdleConnections()
			}
		})
	}
}
