package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/testenv"
	"github.com/ledgersim/ledgersim/server"
)

func multiCard(e *testenv.Env, agentID string, extra map[string]any) string {
	body := map[string]any{"purpose": "p", "type": "multi", "credentialExposure": "rawPan", "acknowledgeRawPanRisk": true}
	for k, v := range extra {
		body[k] = v
	}
	return e.Must(201, "POST", "/v1/agents/"+agentID+"/cards", body).Str("id")
}

func authorize(e *testenv.Env, cardID string, amount int64, merchant string) *testenv.Resp {
	return e.Must(201, "POST", "/v1/simulate/authorization", map[string]any{"cardId": cardID, "amount": amount, "merchantName": merchant, "merchantCategory": "5812"})
}

func advance(e *testenv.Env, minutes int) {
	e.Must(200, "POST", "/v1/simulate/clock/advance", map[string]any{"minutes": minutes})
}

func TestIntentLifecycle(t *testing.T) {
	e := testenv.Start(t, server.Config{Clock: "virtual"})
	_, agentID, _ := e.Funded("i@example.com", 100000)
	card := multiCard(e, agentID, nil)
	p := "/v1/cards/" + card + "/intents"

	// The Intents page's spelling.
	it := e.Must(201, "POST", p, map[string]any{"intentId": "order-123", "summary": "Order lunch on DoorDash",
		"expectedAmount": 2500, "expectedMerchant": "DoorDash", "tolerance": 500, "ttlMinutes": 30, "metadata": map[string]any{"orderId": "o-1"}})
	require.True(t, strings.HasPrefix(it.Str("id"), "int_"))
	require.Equal(t, "pending", it.Str("status"))
	require.Equal(t, it.Num("createdAt")+30*60*1000, it.Num("expiresAt"))
	// Idempotent per card by intentId: the same declaration returns the
	// first intent, another one under the same intentId is a conflict that
	// names the intent.
	again := e.Must(200, "POST", p, map[string]any{"intentId": "order-123", "summary": "Order lunch on DoorDash",
		"expectedAmount": 2500, "expectedMerchant": "DoorDash", "tolerance": 500, "ttlMinutes": 30, "metadata": map[string]any{"orderId": "o-1"}})
	require.Equal(t, it.Str("id"), again.Str("id"))
	reused := e.Must(409, "POST", p, map[string]any{"intentId": "order-123", "summary": "something else"})
	require.Equal(t, "intent_id_reused", reused.ErrCode())
	require.Equal(t, "intentId", reused.ErrParam())
	require.Contains(t, string(reused.Body), it.Str("id"))
	require.Equal(t, "Order lunch on DoorDash", e.Must(200, "GET", "/v1/intents/"+it.Str("id"), nil).Str("summary"))

	// Matched: within tolerance, merchant after normalization.
	tx := authorize(e, card, 2450, "DOORDASH*BURGERS")
	require.Equal(t, "00", tx.Str("responseCode"))
	require.Equal(t, it.Str("id"), tx.Str("intentId"))
	got := e.Must(200, "GET", "/v1/intents/"+it.Str("id"), nil)
	require.Equal(t, "matched", got.Str("status"))
	require.Equal(t, tx.Str("id"), got.Str("transactionId"))
	mr := got.JSON["matchResult"].(map[string]any)
	require.Equal(t, true, mr["amountMatch"])
	require.Equal(t, true, mr["merchantMatch"])
	require.EqualValues(t, 2450, mr["actualAmount"])
	require.Equal(t, "DOORDASH*BURGERS", mr["actualMerchant"])
	require.NotZero(t, got.Num("matchedAt"))

	// The Payment Flow page's spelling; a mismatch never declines.
	card2 := multiCard(e, agentID, nil)
	it2 := e.Must(201, "POST", "/v1/cards/"+card2+"/intents", map[string]any{"intentId": "o-2", "summary": "Sony headphones", "amount": 34999, "merchantText": "Amazon"})
	require.EqualValues(t, 34999, it2.Num("expectedAmount"))
	require.Equal(t, "Amazon", it2.Str("expectedMerchant"))
	tx2 := authorize(e, card2, 50000, "AMZN Mktp US*2K4LM0")
	require.Equal(t, "00", tx2.Str("responseCode"), "a mismatch is informational")
	got2 := e.Must(200, "GET", "/v1/intents/"+it2.Str("id"), nil)
	require.Equal(t, "mismatched", got2.Str("status"))
	mr2 := got2.JSON["matchResult"].(map[string]any)
	require.Equal(t, false, mr2["amountMatch"])
	require.Equal(t, true, mr2["merchantMatch"], "AMZN Mktp US is Amazon")
	require.NotZero(t, got2.Num("mismatchedAt"))

	// Canceled.
	it3 := e.Must(201, "POST", p, map[string]any{"intentId": "o-3", "summary": "dinner"})
	c := e.Must(200, "POST", "/v1/intents/"+it3.Str("id")+"/cancel", nil)
	require.Equal(t, "canceled", c.Str("status"))
	require.NotZero(t, c.Num("canceledAt"))
	require.Equal(t, "intent_not_pending", e.Must(409, "POST", "/v1/intents/"+it3.Str("id")+"/cancel", nil).ErrCode())

	// Expired, driven by the virtual clock.
	it4 := e.Must(201, "POST", p, map[string]any{"intentId": "o-4", "summary": "later", "ttlMinutes": 10})
	advance(e, 9)
	require.Equal(t, "pending", e.Must(200, "GET", "/v1/intents/"+it4.Str("id"), nil).Str("status"))
	advance(e, 2)
	exp := e.Must(200, "GET", "/v1/intents/"+it4.Str("id"), nil)
	require.Equal(t, "expired", exp.Str("status"))
	require.NotZero(t, exp.Num("expiredAt"))
	// An expired intent is not matched.
	tx3 := authorize(e, card, 100, "DOORDASH")
	require.Nil(t, tx3.JSON["intentId"])

	list := e.Must(200, "GET", p, nil)
	require.Equal(t, card, list.Str("cardId"))
	require.Len(t, list.JSON["intents"], 3)
	pending := e.Must(200, "GET", p+"?status=expired", nil).JSON["intents"].([]any)
	require.Len(t, pending, 1)
	e.Must(400, "GET", p+"?status=bogus", nil)

	// Validation.
	for _, tc := range []struct {
		body  map[string]any
		param string
	}{
		{map[string]any{"intentId": "", "summary": "s"}, "intentId"},
		{map[string]any{"intentId": "x"}, "summary"},
		{map[string]any{"intentId": "x", "summary": "s", "ttlMinutes": 1441}, "ttlMinutes"},
		{map[string]any{"intentId": "x", "summary": "s", "ttlMinutes": 0}, "ttlMinutes"},
		{map[string]any{"intentId": "x", "summary": "s", "tolerance": -1}, "tolerance"},
		{map[string]any{"intentId": "x", "summary": "s", "expectedAmount": 10, "amount": 20}, "amount"},
		{map[string]any{"intentId": "x", "summary": "s", "expectedMerchant": "A", "merchantText": "B"}, "merchantText"},
	} {
		r := e.Must(400, "POST", p, tc.body)
		require.Equal(t, tc.param, r.ErrParam(), "%v", tc.body)
	}
}

