package api_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/testenv"
	"github.com/ledgersim/ledgersim/server"
)

// TestAgentTokenScope checks the platform's matrix: an agent token reaches
// its own cards and details, gets 403 on users and agents, and 404 for
// anything of another agent.
func TestAgentTokenScope(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	user1, agent1, tok1 := e.Funded("one@example.com", 5000)
	user2, agent2, _ := e.Funded("two@example.com", 5000)
	raw := map[string]any{"purpose": "p", "type": "multi", "credentialExposure": "rawPan", "acknowledgeRawPanRisk": true}
	card1 := e.Must(201, "POST", "/v1/agents/"+agent1+"/cards", raw).Str("id")
	card2 := e.Must(201, "POST", "/v1/agents/"+agent2+"/cards", raw).Str("id")
	e.Must(201, "POST", "/v1/cards/"+card1+"/intents", map[string]any{"intentId": "i1", "summary": "buy"})
	as := func(status int, method, path string, body any) *testenv.Resp {
		t.Helper()
		return e.Must(status, method, path, body, "Api-Key", tok1)
	}

	tests := []struct {
		name   string
		method string
		path   string
		body   any
		status int
		code   string
	}{
		{"list users", "GET", "/v1/users", nil, 403, "insufficient_permissions"},
		{"get user", "GET", "/v1/users/" + user1, nil, 403, "insufficient_permissions"},
		{"create user", "POST", "/v1/users", map[string]any{"firstName": "a", "lastName": "b", "email": "c@example.com"}, 403, "insufficient_permissions"},
		{"list agents", "GET", "/v1/agents", nil, 403, "insufficient_permissions"},
		{"get own agent", "GET", "/v1/agents/" + agent1, nil, 403, "insufficient_permissions"},
		{"register agent", "POST", "/v1/agents/register", map[string]any{"userId": user1, "name": "x"}, 403, "insufficient_permissions"},
		{"suspend self", "POST", "/v1/agents/" + agent1 + "/suspend", nil, 403, "insufficient_permissions"},
		{"mint tokens", "POST", "/v1/agents/" + agent1 + "/tokens", nil, 403, "insufficient_permissions"},
		{"simulate deposit", "POST", "/v1/simulate/deposit", map[string]any{"userId": user1, "asset": "USDC", "chain": "base", "amount": 1}, 403, "insufficient_permissions"},
		{"raise own limits", "PATCH", "/v1/cards/" + card1, map[string]any{"maxAmount": 100}, 403, "insufficient_permissions"},
		{"unfreeze", "POST", "/v1/cards/" + card1 + "/unfreeze", nil, 403, "insufficient_permissions"},
		{"own card", "GET", "/v1/cards/" + card1, nil, 200, ""},
		{"own cards list", "GET", "/v1/agents/" + agent1 + "/cards", nil, 200, ""},
		{"own details", "POST", "/v1/cards/" + card1 + "/details", map[string]any{"summary": "buy"}, 200, ""},
		{"own intents", "GET", "/v1/cards/" + card1 + "/intents", nil, 200, ""},
		{"declare on own card", "POST", "/v1/cards/" + card1 + "/intents", map[string]any{"intentId": "i2", "summary": "more"}, 201, ""},
		{"declare on other card", "POST", "/v1/cards/" + card2 + "/intents", map[string]any{"intentId": "x", "summary": "steal"}, 404, "card_not_found"},
		{"other intents", "GET", "/v1/cards/" + card2 + "/intents", nil, 404, "card_not_found"},
		{"own transactions", "GET", "/v1/transactions", nil, 200, ""},
		{"other agent's transactions", "GET", "/v1/transactions?agentId=" + agent2, nil, 404, "agent_not_found"},
		{"other card's transactions", "GET", "/v1/cards/" + card2 + "/transactions", nil, 404, "card_not_found"},
		{"simulate authorization", "POST", "/v1/simulate/authorization", map[string]any{"cardId": card1, "amount": 1}, 403, "insufficient_permissions"},
		{"own access events", "GET", "/v1/cards/" + card1 + "/access-events", nil, 200, ""},
		{"own balance", "GET", "/v1/balances/" + user1, nil, 200, ""},
		{"other card", "GET", "/v1/cards/" + card2, nil, 404, "card_not_found"},
		{"other details", "POST", "/v1/cards/" + card2 + "/details", map[string]any{"summary": "steal"}, 404, "card_not_found"},
		{"other access events", "GET", "/v1/cards/" + card2 + "/access-events", nil, 404, "card_not_found"},
		{"other freeze", "POST", "/v1/cards/" + card2 + "/freeze", nil, 404, "card_not_found"},
		{"other close", "POST", "/v1/cards/" + card2 + "/close", nil, 404, "card_not_found"},
		{"other cards list", "GET", "/v1/agents/" + agent2 + "/cards", nil, 404, "agent_not_found"},
		{"card for other agent", "POST", "/v1/agents/" + agent2 + "/cards", map[string]any{"purpose": "p"}, 404, "agent_not_found"},
		{"other balance", "GET", "/v1/balances/" + user2, nil, 404, "user_not_found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := as(tc.status, tc.method, tc.path, tc.body)
			require.Equal(t, tc.code, r.ErrCode())
		})
	}
	// Another agent's card was not touched by the refused calls.
	require.Equal(t, "active", e.Must(200, "GET", "/v1/cards/"+card2, nil).Str("status"))
	require.Empty(t, e.Must(200, "GET", "/v1/cards/"+card2+"/access-events", nil).Data())
	// An agent may freeze and create its own cards.
	as(201, "POST", "/v1/agents/"+agent1+"/cards", map[string]any{"purpose": "own"})
	as(200, "POST", "/v1/cards/"+card1+"/freeze", nil)
}

