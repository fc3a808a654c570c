package api

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNotActivatedCard: a card issued notActivated declines 62
// card_not_activated; freezing it reports previousStatus notActivated and
// unfreezing takes it back there; activation (the endpoint or PATCH status
// active) makes it spend, once, with card.activated.
func TestNotActivatedCard(t *testing.T) {
	for _, via := range []string{"activate", "patch"} {
		t.Run(via, func(t *testing.T) {
			e := newIdemEnv(t)
			card := e.must(201, "POST", "/v1/agents/"+e.agent()+"/cards", map[string]any{"purpose": "p", "type": "multi", "status": "notActivated",
				"credentialExposure": "rawPan", "acknowledgeRawPanRisk": true})
			id := card.str("id")
			require.Equal(t, "notActivated", card.str("status"))
			buy := func() *idemResp {
				return e.must(201, "POST", "/v1/simulate/authorization", map[string]any{"cardId": id, "amount": 100, "merchantName": "CAFE"})
			}
			d := buy()
			require.Equal(t, "62", d.json["responseCode"], "%s", d.raw)
			require.Equal(t, "card_not_activated", d.json["declinedReason"])

			fr := e.must(200, "POST", "/v1/cards/"+id+"/freeze", map[string]any{})
			require.Equal(t, "frozen", fr.str("status"))
			require.Equal(t, "notActivated", fr.str("previousStatus"))
			r := e.must(409, "POST", "/v1/cards/"+id+"/activate", map[string]any{})
			require.Equal(t, "card_frozen", r.json["error"].(map[string]any)["code"])
			un := e.must(200, "POST", "/v1/cards/"+id+"/unfreeze", map[string]any{})
			require.Equal(t, "notActivated", un.str("status"), "unfrozen, it waits for activation again")
			require.Equal(t, "card_not_activated", buy().json["declinedReason"])

			if via == "activate" {
				a := e.must(200, "POST", "/v1/cards/"+id+"/activate", map[string]any{})
				require.Equal(t, "active", a.str("status"))
				require.Equal(t, "notActivated", a.str("previousStatus"))
			} else {
				p := e.must(200, "PATCH", "/v1/cards/"+id, map[string]any{"status": "active"})
				require.Equal(t, "active", p.str("status"))
			}
			got := e.must(200, "GET", "/v1/cards/"+id, nil)
			require.NotNil(t, got.json["activatedAt"])
			require.Equal(t, true, buy().json["approved"])
			evs := e.eventsOf("card.activated")
			require.Len(t, evs, 1)
			require.Equal(t, id, evs[0].(map[string]any)["data"].(map[string]any)["cardId"])

			r = e.must(409, "POST", "/v1/cards/"+id+"/activate", map[string]any{})
			require.Equal(t, "card_already_activated", r.json["error"].(map[string]any)["code"])
			// Frozen and unfrozen after activation, it is active.
			e.must(200, "POST", "/v1/cards/"+id+"/freeze", map[string]any{})
			require.Equal(t, "active", e.must(200, "POST", "/v1/cards/"+id+"/unfreeze", map[string]any{}).str("status"))
		})
	}
	e := newIdemEnv(t)
	r := e.must(400, "POST", "/v1/agents/"+e.agent()+"/cards", map[string]any{"purpose": "p", "status": "frozen"})
	require.Equal(t, "status", r.json["error"].(map[string]any)["param"])
	r = e.must(404, "POST", "/v1/cards/card_missing/activate", map[string]any{})
	require.Equal(t, "card_not_found", r.json["error"].(map[string]any)["code"])
}
