package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"parley/server/wire"
)

// CertFile is the file in a server's data folder that keeps its TLS
// certificate and private key (PEM, the certificate first; mode 0600).
// One file, replaced by a rename, so that a crash never leaves a key that
// does not match its certificate.
const CertFile = "tls.pem"

// certValidity is how long a made certificate is valid. Clients pin the
// fingerprint instead of checking a chain or dates; a long validity only
// keeps other tools (openssl, curl -k) from calling it expired.
const certValidity = 20 * 365 * 24 * time.Hour

// ErrBadCertFile is returned when the certificate file exists but cannot
// be used (unreadable PEM, key not matching the certificate). The file is
// left alone: rotate it explicitly.
var ErrBadCertFile = errors.New("unusable TLS certificate file (start with the rotate option to replace it)")

// Certificate is a server's TLS identity: a self-signed ECDSA P-256
// certificate and its key, kept in the data folder.
type Certificate struct {
	// TLS is the certificate and key for a tls.Config.
	TLS tls.Certificate
	// Fingerprint is the SHA-256 fingerprint clients pin.
	Fingerprint wire.Fingerprint
	// Path is the file it is kept in.
	Path string
	// Created reports whether this call made it (first start or rotation).
	Created bool
}

// LoadCertificate returns the certificate kept in dir (CertFile), making a
// new key and self-signed certificate when there is none or when rotate is
// set (the old one is then replaced and every client that pinned it will
// warn until its user accepts the new one). name goes into the subject.
func LoadCertificate(dir, name string, rotate bool) (*Certificate, error) {
	path := filepath.Join(dir, CertFile)
	if !rotate {
		b, err := os.ReadFile(path)
		if err == nil {
			c, err := parseCertFile(b)
			if err != nil {
				return nil, fmt.Errorf("load certificate %s: %w: %v", path, ErrBadCertFile, err)
			}
			c.Path = path
			return c, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("load certificate %s: %w", path, err)
		}
	}
	b, err := newCertPEM(name, time.Now())
	if err != nil {
		return nil, fmt.Errorf("make certificate for %s: %w", path, err)
	}
	if err := writeFileAtomic(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("save certificate %s: %w", path, err)
	}
	c, err := parseCertFile(b)
	if err != nil {
		return nil, fmt.Errorf("load made certificate %s: %w", path, err)
	}
	c.Path, c.Created = path, true
	return c, nil
}

// newCertPEM makes a P-256 key and a self-signed server certificate for it
// and returns both as PEM (certificate, then PKCS #8 key).
func newCertPEM(name string, now time.Time) ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, err
	}
	if name == "" {
		name = "Parley"
	}
	dns := []string{"localhost"}
	if h, err := os.Hostname(); err == nil && h != "" && h != "localhost" {
		dns = append(dns, h)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Parley server " + name, Organization: []string{"Parley"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              dns,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})...), nil
}

func parseCertFile(b []byte) (*Certificate, error) {
	tc, err := tls.X509KeyPair(b, b)
	if err != nil {
		return nil, err
	}
	if len(tc.Certificate) == 0 {
		return nil, errors.New("no certificate")
	}
	return &Certificate{TLS: tc, Fingerprint: wire.CertFingerprint(tc.Certificate[0])}, nil
}

// writeFileAtomic writes b to a temporary file beside path, syncs it and
// renames it over path.
func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// TLSConfig is the server side of Parley's TLS: TLS 1.3 only (every client
// is Parley's own), HTTP/1.1 for the WebSocket upgrade.
func (c *Certificate) TLSConfig() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{c.TLS},
		MinVersion:   tls.VersionTLS13,
		NextProtos:   []string{"http/1.1"},
	}
}

// ListenTLS listens on the TCP address addr and speaks only TLS with c: a
// plain ws:// or http:// request gets net/http's "400 Client sent an HTTP
// request to an HTTPS server" and is closed, and a client that refuses the
// certificate never reaches the handler. Serve it with an http.Server whose
// Handler is the Server.
func ListenTLS(addr string, c *Certificate) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return tls.NewListener(ln, c.TLSConfig()), nil
}
