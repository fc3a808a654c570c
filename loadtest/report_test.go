package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/iso"
)

// shortResult is a real result of a short run against EchoSink.
func shortResult(t *testing.T) *Result {
	t.Helper()
	sink, err := NewEchoSink("127.0.0.1:0", iso.Binary2)
	require.NoError(t, err)
	defer sink.Close()
	res, err := Run(context.Background(), Config{
		Target: sink.Addr(), Conns: 2, Rate: 1000, Duration: 700 * time.Millisecond, Warmup: 500 * time.Millisecond, Cards: SyntheticCards(5, 1),
	}, nil)
	require.NoError(t, err)
	require.NotEmpty(t, res.Approvals)
	return res
}

func TestReportOutput(t *testing.T) {
	t.Parallel()
	res := shortResult(t)

	t.Run("result JSON round-trips", func(t *testing.T) {
		b, err := json.Marshal(res)
		require.NoError(t, err)
		var back Result
		require.NoError(t, json.Unmarshal(b, &back))
		assert.Equal(t, *res, back)
	})

	t.Run("series covers every second", func(t *testing.T) {
		require.GreaterOrEqual(t, len(res.Series), 2, "1.2 s of run")
		assert.True(t, res.Series[0].Warmup)
		assert.False(t, res.Series[1].Warmup)
		assert.Positive(t, res.Series[0].P99)
		var offered, replies int64
		for i, s := range res.Series {
			assert.Equal(t, i, s.Second)
			offered += s.Offered
			replies += s.Replies
		}
		assert.InDelta(t, 1200, offered, 2, "the series counts warmup and measured requests")
		assert.Equal(t, offered, replies)
		assert.InDelta(t, 700, res.Offered, 2, "the result counts the measured part only")
	})

	t.Run("HTML is self-contained and carries the series", func(t *testing.T) {
		var buf bytes.Buffer
		require.NoError(t, WriteHTML(&buf, res))
		page := buf.String()
		assert.NotRegexp(t, regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?\s*(https?:)?//`), page, "no external resources")
		assert.NotContains(t, page, "http://")
		assert.NotContains(t, page, "https://")
		assert.Contains(t, page, "<svg")
		assert.Equal(t, 5, strings.Count(page, "<polyline"), "p50, p99, offered, achieved, failures")
		m := regexp.MustCompile(`(?s)<script type="application/json" id="series">(.*?)</script>`).FindStringSubmatch(page)
		require.Len(t, m, 2, "the series is embedded as JSON")
		var series []SecondStats
		require.NoError(t, json.Unmarshal([]byte(m[1]), &series))
		assert.Equal(t, res.Series, series)
		for _, c := range SyntheticCards(5, 1) {
			assert.NotContains(t, page, c.PAN)
		}
	})

	t.Run("WriteReport", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "out")
		require.NoError(t, WriteReport(dir, res))
		b, err := os.ReadFile(filepath.Join(dir, ReportJSON))
		require.NoError(t, err)
		var summary Result
		require.NoError(t, json.Unmarshal(b, &summary))
		assert.Empty(t, summary.Approvals, "approvals go to their own file")
		assert.Equal(t, res.Replies, summary.Replies)
		b, err = os.ReadFile(filepath.Join(dir, ApprovalsJSON))
		require.NoError(t, err)
		var approvals []Approval
		require.NoError(t, json.Unmarshal(b, &approvals))
		assert.Equal(t, res.Approvals, approvals)
		_, err = os.Stat(filepath.Join(dir, ReportHTML))
		require.NoError(t, err)
	})

	t.Run("text summary", func(t *testing.T) {
		var buf bytes.Buffer
		res.WriteText(&buf)
		for _, want := range []string{"p50", "p90", "p99 ", "p99.9", "max", "replies", "timeouts", "codes: 00="} {
			assert.Contains(t, buf.String(), want)
		}
	})
}

func TestMaxFindsTheCeilingOnAFastHost(t *testing.T) {
	t.Parallel()
	sink, err := NewEchoSink("127.0.0.1:0", iso.Binary2)
	require.NoError(t, err)
	defer sink.Close()
	var progress bytes.Buffer
	mr, err := Max(context.Background(), Config{
		Target: sink.Addr(), Conns: 1, Duration: 150 * time.Millisecond, Cards: SyntheticCards(3, 1),
		Search: SearchConfig{StartRate: 200, CeilingRate: 800, Pause: 10 * time.Millisecond},
	}, time.Second, &progress)
	require.NoError(t, err)
	assert.Equal(t, 800.0, mr.RatePerSec)
	require.Len(t, mr.Trials, 3, "200, 400, 800")
	for _, tr := range mr.Trials {
		assert.True(t, tr.Pass, "%+v", tr)
	}
	require.NotNil(t, mr.Best)
	assert.Equal(t, 800.0, mr.Best.RatePerSec)
	assert.Equal(t, StopCeiling, mr.Stop)
	assert.Equal(t, 3, strings.Count(progress.String(), "trial"))
}

