package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// DefaultBIN is the issuer identification number of generated PANs when none
// is configured. It sits in a Visa range used by test cards.
const DefaultBIN = "485932"

// PANLength is the length of generated PANs.
const PANLength = 16

// ErrOpen is returned when sealed card data cannot be opened with the
// vault's key (wrong key, or corrupted data). It says nothing of the data.
var ErrOpen = errors.New("vault: sealed card data cannot be opened")

// Config says where the keys are and how PANs look.
type Config struct {
	// Dir is the data directory that holds keys.json. Required unless
	// MasterKeyHex is given.
	Dir string
	// MasterKeyHex, when set (64 hex characters), derives all three keys and
	// nothing is read from or written to Dir.
	MasterKeyHex string
	// BIN is the 6 to 8 digit prefix of generated PANs. Default DefaultBIN.
	BIN string
}

type keyFile struct {
	EncKey  string `json:"encKey"`
	HashKey string `json:"hashKey"`
	CVVKey  string `json:"cvvKey"`
}

// Vault seals, hashes and derives card data.
type Vault struct {
	aead cipher.AEAD
	bin  string
	// Keyed hashers for the PAN hash and the CVV derivation, reused: every
	// authorization computes both, and a fresh HMAC costs nine
	// allocations and two key schedules.
	panMACs, cvvMACs macPool
}

// macPool hands out HMAC-SHA256 states for one key.
type macPool struct {
	key  []byte
	pool sync.Pool
}

// keyedMAC is one HMAC state with scratch space, so hashing a string and
// reading the sum allocate nothing.
type keyedMAC struct {
	h   hash.Hash
	in  []byte
	sum [sha256.Size]byte
}

func (p *macPool) get() *keyedMAC {
	if m, ok := p.pool.Get().(*keyedMAC); ok {
		m.h.Reset()
		return m
	}
	return &keyedMAC{h: hmac.New(sha256.New, p.key), in: make([]byte, 0, 64)}
}

func (p *macPool) put(m *keyedMAC) {
	clear(m.in[:cap(m.in)]) // no PAN left behind in pooled memory
	m.in = m.in[:0]
	p.pool.Put(m)
}

// write feeds parts to the MAC through its scratch buffer: a string
// converted for an interface call would be copied to the heap.
func (m *keyedMAC) write(parts ...string) {
	for _, s := range parts {
		m.in = append(m.in[:0], s...)
		m.h.Write(m.in)
	}
}

// Open loads (or on first start creates) the keys and returns a Vault.
func Open(cfg Config) (*Vault, error) {
	bin := cfg.BIN
	if bin == "" {
		bin = DefaultBIN
	}
	if len(bin) < 6 || len(bin) > 8 || !allDigits(bin) {
		return nil, fmt.Errorf("vault: BIN must be 6 to 8 digits")
	}
	var enc, hk, ck []byte
	switch {
	case cfg.MasterKeyHex != "":
		master, err := hex.DecodeString(cfg.MasterKeyHex)
		if err != nil || len(master) != 32 {
			return nil, fmt.Errorf("vault: master key must be 64 hex characters")
		}
		enc, hk, ck = derive(master, "pan-encryption"), derive(master, "pan-hash"), derive(master, "cvv-derivation")
	case cfg.Dir != "":
		var err error
		enc, hk, ck, err = loadOrCreate(filepath.Join(cfg.Dir, "keys.json"))
		if err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("vault: a data directory or a master key is required")
	}
	block, err := aes.NewCipher(enc)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	return &Vault{aead: aead, bin: bin, panMACs: macPool{key: hk}, cvvMACs: macPool{key: ck}}, nil
}

func derive(master []byte, label string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte("ledgersim/" + label))
	return m.Sum(nil)
}

func loadOrCreate(path string) (enc, hk, ck []byte, err error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		kf := keyFile{EncKey: randomHex(), HashKey: randomHex(), CVVKey: randomHex()}
		raw, _ = json.MarshalIndent(kf, "", "  ")
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, nil, nil, fmt.Errorf("vault: create key dir: %w", err)
		}
		// Write to a temporary file and rename, so a crash never leaves a
		// half-written key file that would make every sealed PAN unreadable.
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, raw, 0o600); err != nil {
			return nil, nil, nil, fmt.Errorf("vault: write keys: %w", err)
		}
		if f, err := os.Open(tmp); err == nil {
			_ = f.Sync()
			_ = f.Close()
		}
		if err := os.Rename(tmp, path); err != nil {
			return nil, nil, nil, fmt.Errorf("vault: write keys: %w", err)
		}
	} else if err != nil {
		return nil, nil, nil, fmt.Errorf("vault: read keys: %w", err)
	}
	var kf keyFile
	if err := json.Unmarshal(raw, &kf); err != nil {
		return nil, nil, nil, fmt.Errorf("vault: %s is not a key file", path)
	}
	dec := func(s string) ([]byte, error) {
		b, err := hex.DecodeString(s)
		if err != nil || len(b) != 32 {
			return nil, fmt.Errorf("vault: %s holds a malformed key", path)
		}
		return b, nil
	}
	if enc, err = dec(kf.EncKey); err != nil {
		return
	}
	if hk, err = dec(kf.HashKey); err != nil {
		return
	}
	ck, err = dec(kf.CVVKey)
	return
}

