package benchload

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRunOffersEveryOperationOnce(t *testing.T) {
	for _, tc := range []struct {
		name             string
		n, workers, rate int
	}{
		{"closed loop", 500, 8, 0},
		{"paced", 200, 4, 100_000},
		{"one worker", 50, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var seen []int64
			r := Run(tc.n, tc.workers, tc.rate, func(seq int64) {
				mu.Lock()
				seen = append(seen, seq)
				mu.Unlock()
			})
			slices.Sort(seen)
			want := make([]int64, tc.n)
			for i := range want {
				want[i] = int64(i) + 1
			}
			require.Equal(t, want, seen, "each operation number from 1 to n exactly once")
			require.Len(t, r.Latencies, tc.n)
			require.True(t, slices.IsSorted(r.Latencies))
			require.Equal(t, tc.n, r.N)
		})
	}
}

func TestPercentile(t *testing.T) {
	lat := make([]time.Duration, 100)
	for i := range lat {
		lat[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, tc := range []struct {
		p    int
		want time.Duration
	}{{50, 51 * time.Millisecond}, {99, 100 * time.Millisecond}, {100, 100 * time.Millisecond}, {0, time.Millisecond}} {
		require.Equal(t, tc.want, Result{Latencies: lat}.Percentile(tc.p), "p%d", tc.p)
	}
	require.Zero(t, Result{}.Percentile(99))
}