func TestCardDetailsRules(t *testing.T) {
	e := testenv.Start(t, server.Config{Clock: "virtual"})
	_, agentID, _ := e.Funded("d@example.com", 100000)

	// A multi-use card needs a pending intent.
	multi := multiCard(e, agentID, nil)
	r := e.Must(409, "POST", "/v1/cards/"+multi+"/details", map[string]any{"summary": "buy"})
	require.Equal(t, "intent_required", r.ErrCode())
	require.Contains(t, r.JSON["error"].(map[string]any)["message"], "/intents")
	it := e.Must(201, "POST", "/v1/cards/"+multi+"/intents", map[string]any{"intentId": "a", "summary": "buy", "ttlMinutes": 30})
	d := e.Must(200, "POST", "/v1/cards/"+multi+"/details", map[string]any{"summary": "buy", "expectedAmount": 1000,
		"expectedCurrency": "USD", "merchantText": "Amazon", "reason": "one-time", "clientContext": map[string]any{"session": "s1"}})
	require.Len(t, d.Str("pan"), 16)
	require.Equal(t, it.Str("id"), d.Str("intentId"))
	// After the access the intent waits up to 24 hours for its transaction.
	after := e.Must(200, "GET", "/v1/intents/"+it.Str("id"), nil)
	require.Equal(t, d.Str("accessEventId"), after.Str("accessEventId"))
	require.Equal(t, after.Num("detailsAccessedAt")+24*60*60*1000, after.Num("expiresAt"))
	advance(e, 60)
	require.Equal(t, "pending", e.Must(200, "GET", "/v1/intents/"+it.Str("id"), nil).Str("status"), "past ttlMinutes, still waiting")
	ev := e.Must(200, "GET", "/v1/cards/"+multi+"/access-events", nil).Data()[0]
	require.Equal(t, it.Str("id"), ev["intentId"])
	require.Equal(t, "one-time", ev["reason"])
	require.Equal(t, "Amazon", ev["merchantText"])
	require.Equal(t, "api_key", ev["actor"])

	// A single-use card's purpose is its intent.
	single := e.Must(201, "POST", "/v1/agents/"+agentID+"/cards", map[string]any{"purpose": "one thing", "credentialExposure": "rawPan", "acknowledgeRawPanRisk": true}).Str("id")
	e.Must(200, "POST", "/v1/cards/"+single+"/details", map[string]any{"summary": "the one thing"})

	// never: 403.
	never := e.Must(201, "POST", "/v1/agents/"+agentID+"/cards", map[string]any{"purpose": "hosted", "credentialExposure": "never"}).Str("id")
	require.Equal(t, "credentials_not_exposed", e.Must(403, "POST", "/v1/cards/"+never+"/details", map[string]any{"summary": "x"}).ErrCode())

	// extensionOnly (the default): a single-use token for 120 s, redeemed once.
	ext := e.Must(201, "POST", "/v1/agents/"+agentID+"/cards", map[string]any{"purpose": "ext"}).Str("id")
	x := e.Must(200, "POST", "/v1/cards/"+ext+"/details", map[string]any{"summary": "x"})
	tok := x.Str("detailsToken")
	require.True(t, strings.HasPrefix(tok, "tok_"))
	require.Empty(t, x.Str("pan"), "no card data without the extension")
	require.Equal(t, "extensionOnly", x.Str("exposureMode"))
	require.Equal(t, e.Server.Clock().Now().UnixMilli()+120_000, x.Num("tokenExpiresAt"))
	red := e.Must(200, "POST", "/v1/extension/redeem", map[string]any{"detailsToken": tok}, "Api-Key", "")
	require.Len(t, red.Str("pan"), 16)
	require.Len(t, red.Str("cvv"), 3)
	require.Equal(t, "token_already_redeemed", e.Must(409, "POST", "/v1/extension/redeem", map[string]any{"detailsToken": tok}).ErrCode())
	x2 := e.Must(200, "POST", "/v1/cards/"+ext+"/details", map[string]any{"summary": "again"})
	advance(e, 3)
	require.Equal(t, "token_expired", e.Must(409, "POST", "/v1/extension/redeem", map[string]any{"detailsToken": x2.Str("detailsToken")}).ErrCode())
	e.Must(404, "POST", "/v1/extension/redeem", map[string]any{"detailsToken": "tok_nothing"})

	// At most 10 reads per card per hour: the 11th is 429 with Retry-After.
	lim := e.Must(201, "POST", "/v1/agents/"+agentID+"/cards", map[string]any{"purpose": "lim", "credentialExposure": "rawPan", "acknowledgeRawPanRisk": true}).Str("id")
	for i := 0; i < 10; i++ {
		e.Must(200, "POST", "/v1/cards/"+lim+"/details", map[string]any{"summary": "read"})
		advance(e, 1)
	}
	r = e.Must(429, "POST", "/v1/cards/"+lim+"/details", map[string]any{"summary": "read"})
	require.Equal(t, "credential_access_limit", r.ErrCode())
	require.Equal(t, "rate_limit_error", r.JSON["error"].(map[string]any)["type"])
	require.Equal(t, "3000", r.Header.Get("Retry-After"), "the first read, at minute 0, leaves the hour at minute 60: 50 minutes from now")
	advance(e, 51)
	e.Must(200, "POST", "/v1/cards/"+lim+"/details", map[string]any{"summary": "read"})
}

