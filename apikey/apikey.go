package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"hash/crc32"
	"strings"
)

// Prefixes of the secrets ledgersim issues.
const (
	PrefixTestKey    = "lk_test_"
	PrefixAgentToken = "at_test_"
)

const (
	base62     = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	bodyLen    = 32
	sumLen     = 6
	displayLen = 12 // how much of a secret may be shown back (tokenPrefix)
)

// New returns a fresh secret with the given prefix.
func New(prefix string) string {
	var raw [bodyLen]byte
	if _, err := rand.Read(raw[:]); err != nil {
		panic("apikey: no randomness: " + err.Error())
	}
	b := make([]byte, 0, len(prefix)+bodyLen+sumLen)
	b = append(b, prefix...)
	for _, x := range raw {
		// 256 is not a multiple of 62; the slight bias leaves well over
		// 180 bits of entropy, far beyond what guessing could reach.
		b = append(b, base62[int(x)%62])
	}
	return string(appendChecksum(b))
}

func appendChecksum(b []byte) []byte {
	sum := crc32.ChecksumIEEE(b)
	for i := 0; i < sumLen; i++ {
		b = append(b, base62[sum%62])
		sum /= 62
	}
	return b
}

// WellFormed reports whether s has the given prefix, the right length and a
// valid checksum.
func WellFormed(s, prefix string) bool {
	if len(s) != len(prefix)+bodyLen+sumLen || !strings.HasPrefix(s, prefix) {
		return false
	}
	body := s[:len(s)-sumLen]
	want := appendChecksum([]byte(body))
	return subtle.ConstantTimeCompare(want, []byte(s)) == 1
}

// Hash is the stored form of a secret.
func Hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Equal compares two hashes in constant time.
func Equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// Display returns the part of a secret that may be shown again (the
// platform's tokenPrefix): its prefix and a few characters, never enough to
// use it.
func Display(secret string) string {
	if len(secret) <= displayLen {
		return ""
	}
	return secret[:displayLen]
}
