package api_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/testenv"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/server"
)

// completedPurchase authorizes and clears amount on card.
func completedPurchase(e *testenv.Env, card string, amount int64) string {
	id := authorize(e, card, amount, "GADGETS").Str("id")
	e.Must(200, "POST", "/v1/simulate/clearing", map[string]any{"transactionId": id, "amount": amount})
	return id
}

// uploadEvidence sends a multipart evidence upload; fields are the form
// values, file the evidence (nil for none).
func uploadEvidence(t *testing.T, e *testenv.Env, disputeID string, fields map[string]string, file []byte, key string) (int, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		require.NoError(t, w.WriteField(k, v))
	}
	if file != nil {
		fw, err := w.CreateFormFile("evidence", "evidence.pdf")
		require.NoError(t, err)
		_, err = fw.Write(file)
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	r := e.Do("PUT", "/v1/disputes/"+disputeID+"/evidence", buf.Bytes(), "Content-Type", w.FormDataContentType(), "Api-Key", key)
	return r.Status, r.Body
}

// TestDisputes: a completed purchase is disputed once, with a reason and
// text evidence; a file of evidence (at most 20 MB) puts it in review; the
// simulated issuer resolves it: won credits the user with a refund of what
// the dispute covers, lost moves no money. Lists filter and page; agents
// see their own disputes only.
func TestDisputes(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	userID, agentID, token := e.Funded("dsp@example.com", 1000_00)
	card := multiCard(e, agentID, nil)
	won := completedPurchase(e, card, 120_00)
	lost := completedPurchase(e, card, 80_00)
	open := authorize(e, card, 10_00, "GADGETS").Str("id")

	// Only a completed purchase, and only once.
	require.Equal(t, "transaction_not_disputable", e.Must(409, "POST", "/v1/transactions/"+open+"/disputes", map[string]any{"reason": "duplicate"}).ErrCode())
	d := e.Must(201, "POST", "/v1/transactions/"+won+"/disputes", map[string]any{"reason": "product_not_received",
		"description": "never arrived", "textEvidence": "Tracking shows no delivery."})
	require.Equal(t, "dispute", d.Str("object"))
	require.True(t, strings.HasPrefix(d.Str("id"), "dsp_"))
	require.Equal(t, "pending", d.Str("status"))
	require.EqualValues(t, 120_00, d.Num("amount"))
	require.Equal(t, won, d.Str("transactionId"))
	require.Equal(t, card, d.Str("cardId"))
	require.Equal(t, userID, d.Str("userId"))
	require.NotEmpty(t, d.Str("rainDisputeId"))
	require.Equal(t, "Tracking shows no delivery.", d.JSON["evidence"].(map[string]any)["textEvidence"])
	require.Equal(t, false, d.JSON["evidence"].(map[string]any)["hasFile"])
	require.Equal(t, "dispute_exists", e.Must(409, "POST", "/v1/transactions/"+won+"/disputes", map[string]any{"reason": "other"}).ErrCode())
	require.Equal(t, 1, eventCount(e, "dispute.created"))
	// The agent disputes its own purchase with its token.
	dl := e.Must(201, "POST", "/v1/transactions/"+lost+"/disputes", map[string]any{"textEvidence": "charged twice"}, "Api-Key", token)
	require.Equal(t, "other", dl.Str("reason"))

	// Evidence: multipart, name, type and the file.
	pdf := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("x"), 1000)...)
	status, raw := uploadEvidence(t, e, d.Str("id"), map[string]string{"name": "invoice", "type": "receipt"}, pdf, testenv.APIKey)
	require.Equal(t, 200, status, "%s", raw)
	got := e.Must(200, "GET", "/v1/disputes/"+d.Str("id"), nil)
	require.Equal(t, "inReview", got.Str("status"))
	ev := got.JSON["evidence"].(map[string]any)
	require.Equal(t, true, ev["hasFile"])
	require.Equal(t, "invoice", ev["name"])
	require.Equal(t, "application/pdf", ev["mimeType"])
	require.EqualValues(t, len(pdf), ev["sizeBytes"])
	status, _ = uploadEvidence(t, e, d.Str("id"), map[string]string{"type": "receipt"}, pdf, testenv.APIKey)
	require.Equal(t, 400, status, "name is required")
	status, _ = uploadEvidence(t, e, d.Str("id"), map[string]string{"name": "n", "type": "t"}, nil, testenv.APIKey)
	require.Equal(t, 400, status, "the file is required")
	status, _ = uploadEvidence(t, e, d.Str("id"), map[string]string{"name": "n", "type": "t"}, make([]byte, ledger.MaxDisputeEvidenceBytes+1), testenv.APIKey)
	require.Equal(t, 413, status, "past 20 MB")
	status, _ = uploadEvidence(t, e, d.Str("id"), map[string]string{"name": "n", "type": "t"}, make([]byte, 12<<20), testenv.APIKey)
	require.Equal(t, 200, status, "12 MB is within the bound")

	// Lists: filters and cursor; an agent sees its own.
	all := e.Must(200, "GET", "/v1/disputes?limit=1", nil)
	require.Len(t, all.Data(), 1)
	require.Equal(t, true, all.JSON["hasMore"])
	require.Equal(t, dl.Str("id"), all.Data()[0]["id"], "newest first")
	next := e.Must(200, "GET", "/v1/disputes?limit=1&cursor="+all.Str("cursor"), nil)
	require.Equal(t, d.Str("id"), next.Data()[0]["id"])
	require.Len(t, e.Must(200, "GET", "/v1/disputes?status=inReview", nil).Data(), 1)
	require.Len(t, e.Must(200, "GET", "/v1/disputes?transactionId="+lost, nil).Data(), 1)
	require.Len(t, e.Must(200, "GET", "/v1/disputes?userId="+userID, nil).Data(), 2)
	require.Len(t, e.Must(200, "GET", "/v1/disputes", nil, "Api-Key", token).Data(), 2)
	require.Equal(t, "status", e.Must(400, "GET", "/v1/disputes?status=won", nil).ErrParam())

	// Won: the user is credited with a refund of the purchase.
	before := e.Must(200, "GET", "/v1/users/"+userID+"/balance", nil)
	r := e.Must(200, "POST", "/v1/simulate/dispute/"+d.Str("id")+"/resolve", map[string]any{"outcome": "won"})
	require.Equal(t, "accepted", r.Str("status"))
	require.Equal(t, "won", r.Str("outcome"))
	require.EqualValues(t, 120_00, r.Num("creditAmount"))
	require.NotZero(t, r.Num("resolvedAt"))
	credit := e.Must(200, "GET", "/v1/transactions/"+r.Str("creditTransactionId"), nil)
	require.Equal(t, "refund", credit.Str("type"))
	require.EqualValues(t, 120_00, credit.Num("amount"))
	after := e.Must(200, "GET", "/v1/users/"+userID+"/balance", nil)
	require.EqualValues(t, before.Num("postedCharges")-120_00, after.Num("postedCharges"))
	require.EqualValues(t, before.Num("spendingPower")+120_00, after.Num("spendingPower"))
	require.Equal(t, "dispute_resolved", e.Must(409, "POST", "/v1/simulate/dispute/"+d.Str("id")+"/resolve", map[string]any{"outcome": "lost"}).ErrCode())
	// Nothing is left to refund on the purchase.
	e.Must(400, "POST", "/v1/simulate/refund", map[string]any{"transactionId": won, "amount": 1})
	status, _ = uploadEvidence(t, e, d.Str("id"), map[string]string{"name": "n", "type": "t"}, pdf, testenv.APIKey)
	require.Equal(t, 409, status, "a resolved dispute takes no evidence")

	// Lost: no money moves.
	before = after
	l := e.Must(200, "POST", "/v1/simulate/dispute/"+dl.Str("id")+"/resolve", map[string]any{"outcome": "lost"})
	require.Equal(t, "rejected", l.Str("status"))
	require.EqualValues(t, 0, l.Num("creditAmount"))
	require.Nil(t, l.JSON["creditTransactionId"])
	require.Equal(t, before.JSON, e.Must(200, "GET", "/v1/users/"+userID+"/balance", nil).JSON)
	require.Equal(t, 2, eventCount(e, "dispute.resolved"))
	e.Restart()
	require.Equal(t, "accepted", e.Must(200, "GET", "/v1/disputes/"+d.Str("id"), nil).Str("status"))

	// Bad input, missing objects, scope.
	third := completedPurchase(e, card, 5_00)
	for _, c := range []struct {
		field string
		value any
	}{{"reason", "angry"}, {"textEvidence", strings.Repeat("x", 65536)}, {"reason", 3}, {"amount", 5}} {
		body := map[string]any{c.field: c.value}
		require.Equal(t, c.field, e.Must(400, "POST", "/v1/transactions/"+third+"/disputes", body).ErrParam(), fmt.Sprint(c.field))
	}
	e.Must(404, "POST", "/v1/transactions/txn_nothing/disputes", map[string]any{})
	e.Must(404, "GET", "/v1/disputes/dsp_nothing", nil)
	e.Must(404, "POST", "/v1/simulate/dispute/dsp_nothing/resolve", map[string]any{"outcome": "won"})
	d3 := e.Must(201, "POST", "/v1/transactions/"+third+"/disputes", map[string]any{})
	require.Equal(t, "outcome", e.Must(400, "POST", "/v1/simulate/dispute/"+d3.Str("id")+"/resolve", map[string]any{"outcome": "maybe"}).ErrParam())
	require.Equal(t, 403, e.Do("POST", "/v1/simulate/dispute/"+d3.Str("id")+"/resolve", map[string]any{"outcome": "won"}, "Api-Key", token).Status)
	_, otherAgent, otherToken := e.Funded("dsp2@example.com", 10_00)
	_ = otherAgent
	e.Must(404, "GET", "/v1/disputes/"+d3.Str("id"), nil, "Api-Key", otherToken)
	require.Empty(t, e.Must(200, "GET", "/v1/disputes", nil, "Api-Key", otherToken).Data())
	status, _ = uploadEvidence(t, e, d3.Str("id"), map[string]string{"name": "n", "type": "t"}, pdf, otherToken)
	require.Equal(t, 404, status)
}

