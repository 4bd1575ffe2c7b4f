package sync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"parley/server/wire"
)

// runErr waits for tc's Run to return and gives its error (and puts it
// back for tc.close).
func (tc *testClient) runErr() error {
	tc.t.Helper()
	select {
	case err := <-tc.done:
		tc.done <- err
		return err
	case <-time.After(waitTimeout):
		tc.t.Fatalf("Run did not stop")
		return nil
	}
}

// waitReconnected waits until tc has seen the server go and come back.
func (tc *testClient) waitReconnected() {
	tc.t.Helper()
	tc.waitFor("offline", func() bool { s, _ := tc.State(); return s != StateOnline })
	tc.waitOnline()
}

func pinOf(t *testing.T, pins PinStore, url string) wire.Fingerprint {
	t.Helper()
	addr, err := PinAddress(url)
	if err != nil {
		t.Fatal(err)
	}
	fp, err := pins.Pinned(context.Background(), addr)
	if err != nil {
		t.Fatalf("Pinned(%s): %v", addr, err)
	}
	return fp
}

// TestTrustFirstUsePinsAndSameCertConnects: the first connection pins the
// server's fingerprint (in the account's store when Config.Pins is nil);
// a restart with the same certificate reconnects without a word.
func TestTrustFirstUsePinsAndSameCertConnects(t *testing.T) {
	e := newEnv(t)
	e.start("server.db")
	a := e.client("ana")
	a.waitOnline()
	if got, want := pinOf(t, a.Store(), a.proxy.url()), e.cert.Fingerprint; got != want {
		t.Fatalf("pinned %s after the first connection, want the server's %s", got, want)
	}

	e.stop()
	e.start("server.db") // same data folder, same certificate
	a.waitReconnected()
	if st, err := a.State(); st != StateOnline || err != nil {
		t.Errorf("after a restart with the same certificate: %v, %v; want online, no error", st, err)
	}
	if got := pinOf(t, a.Store(), a.proxy.url()); got != e.cert.Fingerprint {
		t.Errorf("pin changed to %s", got)
	}
}

