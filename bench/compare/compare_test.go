package compare

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/iso"
	"github.com/ledgersim/ledgersim/loadtest"
)

func TestCommonRate(t *testing.T) {
	t.Parallel()
	r, ok := CommonRate([]float64{6000, 25000, 1500}, 0.5)
	assert.True(t, ok)
	assert.Equal(t, 750.0, r, "half the lowest maximum")
	r, ok = CommonRate([]float64{0, 999, 0}, 0.5)
	assert.True(t, ok)
	assert.Equal(t, 499.0, r, "zeros are targets without a maximum; rounded down")
	r, ok = CommonRate([]float64{1}, 0.5)
	assert.True(t, ok)
	assert.Equal(t, 1.0, r, "at least one per second")
	_, ok = CommonRate([]float64{0, 0}, 0.5)
	assert.False(t, ok)
	_, ok = CommonRate(nil, 0.5)
	assert.False(t, ok)
}

func results() []TargetResult {
	return []TargetResult{
		{Target: Target{Name: "ledgersim", Durable: true}, MaxRatePerSec: 4000,
			Common: &Summary{P50: 2 * time.Millisecond, P99: 8 * time.Millisecond, P999: 12 * time.Millisecond, Approvals: 900}},
		{Target: Target{Name: "moovhost"}, MaxRatePerSec: 20000,
			Common: &Summary{P50: time.Millisecond, P99: 2 * time.Millisecond, P999: 3 * time.Millisecond, Approvals: 901}},
		{Target: Target{Name: "postgres", Durable: true}, MaxRatePerSec: 1000,
			Common: &Summary{P50: 4 * time.Millisecond, P99: 32 * time.Millisecond, P999: 40 * time.Millisecond, Approvals: 899, Timeouts: 3}},
		{Target: Target{Name: "down"}, Error: "connection refused"},
	}
}

func TestComputeRatios(t *testing.T) {
	t.Parallel()
	rs := ComputeRatios(results())
	require.Len(t, rs, 4)
	assert.Equal(t, Ratios{Name: "ledgersim", MaxRate: 1, P99: 1, P50: 1}, rs[0])
	assert.InDelta(t, 5.0, float64(rs[1].MaxRate), 1e-9)
	assert.InDelta(t, 0.25, float64(rs[1].P99), 1e-9)
	assert.InDelta(t, 0.5, float64(rs[1].P50), 1e-9)
	assert.InDelta(t, 0.25, float64(rs[2].MaxRate), 1e-9)
	assert.InDelta(t, 4.0, float64(rs[2].P99), 1e-9)
	assert.True(t, math.IsNaN(float64(rs[3].MaxRate)), "no maximum: no ratio")
	assert.True(t, math.IsNaN(float64(rs[3].P99)), "no common run: no ratio")

	// A baseline without a maximum gives no ratios at all.
	ts := results()
	ts[0].MaxRatePerSec, ts[0].Common = 0, nil
	for _, r := range ComputeRatios(ts) {
		assert.True(t, math.IsNaN(float64(r.MaxRate)))
		assert.True(t, math.IsNaN(float64(r.P99)))
	}
	assert.Nil(t, ComputeRatios(nil))
}

func TestComputeStandings(t *testing.T) {
	t.Parallel()
	st := ComputeStandings(results(), map[string]float64{"moovhost": 0.1, "postgres": 20})
	require.Len(t, st, 3, "every target but the baseline")
	assert.Equal(t, "moovhost", st[0].Name)
	assert.InDelta(t, 0.2, float64(st[0].Ratio), 1e-9, "the baseline's maximum over the target's")
	require.NotNil(t, st[0].Met)
	assert.True(t, *st[0].Met)
	assert.InDelta(t, 4.0, float64(st[1].Ratio), 1e-9)
	require.NotNil(t, st[1].Met)
	assert.False(t, *st[1].Met)
	assert.True(t, math.IsNaN(float64(st[2].Ratio)), "no maximum: no ratio")
	assert.Nil(t, st[2].Met, "no goal, no verdict")
	assert.Nil(t, ComputeStandings(nil, nil))
	b, err := json.Marshal(st)
	require.NoError(t, err)
	assert.Contains(t, string(b), `{"name":"down","ratio":null}`)
}

func TestRatioJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(Ratios{Name: "x", MaxRate: 2.5, P99: Ratio(math.NaN()), P50: 0.5})
	require.NoError(t, err)
	assert.JSONEq(t, `{"name":"x","maxRate":2.5,"p99":null,"p50":0.5}`, string(b))
	var back Ratios
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, Ratio(2.5), back.MaxRate)
	assert.True(t, math.IsNaN(float64(back.P99)))
}

