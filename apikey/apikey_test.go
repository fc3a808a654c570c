package apikey

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSecrets(t *testing.T) {
	k := New(PrefixTestKey)
	require.True(t, WellFormed(k, PrefixTestKey))
	require.False(t, WellFormed(k, PrefixAgentToken))
	require.NotEqual(t, k, New(PrefixTestKey))

	tests := []struct {
		name string
		s    string
	}{
		{"empty", ""},
		{"truncated", k[:len(k)-1]},
		{"one char changed", k[:10] + string(rune(k[10]^1)) + k[11:]},
		{"extra char", k + "x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.False(t, WellFormed(tc.s, PrefixTestKey))
		})
	}
	require.True(t, Equal(Hash(k), Hash(k)))
	require.False(t, Equal(Hash(k), Hash(k+"x")))
	require.Len(t, Display(k), 12)
	require.NotContains(t, Display(k), k[12:])
}
