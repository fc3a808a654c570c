package api

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func errCode(r *idemResp) (code, param string) {
	e, _ := r.json["error"].(map[string]any)
	code, _ = e["code"].(string)
	param, _ = e["param"].(string)
	return code, param
}

func TestPolicyCRUD(t *testing.T) {
	e := newIdemEnv(t)
	p := e.must(201, "POST", "/v1/policies", map[string]any{"name": "No gambling", "description": "d",
		"blockedMccs": []string{"7995"}, "limitPerAuth": 5000, "activeHoursStart": 9, "activeHoursEnd": 17,
		"activeTimezone": "America/New_York", "activeDays": []int{1, 2, 3, 4, 5}, "requireAttestation": true,
		"intentTolerance": 0.1, "onExpiry": "close", "ttlMinutes": 60})
	id := p.str("id")
	require.Regexp(t, `^pol_`, id)
	require.Equal(t, "policy", p.json["object"])
	mr := p.json["merchantRestrictions"].(map[string]any)
	require.Equal(t, []any{"7995"}, mr["blockedMccs"])
	require.EqualValues(t, 5000, p.json["spendingRestrictions"].(map[string]any)["limitPerAuth"])
	tr := p.json["timeRestrictions"].(map[string]any)
	require.Equal(t, "America/New_York", tr["activeTimezone"])
	require.EqualValues(t, 0.1, p.json["attestation"].(map[string]any)["intentTolerance"])

	got := e.must(200, "GET", "/v1/policies/"+id, nil)
	require.Equal(t, string(p.raw), string(got.raw))

	// PATCH: a null clears, other fields stay.
	up := e.must(200, "PATCH", "/v1/policies/"+id, map[string]any{"limitPerAuth": nil, "cooldownMinutes": 5, "name": "No betting"})
	require.Nil(t, up.json["spendingRestrictions"].(map[string]any)["limitPerAuth"])
	require.EqualValues(t, 5, up.json["spendingRestrictions"].(map[string]any)["cooldownMinutes"])
	require.Equal(t, []any{"7995"}, up.json["merchantRestrictions"].(map[string]any)["blockedMccs"])
	require.Equal(t, "No betting", up.str("name"))

	// Names are unique, without case; the old name is free again.
	r := e.do("POST", "/v1/policies", `{"name":"no BETTING"}`)
	require.Equal(t, 409, r.status, "%s", r.raw)
	e.must(201, "POST", "/v1/policies", map[string]any{"name": "No gambling"})
	r = e.do("PATCH", "/v1/policies/"+id, `{"name":"No gambling"}`)
	require.Equal(t, 409, r.status, "%s", r.raw)

	// The list pages newest first with a cursor.
	for i := range 3 {
		e.must(201, "POST", "/v1/policies", map[string]any{"name": fmt.Sprintf("p%d", i)})
	}
	var names []string
	cursor := ""
	for {
		path := "/v1/policies?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		page := e.must(200, "GET", path, nil)
		for _, d := range page.json["data"].([]any) {
			names = append(names, d.(map[string]any)["name"].(string))
		}
		if page.json["hasMore"] != true {
			break
		}
		cursor = page.str("cursor")
	}
	require.Equal(t, []string{"p2", "p1", "p0", "No gambling", "No betting"}, names)

	r = e.do("GET", "/v1/policies/pol_00000000000000000000000000", "")
	require.Equal(t, 404, r.status)
	r = e.do("PATCH", "/v1/policies/pol_00000000000000000000000000", `{"name":"x"}`)
	require.Equal(t, 404, r.status)
}