// TestDisputeCancel: a pending dispute can be withdrawn, by the API key or
// its own agent's token: it becomes canceled with canceledAt and a
// dispute.canceled event, moves no money, cannot then be resolved, and the
// purchase cannot be disputed again. A dispute in review or decided cannot
// be canceled; another agent's is not found.
func TestDisputeCancel(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	userID, agentID, token := e.Funded("dc@example.com", 1000_00)
	_, _, otherToken := e.Funded("dc2@example.com", 10_00)
	card := multiCard(e, agentID, nil)
	tx := completedPurchase(e, card, 40_00)
	d := e.Must(201, "POST", "/v1/transactions/"+tx+"/disputes", map[string]any{"reason": "duplicate"})
	id := d.Str("id")
	before := e.Must(200, "GET", "/v1/users/"+userID+"/balance", nil).Body

	require.Equal(t, 404, e.Do("POST", "/v1/disputes/"+id+"/cancel", map[string]any{}, "Api-Key", otherToken).Status)
	require.Equal(t, "note", e.Must(400, "POST", "/v1/disputes/"+id+"/cancel", map[string]any{"note": "x"}).ErrParam())
	r := e.Do("POST", "/v1/disputes/"+id+"/cancel", map[string]any{}, "Api-Key", token)
	require.Equal(t, 200, r.Status, string(r.Body))
	require.Equal(t, "canceled", r.Str("status"))
	require.NotZero(t, r.Num("canceledAt"))
	require.Nil(t, r.JSON["outcome"])
	require.Equal(t, 1, eventCount(e, "dispute.canceled"))
	require.Equal(t, 0, eventCount(e, "dispute.resolved"))
	require.Equal(t, string(before), string(e.Must(200, "GET", "/v1/users/"+userID+"/balance", nil).Body), "no money moves")
	require.Equal(t, "dispute_not_cancelable", e.Must(409, "POST", "/v1/disputes/"+id+"/cancel", map[string]any{}).ErrCode())
	require.Equal(t, "dispute_resolved", e.Must(409, "POST", "/v1/simulate/dispute/"+id+"/resolve", map[string]any{"outcome": "won"}).ErrCode())
	require.Equal(t, "dispute_exists", e.Must(409, "POST", "/v1/transactions/"+tx+"/disputes", map[string]any{"reason": "duplicate"}).ErrCode())
	require.Len(t, e.Must(200, "GET", "/v1/disputes?status=canceled", nil).Data(), 1)
	e.Restart()
	require.Equal(t, "canceled", e.Must(200, "GET", "/v1/disputes/"+id, nil).Str("status"))

	// Decided, or in review: not cancelable.
	tx2 := completedPurchase(e, card, 10_00)
	d2 := e.Must(201, "POST", "/v1/transactions/"+tx2+"/disputes", map[string]any{}).Str("id")
	e.Must(200, "POST", "/v1/simulate/dispute/"+d2+"/resolve", map[string]any{"outcome": "lost"})
	require.Equal(t, "dispute_not_cancelable", e.Must(409, "POST", "/v1/disputes/"+d2+"/cancel", map[string]any{}).ErrCode())
	tx3 := completedPurchase(e, card, 10_00)
	d3 := e.Must(201, "POST", "/v1/transactions/"+tx3+"/disputes", map[string]any{}).Str("id")
	status, body := uploadEvidence(t, e, d3, map[string]string{"name": "receipt", "type": "receipt"}, []byte("%PDF-1.4"), testenv.APIKey)
	require.Equal(t, 200, status, string(body))
	require.Equal(t, "dispute_not_cancelable", e.Must(409, "POST", "/v1/disputes/"+d3+"/cancel", map[string]any{}).ErrCode())
	e.Must(404, "POST", "/v1/disputes/dsp_nothing/cancel", map[string]any{})
}
