package mcptest

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"
)

// AgentTools are the tools an agent token sees, sorted.
var AgentTools = []string{"ledger_card", "ledger_challenges", "ledger_funding", "ledger_intent", "ledger_onboarding", "ledger_status", "ledger_transactions"}

// AllTools are the tools the API key sees, sorted.
var AllTools = []string{"ledger_agents", "ledger_card", "ledger_challenges", "ledger_funding", "ledger_intent", "ledger_onboarding",
	"ledger_policies", "ledger_risk", "ledger_status", "ledger_transactions", "ledger_users", "ledger_webhooks"}

// ToolNames lists a session's tools, sorted.
func ToolNames(t *testing.T, s *mcp.ClientSession) []string {
	t.Helper()
	res, err := s.ListTools(context.Background(), nil)
	require.NoError(t, err)
	var names []string
	for _, tl := range res.Tools {
		names = append(names, tl.Name)
		require.NotEmpty(t, tl.Description, tl.Name)
	}
	sort.Strings(names)
	return names
}

// Call runs a tool that must succeed and decodes its JSON result.
func Call(t *testing.T, s *mcp.ClientSession, tool string, args map[string]any) map[string]any {
	t.Helper()
	res, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args})
	require.NoError(t, err)
	text := ResultText(res)
	require.False(t, res.IsError, "%s %v: %s", tool, args, text)
	var out map[string]any
	require.NoError(t, json.Unmarshal([]byte(text), &out), text)
	return out
}

// CallErr runs a tool that must fail and returns its error text.
func CallErr(t *testing.T, s *mcp.ClientSession, tool string, args map[string]any) string {
	t.Helper()
	res, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args})
	require.NoError(t, err, "a bad call is a tool error, not a protocol failure")
	require.True(t, res.IsError, "%s %v: %s", tool, args, ResultText(res))
	return ResultText(res)
}

func ResultText(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// Purchase is an agent's whole purchase through the tools: the API key
// onboards and funds a user and registers an agent; the agent's token issues
// a rawPan card, declares an intent and reads the card details; the API key
// simulates the network's authorization; the agent sees its intent matched.
func Purchase(t *testing.T, admin *mcp.ClientSession, agentSession func(token string) *mcp.ClientSession) {
	t.Helper()
	user := Call(t, admin, "ledger_onboarding", map[string]any{"action": "create_user", "firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"})["id"].(string)
	v := Call(t, admin, "ledger_onboarding", map[string]any{"action": "start_verification", "userId": user})
	require.NotEmpty(t, v["verificationUrl"])
	Call(t, admin, "ledger_onboarding", map[string]any{"action": "simulate_kyc", "userId": user, "decision": "approved"})
	Call(t, admin, "ledger_funding", map[string]any{"action": "deposit", "userId": user, "amount": "250.00"})
	st := Call(t, admin, "ledger_status", map[string]any{"userId": user})
	require.Equal(t, "approved", st["verificationStatus"])
	require.EqualValues(t, 25_000, st["balance"])
	require.Equal(t, true, st["canSpend"])
	reg := Call(t, admin, "ledger_agents", map[string]any{"action": "register", "userId": user, "name": "checkout-bot"})
	agentID, token := reg["id"].(string), reg["token"].(string)
	require.NotEmpty(t, token)

	agent := agentSession(token)
	card := Call(t, agent, "ledger_card", map[string]any{"action": "create", "agentId": agentID, "purpose": "Buy headphones",
		"credentialExposure": "rawPan", "acknowledgeRawPanRisk": true, "maxAmount": 20_000})
	cardID := card["id"].(string)
	require.NotContains(t, card, "pan")
	in := Call(t, agent, "ledger_intent", map[string]any{"action": "create", "cardId": cardID, "intentId": "order-1",
		"summary": "Sony WH-1000XM5", "expectedAmount": 14_999, "expectedMerchant": "Amazon", "tolerance": 500})
	require.Equal(t, "pending", in["status"])
	d := Call(t, agent, "ledger_card", map[string]any{"action": "details", "cardId": cardID, "summary": "Buy Sony WH-1000XM5 headphones", "expectedAmount": 14_999})
	require.Regexp(t, `^\d{16}$`, d["pan"])
	require.Regexp(t, `^\d{3}$`, d["cvv"])
	addr := Call(t, admin, "ledger_funding", map[string]any{"action": "crypto", "userId": user})
	require.Equal(t, "USDC", addr["asset"])
	require.Equal(t, "base", addr["chain"])

	// The network's side needs the API key; the agent is refused by the API.
	auth := map[string]any{"action": "simulate_authorization", "cardId": cardID, "amount": 14_999, "merchantName": "AMZN Mktp US", "merchantCategory": "5942"}
	require.Contains(t, CallErr(t, agent, "ledger_transactions", auth), "403 authorization_error/insufficient_permissions")
	dec := Call(t, admin, "ledger_transactions", auth)
	require.Equal(t, true, dec["approved"])

	got := Call(t, agent, "ledger_intent", map[string]any{"action": "get", "id": in["id"]})
	require.Equal(t, "matched", got["status"])
	require.Equal(t, dec["id"], got["transactionId"])
	mr := got["matchResult"].(map[string]any)
	require.Equal(t, true, mr["amountMatch"])
	txns := Call(t, agent, "ledger_transactions", map[string]any{"action": "list", "cardId": cardID})
	require.Len(t, txns["data"], 1)
	st = Call(t, agent, "ledger_status", map[string]any{"userId": user})
	require.EqualValues(t, 25_000-14_999, st["balance"])
}
