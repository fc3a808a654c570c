package vault

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLuhn(t *testing.T) {
	tests := []struct {
		pan  string
		want bool
	}{
		{"4111111111111111", true},
		{"4111111111111112", false},
		{"5555555555554444", true},
		{"378282246310005", true},
		{"411111111111", false},
		{"41111111111a1111", false},
		{"", false},
		{"41111111111111111111", false},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, Luhn(tc.pan), tc.pan)
	}
}

func TestNewPANIsLuhnValidInBIN(t *testing.T) {
	v, err := Open(Config{Dir: t.TempDir(), BIN: "52999912"})
	require.NoError(t, err)
	for i := 0; i < 1000; i++ {
		pan, err := v.NewPAN(rand.Reader)
		require.NoError(t, err)
		require.Len(t, pan, PANLength)
		require.True(t, strings.HasPrefix(pan, "52999912"))
		require.True(t, Luhn(pan), pan)
	}
}

func TestKeysPersistAndAreOwnerOnly(t *testing.T) {
	dir := t.TempDir()
	v1, err := Open(Config{Dir: dir})
	require.NoError(t, err)
	st, err := os.Stat(filepath.Join(dir, "keys.json"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	sealed, err := v1.Seal("card_1", "4111111111111111")
	require.NoError(t, err)
	require.NotContains(t, string(sealed), "4111111111111111")

	v2, err := Open(Config{Dir: dir})
	require.NoError(t, err)
	pan, err := v2.Open("card_1", sealed)
	require.NoError(t, err)
	require.Equal(t, "4111111111111111", pan)
	require.Equal(t, v1.Hash(pan), v2.Hash(pan))
	require.Equal(t, v1.CVV(pan, "2912"), v2.CVV(pan, "2912"))

	_, err = v2.Open("card_2", sealed)
	require.ErrorIs(t, err, ErrOpen, "a sealed PAN is bound to its card")
	other, err := Open(Config{Dir: t.TempDir()})
	require.NoError(t, err)
	_, err = other.Open("card_1", sealed)
	require.ErrorIs(t, err, ErrOpen)
	require.NotEqual(t, v1.Hash(pan), other.Hash(pan))
}

func TestMasterKey(t *testing.T) {
	key := strings.Repeat("ab", 32)
	a, err := Open(Config{MasterKeyHex: key})
	require.NoError(t, err)
	b, err := Open(Config{MasterKeyHex: key})
	require.NoError(t, err)
	require.Equal(t, a.CVV("4111111111111111", "2801"), b.CVV("4111111111111111", "2801"))
	_, err = Open(Config{MasterKeyHex: "abcd"})
	require.Error(t, err)
	_, err = Open(Config{MasterKeyHex: key, BIN: "12a456"})
	require.Error(t, err)
}

func TestCVVDependsOnPANAndExpiry(t *testing.T) {
	v, err := Open(Config{Dir: t.TempDir()})
	require.NoError(t, err)
	c := v.CVV("4111111111111111", "2801")
	require.Len(t, c, 3)
	require.True(t, v.CheckCVV("4111111111111111", "2801", c))
	require.False(t, v.CheckCVV("4111111111111111", "2802", c) && v.CVV("4111111111111111", "2802") != c)
	distinct := map[string]bool{}
	for _, exp := range []string{"2801", "2802", "2803", "2804", "2805", "2806", "2807", "2808"} {
		distinct[v.CVV("4111111111111111", exp)] = true
	}
	require.Greater(t, len(distinct), 1, "CVV must vary with expiry")
}

func TestMask(t *testing.T) {
	require.Equal(t, "411111******1111", Mask("4111111111111111"))
	require.Equal(t, "****", Mask("1234"))
}

// The PAN hash indexes every stored card and the CVV is derived, never
// stored: both must stay what the first version computed, or existing
// stores lose their cards. The expectations are that computation, written
// out.
func TestHashAndCVVKeepTheirValues(t *testing.T) {
	master := strings.Repeat("5a", 32)
	v, err := Open(Config{MasterKeyHex: master})
	require.NoError(t, err)
	raw, err := hex.DecodeString(master)
	require.NoError(t, err)
	derived := func(label string) []byte {
		m := hmac.New(sha256.New, raw)
		m.Write([]byte("ledgersim/" + label))
		return m.Sum(nil)
	}
	hk, ck := derived("pan-hash"), derived("cvv-derivation")

	tests := []struct{ pan, expiry string }{
		{"4111111111111111", "2801"},
		{"4859320000000003", "3012"},
		{"485932123456789012", "2706"},
	}
	for _, tt := range tests {
		t.Run(tt.pan[len(tt.pan)-4:], func(t *testing.T) {
			m := hmac.New(sha256.New, hk)
			m.Write([]byte(tt.pan))
			wantHash := hex.EncodeToString(m.Sum(nil))

			c := hmac.New(sha256.New, ck)
			c.Write([]byte(tt.pan))
			c.Write([]byte{0})
			c.Write([]byte(tt.expiry))
			n := binary.BigEndian.Uint32(c.Sum(nil)[:4]) % 1000
			wantCVV := fmt.Sprintf("%03d", n)

			// Twice, so the second call runs on a reused hasher.
			for range 2 {
				assert.Equal(t, wantHash, v.Hash(tt.pan))
				assert.Equal(t, "x"+wantHash, string(v.AppendHashHex([]byte("x"), tt.pan)))
				sum := v.HashSum(tt.pan)
				assert.Equal(t, wantHash, hex.EncodeToString(sum[:]))
				assert.Equal(t, wantCVV, v.CVV(tt.pan, tt.expiry))
				assert.True(t, v.CheckCVV(tt.pan, tt.expiry, wantCVV))
			}
			assert.False(t, v.CheckCVV(tt.pan, tt.expiry, wantCVV[:2]))
			assert.False(t, v.CheckCVV(tt.pan, tt.expiry, wantCVV+"0"))
			assert.False(t, v.CheckCVV(tt.pan, tt.expiry, ""))
		})
	}
}

func TestHashersAreSafeToShare(t *testing.T) {
	v, err := Open(Config{MasterKeyHex: strings.Repeat("5a", 32)})
	require.NoError(t, err)
	pans := []string{"4111111111111111", "4859320000000003", "485932123456789012"}
	want := make([]string, len(pans))
	for i, p := range pans {
		want[i] = v.Hash(p) + v.CVV(p, "2801")
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				k := (g + i) % len(pans)
				if got := v.Hash(pans[k]) + v.CVV(pans[k], "2801"); got != want[k] {
					t.Errorf("pan %d: got %s, want %s", k, got, want[k])
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestLookupsAllocateNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items at random")
	}
	v, err := Open(Config{MasterKeyHex: strings.Repeat("5a", 32)})
	require.NoError(t, err)
	pan, exp := "4111111111111111", "2801"
	cvv := v.CVV(pan, exp)
	var buf [64]byte
	allocs := testing.AllocsPerRun(200, func() {
		_ = v.AppendHashHex(buf[:0], pan)
		_ = v.HashSum(pan)
		_ = v.CheckCVV(pan, exp, cvv)
	})
	assert.Zero(t, allocs)
}

func TestMaskDigitRuns(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"No such endpoint: GET /v1/4859320000000006", "No such endpoint: GET /v1/485932******0006"},
		{"12345678901", "12345678901"},
		{"123456789012", "************"},
		{"x1234567890123y", "x123456***0123y"},
		{"a 4859320000000006 and 4859321111111111111", "a 485932******0006 and 485932*********1111"},
		{"card_01kjmma2g0002k82dxt98q", "card_01kjmma2g0002k82dxt98q"},
		{"1,125,899,906,842,624", "1,125,899,906,842,624"},
		{"48593200000000060000000", "485932*************0000"},
	} {
		require.Equal(t, tc.want, MaskDigitRuns(tc.in), tc.in)
	}
}