func TestAttestationStatuses(t *testing.T) {
	e := testenv.Start(t, server.Config{Clock: "virtual"})
	_, agentID, _ := e.Funded("a@example.com", 100000)
	card := multiCard(e, agentID, map[string]any{"attestationWindowMinutes": 5})

	tx := authorize(e, card, 100, "CAFE")
	require.Equal(t, "unattested", tx.Str("attestationStatus"))

	e.Must(201, "POST", "/v1/cards/"+card+"/intents", map[string]any{"intentId": "x", "summary": "coffee"})
	d := e.Must(200, "POST", "/v1/cards/"+card+"/details", map[string]any{"summary": "coffee"})
	advance(e, 4)
	tx = authorize(e, card, 100, "CAFE")
	require.Equal(t, "attested", tx.Str("attestationStatus"))
	require.Equal(t, d.Str("accessEventId"), tx.Str("accessEventId"))

	advance(e, 2)
	tx = authorize(e, card, 100, "CAFE")
	require.Equal(t, "stale", tx.Str("attestationStatus"))
	require.Equal(t, d.Str("accessEventId"), tx.Str("accessEventId"))
}

func TestPendingIntentSurvivesRestart(t *testing.T) {
	e := testenv.Start(t, server.Config{Clock: "virtual"})
	_, agentID, _ := e.Funded("r@example.com", 100000)
	card := multiCard(e, agentID, nil)
	it := e.Must(201, "POST", "/v1/cards/"+card+"/intents", map[string]any{"intentId": "r", "summary": "s", "expectedAmount": 700, "ttlMinutes": 20})
	soon := e.Must(201, "POST", "/v1/cards/"+card+"/intents", map[string]any{"intentId": "q", "summary": "s", "ttlMinutes": 10})
	advance(e, 5)
	e.Restart()
	require.Equal(t, "pending", e.Must(200, "GET", "/v1/intents/"+it.Str("id"), nil).Str("status"))
	// The virtual time was kept: 5 more minutes expire the 10-minute intent.
	advance(e, 6)
	require.Equal(t, "expired", e.Must(200, "GET", "/v1/intents/"+soon.Str("id"), nil).Str("status"))
	tx := authorize(e, card, 700, "ANY")
	require.Equal(t, it.Str("id"), tx.Str("intentId"))
	require.Equal(t, "matched", e.Must(200, "GET", "/v1/intents/"+it.Str("id"), nil).Str("status"))
}