func TestMaxSearchesDownWhenNothingPasses(t *testing.T) {
	t.Parallel()
	sink, err := NewStallSink("127.0.0.1:0", iso.Binary2)
	require.NoError(t, err)
	defer sink.Close()
	sink.Stall(time.Hour) // nothing passes
	mr, err := Max(context.Background(), Config{
		Target: sink.Addr(), Conns: 1, Duration: 100 * time.Millisecond, Timeout: 20 * time.Millisecond,
		Cards:  SyntheticCards(3, 1),
		Search: SearchConfig{StartRate: 400, FloorRate: 20, Factor: 4, Pause: time.Millisecond},
	}, time.Second, nil)
	require.NoError(t, err)
	assert.Zero(t, mr.RatePerSec)
	assert.Nil(t, mr.Best)
	var rates []float64
	for _, tr := range mr.Trials {
		rates = append(rates, tr.RatePerSec)
		assert.Contains(t, tr.Reason, "timeouts")
	}
	// Quartering down to the floor, trying the floor itself, and stopping
	// there rather than going on towards one request per second.
	assert.Equal(t, []float64{400, 100, 25, 20}, rates)
	assert.Equal(t, StopFloor, mr.Stop)
	assert.Equal(t, 20.0, mr.FloorRate)

	_, err = Max(context.Background(), Config{Target: sink.Addr(), Cards: SyntheticCards(1, 1)}, 0, nil)
	assert.Error(t, err)
}

func TestMaxSearchSteps(t *testing.T) {
	// A host that keeps its p99 under the bound up to 3000/s.
	s := &search{cfg: SearchConfig{StartRate: 1000, CeilingRate: 1e6, Factor: 2, Resolution: 0.05}.withDefaults(1000, 5*time.Second), rate: 1000}
	var tried []float64
	for i := 0; i < 20; i++ {
		tried = append(tried, s.rate)
		if stop := s.next(s.rate <= 3000); stop != "" {
			assert.Equal(t, StopResolved, stop)
			break
		}
	}
	// Doubling until the first failure, then bisecting between 2000 and
	// 4000 until the gap is within 5% of the passing rate.
	assert.Equal(t, []float64{1000, 2000, 4000, 3000, 3500, 3250, 3125}, tried)
	assert.Equal(t, 3000.0, s.lo)
	assert.Equal(t, 3125.0, s.hi)

	// The ceiling ends an upward search.
	s = &search{cfg: SearchConfig{CeilingRate: 3000, Factor: 2, Resolution: 0.05}, rate: 1000}
	assert.Empty(t, s.next(true))
	assert.Empty(t, s.next(true))
	assert.Equal(t, 3000.0, s.rate)
	assert.Equal(t, StopCeiling, s.next(true))

	// The floor ends a downward search, after trying the floor itself.
	s = &search{cfg: SearchConfig{FloorRate: 300, Factor: 2, Resolution: 0.05}, rate: 1000}
	assert.Empty(t, s.next(false))
	assert.Equal(t, 500.0, s.rate)
	assert.Empty(t, s.next(false))
	assert.Equal(t, 300.0, s.rate)
	assert.Equal(t, StopFloor, s.next(false))

	// A pass at the floor turns the search into a bisection above it.
	s = &search{cfg: SearchConfig{FloorRate: 300, Factor: 2, Resolution: 0.05}, rate: 500}
	assert.Empty(t, s.next(false))
	assert.Empty(t, s.next(true))
	assert.Equal(t, 400.0, s.rate)
}

func TestMaxSearchDefaults(t *testing.T) {
	tests := []struct {
		name      string
		search    SearchConfig
		rate      float64
		window    time.Duration
		wantFloor float64
		wantErr   bool
	}{
		{"a 5 s window holds 1,000 requests at 200/s", SearchConfig{}, 500, 5 * time.Second, 200, false},
		{"a 20 s window at 50/s", SearchConfig{}, 500, 20 * time.Second, 50, false},
		{"never above the start", SearchConfig{}, 100, time.Second, 100, false},
		{"never below 1/s", SearchConfig{}, 500, 1 * time.Hour, 1, false},
		{"an explicit floor stands", SearchConfig{FloorRate: 10}, 500, 5 * time.Second, 10, false},
		{"an explicit floor above the start is refused", SearchConfig{FloorRate: 600}, 500, 5 * time.Second, 600, true},
		{"an explicit floor below 1/s is refused", SearchConfig{FloorRate: 0.5}, 500, 5 * time.Second, 0.5, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.search.withDefaults(tt.rate, tt.window)
			assert.Equal(t, tt.wantFloor, s.FloorRate)
			if tt.wantErr {
				assert.ErrorContains(t, s.validate(), "FloorRate")
			} else {
				assert.NoError(t, s.validate())
			}
		})
	}
}

func TestJudge(t *testing.T) {
	// judge's verdicts, which steer the bisection.
	ok := &Result{Replies: 10, Latency: Percentiles{P99: time.Millisecond}}
	assert.True(t, judge(ok, 1, 2*time.Millisecond).Pass)
	slow := &Result{Replies: 10, Latency: Percentiles{P99: 3 * time.Millisecond}}
	assert.Contains(t, judge(slow, 1, 2*time.Millisecond).Reason, "p99")
	lossy := &Result{Replies: 10, Errors: 1}
	assert.Contains(t, judge(lossy, 1, 2*time.Millisecond).Reason, "errors")
}
