package metrics_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/iso"
	"github.com/ledgersim/ledgersim/metrics"
)

// TestISOCloseReasonsExportedFromTheStart: every reason a connection can
// be closed for is a series at zero before anything happened, so a
// dashboard shows 0 rather than no data; each close counts under its own
// reason, and refusals have their own counter.
func TestISOCloseReasonsExportedFromTheStart(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	require.NoError(t, err)
	reasons := iso.CloseReasons()
	series := func() map[string]float64 {
		fams, err := reg.Gather()
		require.NoError(t, err)
		out := map[string]float64{}
		for _, f := range fams {
			switch f.GetName() {
			case "ledgersim_iso_frame_errors_total":
				for _, s := range f.GetMetric() {
					out[s.GetLabel()[0].GetValue()] = s.GetCounter().GetValue()
				}
			case "ledgersim_iso_connections_refused_total":
				out["refused"] = f.GetMetric()[0].GetCounter().GetValue()
			}
		}
		return out
	}
	start := series()
	require.Len(t, start, len(reasons)+1, "every reason and the refusals, before anything happened: %v", start)

	o := m.ISO()
	o.FrameError(iso.ReasonFrameTimeout)
	o.FrameError(iso.ReasonFrameTimeout)
	o.FrameError(iso.ReasonWriteTimeout)
	o.ConnRefused()
	got := series()
	for _, r := range reasons {
		want := 0.0
		switch r {
		case iso.ReasonFrameTimeout:
			want = 2
		case iso.ReasonWriteTimeout:
			want = 1
		}
		assert.Equal(t, want, got[r], r)
	}
	assert.Equal(t, 1.0, got["refused"])
}
