package api_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/testenv"
	"github.com/ledgersim/ledgersim/server"
)

// TestKYCPageAnswersInHTML: the hosted page is for a person; submitting it
// twice, with a decision it does not offer, or on a bad link answers with
// a page that says what happened, not with the API's JSON.
func TestKYCPageAnswersInHTML(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	userID := e.Must(201, "POST", "/v1/users", map[string]any{"firstName": "K", "lastName": "Y", "email": "k@example.com"}).Str("id")
	link := e.Must(200, "POST", "/v1/verification/user", map[string]any{"userId": userID}).Str("verificationUrl")
	page := e.Base + link[strings.Index(link, "/kyc/"):]
	post := func(u, decision string) (int, string, string) {
		res, err := http.PostForm(u, url.Values{"decision": {decision}})
		require.NoError(t, err)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header.Get("Content-Type"), string(b)
	}
	cases := []struct {
		name, url, decision string
		status              int
		says                string
	}{
		{"bad decision", page, "maybe", 400, "did not say approved or denied"},
		{"first submit", page, "denied", 200, "denied"},
		{"same decision again", page, "denied", 200, "This verification is complete"},
		{"other decision after", page, "approved", 409, "already decided: denied"},
		{"bad link", e.Base + "/kyc/0123", "approved", 404, "not valid"},
	}
	for _, c := range cases {
		status, ct, body := post(c.url, c.decision)
		require.Equal(t, c.status, status, c.name)
		require.True(t, strings.HasPrefix(ct, "text/html"), "%s: %s", c.name, ct)
		require.Contains(t, body, c.says, c.name)
		require.NotContains(t, body, `"error"`, c.name)
	}
	res, err := http.Get(e.Base + "/kyc/0123")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, 404, res.StatusCode)
	require.True(t, strings.HasPrefix(res.Header.Get("Content-Type"), "text/html"))
}

// TestDeclineAuthorizesNothing: a declined transaction shows what was
// asked as requestedAmount and authorizes 0; an approval authorizes what
// was asked.
func TestDeclineAuthorizesNothing(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	_, agentID, _ := e.Funded("d@example.com", 500)
	card := multiCard(e, agentID, nil)
	ok := authorize(e, card, 300, "SHOP")
	require.Equal(t, "00", ok.Str("responseCode"))
	require.EqualValues(t, 300, ok.Num("requestedAmount"))
	require.EqualValues(t, 300, ok.Num("authorizedAmount"))
	no := authorize(e, card, 600, "SHOP")
	require.NotEqual(t, "00", no.Str("responseCode"))
	for _, tx := range []*testenv.Resp{no, e.Must(200, "GET", "/v1/transactions/"+no.Str("id"), nil)} {
		require.Equal(t, "declined", tx.Str("status"))
		require.EqualValues(t, 600, tx.Num("amount"))
		require.EqualValues(t, 600, tx.Num("requestedAmount"))
		require.EqualValues(t, 0, tx.Num("authorizedAmount"))
		require.EqualValues(t, 0, tx.Num("pendingAmount"))
	}
}