// TestTrustChangedCertRefusedBeforeHello: after the server's certificate
// changed, neither a stored token nor a password reaches it — the server
// receives no byte of plaintext, not even the upgrade request — and Run
// stops with a *FingerprintError naming both fingerprints. Accepting the
// new fingerprint re-pins, and the same clients then connect.
func TestTrustChangedCertRefusedBeforeHello(t *testing.T) {
	e := newEnv(t)
	pins, err := OpenPinFile(filepath.Join(e.dir, "known-servers.json"))
	if err != nil {
		t.Fatal(err)
	}
	usePins := func(c *Config) { c.Pins = pins }
	e.start("server.db")
	a := e.client("ana", usePins)
	a.waitOnline()
	old := e.cert.Fingerprint
	if got := pinOf(t, pins, a.proxy.url()); got != old {
		t.Fatalf("pin file has %s, want %s", got, old)
	}
	if got := pinOf(t, a.Store(), a.proxy.url()); !got.IsZero() {
		t.Errorf("with Config.Pins the store pinned too: %s", got)
	}
	aStore := a.cfg.StorePath
	a.close()

	// Someone else answers at the same address: a new key and certificate.
	e.stop()
	e.loadCert(true)
	e.start("server.db")
	presented := e.cert.Fingerprint
	if presented == old {
		t.Fatal("rotation kept the certificate")
	}

	// ana's device (stored token) and a new account signing up with a
	// password, both at the pinned address.
	tokenAgain := e.clientVia(a.proxy, "ana", usePins, func(c *Config) { c.StorePath = aStore; c.Password = "" })
	signUp := e.clientVia(a.proxy, "bo", usePins)
	for _, tc := range []*testClient{tokenAgain, signUp} {
		err := tc.runErr()
		if !errors.Is(err, ErrFingerprintChanged) {
			t.Fatalf("Run = %v, want ErrFingerprintChanged", err)
		}
		var fe *FingerprintError
		if !errors.As(err, &fe) || fe.Pinned != old || fe.Presented != presented {
			t.Fatalf("error %v: want a FingerprintError pinned %s presented %s", err, old, presented)
		}
		if Retryable(err) {
			t.Errorf("a changed fingerprint is retryable; it must wait for the user")
		}
		if st, serr := tc.State(); st != StateStopped || !errors.Is(serr, ErrFingerprintChanged) {
			t.Errorf("state %v, %v; want stopped with the fingerprint error", st, serr)
		}
	}
	n, plain := e.hs.received()
	e.hs.mu.Lock()
	conns := e.hs.conns
	e.hs.mu.Unlock()
	if conns < 2 {
		t.Fatalf("the server saw %d connections; the clients did not even reach it", conns)
	}
	if n != 0 {
		t.Errorf("the server with the changed certificate received %d plaintext bytes: %q", n, plain)
	}
	if bytes.Contains(plain, []byte("password-bo")) || bytes.Contains(plain, []byte(wire.TypeHello)) {
		t.Errorf("a hello or the password reached the server")
	}
	if got := pinOf(t, pins, a.proxy.url()); got != old {
		t.Errorf("the refused connection changed the pin to %s", got)
	}
	tokenAgain.close()
	signUp.close()

	// The user compares and accepts: re-pin, and both connect.
	addr, _ := PinAddress(a.proxy.url())
	if err := pins.Pin(context.Background(), addr, presented); err != nil {
		t.Fatalf("Pin: %v", err)
	}
	reopened, err := OpenPinFile(filepath.Join(e.dir, "known-servers.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := pinOf(t, reopened, a.proxy.url()); got != presented {
		t.Errorf("pin file on disk has %s after accepting, want %s", got, presented)
	}
	accepted := e.clientVia(a.proxy, "ana", usePins, func(c *Config) { c.StorePath = aStore; c.Password = "" })
	accepted.waitOnline()
	bo := e.clientVia(a.proxy, "bo", usePins)
	bo.waitOnline()
	if n, _ := e.hs.received(); n == 0 {
		t.Errorf("accepted clients sent nothing the server could read")
	}
}

// TestTrustRefusesPlainAddresses: ws:// and http:// addresses are refused
// before anything is dialled; host:port means wss://.
func TestTrustRefusesPlainAddresses(t *testing.T) {
	tests := []struct {
		name, in, want string
		err            error
	}{
		{"host:port is TLS", "example.lan:7447", "wss://example.lan:7447/v1/ws", nil},
		{"wss kept", "wss://example.lan:9/v1/ws", "wss://example.lan:9/v1/ws", nil},
		{"https is wss", "https://example.lan:9", "wss://example.lan:9/v1/ws", nil},
		{"ws refused", "ws://example.lan:7447/v1/ws", "", ErrInsecure},
		{"http refused", "http://example.lan:7447", "", ErrInsecure},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := normalizeURL(tc.in)
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Errorf("normalizeURL(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
	_, err := New(Config{URL: "ws://127.0.0.1:1/v1/ws", StorePath: filepath.Join(t.TempDir(), "c.db")})
	if !errors.Is(err, ErrInsecure) {
		t.Errorf("New with ws:// = %v, want ErrInsecure", err)
	}
}

func TestPinAddress(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Example.LAN:7447", "example.lan:7447"},
		{"wss://example.lan:7447/v1/ws", "example.lan:7447"},
		{"https://[::1]:9/", "[::1]:9"},
	}
	for _, tc := range tests {
		if got, err := PinAddress(tc.in); err != nil || got != tc.want {
			t.Errorf("PinAddress(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestPinFileBadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pins.json")
	pins, err := OpenPinFile(path)
	if err != nil {
		t.Fatalf("missing file: %v", err)
	}
	fp := wire.CertFingerprint([]byte("x"))
	if err := pins.Pin(context.Background(), "a:1", fp); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"{", `{"pins":{"a:1":"SHA256:zz"}}`} {
		if err := writeFileAtomic(path, []byte(bad)); err != nil {
			t.Fatal(err)
		}
		if _, err := OpenPinFile(path); err == nil {
			t.Errorf("OpenPinFile(%q) = nil error, want one", bad)
		}
	}
}

// TestPinFileConcurrentPins: pins made at once all reach the file.
func TestPinFileConcurrentPins(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pins.json")
	pins, err := OpenPinFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const n = 16
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- pins.Pin(context.Background(), fmt.Sprintf("host%d:7447", i), wire.CertFingerprint([]byte{byte(i)}))
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	back, err := OpenPinFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		addr := fmt.Sprintf("host%d:7447", i)
		if got, _ := back.Pinned(context.Background(), addr); got != wire.CertFingerprint([]byte{byte(i)}) {
			t.Errorf("%s: pinned %q on disk, want its fingerprint", addr, got)
		}
	}
}
