package metrics_test

import (
	"encoding/json"
	"os"
	"regexp"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/faults"
	"github.com/ledgersim/ledgersim/metrics"
)

// TestDashboardUsesExportedMetrics keeps the Grafana dashboard honest: every
// ledgersim_ series it queries is one the server registers, and has a
// series from the start (a labelled family with no series yet would show
// "No data" until its first event).
func TestDashboardUsesExportedMetrics(t *testing.T) {
	raw, err := os.ReadFile("../dashboards/ledgersim.json")
	require.NoError(t, err)
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(raw, &dash))
	require.NotEmpty(t, dash.Panels)

	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	require.NoError(t, err)
	// What the server does at start: the routes' series, and the fault
	// rules' counter on the same registry.
	m.HTTPRoutes([]string{"GET /healthz", "POST /v1/users"})
	_, err = faults.New(faults.Config{Registerer: reg})
	require.NoError(t, err)
	fams, err := reg.Gather()
	require.NoError(t, err)
	known := map[string]bool{}
	for _, f := range fams {
		known[f.GetName()] = true
	}
	name := regexp.MustCompile(`ledgersim_[a-z_]+`)
	suffix := regexp.MustCompile(`_(bucket|sum|count)$`)
	for _, p := range dash.Panels {
		require.NotEmpty(t, p.Targets, p.Title)
		for _, tg := range p.Targets {
			for _, n := range name.FindAllString(tg.Expr, -1) {
				base := n
				if !known[base] {
					base = suffix.ReplaceAllString(n, "")
				}
				require.True(t, known[base], "panel %q queries %s, which the server does not export", p.Title, n)
			}
		}
	}
}