func TestTokensLifecycle(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	_, agentID, regTok := e.Funded("t@example.com", 0)
	created := e.Must(201, "POST", "/v1/agents/"+agentID+"/tokens", map[string]any{"name": "ci"})
	tok := created.Str("token")
	require.Equal(t, "agent_token", created.Str("object"))
	require.Equal(t, tok[:12], created.Str("tokenPrefix"))
	require.Equal(t, true, created.JSON["isActive"])

	list := e.Must(200, "GET", "/v1/agents/"+agentID+"/tokens", nil).Data()
	require.Len(t, list, 2)
	for _, row := range list {
		require.Nil(t, row["token"], "a token's secret is shown only when created")
	}
	e.Must(200, "GET", "/v1/agents/"+agentID+"/cards", nil, "Api-Key", tok)
	rev := e.Must(200, "POST", "/v1/agents/"+agentID+"/tokens/"+created.Str("id")+"/revoke", nil)
	require.Equal(t, false, rev.JSON["isActive"])
	require.NotNil(t, rev.JSON["revokedAt"])
	require.Equal(t, "invalid_api_key", e.Must(401, "GET", "/v1/agents/"+agentID+"/cards", nil, "Api-Key", tok).ErrCode())
	// The registration token still works.
	e.Must(200, "GET", "/v1/agents/"+agentID+"/cards", nil, "Api-Key", regTok)
	e.Must(404, "DELETE", "/v1/agents/"+agentID+"/tokens/atok_nope", nil)

	// Expiry in the past is refused; a token of a deregistered agent is dead.
	e.Must(400, "POST", "/v1/agents/"+agentID+"/tokens", map[string]any{"expiresAt": 1000})
	e.Must(200, "POST", "/v1/agents/"+agentID+"/deregister", nil)
	e.Must(401, "GET", "/v1/agents/"+agentID+"/cards", nil, "Api-Key", regTok)
}

func TestIdempotencyKey(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	body := map[string]any{"firstName": "I", "lastName": "K", "email": "ik@example.com"}
	first := e.Must(201, "POST", "/v1/users", body, "Idempotency-Key", "idk_1")
	again := e.Must(201, "POST", "/v1/users", body, "Idempotency-Key", "idk_1")
	require.Equal(t, first.Body, again.Body, "a replay is byte for byte the first response")
	require.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
	require.Empty(t, first.Header.Get("Idempotent-Replayed"))

	other := map[string]any{"firstName": "I", "lastName": "K", "email": "other@example.com"}
	r := e.Must(409, "POST", "/v1/users", other, "Idempotency-Key", "idk_1")
	require.Equal(t, "idempotency_key_reused", r.ErrCode())
	r = e.Must(409, "POST", "/v1/verification/user", map[string]any{"userId": first.Str("id")}, "Idempotency-Key", "idk_1")
	require.Equal(t, "idempotency_key_reused", r.ErrCode(), "a key is bound to its route")
	require.Len(t, e.Must(200, "GET", "/v1/users", nil).Data(), 1)

	// A deposit retried with its key credits once.
	userID := first.Str("id")
	e.Must(200, "POST", "/v1/simulate/kyc", map[string]any{"userId": userID, "decision": "approved"})
	dep := map[string]any{"userId": userID, "asset": "USDC", "chain": "base", "amount": 10}
	d1 := e.Must(201, "POST", "/v1/simulate/deposit", dep, "Idempotency-Key", "dep-1")
	d2 := e.Must(201, "POST", "/v1/simulate/deposit", dep, "Idempotency-Key", "dep-1")
	require.Equal(t, d1.Body, d2.Body)
	require.EqualValues(t, 1000, e.Must(200, "GET", "/v1/balances/"+userID, nil).Num("available"))
	e.Must(201, "POST", "/v1/simulate/deposit", dep, "Idempotency-Key", "dep-2")
	require.EqualValues(t, 2000, e.Must(200, "GET", "/v1/balances/"+userID, nil).Num("available"))

	// A refused request stores nothing: fixing the body under the same key works.
	bad := map[string]any{"userId": userID, "name": ""}
	e.Must(400, "POST", "/v1/agents/register", bad, "Idempotency-Key", "reg-1")
	bad["name"] = "fixed"
	e.Must(201, "POST", "/v1/agents/register", bad, "Idempotency-Key", "reg-1")

	// Keys are scoped to the caller: an agent token's key does not collide
	// with the API key's.
	reg := e.Must(201, "POST", "/v1/agents/register", map[string]any{"userId": userID, "name": "b"}, "Idempotency-Key", "shared")
	agentID, tok := reg.Str("id"), reg.Str("token")
	c1 := e.Must(201, "POST", "/v1/agents/"+agentID+"/cards", map[string]any{"purpose": "p"}, "Idempotency-Key", "shared", "Api-Key", tok)
	c2 := e.Must(201, "POST", "/v1/agents/"+agentID+"/cards", map[string]any{"purpose": "p"}, "Idempotency-Key", "shared", "Api-Key", tok)
	require.Equal(t, c1.Str("id"), c2.Str("id"))
	require.Len(t, e.Must(200, "GET", "/v1/agents/"+agentID+"/cards", nil).Data(), 1)
}
