package server_test

import (
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/testenv"
	"github.com/ledgersim/ledgersim/iso"
	"github.com/ledgersim/ledgersim/server"
)

// metricValue finds one sample in the server's registry by name and labels.
func metricValue(t *testing.T, e *testenv.Env, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	fams, err := e.Server.Registry().Gather()
	require.NoError(t, err)
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			return sampleValue(f.GetType(), m), true
		}
	}
	return 0, false
}

func sampleValue(typ dto.MetricType, m *dto.Metric) float64 {
	switch typ {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue()
	case dto.MetricType_HISTOGRAM:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return 0
}

func TestMetricsAfterKnownTraffic(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	_, agentID, _ := e.Funded("m@example.com", 10000)
	card := e.RawCard(agentID, nil)
	// RawCard declared an intent to read the card; cancel it so that only
	// the one below is pending.
	for _, it := range e.Must(200, "GET", "/v1/cards/"+card.ID+"/intents?status=pending", nil).JSON["intents"].([]any) {
		e.Must(200, "POST", "/v1/intents/"+it.(map[string]any)["id"].(string)+"/cancel", nil)
	}
	e.Must(201, "POST", "/v1/cards/"+card.ID+"/intents", map[string]any{"intentId": "m-1", "summary": "coffee", "expectedAmount": 300, "expectedMerchant": "Blue Bottle"})

	c, err := testenv.DialISO(e.Server.ISOAddr())
	require.NoError(t, err)
	defer c.Close()
	call := func(r *iso.Request) *iso.Reply {
		rep, err := c.Call(r, 10*time.Second)
		require.NoError(t, err)
		return rep
	}
	require.Equal(t, "00", call(testenv.AuthRequest(card, c.NextSTAN(), "000000000001", 300, "MID000000000001", "SQ *BLUE BOTTLE")).Code)
	require.Equal(t, "00", call(testenv.AuthRequest(card, c.NextSTAN(), "000000000002", 200, "MID000000000001", "SQ *BLUE BOTTLE")).Code)
	require.Equal(t, "51", call(testenv.AuthRequest(card, c.NextSTAN(), "000000000003", 999999, "MID000000000001", "SQ *BLUE BOTTLE")).Code)
	bad := testenv.AuthRequest(card, c.NextSTAN(), "000000000004", 100, "MID000000000001", "SQ *BLUE BOTTLE")
	bad.PAN = "4111111111111112"
	require.Equal(t, "14", call(bad).Code)

	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"ledgersim_iso_messages_total", map[string]string{"mti": "0100", "code": "00"}, 2},
		{"ledgersim_iso_messages_total", map[string]string{"mti": "0100", "code": "51"}, 1},
		{"ledgersim_iso_messages_total", map[string]string{"mti": "0100", "code": "14"}, 1},
		{"ledgersim_iso_messages_total", map[string]string{"mti": "0200", "code": "00"}, 0},
		{"ledgersim_iso_decision_duration_seconds", nil, 4},
		{"ledgersim_iso_connections", nil, 1},
		{"ledgersim_iso_connections_total", nil, 1},
		{"ledgersim_iso_inflight_requests", nil, 0},
		{"ledgersim_matcher_outcomes_total", map[string]string{"outcome": "matched"}, 1},
		{"ledgersim_matcher_outcomes_total", map[string]string{"outcome": "none"}, 1},
		{"ledgersim_matcher_outcomes_total", map[string]string{"outcome": "mismatched"}, 0},
		{"ledgersim_http_requests_total", map[string]string{"route": "POST /v1/users", "status": "201"}, 1},
		{"ledgersim_http_requests_total", map[string]string{"route": "POST /v1/agents/register", "status": "201"}, 1},
		{"ledgersim_http_request_duration_seconds", map[string]string{"route": "POST /v1/cards/{id}/details"}, 1},
	}
	for _, ck := range checks {
		v, ok := metricValue(t, e, ck.name, ck.labels)
		require.True(t, ok, "%s %v missing", ck.name, ck.labels)
		require.Equal(t, ck.want, v, "%s %v", ck.name, ck.labels)
	}
	// Both histograms from one gather: the decision log syncs in the
	// background, so two gathers may see different counts.
	fams, err := e.Server.Registry().Gather()
	require.NoError(t, err)
	counts, sums := map[string]uint64{}, map[string]float64{}
	for _, f := range fams {
		if n := f.GetName(); n == "ledgersim_decisionlog_sync_duration_seconds" || n == "ledgersim_decisionlog_sync_records" {
			h := f.GetMetric()[0].GetHistogram()
			counts[n], sums[n] = h.GetSampleCount(), h.GetSampleSum()
		}
	}
	require.GreaterOrEqual(t, sums["ledgersim_decisionlog_sync_records"], float64(10), "every change is a decision record, made durable by a sync")
	require.GreaterOrEqual(t, counts["ledgersim_decisionlog_sync_duration_seconds"], uint64(1))
	require.Equal(t, counts["ledgersim_decisionlog_sync_duration_seconds"], counts["ledgersim_decisionlog_sync_records"])

	// The exposition is served without a key, and holds no card data.
	r := e.Must(200, "GET", "/metrics", nil, "Api-Key", "")
	body := string(r.Body)
	for _, name := range []string{"ledgersim_iso_messages_total", "ledgersim_iso_decision_duration_seconds_bucket",
		"ledgersim_decisionlog_sync_duration_seconds", "ledgersim_http_requests_total", "go_goroutines"} {
		require.Contains(t, body, name)
	}
	require.NotContains(t, body, card.PAN)
	require.NotContains(t, body, card.ID, "routes are labelled by pattern, not by path")
	require.False(t, strings.Contains(body, testenv.APIKey))
}
