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
		{"policies", admin, "ledger_policies", map[string]any{"action": "list"}, []string{"ledger_policies is not available in this version"}, ""},
		{"risk", admin, "ledger_risk", map[string]any{}, []string{"ledger_risk is not available in this version"}, ""},
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