// TestEmptyPatchChangesNothing: a PATCH that changes nothing leaves the
// record, updatedAt included, as it was, for every PATCH route.
func TestEmptyPatchChangesNothing(t *testing.T) {
	e := testenv.Start(t, server.Config{Clock: "virtual"})
	_, agentID, _ := e.Funded("p@example.com", 1000)
	card := multiCard(e, agentID, map[string]any{"limits": map[string]any{"perDay": 500}})
	txn := authorize(e, card, 100, "SHOP").Str("id")
	hook := e.Must(201, "POST", "/v1/webhooks", map[string]any{"url": "https://example.com/h", "events": []string{"transaction.authorized"}}).Str("id")
	cases := []struct {
		path string
		same map[string]any // a body that sets what is already set
	}{
		{"/v1/agents/" + agentID, map[string]any{"name": e.Must(200, "GET", "/v1/agents/"+agentID, nil).Str("name")}},
		{"/v1/cards/" + card, map[string]any{"limits": map[string]any{"perDay": 500}}},
		{"/v1/transactions/" + txn, map[string]any{"tags": []string{}}},
		{"/v1/webhooks/" + hook, map[string]any{"url": "https://example.com/h"}},
	}
	advance(e, 1)
	for _, c := range cases {
		before := e.Must(200, "GET", c.path, nil)
		for _, body := range []map[string]any{{}, c.same} {
			after := e.Must(200, "PATCH", c.path, body)
			require.Equal(t, before.Num("updatedAt"), after.Num("updatedAt"), "%s %v", c.path, body)
			require.JSONEq(t, string(before.Body), string(e.Must(200, "GET", c.path, nil).Body), c.path)
		}
	}
	// A real change still moves updatedAt.
	changed := e.Must(200, "PATCH", "/v1/transactions/"+txn, map[string]any{"notes": "lunch"})
	require.Greater(t, changed.Num("updatedAt"), e.Must(200, "GET", "/v1/cards/"+card, nil).Num("updatedAt"))
}

// TestExpiredCardSaysSo: once a card's ttlDays are over, its JSON shows it
// (expiresAt in the past, isExpired) while authorizations decline 54.
func TestExpiredCardSaysSo(t *testing.T) {
	e := testenv.Start(t, server.Config{Clock: "virtual"})
	_, agentID, _ := e.Funded("x@example.com", 1000)
	created := e.Must(201, "POST", "/v1/agents/"+agentID+"/cards", map[string]any{"purpose": "p", "type": "multi", "ttlDays": 1,
		"credentialExposure": "rawPan", "acknowledgeRawPanRisk": true})
	card := created.Str("id")
	require.Equal(t, created.Num("createdAt")+24*60*60*1000, created.Num("expiresAt"))
	require.Equal(t, false, created.JSON["isExpired"])
	advance(e, 24*60)
	got := e.Must(200, "GET", "/v1/cards/"+card, nil)
	require.Equal(t, true, got.JSON["isExpired"])
	require.Less(t, got.Num("expiresAt"), e.Must(200, "GET", "/v1/simulate/clock", nil).Num("now")+1)
	require.Equal(t, "54", authorize(e, card, 100, "SHOP").Str("responseCode"))
	listed := e.Must(200, "GET", "/v1/agents/"+agentID+"/cards", nil).Data()
	require.Len(t, listed, 1)
	require.Equal(t, true, listed[0]["isExpired"])
}

// TestReversalRemainingAmount: /v1/simulate/reversal takes amount (what is
// released) or remainingAmount (what stays authorized, DE 95's meaning).
func TestReversalRemainingAmount(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	_, agentID, _ := e.Funded("rv@example.com", 10000)
	card := multiCard(e, agentID, nil)
	a := authorize(e, card, 1000, "SHOP").Str("id")
	r := e.Must(200, "POST", "/v1/simulate/reversal", map[string]any{"transactionId": a, "remainingAmount": 700})
	require.EqualValues(t, 700, r.Num("amount"))
	r = e.Must(200, "POST", "/v1/simulate/reversal", map[string]any{"transactionId": a, "amount": 200})
	require.EqualValues(t, 500, r.Num("amount"))
	require.Equal(t, "remainingAmount", e.Must(400, "POST", "/v1/simulate/reversal", map[string]any{"transactionId": a, "amount": 1, "remainingAmount": 1}).ErrParam())
	require.Equal(t, "remainingAmount", e.Must(400, "POST", "/v1/simulate/reversal", map[string]any{"transactionId": a, "remainingAmount": 500}).ErrParam())
	r = e.Must(200, "POST", "/v1/simulate/reversal", map[string]any{"transactionId": a, "remainingAmount": 0})
	require.Equal(t, "reversed", r.Str("status"))
}