func randomHex() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("vault: no randomness: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// BIN returns the configured BIN.
func (v *Vault) BIN() string { return v.bin }

// NewPAN makes a Luhn-valid PAN in the vault's BIN from r. Uniqueness is the
// caller's to check (through Hash), since only it knows the issued PANs.
func (v *Vault) NewPAN(r io.Reader) (string, error) {
	digits := make([]byte, PANLength)
	copy(digits, v.bin)
	var rnd [8]byte
	n := len(v.bin)
	for n < PANLength-1 {
		if _, err := io.ReadFull(r, rnd[:]); err != nil {
			return "", fmt.Errorf("vault: %w", err)
		}
		x := binary.BigEndian.Uint64(rnd[:])
		for i := 0; i < 16 && n < PANLength-1; i++ {
			digits[n] = byte('0' + x%10)
			x /= 10
			n++
		}
	}
	digits[PANLength-1] = luhnCheckDigit(digits[:PANLength-1])
	return string(digits), nil
}

// Seal encrypts a PAN for storage, bound to the card's ID so that a sealed
// PAN copied onto another card does not open.
func (v *Vault) Seal(cardID, pan string) ([]byte, error) {
	nonce := make([]byte, v.aead.NonceSize(), v.aead.NonceSize()+len(pan)+v.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	return v.aead.Seal(nonce, nonce, []byte(pan), []byte(cardID)), nil
}

// Open decrypts a sealed PAN.
func (v *Vault) Open(cardID string, sealed []byte) (string, error) {
	ns := v.aead.NonceSize()
	if len(sealed) < ns {
		return "", ErrOpen
	}
	pan, err := v.aead.Open(nil, sealed[:ns], sealed[ns:], []byte(cardID))
	if err != nil {
		return "", ErrOpen
	}
	return string(pan), nil
}

// Hash returns the keyed hash of a PAN (hex), the only key under which a PAN
// is indexed.
func (v *Vault) Hash(pan string) string {
	var out [2 * sha256.Size]byte
	return string(v.AppendHashHex(out[:0], pan))
}

// AppendHashHex appends what Hash returns to dst.
func (v *Vault) AppendHashHex(dst []byte, pan string) []byte {
	sum := v.HashSum(pan)
	return hex.AppendEncode(dst, sum[:])
}

// HashSum is the keyed hash of a PAN as its 32 bytes, of which Hash is
// the hex form: the hot path looks a PAN up by it without rendering the
// hex.
func (v *Vault) HashSum(pan string) [HashSize]byte {
	m := v.panMACs.get()
	defer v.panMACs.put(m)
	m.write(pan)
	var out [HashSize]byte
	m.h.Sum(m.sum[:0])
	copy(out[:], m.sum[:])
	return out
}

// HashSize is the length of HashSum; Hash is twice as many hex digits.
const HashSize = sha256.Size

// CVV derives the 3-digit CVV2 of a PAN and its expiry (YYMM). The same
// inputs always give the same CVV, so it is never stored.
func (v *Vault) CVV(pan, expiryYYMM string) string {
	d := v.cvv(pan, expiryYYMM)
	return string(d[:])
}

func (v *Vault) cvv(pan, expiryYYMM string) [3]byte {
	m := v.cvvMACs.get()
	defer v.cvvMACs.put(m)
	m.write(pan, "\x00", expiryYYMM)
	n := binary.BigEndian.Uint32(m.h.Sum(m.sum[:0])[:4]) % 1000
	return [3]byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)}
}

// CheckCVV compares a presented CVV2 with the derived one in constant time.
func (v *Vault) CheckCVV(pan, expiryYYMM, presented string) bool {
	d := v.cvv(pan, expiryYYMM)
	return subtle.ConstantTimeCompare(d[:], []byte(presented)) == 1
}

// Luhn reports whether s is all digits, 12 to 19 long, with a valid Luhn
// check digit.
func Luhn(s string) bool {
	if len(s) < 12 || len(s) > 19 || !allDigits(s) {
		return false
	}
	return luhnCheckDigit([]byte(s[:len(s)-1])) == s[len(s)-1]
}

func luhnCheckDigit(payload []byte) byte {
	sum := 0
	double := true
	for i := len(payload) - 1; i >= 0; i-- {
		d := int(payload[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return byte('0' + (10-sum%10)%10)
}

// Mask shows a PAN as first six and last four, the form used everywhere but
// the card-details response. Anything too short to mask is hidden whole.
func Mask(pan string) string {
	if len(pan) < 13 {
		return "****"
	}
	b := []byte(pan)
	for i := 6; i < len(b)-4; i++ {
		b[i] = '*'
	}
	return string(b)
}

// MaskDigitRuns masks, as Mask does, every run of 12 or more consecutive
// digits in s: whatever might be a card number (12 to 19 digits, or one
// inside a longer run) in text that echoes what a caller sent, such as an
// error message. Everything else is left as it is.
func MaskDigitRuns(s string) string {
	var b []byte
	run := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] >= '0' && s[i] <= '9' {
			run++
			continue
		}
		if run >= 12 {
			if b == nil {
				b = []byte(s)
			}
			masked := Mask(s[i-run : i])
			if len(masked) != run {
				masked = strings.Repeat("*", run) // too short to show any digit
			}
			copy(b[i-run:i], masked)
		}
		run = 0
	}
	if b == nil {
		return s
	}
	return string(b)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
