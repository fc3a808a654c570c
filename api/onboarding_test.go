package api_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/testenv"
	"github.com/ledgersim/ledgersim/server"
	"github.com/ledgersim/ledgersim/vault"
)

// TestPaymentFlowOnboarding walks the Payment Flow page from user to card
// details against a real server.
func TestPaymentFlowOnboarding(t *testing.T) {
	e := testenv.Start(t, server.Config{})

	u := e.Must(201, "POST", "/v1/users", map[string]any{"firstName": "John", "lastName": "Doe", "email": "john@example.com"})
	userID := u.Str("id")
	require.True(t, strings.HasPrefix(userID, "user_"))
	require.Equal(t, "pending", u.Str("status"))
	require.Equal(t, "notStarted", u.Str("applicationStatus"))

	// Agents need an approved user.
	r := e.Must(409, "POST", "/v1/agents/register", map[string]any{"userId": userID, "name": "bot"})
	require.Equal(t, "user_not_verified", r.ErrCode())
	// Deposits too.
	r = e.Must(409, "POST", "/v1/simulate/deposit", map[string]any{"userId": userID, "asset": "USDC", "chain": "base", "amount": 10})
	require.Equal(t, "user_not_verified", r.ErrCode())

	v := e.Must(200, "POST", "/v1/verification/user", map[string]any{"userId": userID})
	require.Equal(t, "pending", v.Str("applicationStatus"))
	link := v.Str("verificationUrl")
	require.True(t, strings.HasPrefix(link, "http://localhost:"), link)

	// The hosted page, reached on the server's real address, shows the
	// applicant and approves on a form post, as a person would.
	pageURL := e.Base + link[strings.Index(link, "/kyc/"):]
	res, err := http.Get(pageURL)
	require.NoError(t, err)
	html, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, 200, res.StatusCode)
	require.Contains(t, string(html), "John Doe")
	require.Contains(t, string(html), `value="approved"`)
	res, err = http.PostForm(pageURL, url.Values{"decision": {"approved"}})
	require.NoError(t, err)
	html, _ = io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, 200, res.StatusCode)
	require.Contains(t, string(html), "approved")
	require.Equal(t, "approved", e.Must(200, "GET", "/v1/users/"+userID, nil).Str("status"))
	// A decision is final.
	r = e.Must(409, "POST", "/v1/simulate/kyc", map[string]any{"userId": userID, "decision": "rejected"})
	require.Equal(t, "kyc_already_decided", r.ErrCode())

	f1 := e.Must(200, "GET", "/v1/users/"+userID+"/funding", nil)
	f2 := e.Must(200, "GET", "/v1/users/"+userID+"/funding", nil)
	require.Equal(t, f1.Body, f2.Body, "deposit addresses are stable")
	addrs := f1.JSON["addresses"].([]any)
	require.Len(t, addrs, 10)
	assets := map[string]bool{}
	for _, a := range addrs {
		m := a.(map[string]any)
		assets[m["asset"].(string)] = true
		require.Regexp(t, `^0x[0-9a-f]{40}$`, m["address"])
	}
	require.Equal(t, map[string]bool{"USDC": true, "USDT": true}, assets)

	d := e.Must(201, "POST", "/v1/simulate/deposit", map[string]any{"userId": userID, "asset": "USDC", "chain": "base", "amount": "500.25"})
	require.EqualValues(t, 50025, d.JSON["deposit"].(map[string]any)["amountCents"])
	e.Must(201, "POST", "/v1/simulate/deposit", map[string]any{"userId": userID, "asset": "USDT", "chain": "polygon", "amount": 100})
	b := e.Must(200, "GET", "/v1/balances/"+userID, nil)
	require.EqualValues(t, 60025, b.Num("available"))
	require.EqualValues(t, 0, b.Num("pending"))
	require.EqualValues(t, 60025, b.Num("settled"))
	require.EqualValues(t, 60025, b.Num("deposited"))
	require.Equal(t, "USD", b.Str("currency"))

	reg := e.Must(201, "POST", "/v1/agents/register", map[string]any{
		"userId": userID, "externalId": "checkout-bot", "name": "checkout-bot", "description": "Handles online purchases",
		"spendingLimit": 50000, "spendingLimitFrequency": "perMonth", "onLimitExceeded": "suspend", "maxCards": 5,
		"metadata": map[string]any{"team": "growth"},
	})
	agentID := reg.Str("id")
	require.True(t, strings.HasPrefix(agentID, "agent_"))
	require.Equal(t, true, reg.JSON["created"])
	require.True(t, strings.HasPrefix(reg.Str("token"), "at_test_"))
	require.NotEmpty(t, reg.Str("tokenId"))
	// Registering the same externalId again returns the agent, no token.
	again := e.Must(200, "POST", "/v1/agents/register", map[string]any{"userId": userID, "externalId": "checkout-bot", "name": "checkout-bot"})
	require.Equal(t, agentID, again.Str("id"))
	require.Equal(t, false, again.JSON["created"])
	require.Empty(t, again.Str("token"))

	card := e.Must(201, "POST", "/v1/agents/"+agentID+"/cards", map[string]any{
		"purpose": "Purchase wireless headphones from Amazon", "type": "single", "maxAmount": 15000,
		"credentialExposure": "rawPan", "acknowledgeRawPanRisk": true,
	})
	cardID := card.Str("id")
	require.Equal(t, "active", card.Str("status"))
	require.Equal(t, "single", card.Str("type"))
	require.Len(t, card.Str("last4"), 4)
	require.EqualValues(t, 10, card.Num("attestationWindowMinutes"))
	require.NotContains(t, string(card.Body), "pan\"", "the card object never carries the PAN")

	creds := e.Must(200, "POST", "/v1/cards/"+cardID+"/details", map[string]any{
		"summary": "Buy Sony WH-1000XM5 headphones", "expectedAmount": 34999, "merchantText": "Amazon",
	})
	pan := creds.Str("pan")
	require.True(t, vault.Luhn(pan))
	require.True(t, strings.HasPrefix(pan, vault.DefaultBIN))
	require.Equal(t, card.Str("last4"), pan[12:])
	require.Len(t, creds.Str("cvv"), 3)
	require.Equal(t, card.Str("expirationMonth"), creds.Str("expirationMonth"))
	require.Equal(t, card.Str("expirationYear"), creds.Str("expirationYear"))
	require.True(t, strings.HasPrefix(creds.Str("accessEventId"), "evt_"))
	require.Equal(t, "no-store", creds.Header.Get("Cache-Control"))
	// The CVV is derived, so a second read gives the same one.
	creds2 := e.Must(200, "POST", "/v1/cards/"+cardID+"/details", map[string]any{"summary": "again"})
	require.Equal(t, creds.Str("cvv"), creds2.Str("cvv"))

	events := e.Must(200, "GET", "/v1/cards/"+cardID+"/access-events", nil).Data()
	require.Len(t, events, 2)
	require.Equal(t, creds2.Str("accessEventId"), events[0]["id"], "newest first")
	require.Equal(t, "Buy Sony WH-1000XM5 headphones", events[1]["summary"])
	require.EqualValues(t, 34999, events[1]["expectedAmount"])

	ag := e.Must(200, "GET", "/v1/agents/"+agentID, nil)
	require.EqualValues(t, 1, ag.Num("cardCount"))
	require.Len(t, e.Must(200, "GET", "/v1/agents/"+agentID+"/cards", nil).Data(), 1)
	require.Len(t, e.Must(200, "GET", "/v1/users/"+userID+"/cards", nil).Data(), 1)
	require.Len(t, e.Must(200, "GET", "/v1/agents?userId="+userID, nil).Data(), 1)
}

