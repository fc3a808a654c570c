// Package apikey makes and checks ledgersim's secrets: API keys (lk_test_...)
// and agent tokens (at_test_...).
//
// A secret is a prefix, 32 random base62 characters and a 6-character
// checksum (CRC-32 of the rest). The checksum lets a typo or a truncated
// paste be rejected without a lookup, and lets a secret scanner recognise a
// leaked key. Only the SHA-256 of a secret is ever stored; secrets are
// compared in constant time.
//
// Everything here is stateless and safe for concurrent use.
package apikey
