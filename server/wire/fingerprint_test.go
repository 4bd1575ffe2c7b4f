package wire

import (
	"errors"
	"strings"
	"testing"
)

func TestFingerprintForms(t *testing.T) {
	f := CertFingerprint([]byte("certificate"))
	if got := f.String(); !strings.HasPrefix(got, "SHA256:") || len(got) != len("SHA256:")+64 {
		t.Fatalf("String() = %q, want SHA256: and 64 hex digits", got)
	}
	short := f.Short()
	if len(strings.Fields(short)) != 6 || len(short) != 6*4+5 {
		t.Errorf("Short() = %q, want six groups of four", short)
	}
	if !strings.HasPrefix(strings.ToUpper(f.String()[7:]), strings.ReplaceAll(short, " ", "")) {
		t.Errorf("Short() = %q is not the start of %q", short, f.String())
	}
	var zero Fingerprint
	if zero.String() != "" || zero.Short() != "" || !zero.IsZero() || f.IsZero() {
		t.Errorf("zero value: String %q Short %q IsZero %v; non-zero IsZero %v", zero.String(), zero.Short(), zero.IsZero(), f.IsZero())
	}
}

func TestParseFingerprint(t *testing.T) {
	f := CertFingerprint([]byte("certificate"))
	hexs := f.String()[len("SHA256:"):]
	var colons []string
	for i := 0; i < len(hexs); i += 2 {
		colons = append(colons, strings.ToUpper(hexs[i:i+2]))
	}
	tests := []struct {
		name string
		in   string
		want Fingerprint
		err  error
	}{
		{"canonical", f.String(), f, nil},
		{"no prefix", hexs, f, nil},
		{"openssl colons", "sha256 " + "SHA256:" + strings.Join(colons, ":"), Fingerprint{}, ErrBadFingerprint},
		{"colons upper case", strings.Join(colons, ":"), f, nil},
		{"lower prefix, spaces", "  sha256:" + hexs + "\n", f, nil},
		{"too short", f.String()[:40], Fingerprint{}, ErrBadFingerprint},
		{"not hex", "SHA256:" + strings.Repeat("zz", 32), Fingerprint{}, ErrBadFingerprint},
		{"empty", "", Fingerprint{}, ErrBadFingerprint},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseFingerprint(tc.in)
			if !errors.Is(err, tc.err) {
				t.Fatalf("ParseFingerprint(%q) error = %v, want %v", tc.in, err, tc.err)
			}
			if got != tc.want {
				t.Errorf("ParseFingerprint(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
	var back Fingerprint
	b, _ := f.MarshalText()
	if err := back.UnmarshalText(b); err != nil || back != f {
		t.Errorf("text round trip: got %v, %v; want %v", back, err, f)
	}
}
