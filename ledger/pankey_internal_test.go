package ledger

import (
	"encoding/hex"
	"strings"
	"testing"
)

// TestPANKeyOf holds the directory's PAN key to the hash cards store: the
// hex form decodes to the key a lookup makes, and a stored hash that is
// not the hex of one (which no lookup could ever match) gives none.
func TestPANKeyOf(t *testing.T) {
	sum := [32]byte{0: 0xab, 31: 0x01}
	cases := []struct {
		name, hex string
		want      panKey
		ok        bool
	}{
		{"lower-case hex", hex.EncodeToString(sum[:]), panKey(sum), true},
		{"short", strings.Repeat("0", 62), panKey{}, false},
		{"long", strings.Repeat("0", 66), panKey{}, false},
		{"not hex", strings.Repeat("z", 64), panKey{}, false},
		{"empty", "", panKey{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := panKeyOf(tc.hex)
			if ok != tc.ok || (ok && got != tc.want) {
				t.Fatalf("panKeyOf(%q) = %x, %v; want %x, %v", tc.hex, got, ok, tc.want, tc.ok)
			}
		})
	}
}
