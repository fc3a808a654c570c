package loadtest

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConstantArrivalsAreEvenlySpaced(t *testing.T) {
	const rate, conns = 1000.0, 4
	var all []int64
	for i := 0; i < conns; i++ {
		s := newSchedule(Constant, rate, i, conns, rand.New(rand.NewPCG(1, 1)))
		for k := 0; k < 250; k++ {
			want := int64(i)*1_000_000 + int64(k)*4_000_000 // connection i of 4 at 1000/s: every 4 ms from i ms
			require.Equal(t, want, s.peek(), "conn %d request %d", i, k)
			all = append(all, s.peek())
			s.advance()
		}
	}
	// Interleaved, the connections form one stream due every millisecond.
	sort.Slice(all, func(a, b int) bool { return all[a] < all[b] })
	for k, due := range all {
		assert.Equal(t, int64(k)*1_000_000, due)
	}
}

func TestConstantArrivalsDoNotDrift(t *testing.T) {
	// 3/s does not divide a second evenly; due times are computed, not
	// summed, so the millionth is still where it should be.
	s := newSchedule(Constant, 3, 0, 1, nil)
	for k := 0; k < 1_000_000; k++ {
		s.advance()
	}
	assert.InDelta(t, 1e6*1e9/3, float64(s.peek()), 1)
}

func TestPoissonArrivalsHaveTheRightMean(t *testing.T) {
	const rate, conns, n = 2000.0, 2, 100_000
	s := newSchedule(Poisson, rate, 0, conns, rand.New(rand.NewPCG(42, 7)))
	wantMean := float64(conns) * 1e9 / rate // 1 ms per connection
	var gaps []float64
	prev := int64(0)
	for k := 0; k < n; k++ {
		d := s.peek()
		gaps = append(gaps, float64(d-prev))
		prev = d
		s.advance()
	}
	var sum, sq float64
	for _, g := range gaps {
		sum += g
	}
	mean := sum / n
	for _, g := range gaps {
		sq += (g - mean) * (g - mean)
	}
	std := math.Sqrt(sq / n)
	// With 100,000 exponential gaps the mean's standard error is 0.3%;
	// 3% is wide enough never to flake with this (fixed) seed, and narrow
	// enough to catch a wrong rate or a per-connection split.
	assert.InEpsilon(t, wantMean, mean, 0.03)
	// An exponential distribution's standard deviation equals its mean;
	// constant gaps would have none.
	assert.InEpsilon(t, wantMean, std, 0.05)

	// The same seed gives the same schedule.
	a := newSchedule(Poisson, rate, 0, conns, rand.New(rand.NewPCG(42, 7)))
	b := newSchedule(Poisson, rate, 0, conns, rand.New(rand.NewPCG(42, 7)))
	for k := 0; k < 1000; k++ {
		require.Equal(t, a.peek(), b.peek())
		a.advance()
		b.advance()
	}
}

func TestParseArrivals(t *testing.T) {
	a, err := ParseArrivals("poisson")
	require.NoError(t, err)
	assert.Equal(t, Poisson, a)
	a, err = ParseArrivals("constant")
	require.NoError(t, err)
	assert.Equal(t, Constant, a)
	_, err = ParseArrivals("bursty")
	assert.Error(t, err)
}