func TestPolicyValidation(t *testing.T) {
	e := newIdemEnv(t)
	id := e.must(201, "POST", "/v1/policies", map[string]any{"name": "base"}).str("id")
	cases := []struct {
		name, body, param string
	}{
		{"missing name", `{}`, "name"},
		{"unknown field", `{"name":"a","blockMccs":["7995"]}`, "blockMccs"},
		{"wrong type", `{"name":"a","cooldownMinutes":"5"}`, "cooldownMinutes"},
		{"bad mcc", `{"name":"a","blockedMccs":["79"]}`, "blockedMccs"},
		{"bad zone", `{"name":"a","activeHoursStart":1,"activeHoursEnd":2,"activeTimezone":"Mars/Olympus"}`, "activeTimezone"},
		{"hour range", `{"name":"a","activeHoursStart":24,"activeHoursEnd":2}`, "activeHoursStart"},
		{"hours alone", `{"name":"a","activeHoursStart":3}`, "activeHoursEnd"},
		{"bad day", `{"name":"a","activeDays":[7]}`, "activeDays"},
		{"tolerance", `{"name":"a","intentTolerance":1.5}`, "intentTolerance"},
		{"enum", `{"name":"a","onExpiry":"explode"}`, "onExpiry"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			r := e.do("POST", "/v1/policies", tc.body)
			require.Equal(t, 400, r.status, "%s", r.raw)
			_, param := errCode(r)
			require.Equal(t, tc.param, param)
			require.NotEmpty(t, r.json["requestId"])
			if tc.name == "missing name" {
				return
			}
			p := e.do("PATCH", "/v1/policies/"+id, tc.body)
			require.Equal(t, 400, p.status, "%s", p.raw)
			_, param = errCode(p)
			require.Equal(t, tc.param, param)
		})
	}
	e.t = t
	// PATCH cannot remove the name, and the hours stay paired across patches.
	r := e.do("PATCH", "/v1/policies/"+id, `{"name":null}`)
	require.Equal(t, 400, r.status)
	e.must(200, "PATCH", "/v1/policies/"+id, map[string]any{"activeHoursStart": 9, "activeHoursEnd": 17})
	r = e.do("PATCH", "/v1/policies/"+id, `{"activeHoursEnd":null}`)
	require.Equal(t, 400, r.status, "%s", r.raw)
	_, param := errCode(r)
	require.Equal(t, "activeHoursEnd", param)
}

func TestPolicyScope(t *testing.T) {
	e := newIdemEnv(t)
	reg := e.must(201, "POST", "/v1/agents/register", map[string]any{"userId": e.user(), "name": "bot"})
	tok := reg.str("token")
	for _, call := range [][2]string{{"POST", "/v1/policies"}, {"GET", "/v1/policies"}} {
		r := e.do(call[0], call[1], `{"name":"x"}`, "Api-Key", tok)
		require.Equal(t, 403, r.status, "%s %s: %s", call[0], call[1], r.raw)
	}
	// An agent token reads its own agent's and cards' policy state, not another's.
	r := e.do("GET", "/v1/agents/"+reg.str("id")+"/policy", "", "Api-Key", tok)
	require.Equal(t, 200, r.status, "%s", r.raw)
	r = e.do("GET", "/v1/agents/"+e.agent()+"/policy", "", "Api-Key", tok)
	require.Equal(t, 404, r.status, "%s", r.raw)
	r = e.do("GET", "/v1/cards/"+e.card(nil)+"/policy", "", "Api-Key", tok)
	require.Equal(t, 404, r.status, "%s", r.raw)
}