func TestEmailIsUnique(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	e.Must(201, "POST", "/v1/users", map[string]any{"firstName": "A", "lastName": "B", "email": "a@example.com"})
	r := e.Must(409, "POST", "/v1/users", map[string]any{"firstName": "C", "lastName": "D", "email": "A@Example.com"})
	require.Equal(t, "email_already_exists", r.ErrCode())
	require.Equal(t, "email", r.ErrParam())
}

func TestKYCAuto(t *testing.T) {
	e := testenv.Start(t, server.Config{KYC: "auto"})
	u := e.Must(201, "POST", "/v1/users", map[string]any{"firstName": "A", "lastName": "B", "email": "a@example.com"})
	v := e.Must(200, "POST", "/v1/verification/user", map[string]any{"userId": u.Str("id")})
	require.Equal(t, "approved", v.Str("status"))
	e.Must(201, "POST", "/v1/agents/register", map[string]any{"userId": u.Str("id"), "name": "bot"})
}

// TestDeniedUser: one vocabulary, the platform's. "denied" is the decision
// and the status; "rejected" is accepted on input as another name for it.
func TestDeniedUser(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	for i, decision := range []string{"denied", "rejected"} {
		u := e.Must(201, "POST", "/v1/users", map[string]any{"firstName": "A", "lastName": "B", "email": fmt.Sprintf("a%d@example.com", i)})
		r := e.Must(200, "POST", "/v1/simulate/kyc", map[string]any{"userId": u.Str("id"), "decision": decision})
		require.Equal(t, "denied", r.Str("status"), decision)
		require.Equal(t, "denied", r.Str("applicationStatus"), decision)
		// Repeating the decision in either spelling is the same decision.
		e.Must(200, "POST", "/v1/simulate/kyc", map[string]any{"userId": u.Str("id"), "decision": "denied"})
		e.Must(200, "POST", "/v1/simulate/kyc", map[string]any{"userId": u.Str("id"), "decision": "rejected"})
		require.Equal(t, "denied", e.Must(200, "GET", "/v1/users/"+u.Str("id"), nil).Str("status"))
		require.Equal(t, "user_not_verified", e.Must(409, "POST", "/v1/simulate/deposit", map[string]any{"userId": u.Str("id"), "asset": "USDC", "chain": "base", "amount": 1}).ErrCode())
	}
	for _, u := range e.Must(200, "GET", "/v1/users", nil).Data() {
		require.Equal(t, "denied", u["status"])
	}
}

func TestPagination(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	var created []string
	for i := 0; i < 25; i++ {
		u := e.Must(201, "POST", "/v1/users", map[string]any{"firstName": "U", "lastName": fmt.Sprint(i), "email": fmt.Sprintf("u%d@example.com", i)})
		created = append(created, u.Str("id"))
	}
	var seen []string
	cursor := ""
	pages := 0
	for {
		path := "/v1/users?limit=10"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := e.Must(200, "GET", path, nil)
		require.Equal(t, "list", r.Str("object"))
		for _, u := range r.Data() {
			seen = append(seen, u["id"].(string))
		}
		pages++
		if r.JSON["hasMore"] != true {
			require.Nil(t, r.JSON["cursor"])
			break
		}
		cursor = r.Str("cursor")
		require.NotEmpty(t, cursor)
	}
	require.Equal(t, 3, pages)
	require.Len(t, seen, 25)
	for i := range created {
		require.Equal(t, created[len(created)-1-i], seen[i], "newest first, no gaps or repeats")
	}
	require.Len(t, e.Must(200, "GET", "/v1/users", nil).Data(), 20, "default limit")
	for _, bad := range []string{"0", "101", "x", "-1"} {
		r := e.Must(400, "GET", "/v1/users?limit="+bad, nil)
		require.Equal(t, "limit", r.ErrParam())
	}
}
