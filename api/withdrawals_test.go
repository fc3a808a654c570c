package api_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/pdfcheck"
	"github.com/ledgersim/ledgersim/internal/testenv"
	"github.com/ledgersim/ledgersim/server"
)

const (
	baseUSDC  = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
	recipient = "0x1111111111111111111111111111111111111111"
)

func withdrawal(amount int64) map[string]any {
	return map[string]any{"chainId": 8453, "tokenAddress": baseUSDC, "amount": amount, "recipientAddress": recipient}
}

// TestWithdrawals: a withdrawal takes at most what is available, and takes
// it from the deposits (creditLimit) as well as from what is settled, so
// postedCharges and balanceDue do not count it as spending. It is
// submitted, with its event, until the simulated chain confirms it or
// fails it (which returns the funds); listed newest first.
func TestWithdrawals(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	userID, agentID, token := e.Funded("wd@example.com", 1000_00)
	card := multiCard(e, agentID, nil)
	tx := authorize(e, card, 300_00, "BOOKS").Str("id")
	e.Must(200, "POST", "/v1/simulate/clearing", map[string]any{"transactionId": tx, "amount": 300_00})
	authorize(e, card, 100_00, "BOOKS")
	// available: 1000 - 300 posted - 100 pending = 600.
	p := "/v1/users/" + userID + "/withdrawals"
	over := e.Must(400, "POST", p, withdrawal(600_01))
	require.Equal(t, "insufficient_funds", over.ErrCode())
	require.Equal(t, "amount", over.ErrParam())

	w := e.Must(201, "POST", p, withdrawal(250_00))
	require.Equal(t, "withdrawal", w.Str("object"))
	require.Equal(t, "submitted", w.Str("status"))
	require.EqualValues(t, 250_00, w.Num("amount"))
	require.EqualValues(t, 8453, w.Num("chainId"))
	require.Equal(t, recipient, w.Str("recipientAddress"))
	require.Len(t, w.Str("transactionHash"), 66)
	b := e.Must(200, "GET", "/v1/users/"+userID+"/balance", nil)
	require.EqualValues(t, 750_00, b.Num("creditLimit"))
	require.EqualValues(t, 300_00, b.Num("postedCharges"), "a withdrawal is not a charge")
	require.EqualValues(t, 300_00, b.Num("balanceDue"))
	require.EqualValues(t, 100_00, b.Num("pendingCharges"))
	require.EqualValues(t, 350_00, b.Num("spendingPower"))
	require.Equal(t, 1, eventCount(e, "withdrawal.submitted"))
	require.Equal(t, 0, eventCount(e, "withdrawal.confirmed"))
	resolve := "/v1/simulate/withdrawal/" + w.Str("id") + "/resolve"
	ok := e.Must(200, "POST", resolve, map[string]any{"outcome": "confirmed"})
	require.Equal(t, "confirmed", ok.Str("status"))
	require.NotZero(t, ok.Num("confirmedAt"))
	require.Equal(t, 1, eventCount(e, "withdrawal.confirmed"))
	require.Equal(t, "withdrawal_resolved", e.Must(409, "POST", resolve, map[string]any{"outcome": "failed"}).ErrCode())
	require.EqualValues(t, 750_00, e.Must(200, "GET", "/v1/users/"+userID+"/balance", nil).Num("creditLimit"), "confirmed: the funds stay gone")

	// A failed one returns its funds.
	f := e.Must(201, "POST", p, withdrawal(100_00))
	require.EqualValues(t, 650_00, e.Must(200, "GET", "/v1/users/"+userID+"/balance", nil).Num("creditLimit"))
	failed := e.Must(200, "POST", "/v1/simulate/withdrawal/"+f.Str("id")+"/resolve", map[string]any{"outcome": "failed", "reason": "gas too low"})
	require.Equal(t, "failed", failed.Str("status"))
	require.Equal(t, "gas too low", failed.Str("failureReason"))
	require.NotZero(t, failed.Num("failedAt"))
	require.Equal(t, 1, eventCount(e, "withdrawal.failed"))
	b = e.Must(200, "GET", "/v1/users/"+userID+"/balance", nil)
	require.EqualValues(t, 750_00, b.Num("creditLimit"))
	require.EqualValues(t, 350_00, b.Num("spendingPower"))
	require.Equal(t, "withdrawal_resolved", e.Must(409, "POST", "/v1/simulate/withdrawal/"+f.Str("id")+"/resolve", map[string]any{"outcome": "confirmed"}).ErrCode())
	require.Equal(t, "outcome", e.Must(400, "POST", resolve, map[string]any{"outcome": "lost"}).ErrParam())
	require.Equal(t, "outcome", e.Must(400, "POST", resolve, map[string]any{}).ErrParam())
	require.Equal(t, "reason", e.Must(400, "POST", resolve, map[string]any{"outcome": "confirmed", "reason": "x"}).ErrParam())
	require.Equal(t, "extra", e.Must(400, "POST", resolve, map[string]any{"outcome": "failed", "extra": 1}).ErrParam())
	e.Must(404, "POST", "/v1/simulate/withdrawal/wdr_nothing/resolve", map[string]any{"outcome": "failed"})
	require.Equal(t, 403, e.Do("POST", resolve, map[string]any{"outcome": "failed"}, "Api-Key", token).Status)

	// The rest of what is available, and then nothing more.
	e.Must(201, "POST", p, withdrawal(350_00))
	require.Equal(t, "insufficient_funds", e.Must(400, "POST", p, withdrawal(1)).ErrCode())
	declined := authorize(e, card, 1_00, "BOOKS")
	require.Equal(t, "51", declined.Str("responseCode"), "nothing left to spend")

	list := e.Must(200, "GET", p+"?limit=1", nil)
	require.Len(t, list.Data(), 1)
	require.Equal(t, true, list.JSON["hasMore"])
	next := e.Must(200, "GET", p+"?limit=2&cursor="+list.Str("cursor"), nil)
	require.Equal(t, w.Str("id"), next.Data()[1]["id"])
	require.Equal(t, w.Str("id"), e.Must(200, "GET", p+"/"+w.Str("id"), nil).Str("id"))
	e.Restart()
	require.EqualValues(t, 400_00, e.Must(200, "GET", "/v1/users/"+userID+"/balance", nil).Num("creditLimit"))

	// Bad input, missing objects and scope.
	other, _, _ := e.Funded("wd2@example.com", 10_00)
	e.Must(404, "GET", "/v1/users/"+other+"/withdrawals/"+w.Str("id"), nil)
	e.Must(404, "GET", p+"/wdr_nothing", nil)
	e.Must(404, "POST", "/v1/users/user_nothing/withdrawals", withdrawal(1))
	require.Equal(t, 403, e.Do("POST", "/v1/users/"+other+"/withdrawals", withdrawal(1), "Api-Key", token).Status)
	require.Equal(t, 403, e.Do("GET", p, nil, "Api-Key", token).Status)
	for _, c := range []struct {
		field string
		value any
	}{
		{"chainId", 1}, {"chainId", "8453"}, {"tokenAddress", "0x12"}, {"recipientAddress", "alice"},
		{"amount", 0}, {"amount", 1.5}, {"memo", "x"},
	} {
		body := withdrawal(1_00)
		body[c.field] = c.value
		r := e.Must(400, "POST", "/v1/users/"+other+"/withdrawals", body)
		require.Equal(t, c.field, r.ErrParam(), fmt.Sprint(c))
	}
	body := withdrawal(1_00)
	delete(body, "recipientAddress")
	require.Equal(t, "recipientAddress", e.Must(400, "POST", "/v1/users/"+other+"/withdrawals", body).ErrParam())
}

