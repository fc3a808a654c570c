package dashboard_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/dashboard"
	"github.com/ledgersim/ledgersim/internal/testenv"
	"github.com/ledgersim/ledgersim/server"
)

// TestPageAndAssets: the page and its assets come from the binary with a
// policy that allows only its own scripts; anything else under the
// dashboard's prefix is a 404 in the API's error shape, and the API keeps
// its paths.
func TestPageAndAssets(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	r := e.Must(200, "GET", "/", nil, "Api-Key", "")
	require.Contains(t, r.Header.Get("Content-Type"), "text/html")
	require.Contains(t, string(r.Body), `src="/dashboard/assets/app.js"`)
	require.Contains(t, r.Header.Get("Content-Security-Policy"), "script-src 'self'")
	require.Equal(t, "DENY", r.Header.Get("X-Frame-Options"))

	for _, tc := range []struct{ path, ctype string }{
		{"/dashboard/assets/app.js", "javascript"},
		{"/dashboard/assets/app.css", "text/css"},
	} {
		r := e.Must(200, "GET", tc.path, nil, "Api-Key", "")
		require.Contains(t, r.Header.Get("Content-Type"), tc.ctype, tc.path)
		require.NotEmpty(t, r.Body)
	}

	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/dashboard/assets/nope.js", 404, "not_found"},
		{"GET", "/dashboard/assets/static/app.js", 404, "not_found"},
		{"GET", "/dashboard/assets/", 404, "not_found"},
		{"POST", "/", 405, "method_not_allowed"},
		{"DELETE", "/dashboard/stats", 405, "method_not_allowed"},
		{"GET", "/v1/users", 401, "missing_api_key"}, // still the API's
	} {
		r := e.Do(tc.method, tc.path, nil, "Api-Key", "")
		require.Equal(t, tc.status, r.Status, "%s %s: %s", tc.method, tc.path, r.Body)
		require.Equal(t, tc.code, r.ErrCode(), "%s %s", tc.method, tc.path)
		require.NotEmpty(t, r.Str("requestId"))
		errObj, _ := r.JSON["error"].(map[string]any)
		require.NotEmpty(t, errObj["type"])
		require.NotEmpty(t, errObj["message"])
	}
}

// TestStatsNeedsTheAPIKey: the counters are the organization's.
func TestStatsNeedsTheAPIKey(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	_, agentID, token := e.Funded("stats@example.com", 0)
	revoked := e.Must(201, "POST", "/v1/agents/"+agentID+"/tokens", map[string]any{"name": "old"})
	e.Must(200, "POST", "/v1/agents/"+agentID+"/tokens/"+revoked.Str("id")+"/revoke", nil)
	for _, tc := range []struct {
		name, key string
		status    int
		code      string
	}{
		{"no key", "", 401, "missing_api_key"},
		{"wrong key", "lk_test_not_the_key_at_all_000", 401, "invalid_api_key"},
		{"unknown agent token", "at_test_nothing", 401, "invalid_api_key"},
		{"revoked agent token", revoked.Str("token"), 401, "invalid_api_key"},
		{"agent token", token, 403, "insufficient_permissions"},
		{"API key", testenv.APIKey, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.Do("GET", "/dashboard/stats", nil, "Api-Key", tc.key)
			require.Equal(t, tc.status, r.Status, string(r.Body))
			require.Equal(t, tc.code, r.ErrCode())
		})
	}
}

// fakeNow is a wall clock the test moves.
type fakeNow struct{ t time.Time }

func (f *fakeNow) now() time.Time { return f.t }

// TestStatsCountsAuthorizations: approvals and declines through the
// simulate endpoint are counted from the event log with their reasons; the
// rate is what arrived between polls; a flood beyond the scan bound is
// reported as such rather than read whole.
func TestStatsCountsAuthorizations(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	_, agentID, _ := e.Funded("count@example.com", 10_000)
	card := e.Must(201, "POST", "/v1/agents/"+agentID+"/cards", map[string]any{"purpose": "stats", "type": "multi", "maxAmount": 5_000}).Str("id")
	auth := func(cents int64) bool {
		r := e.Must(201, "POST", "/v1/simulate/authorization", map[string]any{"cardId": card, "amount": cents, "merchantName": "SHOP"})
		return r.JSON["approved"] == true
	}
	require.True(t, auth(1_000))
	require.False(t, auth(6_000)) // over the card's maxAmount

	clk := &fakeNow{t: time.Unix(1_700_000_000, 0)}
	p := dashboard.NewPoller(e.Server.Ledger().Store(), e.Server.Ledger(), 3, 2, clk.now)
	v, err := p.Poll()
	require.NoError(t, err)
	require.EqualValues(t, 1, v.Authorized, "history read on the first poll")
	require.EqualValues(t, 1, v.Declined)
	require.Len(t, v.DeclineReasons, 1)
	reason := v.DeclineReasons[0].Reason
	require.NotEqual(t, "unspecified", reason)
	require.Zero(t, v.AuthorizedPerSec, "history is not a rate")
	require.Nil(t, v.ApprovalRatePct)

	require.True(t, auth(500))
	require.True(t, auth(500))
	require.False(t, auth(7_000))
	clk.t = clk.t.Add(2 * time.Second)
	v, err = p.Poll()
	require.NoError(t, err)
	require.EqualValues(t, 3, v.Authorized)
	require.EqualValues(t, 2, v.Declined)
	require.Equal(t, []dashboard.ReasonCount{{Reason: reason, Count: 2}}, v.DeclineReasons)
	require.InDelta(t, 1.0, v.AuthorizedPerSec, 1e-9)
	require.InDelta(t, 0.5, v.DeclinedPerSec, 1e-9)
	require.NotNil(t, v.ApprovalRatePct)
	require.InDelta(t, 66.67, *v.ApprovalRatePct, 0.01)
	require.False(t, v.Truncated)

	// A second poll inside the shared interval reads nothing new.
	require.True(t, auth(100))
	again, err := p.Poll()
	require.NoError(t, err)
	require.Equal(t, v, again)

	// Five new approvals against a bound of three (pages of two): the poll
	// stops after four and says the totals undercount.
	for range 4 {
		require.True(t, auth(100))
	}
	clk.t = clk.t.Add(time.Second)
	v, err = p.Poll()
	require.NoError(t, err)
	require.True(t, v.Truncated)
	require.EqualValues(t, 3+4, v.Authorized)
}

// TestStatsRateWindow: rates average over the last ten seconds only.
func TestStatsRateWindow(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	_, agentID, _ := e.Funded("window@example.com", 10_000)
	card := e.Must(201, "POST", "/v1/agents/"+agentID+"/cards", map[string]any{"purpose": "stats", "type": "multi"}).Str("id")
	clk := &fakeNow{t: time.Unix(1_700_000_000, 0)}
	p := dashboard.NewPoller(e.Server.Ledger().Store(), e.Server.Ledger(), 0, 100, clk.now)
	_, err := p.Poll()
	require.NoError(t, err)
	for range 4 {
		e.Must(201, "POST", "/v1/simulate/authorization", map[string]any{"cardId": card, "amount": 100})
	}
	clk.t = clk.t.Add(time.Second)
	v, err := p.Poll()
	require.NoError(t, err)
	require.InDelta(t, 4.0, v.AuthorizedPerSec, 1e-9)
	// Twenty quiet seconds later the burst has left the window.
	for range 20 {
		clk.t = clk.t.Add(time.Second)
		v, err = p.Poll()
		require.NoError(t, err)
	}
	require.Zero(t, v.AuthorizedPerSec)
	require.EqualValues(t, 4, v.Authorized)
}