func TestVirtualClockEndpoint(t *testing.T) {
	real := testenv.Start(t, server.Config{})
	require.Equal(t, "clock_not_virtual", real.Must(409, "POST", "/v1/simulate/clock/advance", map[string]any{"minutes": 1}).ErrCode())
	v := testenv.Start(t, server.Config{Clock: "virtual"})
	before := v.Must(200, "GET", "/v1/simulate/clock", nil).Num("now")
	after := v.Must(200, "POST", "/v1/simulate/clock/advance", map[string]any{"minutes": 90}).Num("now")
	require.Equal(t, before+90*60*1000, after)
	require.Equal(t, "minutes", v.Must(400, "POST", "/v1/simulate/clock/advance", map[string]any{"minutes": 0}).ErrParam())
}

func TestPendingIntentsPerCardAreBounded(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	_, agentID, _ := e.Funded("cap@example.com", 0)
	card := multiCard(e, agentID, nil)
	p := "/v1/cards/" + card + "/intents"
	var first string
	for i := 0; i < 100; i++ {
		r := e.Must(201, "POST", p, map[string]any{"intentId": fmt.Sprint("i", i), "summary": "s"})
		if i == 0 {
			first = r.Str("id")
		}
	}
	require.Equal(t, "too_many_pending_intents", e.Must(409, "POST", p, map[string]any{"intentId": "one-more", "summary": "s"}).ErrCode())
	e.Must(200, "POST", "/v1/intents/"+first+"/cancel", nil)
	e.Must(201, "POST", p, map[string]any{"intentId": "one-more", "summary": "s"})
}

// TestIntentWithoutIntentID declares an intent as the Payment Flow page
// does, with no intentId: one is generated (the intent's own id) and the
// reply says so. Each such declaration is a new intent.
func TestIntentWithoutIntentID(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	_, agentID, _ := e.Funded("noid@example.com", 100000)
	card := multiCard(e, agentID, nil)
	p := "/v1/cards/" + card + "/intents"
	body := map[string]any{"summary": "Buy Sony WH-1000XM5 headphones", "amount": 14999, "merchantText": "Amazon"}
	first := e.Must(201, "POST", p, body)
	require.Equal(t, first.Str("id"), first.Str("intentId"))
	require.Equal(t, true, first.JSON["intentIdGenerated"])
	require.EqualValues(t, 14999, first.Num("expectedAmount"))
	second := e.Must(201, "POST", p, body)
	require.NotEqual(t, first.Str("id"), second.Str("id"))
	// The generated id is an intentId like any other afterwards.
	require.Equal(t, first.Str("id"), e.Must(200, "POST", p, map[string]any{"intentId": first.Str("id"),
		"summary": "Buy Sony WH-1000XM5 headphones", "amount": 14999, "merchantText": "Amazon"}).Str("id"))
	got := e.Must(200, "GET", "/v1/intents/"+first.Str("id"), nil)
	require.Nil(t, got.JSON["intentIdGenerated"], "only the creating reply says it")
	require.Equal(t, "intentId", e.Must(400, "POST", p, map[string]any{"intentId": " ", "summary": "s"}).ErrParam())
}
