package wire

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Transport security. A server serves only TLS (wss:// and https://) with a self-signed
// certificate it makes at first start. A client trusts it on first use: it
// pins the certificate's Fingerprint per server address and refuses a
// different one until its user accepts it. The fingerprint is also carried
// in the server's mDNS TXT record as TXTFingerprint=<Fingerprint.String()>.

// TXTFingerprint is the key of the mDNS TXT record that carries the
// server certificate's fingerprint ("fp=SHA256:…").
const TXTFingerprint = "fp"

// fingerprintPrefix names the hash in a fingerprint's text form.
const fingerprintPrefix = "SHA256:"

// shortFingerprintBytes is how much of the hash Short shows: 12 bytes, 96
// bits, six groups of four hex digits, enough that nobody can make a
// certificate that reads the same to a person comparing the two.
const shortFingerprintBytes = 12

// ErrBadFingerprint is returned by ParseFingerprint for text that is not a
// SHA-256 fingerprint.
var ErrBadFingerprint = errors.New("not a SHA-256 certificate fingerprint")

// Fingerprint is the SHA-256 hash of a certificate's DER bytes, the same
// value as `openssl x509 -noout -fingerprint -sha256`. The zero value means
// "none".
type Fingerprint [sha256.Size]byte

// CertFingerprint returns the fingerprint of a DER-encoded certificate.
func CertFingerprint(der []byte) Fingerprint { return sha256.Sum256(der) }

// IsZero reports whether f is the zero value (no fingerprint).
func (f Fingerprint) IsZero() bool { return f == Fingerprint{} }

// String returns the canonical text form, "SHA256:" and 64 lower-case hex
// digits; "" for the zero value.
func (f Fingerprint) String() string {
	if f.IsZero() {
		return ""
	}
	return fingerprintPrefix + hex.EncodeToString(f[:])
}

// Short returns the form a person compares: the first 96 bits as six
// groups of four upper-case hex digits, "3F2A 9C1B 77D0 E4A2 51C8 0B6E"
// (the start of openssl's colon-separated form, without the colons).
func (f Fingerprint) Short() string {
	if f.IsZero() {
		return ""
	}
	h := strings.ToUpper(hex.EncodeToString(f[:shortFingerprintBytes]))
	var b strings.Builder
	for i := 0; i < len(h); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(h[i : i+4])
	}
	return b.String()
}

// MarshalText implements encoding.TextMarshaler (the String form).
func (f Fingerprint) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler (see ParseFingerprint).
func (f *Fingerprint) UnmarshalText(b []byte) error {
	p, err := ParseFingerprint(string(b))
	if err != nil {
		return err
	}
	*f = p
	return nil
}

// ParseFingerprint reads a fingerprint in the String form, with or without
// the "SHA256:" prefix, in either case, with or without ':' or ' '
// separators (openssl's "AB:CD:…" form parses too).
func ParseFingerprint(s string) (Fingerprint, error) {
	t := strings.TrimSpace(s)
	if len(t) >= len(fingerprintPrefix) && strings.EqualFold(t[:len(fingerprintPrefix)], fingerprintPrefix) {
		t = t[len(fingerprintPrefix):]
	}
	t = strings.NewReplacer(":", "", " ", "").Replace(t)
	var f Fingerprint
	if len(t) != 2*len(f) {
		return Fingerprint{}, fmt.Errorf("parse fingerprint %q: %w", s, ErrBadFingerprint)
	}
	if _, err := hex.Decode(f[:], []byte(t)); err != nil {
		return Fingerprint{}, fmt.Errorf("parse fingerprint %q: %w", s, ErrBadFingerprint)
	}
	return f, nil
}
