package api_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/testenv"
	"github.com/ledgersim/ledgersim/server"
)

func TestCardTransitions(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	_, agentID, _ := e.Funded("c@example.com", 0)
	id := e.Must(201, "POST", "/v1/agents/"+agentID+"/cards", map[string]any{"purpose": "p", "type": "multi"}).Str("id")
	p := "/v1/cards/" + id

	steps := []struct {
		method, path string
		body         any
		status       int
		code         string
		wantStatus   string
	}{
		{"POST", p + "/unfreeze", nil, 409, "card_not_frozen", "active"},
		{"POST", p + "/freeze", nil, 200, "", "frozen"},
		{"POST", p + "/freeze", nil, 409, "card_already_frozen", "frozen"},
		{"POST", p + "/unfreeze", nil, 200, "", "active"},
		{"PATCH", p, map[string]any{"status": "frozen"}, 200, "", "frozen"},
		{"PATCH", p, map[string]any{"status": "active", "limits": map[string]any{"perDay": 5000}, "merchantHint": "DoorDash", "onDrift": "freeze", "maxAuthCount": 3}, 200, "", "active"},
		{"POST", p + "/close", nil, 200, "", "closed"},
		{"POST", p + "/close", nil, 409, "card_already_closed", "closed"},
		{"POST", p + "/unfreeze", nil, 409, "card_already_closed", "closed"},
		{"PATCH", p, map[string]any{"maxAmount": 5}, 409, "card_already_closed", "closed"},
	}
	for i, s := range steps {
		r := e.Must(s.status, s.method, s.path, s.body)
		require.Equal(t, s.code, r.ErrCode(), "step %d", i)
		require.Equal(t, s.wantStatus, e.Must(200, "GET", p, nil).Str("status"), "step %d", i)
	}
	c := e.Must(200, "GET", p, nil)
	require.EqualValues(t, 5000, c.JSON["limits"].(map[string]any)["perDay"])
	require.Equal(t, "DoorDash", c.Str("merchantHint"))
	require.Equal(t, "freeze", c.Str("onDrift"))
	require.EqualValues(t, 3, c.Num("maxAuthCount"))
	r := e.Must(400, "POST", p+"/details", map[string]any{"summary": "s"})
	require.Equal(t, "card_not_active", r.ErrCode())
}

func TestAgentSuspensionFreezesCards(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	_, agentID, _ := e.Funded("s@example.com", 0)
	mk := func() string {
		return e.Must(201, "POST", "/v1/agents/"+agentID+"/cards", map[string]any{"purpose": "p", "type": "multi"}).Str("id")
	}
	a, b, closed := mk(), mk(), mk()
	e.Must(200, "POST", "/v1/cards/"+b+"/freeze", nil)
	e.Must(200, "POST", "/v1/cards/"+closed+"/close", nil)

	s := e.Must(200, "POST", "/v1/agents/"+agentID+"/suspend", nil)
	require.Equal(t, "suspended", s.Str("status"))
	require.Equal(t, "active", s.Str("previousStatus"))
	require.Equal(t, "frozen", e.Must(200, "GET", "/v1/cards/"+a, nil).Str("status"))
	require.Equal(t, "agent_not_active", e.Must(409, "POST", "/v1/agents/"+agentID+"/cards", map[string]any{"purpose": "p"}).ErrCode())
	require.Equal(t, "agent_not_active", e.Must(409, "POST", "/v1/cards/"+a+"/unfreeze", nil).ErrCode())

	// Reactivation unfreezes what suspension froze, not what was frozen by hand.
	e.Must(200, "PATCH", "/v1/agents/"+agentID, map[string]any{"status": "active"})
	require.Equal(t, "active", e.Must(200, "GET", "/v1/cards/"+a, nil).Str("status"))
	require.Equal(t, "frozen", e.Must(200, "GET", "/v1/cards/"+b, nil).Str("status"))
	require.Equal(t, "closed", e.Must(200, "GET", "/v1/cards/"+closed, nil).Str("status"))

	d := e.Must(200, "POST", "/v1/agents/"+agentID+"/deregister", nil)
	require.Equal(t, "deregistered", d.Str("status"))
	require.NotZero(t, d.Num("deregisteredAt"))
	for _, id := range []string{a, b} {
		require.Equal(t, "closed", e.Must(200, "GET", "/v1/cards/"+id, nil).Str("status"))
	}
	require.Equal(t, "agent_deregistered", e.Must(409, "POST", "/v1/agents/"+agentID+"/suspend", nil).ErrCode())
	require.Equal(t, "agent_deregistered", e.Must(409, "PATCH", "/v1/agents/"+agentID, map[string]any{"name": "x"}).ErrCode())
}

func TestAgentPatchAndLimits(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	userID, agentID, _ := e.Funded("p@example.com", 0)
	r := e.Must(200, "PATCH", "/v1/agents/"+agentID, map[string]any{"name": "renamed", "spendingLimit": 1000, "spendingLimitFrequency": "perWeek", "onLimitExceeded": "notify", "metadata": map[string]any{"k": "v"}})
	require.Equal(t, "renamed", r.Str("name"))
	require.EqualValues(t, 1000, r.Num("spendingLimit"))
	require.Equal(t, "perWeek", r.Str("spendingLimitFrequency"))
	r = e.Must(200, "PATCH", "/v1/agents/"+agentID, map[string]any{"spendingLimit": nil})
	require.Nil(t, r.JSON["spendingLimit"], "null removes the limit")

	capped := e.Must(201, "POST", "/v1/agents/register", map[string]any{"userId": userID, "name": "capped", "maxCards": 1, "defaultCardLimit": 2500, "defaultCardLimitFrequency": "per24HourPeriod"})
	c := e.Must(201, "POST", "/v1/agents/"+capped.Str("id")+"/cards", map[string]any{"purpose": "p"})
	require.EqualValues(t, 2500, c.JSON["limits"].(map[string]any)["perDay"], "the agent's default card limit applies")
	require.Equal(t, "max_cards_reached", e.Must(409, "POST", "/v1/agents/"+capped.Str("id")+"/cards", map[string]any{"purpose": "p"}).ErrCode())
	require.Equal(t, "external_id_conflict", func() string {
		e.Must(201, "POST", "/v1/agents/register", map[string]any{"userId": userID, "name": "x", "externalId": "ext-1"})
		other, _, _ := e.Funded("q@example.com", 0)
		return e.Must(409, "POST", "/v1/agents/register", map[string]any{"userId": other, "name": "y", "externalId": "ext-1"}).ErrCode()
	}())
}
