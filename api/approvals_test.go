package api_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/testenv"
	"github.com/ledgersim/ledgersim/server"
)

// eventTypes lists the types of the recorded events of one type filter.
func eventCount(e *testenv.Env, typ string) int {
	return len(e.Must(200, "GET", "/v1/events?type="+typ, nil).Data())
}

// TestIntentApproval: an intent declared with requireApproval waits for a
// person. Until it is approved the card's credentials are held back; once
// approved it is an ordinary pending intent; once rejected the credentials
// are refused until a newer intent is declared. Agents can neither approve
// nor reject; both record their events; a decided intent cannot be decided
// again; and the gate survives a restart.
func TestIntentApproval(t *testing.T) {
	e := testenv.Start(t, server.Config{Clock: "virtual"})
	_, agentID, token := e.Funded("ap@example.com", 100000)
	card := multiCard(e, agentID, nil)
	p := "/v1/cards/" + card + "/intents"

	it := e.Must(201, "POST", p, map[string]any{"intentId": "big", "summary": "a laptop", "expectedAmount": 50000, "requireApproval": true})
	require.Equal(t, "pending_approval", it.Str("status"))
	require.Equal(t, true, it.JSON["approvalRequired"])
	id := it.Str("id")
	require.Equal(t, 1, eventCount(e, "intent.pending_approval"))
	require.Equal(t, "intent_pending_approval", e.Must(409, "POST", "/v1/cards/"+card+"/details", map[string]any{"summary": "laptop"}).ErrCode())
	// An intent waiting for approval matches no transaction.
	tx := authorize(e, card, 1000, "ANY")
	require.Empty(t, tx.Str("intentId"))
	require.Equal(t, 1, len(e.Must(200, "GET", p+"?status=pending_approval", nil).JSON["intents"].([]any)))

	// The agent cannot decide on its own intent.
	require.Equal(t, 403, e.Do("POST", "/v1/intents/"+id+"/approve", map[string]any{}, "Api-Key", token).Status)
	require.Equal(t, 403, e.Do("POST", "/v1/intents/"+id+"/reject", map[string]any{}, "Api-Key", token).Status)
	e.Restart()
	require.Equal(t, "intent_pending_approval", e.Must(409, "POST", "/v1/cards/"+card+"/details", map[string]any{"summary": "laptop"}).ErrCode(), "the gate survives a restart")

	ok := e.Must(200, "POST", "/v1/intents/"+id+"/approve", map[string]any{})
	require.Equal(t, "pending", ok.Str("status"))
	require.NotZero(t, ok.Num("approvedAt"))
	require.Equal(t, "lk_test_", ok.Str("approvedBy")[:8], "the key's display prefix")
	require.Len(t, ok.Str("approvedBy"), 12)
	require.Equal(t, 1, eventCount(e, "intent.approved"))
	d := e.Must(200, "POST", "/v1/cards/"+card+"/details", map[string]any{"summary": "laptop"})
	require.Equal(t, id, d.Str("intentId"), "%s", d.Body)
	require.Equal(t, "intent_not_pending_approval", e.Must(409, "POST", "/v1/intents/"+id+"/approve", map[string]any{}).ErrCode())
	tx = authorize(e, card, 50000, "ANY")
	require.Equal(t, id, tx.Str("intentId"), "%s", tx.Body)

	// Rejected: the credentials are refused, with the reason kept.
	card2 := multiCard(e, agentID, nil)
	it2 := e.Must(201, "POST", "/v1/cards/"+card2+"/intents", map[string]any{"intentId": "gift", "summary": "a gift card", "requireApproval": true})
	rej := e.Must(200, "POST", "/v1/intents/"+it2.Str("id")+"/reject", map[string]any{"reason": "no gift cards"})
	require.Equal(t, "rejected", rej.Str("status"))
	require.Equal(t, "no gift cards", rej.Str("rejectionReason"))
	require.NotZero(t, rej.Num("rejectedAt"))
	require.NotEmpty(t, rej.Str("rejectedBy"))
	require.Equal(t, 1, eventCount(e, "intent.rejected"))
	require.Equal(t, "intent_not_pending_approval", e.Must(409, "POST", "/v1/intents/"+it2.Str("id")+"/approve", map[string]any{}).ErrCode())
	require.Equal(t, "intent_rejected", e.Must(403, "POST", "/v1/cards/"+card2+"/details", map[string]any{"summary": "gift"}).ErrCode())
	e.Restart()
	require.Equal(t, "intent_rejected", e.Must(403, "POST", "/v1/cards/"+card2+"/details", map[string]any{"summary": "gift"}).ErrCode())
	// A newer intent lifts the refusal.
	e.Must(201, "POST", "/v1/cards/"+card2+"/intents", map[string]any{"intentId": "coffee", "summary": "coffee"})
	e.Must(200, "POST", "/v1/cards/"+card2+"/details", map[string]any{"summary": "coffee"})

	// Bad input: unknown fields, wrong types, missing intents.
	it3 := e.Must(201, "POST", "/v1/cards/"+card2+"/intents", map[string]any{"intentId": "x", "summary": "x", "requireApproval": true})
	require.Equal(t, "reason", e.Must(400, "POST", "/v1/intents/"+it3.Str("id")+"/reject", map[string]any{"reason": 5}).ErrParam())
	require.Equal(t, "note", e.Must(400, "POST", "/v1/intents/"+it3.Str("id")+"/approve", map[string]any{"note": "x"}).ErrParam())
	require.Equal(t, "requireApproval", e.Must(400, "POST", "/v1/cards/"+card2+"/intents", map[string]any{"intentId": "y", "summary": "y", "requireApproval": "yes"}).ErrParam())
	e.Must(404, "POST", "/v1/intents/int_nothing/approve", map[string]any{})

	// Not decided in time: it expires, and no longer holds the card back.
	advance(e, 31)
	require.Equal(t, "expired", e.Must(200, "GET", "/v1/intents/"+it3.Str("id"), nil).Str("status"))
	e.Must(201, "POST", "/v1/cards/"+card2+"/intents", map[string]any{"intentId": "later", "summary": "later"})
	e.Must(200, "POST", "/v1/cards/"+card2+"/details", map[string]any{"summary": "later"})
}

