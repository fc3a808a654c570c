package api

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func (e *idemEnv) eventsOf(typ string) []any {
	return e.must(200, "GET", "/v1/events?type="+typ, nil).json["data"].([]any)
}

// TestRiskPresetFreezesOnDuplicate: with the moderate preset, a second
// purchase at the same merchant for the same amount is approved and then
// freezes the card (card.auto_frozen, risk.alert); in dry run the same
// thing only records the alert.
func TestRiskPresetFreezesOnDuplicate(t *testing.T) {
	e := newIdemEnv(t)
	def := e.must(200, "GET", "/v1/settings/risk", nil)
	require.Equal(t, "riskConfig", def.json["object"])
	require.Equal(t, false, def.json["duplicateDetection"].(map[string]any)["enabled"], "off until configured")

	dry := e.must(200, "POST", "/v1/settings/risk/preset", map[string]any{"preset": "moderate", "dryRun": true})
	require.Equal(t, "moderate", dry.str("preset"))
	require.Equal(t, true, dry.json["dryRun"])
	card := e.card(map[string]any{"type": "multi"})
	buy := func(card string) *idemResp {
		return e.must(201, "POST", "/v1/simulate/authorization", map[string]any{"cardId": card, "amount": 700, "merchantName": "SHOP", "merchantCategory": "5812"})
	}
	require.Equal(t, true, buy(card).json["approved"])
	require.Equal(t, true, buy(card).json["approved"])
	require.Equal(t, "active", e.must(200, "GET", "/v1/cards/"+card, nil).str("status"), "dry run acts on nothing")
	var data map[string]any
	for _, a := range e.eventsOf("risk.alert") {
		if d := a.(map[string]any)["data"].(map[string]any); d["rule"] == "duplicateDetection" {
			data = d
		}
	}
	require.NotNil(t, data)
	require.Equal(t, true, data["dryRun"])
	require.Equal(t, "duplicateDetection", data["rule"])
	require.Equal(t, "freeze_card", data["action"])

	e.must(200, "PATCH", "/v1/settings/risk", map[string]any{"dryRun": false})
	card = e.card(map[string]any{"type": "multi"})
	require.Equal(t, true, buy(card).json["approved"])
	require.Equal(t, true, buy(card).json["approved"], "the transaction stands; the card is frozen after it")
	require.Equal(t, "frozen", e.must(200, "GET", "/v1/cards/"+card, nil).str("status"))
	require.Len(t, e.eventsOf("card.auto_frozen"), 1)
	d := buy(card)
	require.Equal(t, "card_frozen", d.json["declinedReason"])
}

// TestRiskInheritance: an agent's own rule overrides the organization's;
// a card's own overrides its agent's; suspend_agent suspends the agent and
// freezes its cards.
func TestRiskInheritance(t *testing.T) {
	e := newIdemEnv(t)
	e.must(200, "POST", "/v1/settings/risk/preset", map[string]any{"preset": "permissive"})
	agent := e.agent()
	a := e.must(200, "PATCH", "/v1/settings/risk?agentId="+agent, map[string]any{"velocityLimit": map[string]any{"maxPerHour": 2, "action": "suspend_agent"}})
	require.Equal(t, "agent", a.str("scope"))
	require.Equal(t, "custom", a.str("preset"))
	vl := a.json["velocityLimit"].(map[string]any)
	require.EqualValues(t, 2, vl["maxPerHour"])
	require.EqualValues(t, 500, vl["maxPerDay"], "the fields not given are the inherited ones")
	org := e.must(200, "GET", "/v1/settings/risk", nil)
	require.Equal(t, "permissive", org.str("preset"), "the organization's settings are unchanged")

	mk := func() string {
		return e.must(201, "POST", "/v1/agents/"+agent+"/cards", map[string]any{"purpose": "p", "type": "multi"}).str("id")
	}
	quiet, loud := mk(), mk()
	c := e.must(200, "PATCH", "/v1/settings/risk?cardId="+quiet, map[string]any{"velocityLimit": map[string]any{"enabled": false}})
	require.Equal(t, "card", c.str("scope"))
	require.Equal(t, false, c.json["velocityLimit"].(map[string]any)["enabled"])
	buy := func(card string, amount int) *idemResp {
		return e.must(201, "POST", "/v1/simulate/authorization", map[string]any{"cardId": card, "amount": amount, "merchantName": "SHOP"})
	}
	for i := range 3 {
		require.Equal(t, true, buy(quiet, 100+i).json["approved"])
	}
	require.Equal(t, "active", e.must(200, "GET", "/v1/agents/"+agent, nil).str("status"))
	for i := range 3 {
		require.Equal(t, true, buy(loud, 100+i).json["approved"])
	}
	require.Equal(t, "suspended", e.must(200, "GET", "/v1/agents/"+agent, nil).str("status"))
	require.Equal(t, "frozen", e.must(200, "GET", "/v1/cards/"+quiet, nil).str("status"))
	require.Len(t, e.eventsOf("agent.auto_suspended"), 1)
}

func TestRiskValidation(t *testing.T) {
	e := newIdemEnv(t)
	cases := []struct{ method, path, body, param string }{
		{"PATCH", "/v1/settings/risk", `{"velocityLimit":{"action":"explode"}}`, "velocityLimit.action"},
		{"PATCH", "/v1/settings/risk", `{"velocityLimit":{"maxPerHour":0}}`, "velocityLimit.maxPerHour"},
		{"PATCH", "/v1/settings/risk", `{"spendSpike":{"multiplier":0.5}}`, "spendSpike.multiplier"},
		{"PATCH", "/v1/settings/risk", `{"spendSpike":{"multiplier":"3"}}`, "spendSpike.multiplier"},
		{"PATCH", "/v1/settings/risk", `{"velocity":{}}`, "velocity"},
		{"PATCH", "/v1/settings/risk", `{"dryRun":"yes"}`, "dryRun"},
		{"PATCH", "/v1/settings/risk", `{"unattestedSpend":{"enabled":true,"window":3}}`, "unattestedSpend.window"},
		{"POST", "/v1/settings/risk/preset", `{"preset":"custom"}`, "preset"},
		{"POST", "/v1/settings/risk/preset", `{}`, "preset"},
	}
	for _, tc := range cases {
		r := e.do(tc.method, tc.path, tc.body)
		require.Equal(t, 400, r.status, "%s %s: %s", tc.method, tc.body, r.raw)
		_, param := errCode(r)
		require.Equal(t, tc.param, param, "%s", tc.body)
	}
	r := e.do("GET", "/v1/settings/risk?agentId=agent_00000000000000000000000000", "")
	require.Equal(t, 404, r.status)
	r = e.do("PATCH", "/v1/settings/risk?cardId=card_00000000000000000000000000", `{"dryRun":true}`)
	require.Equal(t, 404, r.status)
	tok := e.must(201, "POST", "/v1/agents/register", map[string]any{"userId": e.user(), "name": "bot"}).str("token")
	r = e.do("GET", "/v1/settings/risk", "", "Api-Key", tok)
	require.Equal(t, 403, r.status)
}
