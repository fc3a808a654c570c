package mcpserver_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/mcptest"
	"github.com/ledgersim/ledgersim/internal/testenv"
	"github.com/ledgersim/ledgersim/server"
)

// TestNetworkSimulationsOverMCP drives every network simulation of
// ledger_transactions on one card, checking each answer and the balance
// after it: a partial approval, an increment, an advice, a clearing, a
// single-message purchase, a force capture, an unlinked refund and its
// reversal.
func TestNetworkSimulationsOverMCP(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	userID, agentID, _ := e.Funded("mcp-net@example.com", 10_000)
	card := e.Must(201, "POST", "/v1/agents/"+agentID+"/cards", map[string]any{"purpose": "p", "type": "multi", "maxAmount": 4_000}).Str("id")
	s := connect(t, mcpHTTP(t, e), "Api-Key", testenv.APIKey)
	call := func(args map[string]any) map[string]any {
		t.Helper()
		return mcptest.Call(t, s, "ledger_transactions", args)
	}
	requireBalance := func(available, pending, settled int64) {
		t.Helper()
		b := e.Must(200, "GET", "/v1/balances/"+userID, nil)
		require.Equal(t, [3]int64{available, pending, settled}, [3]int64{b.Num("available"), b.Num("pending"), b.Num("settled")},
			"available, pending, settled")
	}

	// Over the card's maximum: 61, or with allowPartial, 10 for what is left.
	d := call(map[string]any{"action": "simulate_authorization", "cardId": card, "amount": 5_000})
	require.Equal(t, "61", d["responseCode"])
	d = call(map[string]any{"action": "simulate_authorization", "cardId": card, "amount": 5_000, "allowPartial": true})
	require.Equal(t, "10", d["responseCode"])
	require.Equal(t, true, d["approved"])
	require.EqualValues(t, 5_000, d["requestedAmount"])
	require.EqualValues(t, 4_000, d["authorizedAmount"])
	auth := d["id"].(string)
	requireBalance(6_000, 4_000, 10_000)

	d = call(map[string]any{"action": "simulate_increment", "transactionId": auth, "amount": 1_500})
	require.Equal(t, "00", d["responseCode"])
	require.Equal(t, auth, d["id"])
	require.EqualValues(t, 5_500, d["amount"])
	requireBalance(4_500, 5_500, 10_000)

	d = call(map[string]any{"action": "simulate_authorization_advice", "transactionId": auth, "amount": 2_000})
	require.EqualValues(t, 2_000, d["pendingAmount"])
	requireBalance(8_000, 2_000, 10_000)
	call(map[string]any{"action": "simulate_clearing", "transactionId": auth, "amount": 2_000})
	requireBalance(8_000, 0, 8_000)

	d = call(map[string]any{"action": "simulate_financial", "cardId": card, "amount": 1_000})
	require.Equal(t, "completed", d["status"])
	requireBalance(7_000, 0, 7_000)

	d = call(map[string]any{"action": "simulate_force_capture", "cardId": card, "amount": 7_500, "merchantName": "LATE POST"})
	require.Equal(t, true, d["forcePost"])
	require.Equal(t, "completed", d["status"])
	requireBalance(-500, 0, -500)

	d = call(map[string]any{"action": "simulate_refund", "cardId": card, "amount": 900})
	require.Equal(t, "refund", d["type"])
	refund := d["id"].(string)
	requireBalance(400, 0, 400)
	d = call(map[string]any{"action": "simulate_refund_reversal", "transactionId": refund})
	require.Equal(t, "reversed", d["status"])
	requireBalance(-500, 0, -500)
}

// TestNetworkSimulationsBadArguments: each new action's bad call is a tool
// error with the API's text, and changes nothing.
func TestNetworkSimulationsBadArguments(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	userID, agentID, _ := e.Funded("mcp-bad@example.com", 10_000)
	card := e.Must(201, "POST", "/v1/agents/"+agentID+"/cards", map[string]any{"purpose": "p", "type": "multi"}).Str("id")
	purchase := e.Must(201, "POST", "/v1/simulate/financial", map[string]any{"cardId": card, "amount": 100}).Str("id")
	s := connect(t, mcpHTTP(t, e), "Api-Key", testenv.APIKey)
	before := e.Must(200, "GET", "/v1/balances/"+userID, nil).JSON
	for _, tc := range []struct {
		name string
		args map[string]any
		want []string
	}{
		{"increment without amount", map[string]any{"action": "simulate_increment", "transactionId": purchase}, []string{"parameter_missing", "'amount'"}},
		{"increment of a completed purchase", map[string]any{"action": "simulate_increment", "transactionId": purchase, "amount": 10}, []string{"409", "transaction_not_eligible"}},
		{"increment without transaction", map[string]any{"action": "simulate_increment", "amount": 10}, []string{"400", "(param transactionId)"}},
		{"advice of a completed purchase", map[string]any{"action": "simulate_authorization_advice", "transactionId": purchase, "amount": 10}, []string{"409", "transaction_not_eligible"}},
		{"advice without amount", map[string]any{"action": "simulate_authorization_advice", "transactionId": purchase}, []string{"parameter_missing", "'amount'"}},
		{"force capture of an unknown card", map[string]any{"action": "simulate_force_capture", "cardId": "card_nope", "amount": 10}, []string{"404", "card_not_found"}},
		{"force capture of nothing", map[string]any{"action": "simulate_force_capture", "cardId": card, "amount": 0}, []string{"400", "(param amount)"}},
		{"financial without amount", map[string]any{"action": "simulate_financial", "cardId": card}, []string{"parameter_missing", "'amount'"}},
		{"refund to an unknown card", map[string]any{"action": "simulate_refund", "cardId": "card_nope", "amount": 10}, []string{"404", "card_not_found"}},
		{"refund of a purchase and to a card", map[string]any{"action": "simulate_refund", "cardId": card, "transactionId": purchase, "amount": 10}, []string{"400", "parameter_invalid", "(param cardId)"}},
		{"reversal of a purchase as a refund", map[string]any{"action": "simulate_refund_reversal", "transactionId": purchase}, []string{"409", "transaction_not_reversible"}},
		{"allowPartial not a boolean", map[string]any{"action": "simulate_authorization", "cardId": card, "amount": 10, "allowPartial": "yes"}, []string{"allowPartial"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := callErr(t, s, "ledger_transactions", tc.args)
			for _, w := range tc.want {
				require.Contains(t, msg, w)
			}
		})
	}
	require.Equal(t, before, e.Must(200, "GET", "/v1/balances/"+userID, nil).JSON, "nothing changed")
}