// TestApprovalByCardOrPolicy: a card's requireApproval, or its policy's
// (the card's own or its agent's default), makes every intent declared on
// it start pending_approval, with approvalRequiredBy saying which; the
// intent's requireApproval false does not waive it, the card's own false
// overrides its policy's true, and a change to the policy applies to the
// next intent.
func TestApprovalByCardOrPolicy(t *testing.T) {
	e := testenv.Start(t, server.Config{Clock: "virtual"})
	_, agentID, token := e.Funded("apc@example.com", 100000)
	declareAs := func(status int, card, id string, extra map[string]any) *testenv.Resp {
		body := map[string]any{"intentId": id, "summary": id}
		for k, v := range extra {
			body[k] = v
		}
		return e.Must(status, "POST", "/v1/cards/"+card+"/intents", body)
	}
	declare := func(card, id string, extra map[string]any) *testenv.Resp { return declareAs(201, card, id, extra) }

	byCard := multiCard(e, agentID, map[string]any{"requireApproval": true})
	require.Equal(t, true, e.Must(200, "GET", "/v1/cards/"+byCard, nil).JSON["requireApproval"])
	require.Equal(t, true, e.Must(200, "GET", "/v1/cards/"+byCard+"/policy", nil).JSON["attestation"].(map[string]any)["approvalRequired"])
	it := declare(byCard, "a", map[string]any{"requireApproval": false})
	require.Equal(t, "pending_approval", it.Str("status"), "the agent cannot waive its card's approval")
	require.Equal(t, "card", it.Str("approvalRequiredBy"))
	require.Equal(t, "intent_pending_approval", e.Must(409, "POST", "/v1/cards/"+byCard+"/details", map[string]any{"summary": "a"}).ErrCode())
	// Declared again with the same fields: the same intent, not a conflict.
	require.Equal(t, it.Str("id"), declareAs(200, byCard, "a", nil).Str("id"))
	require.Equal(t, it.Str("id"), declareAs(200, byCard, "a", map[string]any{"requireApproval": true}).Str("id"))
	e.Must(200, "POST", "/v1/intents/"+it.Str("id")+"/approve", map[string]any{})
	e.Must(200, "POST", "/v1/cards/"+byCard+"/details", map[string]any{"summary": "a"})

	pol := e.Must(201, "POST", "/v1/policies", map[string]any{"name": "four eyes", "requireApproval": true})
	polID := pol.Str("id")
	require.Equal(t, true, pol.JSON["attestation"].(map[string]any)["requireApproval"])
	byPolicy := multiCard(e, agentID, map[string]any{"policyId": polID})
	it = declare(byPolicy, "b", nil)
	require.Equal(t, "pending_approval", it.Str("status"))
	require.Equal(t, "policy", it.Str("approvalRequiredBy"))
	// The card's own false overrides its policy's true.
	optedOut := multiCard(e, agentID, map[string]any{"policyId": polID, "requireApproval": false})
	require.Equal(t, "pending", declare(optedOut, "c", nil).Str("status"))
	// The intent's own request is named as the reason when it asks.
	require.Equal(t, "intent", declare(optedOut, "d", map[string]any{"requireApproval": true}).Str("approvalRequiredBy"))

	// Through the agent's defaultPolicyId.
	e.Must(200, "PATCH", "/v1/agents/"+agentID, map[string]any{"defaultPolicyId": polID})
	plain := multiCard(e, agentID, nil)
	require.Equal(t, "policy", e.Do("POST", "/v1/cards/"+plain+"/intents", map[string]any{"intentId": "e", "summary": "e"}, "Api-Key", token).Str("approvalRequiredBy"))

	// The policy changed: the next intent follows it.
	e.Must(200, "PATCH", "/v1/policies/"+polID, map[string]any{"requireApproval": nil})
	require.Equal(t, "pending", declare(byPolicy, "f", nil).Str("status"))
	require.Equal(t, "requireApproval", e.Must(400, "POST", "/v1/policies", map[string]any{"name": "x", "requireApproval": "yes"}).ErrParam())
	require.Equal(t, "requireApproval", e.Must(400, "PATCH", "/v1/cards/"+plain, map[string]any{"requireApproval": 1}).ErrParam())
}