func TestWriteTable(t *testing.T) {
	t.Parallel()
	rep := &Report{Bound: 10 * time.Millisecond, CommonRatePerSec: 500, CommonRateRule: "0.5 x the lowest maximum",
		Mix: loadtest.DefaultMix.String(), Cards: 200, Conns: 4, Baseline: "ledgersim", Targets: results()}
	rep.Ratios = ComputeRatios(rep.Targets)
	rep.Standings = ComputeStandings(rep.Targets, map[string]float64{"moovhost": 3, "postgres": 2, "down": 1})
	rep.Targets[0].Common.ServerCPUMicros, rep.Targets[0].Common.GeneratorCPUMicros = 45.25, 9.5
	var buf bytes.Buffer
	rep.WriteTable(&buf)
	out := buf.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2+1+4+1+3+1, out)
	assert.Contains(t, lines[0], "p99 bound 10ms; common rate 500/s")
	assert.Regexp(t, `target\s+durable\s+max rate\s+x max\s+p50\s+p99\s+p99\.9\s+x p99`, lines[2])
	assert.Regexp(t, `ledgersim\s+yes\s+4000/s\s+1\.00x\s+2\.00ms\s+8\.00ms\s+12\.00ms\s+1\.00x\s+900`, lines[3])
	assert.Regexp(t, `moovhost\s+no\s+20000/s\s+5\.00x\s+1\.00ms\s+2\.00ms\s+3\.00ms\s+0\.25x\s+901`, lines[4])
	assert.Regexp(t, `postgres\s+yes\s+1000/s\s+0\.25x\s+4\.00ms\s+32\.00ms\s+40\.00ms\s+4\.00x\s+899\s+0\s+3\s+0`, lines[5])
	assert.Regexp(t, `down\s+no\s+none\s+-\s+-\s+-\s+-\s+-`, lines[6])
	assert.Regexp(t, `ledgersim .*\s+45\.2\s+9\.5\s*$`, lines[3], "CPU per message of the host and the generator")
	assert.Regexp(t, `moovhost .*\s+-\s+-\s*$`, lines[4], "not measured")
	assert.Equal(t, "highest rate with p99 <= 10ms: ledgersim 4000/s; moovhost 20000/s; postgres 1000/s; down none", lines[7])
	assert.Equal(t, "ledgersim / moovhost: 0.20x (goal >= 3x: not met)", lines[8])
	assert.Equal(t, "ledgersim / postgres: 4.00x (goal >= 2x: met)", lines[9])
	assert.Equal(t, "ledgersim / down: - (goal >= 1x: no figure)", lines[10])
	assert.Equal(t, "down: connection refused", lines[11])
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	s := Summarize(&loadtest.Result{RatePerSec: 100, Errors: 2, DecodeErrors: 1, Timeouts: 4, Unexpected: 5,
		Codes: map[string]int64{"00": 90, "51": 3}, Latency: loadtest.Percentiles{P99: time.Millisecond}})
	assert.Equal(t, int64(90), s.Approvals)
	assert.Equal(t, int64(3), s.Errors, "connection and decode errors")
	assert.Equal(t, int64(4), s.Timeouts)
	assert.Equal(t, time.Millisecond, s.P99)
}

// TestRunAgainstSinks runs the whole comparison, briefly, against two
// zero-work sinks and a target that refuses connections.
func TestRunAgainstSinks(t *testing.T) {
	t.Parallel()
	a, err := loadtest.NewEchoSink("127.0.0.1:0", iso.Binary2)
	require.NoError(t, err)
	defer a.Close()
	b, err := loadtest.NewEchoSink("127.0.0.1:0", iso.Binary2)
	require.NoError(t, err)
	defer b.Close()

	var progress bytes.Buffer
	rep, err := Run(context.Background(), Options{
		Targets: []Target{{Name: "a", Addr: a.Addr()}, {Name: "b", Addr: b.Addr()}, {Name: "down", Addr: "127.0.0.1:1"}},
		Cards:   loadtest.SyntheticCards(10, 1), Conns: 1,
		Bound: time.Second, StartRate: 100, CeilingRate: 200, MaxTrials: 2,
		TrialWarmup: 10 * time.Millisecond, TrialDuration: 100 * time.Millisecond, Pause: time.Millisecond,
		CommonWarmup: 10 * time.Millisecond, CommonDuration: 100 * time.Millisecond,
		Progress: &progress,
	})
	require.NoError(t, err)
	require.Len(t, rep.Targets, 3)
	for _, tr := range rep.Targets[:2] {
		assert.Equal(t, 200.0, tr.MaxRatePerSec, "%s: both trials pass against a sink", tr.Name)
		require.NotNil(t, tr.Common, tr.Name)
		assert.Positive(t, tr.Common.Replies)
	}
	assert.Equal(t, 100.0, rep.CommonRatePerSec, "half the lowest maximum")
	assert.NotEmpty(t, rep.Targets[2].Error, "the refused target is reported, not fatal")
	assert.Nil(t, rep.Targets[2].Common)
	assert.Equal(t, "a", rep.Baseline)
	require.Len(t, rep.Ratios, 3)
	assert.Equal(t, Ratio(1), rep.Ratios[1].MaxRate)
	require.Len(t, rep.Standings, 2)
	assert.Equal(t, Ratio(1), rep.Standings[0].Ratio)
	// The sinks run in this process, found by their listening port: the
	// host's CPU per message is read from /proc where there is one.
	if _, err := os.Stat("/proc/self/stat"); err == nil {
		assert.Positive(t, rep.Targets[0].Common.GeneratorCPUMicros)
	}
	_, err = json.Marshal(rep)
	assert.NoError(t, err)

	_, err = Run(context.Background(), Options{Cards: loadtest.SyntheticCards(1, 1)})
	assert.Error(t, err, "no targets")
	_, err = Run(context.Background(), Options{Targets: []Target{{Name: "a", Addr: a.Addr()}, {Name: "a", Addr: b.Addr()}},
		Cards: loadtest.SyntheticCards(1, 1)})
	assert.Error(t, err, "names must be unique")
}

func TestBusyWarning(t *testing.T) {
	t.Parallel()
	assert.False(t, busy(""))
	assert.False(t, busy("0.00 0.10 0.20"))
	assert.True(t, busy("1000.5 1.0 1.0"))
	rep := &Report{Baseline: "a", LoadAvgBefore: "1000.0 1 1", LoadAvgAfter: "0.1 0.1 0.1"}
	var buf bytes.Buffer
	rep.WriteTable(&buf)
	assert.Contains(t, buf.String(), "warning: the machine was busy")
}
