package mcpserver_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/mcptest"
	"github.com/ledgersim/ledgersim/internal/testenv"
	"github.com/ledgersim/ledgersim/mcpserver"
	"github.com/ledgersim/ledgersim/server"
)

var (
	agentTools = mcptest.AgentTools
	allTools   = mcptest.AllTools
	toolNames  = mcptest.ToolNames
	callErr    = mcptest.CallErr
)

// keyTransport adds the credential to every request, as an MCP host
// configured with a header would.
type keyTransport struct {
	header, value string
}

func (k keyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(k.header, k.value)
	return http.DefaultTransport.RoundTrip(r)
}

// mcpHTTP serves the MCP handler for the API at e on a loopback port.
func mcpHTTP(t *testing.T, e *testenv.Env) string {
	t.Helper()
	h, err := mcpserver.Handler(mcpserver.Config{BaseURL: e.Base, Version: "test"}, "")
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// connect opens an MCP session over streamable HTTP with the SDK's client.
func connect(t *testing.T, url, header, key string) *mcp.ClientSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	s, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url,
		HTTPClient: &http.Client{Transport: keyTransport{header, key}}, DisableStandaloneSSE: true}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestToolsByCredential: the API key sees every tool, an agent token the
// agent tools, in either header form; no credential is the API's 401.
func TestToolsByCredential(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	_, _, token := e.Funded("tools@example.com", 0)
	url := mcpHTTP(t, e)

	require.Equal(t, allTools, toolNames(t, connect(t, url, "Api-Key", testenv.APIKey)))
	require.Equal(t, agentTools, toolNames(t, connect(t, url, "Api-Key", token)))
	require.Equal(t, agentTools, toolNames(t, connect(t, url, "Authorization", "Bearer "+token)))

	res, err := http.Post(url, "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	require.NoError(t, err)
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	require.Equal(t, 401, res.StatusCode)
	require.Contains(t, string(body), `"code":"missing_api_key"`)
	require.Regexp(t, `"requestId":"req_[0-9a-z]+"`, string(body))

	// A wrong key opens a session, and every tool answers with the API's 401.
	bad := connect(t, url, "Api-Key", "lk_test_not_the_key_0000000000")
	require.Contains(t, callErr(t, bad, "ledger_users", map[string]any{"action": "list"}), "401 authentication_error/invalid_api_key")
}

// TestPurchaseOverHTTP runs the purchase over streamable HTTP.
func TestPurchaseOverHTTP(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	url := mcpHTTP(t, e)
	mcptest.Purchase(t, connect(t, url, "Api-Key", testenv.APIKey), func(token string) *mcp.ClientSession {
		return connect(t, url, "Authorization", "Bearer "+token)
	})
}

// TestBadArguments: every bad call is a tool error with the API's text (or
// says what this version lacks), never a panic, and the session goes on.
func TestBadArguments(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	_, agentID, token := e.Funded("bad@example.com", 0)
	url := mcpHTTP(t, e)
	admin := connect(t, url, "Api-Key", testenv.APIKey)
	agent := connect(t, url, "Api-Key", token)
	for _, tc := range []struct {
		name    string
		s       *mcp.ClientSession
		tool    string
		args    map[string]any
		want    []string
		notWant string
	}{
		{"no action", admin, "ledger_card", map[string]any{}, []string{"action"}, ""},
		{"unknown action", admin, "ledger_card", map[string]any{"action": "steal"}, []string{"'action' must be one of", "create", "details"}, ""},
		{"path id missing", admin, "ledger_card", map[string]any{"action": "get"}, []string{"parameter_missing", "'cardId'"}, ""},
		{"unknown card", admin, "ledger_card", map[string]any{"action": "get", "cardId": "card_nope"}, []string{"404 not_found_error/card_not_found"}, ""},
		{"bad enum", admin, "ledger_card", map[string]any{"action": "create", "agentId": agentID, "purpose": "x", "type": "triple"}, []string{"400", "(param type)"}, ""},
		{"missing purpose", admin, "ledger_card", map[string]any{"action": "create", "agentId": agentID}, []string{"400 validation_error", "(param purpose)"}, ""},
		{"wrong JSON type", admin, "ledger_card", map[string]any{"action": "create", "agentId": agentID, "purpose": "x", "maxAmount": "lots"}, []string{"maxAmount"}, ""},
		{"negative amount", admin, "ledger_transactions", map[string]any{"action": "simulate_authorization", "cardId": "card_x", "amount": -5}, []string{"400", "(param amount)"}, ""},
		{"no amount", admin, "ledger_transactions", map[string]any{"action": "simulate_clearing", "transactionId": "txn_x"}, []string{"parameter_missing", "'amount'"}, ""},
		{"bad email", admin, "ledger_users", map[string]any{"action": "create", "firstName": "A", "lastName": "B", "email": "nope"}, []string{"400", "(param email)"}, ""},
		{"bad deposit", admin, "ledger_funding", map[string]any{"action": "deposit", "userId": "user_x", "amount": "1.234"}, []string{"400", "(param amount)"}, ""},
		{"unknown chain", admin, "ledger_funding", map[string]any{"action": "crypto", "userId": "user_x"}, []string{"404"}, ""},
		{"ach", admin, "ledger_funding", map[string]any{"action": "ach"}, []string{"not available in this version", "coming soon"}, ""},
		{"policy missing", admin, "ledger_policies", map[string]any{"action": "get", "policyId": "pol_nope"}, []string{"404 not_found_error"}, ""},
		{"policy id missing", admin, "ledger_policies", map[string]any{"action": "update"}, []string{"parameter_missing", "'policyId'"}, ""},
		{"policy without name", admin, "ledger_policies", map[string]any{"action": "create"}, []string{"400", "(param name)"}, ""},
		{"policy bad mcc", admin, "ledger_policies", map[string]any{"action": "create", "name": "p", "blockedMccs": []string{"79"}}, []string{"400", "blockedMccs"}, ""},
		{"risk bad preset", admin, "ledger_risk", map[string]any{"action": "preset", "preset": "reckless"}, []string{"400", "(param preset)"}, ""},
		{"risk bad rule", admin, "ledger_risk", map[string]any{"action": "update", "rules": map[string]any{"velocityLimit": map[string]any{"action": "explode"}}}, []string{"400", "velocityLimit"}, ""},
		{"challenges", agent, "ledger_challenges", map[string]any{"cardId": "card_x"}, []string{"not available in this version"}, ""},
		{"agent on onboarding", agent, "ledger_onboarding", map[string]any{"action": "create_user", "firstName": "A", "lastName": "B", "email": "a@example.com"}, []string{"403 authorization_error/insufficient_permissions"}, ""},
		{"agent on another's card", agent, "ledger_card", map[string]any{"action": "list", "agentId": "agent_other"}, []string{"404"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := callErr(t, tc.s, tc.tool, tc.args)
			for _, w := range tc.want {
				require.Contains(t, msg, w)
			}
			require.NotContains(t, msg, testenv.APIKey)
			require.NotContains(t, msg, token)
		})
	}
	// An agent token has no admin tools at all.
	res, err := agent.CallTool(context.Background(), &mcp.CallToolParams{Name: "ledger_users", Arguments: map[string]any{"action": "list"}})
	if err == nil {
		require.True(t, res.IsError)
	}
	// Both sessions still work.
	require.Len(t, toolNames(t, admin), len(allTools))
	require.Len(t, toolNames(t, agent), len(agentTools))
}

// TestPoliciesAndRisk: the admin tools create a policy that blocks a
// merchant category, put a card under it, and see the authorization at
// that category declined; they read the card's live controls, and read,
// change and preset the risk settings.
func TestPoliciesAndRisk(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	_, agentID, _ := e.Funded("policies@example.com", 10_000)
	admin := connect(t, mcpHTTP(t, e), "Api-Key", testenv.APIKey)
	call := func(tool string, args map[string]any) map[string]any { return mcptest.Call(t, admin, tool, args) }

	pol := call("ledger_policies", map[string]any{"action": "create", "name": "no gambling", "blockedMccs": []string{"7995"}, "cooldownMinutes": 5})
	polID := pol["id"].(string)
	require.Equal(t, "policy", pol["object"])
	require.Equal(t, []any{"7995"}, pol["merchantRestrictions"].(map[string]any)["blockedMccs"])
	require.Equal(t, polID, call("ledger_policies", map[string]any{"action": "get", "policyId": polID})["id"])
	list := call("ledger_policies", map[string]any{})
	require.Len(t, list["data"], 1)
	upd := call("ledger_policies", map[string]any{"action": "update", "policyId": polID, "description": "casinos", "clear": []string{"cooldownMinutes"}})
	require.Equal(t, "casinos", upd["description"])
	require.Nil(t, upd["spendingRestrictions"].(map[string]any)["cooldownMinutes"])
	require.Contains(t, callErr(t, admin, "ledger_policies", map[string]any{"action": "create", "name": "no gambling"}), "409")

	card := call("ledger_card", map[string]any{"action": "create", "agentId": agentID, "purpose": "tickets", "type": "multi", "policyId": polID})
	cardID := card["id"].(string)
	st := call("ledger_policies", map[string]any{"action": "card", "cardId": cardID})
	require.Equal(t, polID, st["policyId"])
	require.Equal(t, []any{"7995"}, st["merchantCategories"].(map[string]any)["blockedMccs"])
	require.Equal(t, agentID, call("ledger_policies", map[string]any{"action": "agent", "agentId": agentID})["agentId"])

	txn := call("ledger_transactions", map[string]any{"action": "simulate_authorization", "cardId": cardID, "amount": 1_000,
		"merchantName": "Lucky Casino", "merchantCategory": "7995"})
	require.Equal(t, "declined", txn["status"])
	require.Equal(t, "blocked_mcc", txn["declinedReason"])

	// A card issued not yet activated declines until the tool activates it.
	dormant := call("ledger_card", map[string]any{"action": "create", "agentId": agentID, "purpose": "later", "type": "multi", "status": "notActivated"})
	require.Equal(t, "notActivated", dormant["status"])
	txn = call("ledger_transactions", map[string]any{"action": "simulate_authorization", "cardId": dormant["id"], "amount": 100, "merchantName": "Shop"})
	require.Equal(t, "card_not_activated", txn["declinedReason"])
	act := call("ledger_card", map[string]any{"action": "activate", "cardId": dormant["id"]})
	require.Equal(t, "active", act["status"])
	txn = call("ledger_transactions", map[string]any{"action": "simulate_authorization", "cardId": dormant["id"], "amount": 100, "merchantName": "Shop"})
	require.Equal(t, "authorized", txn["status"])

	risk := call("ledger_risk", map[string]any{})
	require.Equal(t, "riskConfig", risk["object"])
	risk = call("ledger_risk", map[string]any{"action": "update", "dryRun": true,
		"rules": map[string]any{"velocityLimit": map[string]any{"maxPerHour": 5, "action": "freeze_card"}}})
	require.Equal(t, true, risk["dryRun"])
	require.EqualValues(t, 5, risk["velocityLimit"].(map[string]any)["maxPerHour"])
	require.Equal(t, "freeze_card", risk["velocityLimit"].(map[string]any)["action"])
	risk = call("ledger_risk", map[string]any{"action": "update", "cardId": cardID, "rules": map[string]any{"duplicateDetection": map[string]any{"enabled": false}}})
	require.Equal(t, cardID, risk["cardId"])
	require.Equal(t, false, risk["duplicateDetection"].(map[string]any)["enabled"])
	risk = call("ledger_risk", map[string]any{"action": "preset", "preset": "paranoid"})
	require.Equal(t, "paranoid", risk["preset"])
	require.Equal(t, "suspend_agent", risk["spendSpike"].(map[string]any)["action"])
}
