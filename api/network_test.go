package api_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/testenv"
	"github.com/ledgersim/ledgersim/server"
)

// TestSimulateNetworkFlows drives the network's simulate endpoints one
// after another on one user, checking each reply and the balance after it:
// a partial approval, an increment, an advice, a single-message purchase,
// a force capture, an unlinked refund and its reversal.
func TestSimulateNetworkFlows(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	userID, agentID, _ := e.Funded("net@example.com", 10_000)
	card := e.Must(201, "POST", "/v1/agents/"+agentID+"/cards", map[string]any{"purpose": "p", "type": "multi", "maxAmount": 4_000}).Str("id")
	balance := func() (available, pending, settled int64) {
		b := e.Must(200, "GET", "/v1/balances/"+userID, nil)
		return b.Num("available"), b.Num("pending"), b.Num("settled")
	}
	requireBalance := func(available, pending, settled int64) {
		t.Helper()
		a, p, s := balance()
		require.Equal(t, [3]int64{available, pending, settled}, [3]int64{a, p, s}, "available, pending, settled")
	}

	// Over the card's maximum: 61, or with allowPartial, 10 for what is left.
	d := e.Must(201, "POST", "/v1/simulate/authorization", map[string]any{"cardId": card, "amount": 5_000})
	require.Equal(t, "61", d.Str("responseCode"))
	d = e.Must(201, "POST", "/v1/simulate/authorization", map[string]any{"cardId": card, "amount": 5_000, "allowPartial": true})
	require.Equal(t, "10", d.Str("responseCode"))
	require.Equal(t, true, d.JSON["approved"])
	require.EqualValues(t, 5_000, d.Num("requestedAmount"))
	require.EqualValues(t, 4_000, d.Num("authorizedAmount"))
	auth := d.Str("id")
	requireBalance(6_000, 4_000, 10_000)
	got := e.Must(200, "GET", "/v1/transactions/"+auth, nil)
	require.EqualValues(t, 5_000, got.Num("requestedAmount"))

	// An increment checked for its own amount; an advice setting the amount.
	d = e.Must(200, "POST", "/v1/simulate/increment", map[string]any{"transactionId": auth, "amount": 4_500})
	require.Equal(t, "61", d.Str("responseCode"))
	require.Equal(t, false, d.JSON["approved"])
	require.EqualValues(t, 4_000, d.Num("amount"), "a declined increment leaves the authorization as it was")
	d = e.Must(200, "POST", "/v1/simulate/increment", map[string]any{"transactionId": auth, "amount": 1_500})
	require.Equal(t, "00", d.Str("responseCode"))
	require.Equal(t, auth, d.Str("id"))
	require.EqualValues(t, 5_500, d.Num("amount"))
	requireBalance(4_500, 5_500, 10_000)
	d = e.Must(200, "POST", "/v1/simulate/authorization-advice", map[string]any{"transactionId": auth, "amount": 2_000})
	require.EqualValues(t, 2_000, d.Num("pendingAmount"))
	requireBalance(8_000, 2_000, 10_000)
	e.Must(200, "POST", "/v1/simulate/clearing", map[string]any{"transactionId": auth, "amount": 2_000})
	requireBalance(8_000, 0, 8_000)
	// Not open any more: 409.
	for _, path := range []string{"/v1/simulate/increment", "/v1/simulate/authorization-advice"} {
		r := e.Must(409, "POST", path, map[string]any{"transactionId": auth, "amount": 10})
		require.Equal(t, "transaction_not_eligible", r.ErrCode(), path)
	}

	// A single-message purchase completes at once.
	d = e.Must(201, "POST", "/v1/simulate/financial", map[string]any{"cardId": card, "amount": 1_000})
	require.Equal(t, "completed", d.Str("status"))
	requireBalance(7_000, 0, 7_000)

	// A force capture posts whatever the balance.
	d = e.Must(201, "POST", "/v1/simulate/force-capture", map[string]any{"cardId": card, "amount": 7_500, "merchantName": "LATE POST"})
	require.Equal(t, true, d.JSON["forcePost"])
	require.Equal(t, "completed", d.Str("status"))
	requireBalance(-500, 0, -500)

	// An unlinked refund, then its reversal (again: as it stands).
	d = e.Must(201, "POST", "/v1/simulate/refund", map[string]any{"cardId": card, "amount": 900, "merchantName": "RETURNS"})
	require.Equal(t, "refund", d.Str("type"))
	refund := d.Str("id")
	requireBalance(400, 0, 400)
	for range 2 {
		d = e.Must(200, "POST", "/v1/simulate/refund-reversal", map[string]any{"transactionId": refund})
		require.Equal(t, "reversed", d.Str("status"))
		requireBalance(-500, 0, -500)
	}
}

// TestSimulateNetworkBadInput: each new endpoint refuses what it cannot do
// with the documented error, and changes nothing.
func TestSimulateNetworkBadInput(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	userID, agentID, _ := e.Funded("bad@example.com", 10_000)
	card := e.Must(201, "POST", "/v1/agents/"+agentID+"/cards", map[string]any{"purpose": "p", "type": "multi"}).Str("id")
	purchase := e.Must(201, "POST", "/v1/simulate/financial", map[string]any{"cardId": card, "amount": 100}).Str("id")
	tests := []struct {
		path   string
		body   map[string]any
		status int
		code   string
		param  string
	}{
		{"/v1/simulate/increment", map[string]any{"transactionId": purchase, "amount": 0}, 400, "parameter_invalid", "amount"},
		{"/v1/simulate/increment", map[string]any{"amount": 10}, 400, "parameter_missing", "transactionId"},
		{"/v1/simulate/increment", map[string]any{"transactionId": "txn_nope", "amount": 10}, 404, "transaction_not_found", ""},
		{"/v1/simulate/increment", map[string]any{"transactionId": purchase, "amount": 10}, 409, "transaction_not_eligible", ""},
		{"/v1/simulate/authorization-advice", map[string]any{"transactionId": purchase, "amount": 10}, 409, "transaction_not_eligible", ""},
		{"/v1/simulate/force-capture", map[string]any{"cardId": "card_nope", "amount": 10}, 404, "card_not_found", "cardId"},
		{"/v1/simulate/force-capture", map[string]any{"cardId": card, "amount": 0}, 400, "parameter_invalid", "amount"},
		{"/v1/simulate/refund", map[string]any{"cardId": card, "transactionId": purchase, "amount": 10}, 400, "parameter_invalid", "cardId"},
		{"/v1/simulate/refund", map[string]any{"cardId": "card_nope", "amount": 10}, 404, "card_not_found", "cardId"},
		{"/v1/simulate/refund-reversal", map[string]any{"transactionId": purchase}, 409, "transaction_not_reversible", ""},
		{"/v1/simulate/financial", map[string]any{"cardId": card, "amount": 10, "allowPartial": "yes"}, 400, "parameter_invalid", "allowPartial"},
	}
	before := e.Must(200, "GET", "/v1/balances/"+userID, nil).JSON
	for _, tt := range tests {
		r := e.Must(tt.status, "POST", tt.path, tt.body)
		require.Equal(t, tt.code, r.ErrCode(), "%s %v", tt.path, tt.body)
		if tt.param != "" {
			require.Equal(t, tt.param, r.ErrParam(), "%s %v", tt.path, tt.body)
		}
	}
	require.Equal(t, before, e.Must(200, "GET", "/v1/balances/"+userID, nil).JSON, "nothing changed")
}