// TestPolicyBlocksMCC is the README's walk-through: a policy that blocks
// MCC 7995, applied through the agent's defaultPolicyId, declines a
// purchase there with blocked_mcc and approves one elsewhere; a card's own
// allowedMccs override it.
func TestPolicyBlocksMCC(t *testing.T) {
	e := newIdemEnv(t)
	pol := e.must(201, "POST", "/v1/policies", map[string]any{"name": "No gambling", "blockedMccs": []string{"7995"}}).str("id")
	r := e.do("POST", "/v1/agents/register", fmt.Sprintf(`{"userId":%q,"name":"b","defaultPolicyId":"pol_00000000000000000000000000"}`, e.user()))
	require.Equal(t, 400, r.status, "%s", r.raw)
	agent := e.must(201, "POST", "/v1/agents/register", map[string]any{"userId": e.user(), "name": "b", "defaultPolicyId": pol}).str("id")
	card := e.must(201, "POST", "/v1/agents/"+agent+"/cards", map[string]any{"purpose": "p", "type": "multi"}).str("id")

	d := e.must(201, "POST", "/v1/simulate/authorization", map[string]any{"cardId": card, "amount": 500, "merchantCategory": "7995", "merchantName": "CASINO"})
	require.Equal(t, false, d.json["approved"], "%s", d.raw)
	require.Equal(t, "blocked_mcc", d.json["declinedReason"])
	require.Equal(t, "57", d.json["responseCode"])
	ok := e.must(201, "POST", "/v1/simulate/authorization", map[string]any{"cardId": card, "amount": 500, "merchantCategory": "5812", "merchantName": "CAFE"})
	require.Equal(t, true, ok.json["approved"], "%s", ok.raw)

	st := e.must(200, "GET", "/v1/cards/"+card+"/policy", nil)
	require.Equal(t, pol, st.str("policyId"))
	require.Equal(t, []any{"7995"}, st.json["merchantCategories"].(map[string]any)["blockedMccs"])
	require.EqualValues(t, 1, st.json["authCount"].(map[string]any)["current"])

	// The card's own list wins over its policy's: 7995 is all it allows.
	own := e.must(201, "POST", "/v1/agents/"+agent+"/cards", map[string]any{"purpose": "p", "blockedMccs": []string{}, "allowedMccs": []string{"7995"}}).str("id")
	d = e.must(201, "POST", "/v1/simulate/authorization", map[string]any{"cardId": own, "amount": 500, "merchantCategory": "7995"})
	require.Equal(t, true, d.json["approved"], "%s", d.raw)

	// PATCH the card to another policy, then off it.
	other := e.must(201, "POST", "/v1/policies", map[string]any{"name": "Small", "maxAmount": 100}).str("id")
	e.must(200, "PATCH", "/v1/cards/"+card, map[string]any{"policyId": other})
	d = e.must(201, "POST", "/v1/simulate/authorization", map[string]any{"cardId": card, "amount": 500, "merchantCategory": "5812", "merchantName": "CAFE"})
	require.Equal(t, "spending_limit_exceeded", d.json["declinedReason"], "%s", d.raw)
	e.must(200, "PATCH", "/v1/agents/"+agent, map[string]any{"defaultPolicyId": nil})
	e.must(200, "PATCH", "/v1/cards/"+card, map[string]any{"policyId": nil})
	d = e.must(201, "POST", "/v1/simulate/authorization", map[string]any{"cardId": card, "amount": 500, "merchantCategory": "7995", "merchantName": "CAFE"})
	require.Equal(t, true, d.json["approved"], "%s", d.raw)
}

// TestPolicyTimeControls on the virtual clock: a cooldown waits out its
// minutes, and a card whose ttlMinutes ran out is closed as its policy's
// onExpiry says when the clock reaches the end, with card.expired
// recorded, and declines 54.
func TestPolicyTimeControls(t *testing.T) {
	e := newIdemEnv(t)
	pol := e.must(201, "POST", "/v1/policies", map[string]any{"name": "Short", "cooldownMinutes": 10, "ttlMinutes": 60, "onExpiry": "close"}).str("id")
	agent := e.must(201, "POST", "/v1/agents/register", map[string]any{"userId": e.user(), "name": "b", "defaultPolicyId": pol}).str("id")
	card := e.must(201, "POST", "/v1/agents/"+agent+"/cards", map[string]any{"purpose": "p", "type": "multi"}).str("id")
	buy := func() *idemResp {
		return e.must(201, "POST", "/v1/simulate/authorization", map[string]any{"cardId": card, "amount": 100, "merchantName": "CAFE"})
	}
	require.Equal(t, true, buy().json["approved"])
	st := e.must(200, "GET", "/v1/cards/"+card+"/policy", nil)
	cd := st.json["cooldown"].(map[string]any)
	require.Equal(t, true, cd["isInCooldown"])
	d := buy()
	require.Equal(t, "cooldown_active", d.json["declinedReason"], "%s", d.raw)
	require.Equal(t, "65", d.json["responseCode"])
	e.must(200, "POST", "/v1/simulate/clock/advance", map[string]any{"minutes": 10})
	require.Equal(t, true, buy().json["approved"])

	e.must(200, "POST", "/v1/simulate/clock/advance", map[string]any{"minutes": 50})
	st = e.must(200, "GET", "/v1/cards/"+card+"/policy", nil)
	require.Equal(t, true, st.json["ttl"].(map[string]any)["isExpired"])
	d = buy()
	require.Equal(t, "54", d.json["responseCode"], "%s", d.raw)
	require.Equal(t, "card_expired", d.json["declinedReason"])
	c := e.must(200, "GET", "/v1/cards/"+card, nil)
	require.Equal(t, "closed", c.str("status"))
	ev := e.must(200, "GET", "/v1/events?type=card.expired", nil)
	require.Len(t, ev.json["data"], 1)
	d = buy()
	require.Equal(t, "card_expired", d.json["declinedReason"], "an expired card declines as expired, closed or not")
	ev = e.must(200, "GET", "/v1/events?type=card.expired", nil)
	require.Len(t, ev.json["data"], 1, "the expiry is recorded once")
}
