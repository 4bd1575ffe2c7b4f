package server

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// passwords hashes and checks passwords with argon2id. Hashing is
// CPU- and memory-heavy, so at most slots hashes run at once.
type passwords struct {
	time, memoryKiB uint32
	slots           chan struct{}
}

func newPasswords(time, memoryKiB uint32, slots int) *passwords {
	return &passwords{time: time, memoryKiB: memoryKiB, slots: make(chan struct{}, slots)}
}

const (
	saltBytes = 16
	keyBytes  = 32
)

// hash returns an encoded argon2id hash of password in the PHC string
// format: $argon2id$v=19$m=…,t=…,p=1$salt$key.
func (p *passwords) hash(password string) (string, error) {
	salt := make([]byte, saltBytes)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	p.slots <- struct{}{}
	key := argon2.IDKey([]byte(password), salt, p.time, p.memoryKiB, 1, keyBytes)
	<-p.slots
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=1$%s$%s", argon2.Version, p.memoryKiB, p.time, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// check reports whether password matches encoded, using the cost stored in
// encoded.
func (p *passwords) check(encoded, password string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var mem, t uint32
	var par uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &t, &par); err != nil {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false
	}
	p.slots <- struct{}{}
	got := argon2.IDKey([]byte(password), salt, t, mem, par, uint32(len(want)))
	<-p.slots
	return subtle.ConstantTimeCompare(got, want) == 1
}

// newToken returns a random device token and the hash the store keeps.
func newToken() (token string, hash []byte, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("new token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token), nil
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
