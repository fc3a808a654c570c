package loadtest

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// exactQuantile is the ceil(q*n)-th smallest value, the definition
// Histogram.Quantile approximates.
func exactQuantile(sorted []time.Duration, q float64) time.Duration {
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}

func TestHistogramQuantilesWithinOnePercent(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	vals := make([]time.Duration, 0, 200_000)
	for i := 0; i < 200_000; i++ {
		// Log-uniform from 1 µs to 60 s: every bucket size gets used.
		v := time.Duration(math.Exp(math.Log(1e3) + rng.Float64()*(math.Log(60e9)-math.Log(1e3))))
		vals = append(vals, v)
		h.Record(v)
	}
	sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
	for _, q := range []float64{0.001, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999} {
		exact := exactQuantile(vals, q)
		got := h.Quantile(q)
		assert.GreaterOrEqual(t, got, exact, "q=%v never below the exact value", q)
		assert.LessOrEqual(t, float64(got-exact)/float64(exact), 0.01, "q=%v: got %v, exact %v", q, got, exact)
	}
	assert.Equal(t, vals[0], h.Min())
	assert.Equal(t, vals[len(vals)-1], h.Max())
	assert.Equal(t, uint64(len(vals)), h.Count())
	assert.Equal(t, vals[len(vals)-1], h.Quantile(1))
}

func TestHistogramKnownValues(t *testing.T) {
	var h Histogram
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.9, 900 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {0.999, 999 * time.Millisecond}} {
		got := h.Quantile(tc.q)
		assert.InEpsilon(t, float64(tc.want), float64(got), 0.01, "q=%v", tc.q)
	}
	assert.InEpsilon(t, float64(500500*time.Microsecond), float64(h.Mean()), 1e-9)
}

func TestHistogramBucketsCoverEveryValue(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	check := func(v int64) {
		i := histIndex(v)
		require.True(t, i >= 0 && i < histBuckets, "index %d of %d", i, v)
		lo, hi := histLowest(i), histHighest(i)
		require.True(t, lo <= v && v <= hi, "%d not in bucket %d [%d, %d]", v, i, lo, hi)
		if v >= histSubCount {
			require.LessOrEqual(t, float64(hi-lo+1)/float64(lo), 1.0/128+1e-12, "bucket %d too wide", i)
		}
	}
	for v := int64(0); v < 5000; v++ {
		check(v)
	}
	for i := 0; i < 20_000; i++ {
		check(rng.Int64N(int64(HistogramMax)) + 1)
	}
	check(int64(HistogramMax))
	// Adjacent buckets tile the range without gaps.
	for i := 1; i < histBuckets; i++ {
		require.Equal(t, histHighest(i-1)+1, histLowest(i), "gap before bucket %d", i)
	}
}

func TestHistogramClampsOutOfRange(t *testing.T) {
	var h Histogram
	h.Record(-time.Second)
	h.Record(2 * time.Minute)
	assert.Equal(t, time.Duration(0), h.Min())
	assert.Equal(t, 2*time.Minute, h.Max(), "the exact maximum is kept")
	assert.LessOrEqual(t, h.Quantile(0.99), 2*time.Minute)
	assert.GreaterOrEqual(t, h.Quantile(0.99), HistogramMax-HistogramMax/100)
	var empty Histogram
	assert.Zero(t, empty.Quantile(0.99))
	assert.Zero(t, empty.Mean())
}

func TestHistogramMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var a, b, all Histogram
	for i := 0; i < 50_000; i++ {
		v := time.Duration(rng.ExpFloat64() * float64(time.Millisecond))
		all.Record(v)
		if i%3 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
	}
	var m Histogram
	m.Merge(&a)
	m.Merge(&b)
	m.Merge(&Histogram{}) // merging an empty histogram changes nothing
	assert.Equal(t, all.counts, m.counts)
	assert.Equal(t, all.Count(), m.Count())
	assert.Equal(t, all.Min(), m.Min())
	assert.Equal(t, all.Max(), m.Max())
	assert.InEpsilon(t, float64(all.Mean()), float64(m.Mean()), 1e-9)
	for _, q := range []float64{0.5, 0.99, 0.999} {
		assert.Equal(t, all.Quantile(q), m.Quantile(q))
	}
}

func TestHistogramRecordDoesNotAllocate(t *testing.T) {
	var h Histogram
	d := 1234 * time.Microsecond
	allocs := testing.AllocsPerRun(1000, func() {
		h.Record(d)
		d += 7 * time.Microsecond
	})
	assert.Zero(t, allocs)
}

func TestHistogramJSONRoundTrip(t *testing.T) {
	var h Histogram
	for i := 0; i < 1000; i++ {
		h.Record(time.Duration(i*i) * time.Microsecond)
	}
	b, err := json.Marshal(&h)
	require.NoError(t, err)
	var back Histogram
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, h, back)
	require.Error(t, json.Unmarshal([]byte(`{"buckets":[[99999,1]],"count":1}`), &back))
	require.Error(t, json.Unmarshal([]byte(`{"buckets":[[1,1]],"count":2}`), &back))
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h Histogram
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.Record(time.Duration(i&0xFFFFF) * time.Microsecond)
	}
}
