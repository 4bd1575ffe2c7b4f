package app

import (
	"errors"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"parley/server"
	"parley/ui"
)

// tlsHost runs a server the way host.Start does (ListenTLS with the
// certificate kept in dir) on addr; stop ends it.
func tlsHost(t *testing.T, dir, addr string, rotate bool) (cert *server.Certificate, stop func()) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := server.New(server.Config{DBPath: filepath.Join(dir, "parley.db"), Name: "test",
		PasswordTime: 1, PasswordMemoryKiB: 1024, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if cert, err = server.LoadCertificate(dir, "test", rotate); err != nil {
		t.Fatal(err)
	}
	ln, err := server.ListenTLS(addr, cert)
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelInfo)}
	served := make(chan struct{})
	go func() {
		defer close(served)
		hs.Serve(ln)
	}()
	var stopped bool
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		hs.Close()
		srv.Close()
		<-served
	}
	t.Cleanup(stop)
	return cert, stop
}

// TestMessengerTrust: Connect checks the server over TLS and pins its
// certificate on first use; the sign-in screen's fingerprint is that pin;
// after the server's certificate changed, Connect and SignIn return the
// ui's CertificateChangedError with both short fingerprints; TrustServer
// re-pins and both work again.
func TestMessengerTrust(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	first, stop := tlsHost(t, dir, addr, false)

	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	m := newMessenger(t.TempDir(), "desk", log, newHintBus())
	t.Cleanup(func() { m.Close() })
	if got := m.ServerFingerprint(addr); got != "" {
		t.Fatalf("pinned before any connection: %q", got)
	}
	if err := m.Connect(addr); err != nil {
		t.Fatalf("Connect (first use): %v", err)
	}
	if got, want := m.ServerFingerprint(addr), first.Fingerprint.Short(); got != want {
		t.Fatalf("pinned %q after Connect, want the server's %q", got, want)
	}
	if err := m.SignUp("ana", "password-ana"); err != nil {
		t.Fatalf("SignUp: %v", err)
	}
	if err := m.Connect(addr); err != nil {
		t.Fatalf("Connect with the same certificate: %v", err)
	}

	stop()
	changed, _ := tlsHost(t, dir, addr, true)
	err := m.Connect(addr)
	var ce *ui.CertificateChangedError
	if !errors.As(err, &ce) || !errors.Is(err, ui.ErrCertificateChanged) {
		t.Fatalf("Connect after the certificate changed = %v, want a ui.CertificateChangedError", err)
	}
	if ce.Pinned != first.Fingerprint.Short() || ce.Presented != changed.Fingerprint.Short() || ce.Fingerprint != changed.Fingerprint.String() {
		t.Errorf("prompt data %+v; want pinned %s, presented %s", ce, first.Fingerprint.Short(), changed.Fingerprint.Short())
	}
	m.choose(addr)
	if err := m.SignIn("ana", "password-ana"); !errors.As(err, &ce) {
		t.Errorf("SignIn after the certificate changed = %v, want a ui.CertificateChangedError", err)
	}
	if got := m.ServerFingerprint(addr); got != first.Fingerprint.Short() {
		t.Errorf("refused connections changed the pin to %q", got)
	}

	if err := m.TrustServer(addr, ce.Fingerprint); err != nil {
		t.Fatalf("TrustServer: %v", err)
	}
	if got := m.ServerFingerprint(addr); got != changed.Fingerprint.Short() {
		t.Errorf("after TrustServer the pin is %q, want %q", got, changed.Fingerprint.Short())
	}
	if err := m.Connect(addr); err != nil {
		t.Fatalf("Connect after accepting: %v", err)
	}
	if err := m.SignIn("ana", "password-ana"); err != nil {
		t.Fatalf("SignIn after accepting: %v", err)
	}
}

// TestHostServesOnlyTLS: the hosted server makes its certificate in its
// folder at first start, shows its fingerprint, serves wss:// and https://
// with it and refuses plain http://, keeps it across restarts and replaces
// it once when asked to rotate.
func TestHostServesOnlyTLS(t *testing.T) {
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	hints := newHintBus()
	defer hints.close()
	dir := t.TempDir()
	h := &host{dir: dir, name: "test", listenIP: "127.0.0.1", portFlag: freePort(t),
		prefs: test.NewTempApp(t).Preferences(), log: log, hints: hints}
	start := func() string {
		t.Helper()
		if err := h.Start(); err != nil {
			t.Fatalf("Start: %v", err)
		}
		t.Cleanup(func() { h.Stop() })
		fp := h.Fingerprint()
		if len(fp) != len("3F2A 9C1B 77D0 E4A2 51C8 0B6E") {
			t.Fatalf("Fingerprint() = %q while running, want the short form", fp)
		}
		return fp
	}
	first := start()
	addr := "127.0.0.1:" + strconv.Itoa(h.portFlag)

	resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("plain http://: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("plain http:// /healthz = %d, want 400", resp.StatusCode)
	}
	m := newMessenger(t.TempDir(), "desk", log, hints)
	defer m.Close()
	if err := m.Connect(addr); err != nil {
		t.Fatalf("Connect over TLS: %v", err)
	}
	if got := m.ServerFingerprint(addr); got != first {
		t.Errorf("client pinned %q, the host shows %q", got, first)
	}

	if err := h.Stop(); err != nil {
		t.Fatal(err)
	}
	if got := h.Fingerprint(); got != "" {
		t.Errorf("Fingerprint() = %q when stopped, want none", got)
	}
	if again := start(); again != first {
		t.Errorf("after a restart the fingerprint is %q, want the kept %q", again, first)
	}
	h.Stop()
	h.rotateCert = true
	rotated := start()
	if rotated == first {
		t.Errorf("rotateCert kept the fingerprint %q", first)
	}
	h.Stop()
	if kept := start(); kept != rotated {
		t.Errorf("rotation happened again at the next start: %q, want %q", kept, rotated)
	}
	if err := m.Connect(addr); !errors.Is(err, ui.ErrCertificateChanged) {
		t.Errorf("Connect after rotation = %v, want ErrCertificateChanged", err)
	}
}
