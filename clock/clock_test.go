package clock

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestVirtualMovesOnlyForward(t *testing.T) {
	start := time.Date(2026, 1, 31, 23, 59, 0, 0, time.UTC)
	v := NewVirtual(start)
	require.Equal(t, start, v.Now())

	tests := []struct {
		name string
		step time.Duration
		want time.Time
	}{
		{"forward a minute", time.Minute, start.Add(time.Minute)},
		{"negative is ignored", -time.Hour, start.Add(time.Minute)},
		{"zero is ignored", 0, start.Add(time.Minute)},
		{"a day", 24 * time.Hour, start.Add(24*time.Hour + time.Minute)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, v.Advance(tc.step))
			require.Equal(t, tc.want, v.Now())
		})
	}
	v.Set(start)
	require.Equal(t, start.Add(24*time.Hour+time.Minute), v.Now(), "Set never moves backwards")
}
