package loadtest

import (
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"time"
)

// Histogram layout. Values are nanoseconds. The first histSubCount buckets
// are one nanosecond wide; above that every power of two is split into
// histSubHalf equal buckets, so a bucket is never wider than 1/128 of its
// lowest value. Reporting a bucket's highest value therefore overstates a
// latency by less than 0.8%, and never understates it.
const (
	histSubBits  = 8
	histSubCount = 1 << histSubBits // 256 linear buckets for 0..255 ns
	histSubHalf  = histSubCount / 2 // 128 buckets per power of two above
	// HistogramMax is the largest latency a Histogram tells apart; larger
	// values are counted in the top bucket (their exact maximum is kept).
	HistogramMax = 60 * time.Second
	// histBuckets covers 0 .. HistogramMax: 60 s is below 2^36 ns, so the
	// top power of two is 2^35, shift 28.
	histBuckets = histSubCount + (36-histSubBits)*histSubHalf
)

// Histogram is an HDR-style latency histogram: log-linear buckets with a
// relative precision better than 1% from 1 µs to 60 s (and exact below
// 256 ns). Record does not allocate and costs a few nanoseconds, so it can
// sit on the reply path of a load generator; two histograms with the same
// (fixed) layout merge by adding their counts, which is how per-connection
// histograms become a run's.
//
// The zero value is an empty histogram ready to use. A Histogram is not safe
// for concurrent use; callers shard it (one per connection) and Merge.
type Histogram struct {
	counts [histBuckets]uint64
	total  uint64
	sumNs  float64 // float64: a long run's sum of int64 nanoseconds can overflow int64
	minNs  int64
	maxNs  int64
}

// histIndex returns the bucket of a value in nanoseconds, 0 <= v.
func histIndex(v int64) int {
	if v < histSubCount {
		return int(v)
	}
	if v > int64(HistogramMax) {
		v = int64(HistogramMax)
	}
	shift := bits.Len64(uint64(v)) - histSubBits // >= 1
	return histSubCount + (shift-1)*histSubHalf + int(v>>uint(shift)) - histSubHalf
}

// histLowest and histHighest are the smallest and largest values that land
// in bucket i.
func histLowest(i int) int64 {
	if i < histSubCount {
		return int64(i)
	}
	j := i - histSubCount
	shift := j/histSubHalf + 1
	return int64(j%histSubHalf+histSubHalf) << uint(shift)
}

func histHighest(i int) int64 {
	if i < histSubCount {
		return int64(i)
	}
	shift := (i-histSubCount)/histSubHalf + 1
	return histLowest(i) + int64(1)<<uint(shift) - 1
}

// Record adds one latency. Negative values count as zero; values above
// HistogramMax count in the top bucket.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	h.counts[histIndex(v)]++
	if h.total == 0 || v < h.minNs {
		h.minNs = v
	}
	if v > h.maxNs {
		h.maxNs = v
	}
	h.total++
	h.sumNs += float64(v)
}

// Merge adds every count of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.total == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.total == 0 || o.minNs < h.minNs {
		h.minNs = o.minNs
	}
	if o.maxNs > h.maxNs {
		h.maxNs = o.maxNs
	}
	h.total += o.total
	h.sumNs += o.sumNs
}

// Reset empties the histogram.
func (h *Histogram) Reset() { *h = Histogram{} }

// Count is the number of recorded values.
func (h *Histogram) Count() uint64 { return h.total }

// Min and Max are the exact smallest and largest recorded values.
func (h *Histogram) Min() time.Duration { return time.Duration(h.minNs) }

// Max is the exact largest recorded value.
func (h *Histogram) Max() time.Duration { return time.Duration(h.maxNs) }

// Mean is the exact mean of the recorded values.
func (h *Histogram) Mean() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.sumNs / float64(h.total))
}

// Quantile returns the value below or at which a fraction q (0..1) of the
// recorded values lie: the highest value of the bucket holding the
// ceil(q*n)-th smallest value, capped at the exact maximum. It is therefore
// at most 0.8% above the exact quantile and never below it. An empty
// histogram returns 0.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	if q <= 0 {
		return time.Duration(h.minNs)
	}
	if q >= 1 {
		return time.Duration(h.maxNs)
	}
	rank := uint64(math.Ceil(q * float64(h.total)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(max(histHighest(i), h.minNs), h.maxNs))
		}
	}
	return time.Duration(h.maxNs)
}

// histogramJSON is the sparse wire form of a Histogram: only non-empty
// buckets, as [index, count] pairs, so a result file can carry the full
// distribution of a run for later merging.
type histogramJSON struct {
	Buckets [][2]uint64 `json:"buckets"`
	Count   uint64      `json:"count"`
	SumNs   float64     `json:"sumNs"`
	MinNs   int64       `json:"minNs"`
	MaxNs   int64       `json:"maxNs"`
}

// MarshalJSON writes the non-empty buckets.
func (h *Histogram) MarshalJSON() ([]byte, error) {
	out := histogramJSON{Buckets: [][2]uint64{}, Count: h.total, SumNs: h.sumNs, MinNs: h.minNs, MaxNs: h.maxNs}
	for i, c := range h.counts {
		if c != 0 {
			out.Buckets = append(out.Buckets, [2]uint64{uint64(i), c})
		}
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (h *Histogram) UnmarshalJSON(b []byte) error {
	var in histogramJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*h = Histogram{}
	var total uint64
	for _, bc := range in.Buckets {
		if bc[0] >= histBuckets {
			return fmt.Errorf("loadtest: histogram bucket %d out of range", bc[0])
		}
		h.counts[bc[0]] += bc[1]
		total += bc[1]
	}
	if total != in.Count {
		return fmt.Errorf("loadtest: histogram buckets add up to %d, count says %d", total, in.Count)
	}
	h.total, h.sumNs, h.minNs, h.maxNs = in.Count, in.SumNs, in.MinNs, in.MaxNs
	return nil
}
