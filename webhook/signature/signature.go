package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Header is the name of the HTTP header that carries the signature.
const Header = "X-Ledger-Signature"

// Scheme is the name of the only signature scheme, HMAC-SHA256 over
// "t.body".
const Scheme = "v1"

// DefaultTolerance is a reasonable replay window for Verify: a request whose
// timestamp is further than this from the receiver's clock is refused.
const DefaultTolerance = 5 * time.Minute

// Bounds on what Verify reads, so that a hostile header cannot make it do
// unbounded work.
const (
	// MaxHeaderBytes is the longest header Verify parses.
	MaxHeaderBytes = 4096
	// MaxSignatures is the most v1 values Verify compares.
	MaxSignatures = 8
)

// Verification failures. Each is returned as is (compare with errors.Is) and
// says nothing about the secret, the expected signature or the body.
var (
	// ErrNoSignature: the header is empty or holds no v1 value.
	ErrNoSignature = errors.New("signature: no v1 signature in header")
	// ErrBadFormat: the header is not t=<unix seconds>,v1=<hex>,... or is
	// longer than MaxHeaderBytes or holds more than MaxSignatures values.
	ErrBadFormat = errors.New("signature: malformed header")
	// ErrTooOld: the timestamp is further from now than the tolerance (in
	// the past, or in the future beyond clock skew).
	ErrTooOld = errors.New("signature: timestamp outside the tolerance")
	// ErrMismatch: no v1 value is the signature of the body under any of
	// the secrets.
	ErrMismatch = errors.New("signature: no signature matches")
)

// Sign returns the header value for body, signed at t with secret.
func Sign(secret string, t time.Time, body []byte) string {
	return SignAll([]string{secret}, t, body)
}

// SignAll returns the header value for body signed at t with each secret in
// order (one v1 value per secret). The sender uses it during a rotation with
// the new secret first.
func SignAll(secrets []string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	var b strings.Builder
	b.Grow(len("t=") + len(ts) + len(secrets)*(len(",v1=")+2*sha256.Size))
	b.WriteString("t=")
	b.WriteString(ts)
	for _, s := range secrets {
		b.WriteString(",v1=")
		b.WriteString(hex.EncodeToString(mac(s, ts, body)))
	}
	return b.String()
}

func mac(secret, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks header against body: it must carry a timestamp within
// tolerance of now and a v1 value that is body's signature under one of
// secrets. A tolerance of zero or less skips the timestamp check (not
// recommended: it allows replays). Values of other schemes (v0, v2, ...) are
// ignored so that a later scheme can be added alongside v1.
func Verify(header string, body []byte, secrets []string, now time.Time, tolerance time.Duration) error {
	if strings.TrimSpace(header) == "" {
		return ErrNoSignature
	}
	if len(header) > MaxHeaderBytes {
		return ErrBadFormat
	}
	var (
		ts      string
		haveTS  bool
		sigs    [MaxSignatures][]byte
		nSigs   int
		scratch [sha256.Size]byte
	)
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || k == "" {
			return ErrBadFormat
		}
		switch k {
		case "t":
			if haveTS || !isDigits(v) {
				return ErrBadFormat
			}
			ts, haveTS = v, true
		case Scheme:
			if nSigs == MaxSignatures {
				return ErrBadFormat
			}
			if len(v) != 2*sha256.Size {
				return ErrBadFormat
			}
			if _, err := hex.Decode(scratch[:], []byte(v)); err != nil {
				return ErrBadFormat
			}
			sigs[nSigs] = append([]byte(nil), scratch[:]...)
			nSigs++
		}
	}
	if !haveTS {
		return ErrBadFormat
	}
	if nSigs == 0 {
		return ErrNoSignature
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrBadFormat
	}
	if tolerance > 0 {
		// Compare in seconds so that a huge t cannot overflow a Duration.
		tol := int64(tolerance / time.Second)
		if d := now.Unix() - sec; d > tol || d < -tol {
			return ErrTooOld
		}
	}
	matched := 0
	for _, s := range secrets {
		want := mac(s, ts, body)
		for _, got := range sigs[:nSigs] {
			// Every pair is compared, in constant time, so the time taken
			// does not depend on which value matched.
			if hmac.Equal(want, got) {
				matched++
			}
		}
	}
	if matched == 0 {
		return ErrMismatch
	}
	return nil
}

func isDigits(s string) bool {
	if s == "" || len(s) > 18 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