// TestStatementsShowWithdrawals: a statement lists the period's
// withdrawals and their total apart from its lines; they lower the credit
// limit as of the period's end and leave the balance owed as it was.
func TestStatementsShowWithdrawals(t *testing.T) {
	e := testenv.Start(t, server.Config{Clock: "virtual", VirtualStart: utc("2024-01-15 12:00:00")})
	userID, agentID, _ := e.Funded("wstmt@example.com", 1000_00)
	card := multiCard(e, agentID, nil)
	tx := authorize(e, card, 100_00, "BOOKS").Str("id")
	e.Must(200, "POST", "/v1/simulate/clearing", map[string]any{"transactionId": tx, "amount": 100_00})
	jw := e.Must(201, "POST", "/v1/users/"+userID+"/withdrawals", withdrawal(200_00))
	advanceTo(e, utc("2024-02-10 00:00:00"))
	e.Must(201, "POST", "/v1/users/"+userID+"/withdrawals", withdrawal(100_00))
	advanceTo(e, utc("2024-03-01 00:30:00"))

	base := "/v1/users/" + userID + "/statements"
	data := e.Must(200, "GET", base, nil).Data()
	require.Len(t, data, 2)
	feb, jan := data[0], data[1]
	requireStatement(t, "jan", jan, statementWant{spent: 100_00, closing: 100_00, creditLimit: 800_00, available: 700_00, count: 1})
	require.EqualValues(t, 200_00, jan["totalWithdrawals"])
	requireStatement(t, "feb", feb, statementWant{opening: 100_00, closing: 100_00, creditLimit: 700_00, available: 600_00})
	require.EqualValues(t, 100_00, feb["totalWithdrawals"])

	full := e.Must(200, "GET", base+"/"+jan["id"].(string), nil)
	ws := full.JSON["withdrawals"].([]any)
	require.Len(t, ws, 1)
	require.Equal(t, jw.Str("id"), ws[0].(map[string]any)["id"])
	require.Len(t, full.JSON["transactions"], 1, "a withdrawal is not a line")
	doc := e.Must(200, "GET", base+"/"+jan["id"].(string), nil, "Accept", "application/pdf")
	text := pdfcheck.Text(t, doc.Body)
	for _, want := range []string{"Withdrawals", "$200.00", "$800.00", recipient} {
		require.Contains(t, text, want)
	}
	bal := e.Must(200, "GET", "/v1/users/"+userID+"/balance", nil)
	require.EqualValues(t, 700_00, bal.Num("creditLimit"))
	require.EqualValues(t, 100_00, bal.Num("balanceDue"))
}
