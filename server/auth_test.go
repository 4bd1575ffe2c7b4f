package server

import (
	"encoding/base64"
	"strings"
	"testing"
)

// TestPasswordHashParameters: hashes are argon2id in the PHC format with
// the documented defaults (t=2, m=19456 KiB, p=1, 16-byte salt, 32-byte
// key); check verifies with the parameters stored in the hash, so a hash
// made at another cost still verifies; a wrong password, a tampered hash
// and another algorithm do not.
func TestPasswordHashParameters(t *testing.T) {
	var cfg Config
	cfg.setDefaults()
	if cfg.PasswordTime != 2 || cfg.PasswordMemoryKiB != 19456 {
		t.Fatalf("defaults t=%d m=%d, want t=2 m=19456", cfg.PasswordTime, cfg.PasswordMemoryKiB)
	}
	def := newPasswords(cfg.PasswordTime, cfg.PasswordMemoryKiB, 2)
	h, err := def.hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(h, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != "v=19" || parts[3] != "m=19456,t=2,p=1" {
		t.Fatalf("hash %q is not argon2id v=19 m=19456,t=2,p=1", h)
	}
	salt, _ := base64.RawStdEncoding.DecodeString(parts[4])
	key, _ := base64.RawStdEncoding.DecodeString(parts[5])
	if len(salt) != saltBytes || len(key) != keyBytes {
		t.Errorf("salt %d bytes, key %d bytes; want %d and %d", len(salt), len(key), saltBytes, keyBytes)
	}
	if h2, _ := def.hash("correct horse"); h2 == h {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	cheap := newPasswords(1, 1024, 1)
	old, err := cheap.hash("battery staple")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, hash, password string
		want                 bool
	}{
		{"right password", h, "correct horse", true},
		{"wrong password", h, "correct horsE", false},
		{"hash at another cost", old, "battery staple", true},
		{"tampered key", parts[0] + "$argon2id$v=19$m=19456,t=2,p=1$" + parts[4] + "$" + base64.RawStdEncoding.EncodeToString(make([]byte, keyBytes)), "correct horse", false},
		{"argon2i", strings.Replace(h, "argon2id", "argon2i", 1), "correct horse", false},
		{"garbage", "not a hash", "correct horse", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := def.check(tc.hash, tc.password); got != tc.want {
				t.Errorf("check = %v, want %v", got, tc.want)
			}
		})
	}
}
