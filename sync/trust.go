package sync

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"

	"parley/server/wire"
)

// Trust on first use. A Parley server serves only TLS with a self-signed
// certificate. The first time a client connects to an address it pins the
// certificate's fingerprint (in a PinStore); afterwards it accepts only that
// certificate there. A different one fails the TLS handshake itself, before
// any WebSocket upgrade, hello or password is sent, with a
// *FingerprintError; only Pin (the user accepted the new certificate)
// changes the pin.

// PinStore keeps the fingerprint pinned for each server address
// ("host:port", as PinAddress returns it). Implementations are safe for
// concurrent use.
type PinStore interface {
	// Pinned returns the fingerprint pinned for address, the zero value
	// if there is none.
	Pinned(ctx context.Context, address string) (wire.Fingerprint, error)
	// Pin pins fp for address, replacing any earlier pin.
	Pin(ctx context.Context, address string, fp wire.Fingerprint) error
}

// FingerprintError is the error of a connection to a server whose
// certificate is not the one pinned for its address: a reinstalled or
// rotated server, or someone else answering on that address. errors.Is(err,
// ErrFingerprintChanged) holds; it is final until the user accepts
// Presented (PinStore.Pin).
type FingerprintError struct {
	Address   string           // host:port
	Pinned    wire.Fingerprint // the fingerprint trusted so far
	Presented wire.Fingerprint // the certificate the server showed now
}

func (e *FingerprintError) Error() string {
	return fmt.Sprintf("server %s presented certificate %s, but %s is pinned for it: refusing to send anything until the new one is accepted",
		e.Address, e.Presented, e.Pinned)
}

// Unwrap returns ErrFingerprintChanged.
func (e *FingerprintError) Unwrap() error { return ErrFingerprintChanged }

// PinAddress returns the key a server is pinned under: host:port of a URL
// or address, host in lower case.
func PinAddress(serverURL string) (string, error) {
	u, err := normalizeURL(serverURL)
	if err != nil {
		return "", err
	}
	p, err := url.Parse(u)
	if err != nil {
		return "", fmt.Errorf("server address %q: %w", serverURL, err)
	}
	return strings.ToLower(p.Host), nil
}

// TLSConfig returns the client TLS configuration for the server at
// address (host:port) under the pin rule: with no pin, the presented
// certificate is pinned (first use); with a pin, only that certificate is
// accepted and any other fails the handshake with a *FingerprintError.
// Chains, names and dates are not checked: the pin is the trust. The
// app's reachability check (/healthz) uses it as the WebSocket does.
func TLSConfig(pins PinStore, address string, log *slog.Logger) *tls.Config {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	address = strings.ToLower(address)
	return &tls.Config{
		// The certificate is self-signed: VerifyConnection checks the pin
		// instead of a chain.
		InsecureSkipVerify: true,
		MinVersion:         tls.VersionTLS13,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return fmt.Errorf("server %s: no certificate", address)
			}
			got := wire.CertFingerprint(cs.PeerCertificates[0].Raw)
			// The handshake is bounded by the dial's timeout; the pin store
			// is local.
			ctx := context.Background()
			pinned, err := pins.Pinned(ctx, address)
			if err != nil {
				return fmt.Errorf("read pinned fingerprint of %s: %w", address, err)
			}
			switch {
			case pinned.IsZero():
				if err := pins.Pin(ctx, address, got); err != nil {
					return fmt.Errorf("pin fingerprint of %s: %w", address, err)
				}
				log.Info("pinned server certificate on first use", "server", address, "fingerprint", got.String(), "short", got.Short())
				return nil
			case pinned == got:
				return nil
			}
			return &FingerprintError{Address: address, Pinned: pinned, Presented: got}
		},
	}
}

// metaPinPrefix prefixes the meta keys of a Store's pins.
const metaPinPrefix = "pin:"

// Pinned implements PinStore: a store keeps the pins of its account when
// Config.Pins is nil.
func (s *Store) Pinned(ctx context.Context, address string) (wire.Fingerprint, error) {
	v, err := getMeta(ctx, s.db, metaPinPrefix+address)
	if err != nil || v == "" {
		return wire.Fingerprint{}, err
	}
	return wire.ParseFingerprint(v)
}

// Pin implements PinStore.
func (s *Store) Pin(ctx context.Context, address string, fp wire.Fingerprint) error {
	return setMeta(ctx, s.db, metaPinPrefix+address, fp.String())
}

// PinFile is a PinStore in one small JSON file, like SSH's known_hosts: the
// app keeps one for all accounts, so the reachability check, sign-up and
// every account on a server share one pin. Writes replace the file by a
// rename.
type PinFile struct {
	path string
	// writeMu serializes writers across their file write, so the file
	// never goes back to an older map; readers never wait for the disk.
	writeMu gosync.Mutex
	mu      gosync.Mutex // guards pins, never held across I/O
	pins    map[string]wire.Fingerprint
}

// pinFileData is the format of the file.
type pinFileData struct {
	Pins map[string]wire.Fingerprint `json:"pins"`
}

// OpenPinFile reads the pin file at path; a missing file is an empty one.
func OpenPinFile(path string) (*PinFile, error) {
	f := &PinFile{path: path, pins: map[string]wire.Fingerprint{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open pin file %q: %w", path, err)
	}
	var d pinFileData
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("open pin file %q: %w", path, err)
	}
	for k, v := range d.Pins {
		f.pins[k] = v
	}
	return f, nil
}

// Pinned implements PinStore.
func (f *PinFile) Pinned(_ context.Context, address string) (wire.Fingerprint, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pins[address], nil
}

// Pin implements PinStore: the file is rewritten before Pin returns, and
// the new pin is in effect only once it is on disk.
func (f *PinFile) Pin(_ context.Context, address string, fp wire.Fingerprint) error {
	f.writeMu.Lock()
	defer f.writeMu.Unlock()
	f.mu.Lock()
	next := make(map[string]wire.Fingerprint, len(f.pins)+1)
	for k, v := range f.pins {
		next[k] = v
	}
	f.mu.Unlock()
	next[address] = fp
	b, err := json.MarshalIndent(pinFileData{Pins: next}, "", "  ")
	if err != nil {
		return fmt.Errorf("pin %s: %w", address, err)
	}
	if err := writeFileAtomic(f.path, append(b, '\n')); err != nil {
		return fmt.Errorf("pin %s in %q: %w", address, f.path, err)
	}
	f.mu.Lock()
	f.pins = next
	f.mu.Unlock()
	return nil
}

func writeFileAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
