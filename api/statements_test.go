package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/pdfcheck"
	"github.com/ledgersim/ledgersim/internal/testenv"
	"github.com/ledgersim/ledgersim/server"
)

// advanceTo moves the virtual clock to t (whole minutes).
func advanceTo(e *testenv.Env, t time.Time) {
	e.T.Helper()
	now := e.Must(200, "GET", "/v1/simulate/clock", nil).Num("now")
	minutes := (t.UnixMilli() - now) / 60_000
	require.Positive(e.T, minutes)
	e.Must(200, "POST", "/v1/simulate/clock/advance", map[string]any{"minutes": minutes})
}

func utc(s string) time.Time {
	t, err := time.Parse(time.DateTime, s)
	if err != nil {
		panic(err)
	}
	return t
}

type statementWant struct {
	opening, spent, refunds, closing, creditLimit, pending, available, count int64
}

func requireStatement(t *testing.T, name string, s map[string]any, w statementWant) {
	t.Helper()
	got := statementWant{}
	for k, p := range map[string]*int64{"openingBalance": &got.opening, "totalSpent": &got.spent, "totalRefunds": &got.refunds,
		"closingBalance": &got.closing, "creditLimit": &got.creditLimit, "pendingCharges": &got.pending,
		"availableCredit": &got.available, "transactionCount": &got.count} {
		f, ok := s[k].(float64)
		require.True(t, ok, "%s: %s missing", name, k)
		*p = int64(f)
	}
	require.Equal(t, w, got, name)
	require.EqualValues(t, 0, s["totalFees"], name)
	require.Equal(t, "statement", s["object"], name)
	require.Equal(t, "USD", s["currency"], name)
}

// TestStatements runs a user through two months on the virtual clock and
// reads their statements: the list, one month as JSON, one as a PDF a
// reader opens, and a custom range, whose closing balance is the balance
// object's balanceDue.
func TestStatements(t *testing.T) {
	e := testenv.Start(t, server.Config{Clock: "virtual", VirtualStart: utc("2024-01-15 12:00:00")})
	userID, agentID, _ := e.Funded("stmt@example.com", 1000_00)
	card := multiCard(e, agentID, nil)
	base := "/v1/users/" + userID + "/statements"

	// January: 120.00 authorized and cleared for 100.00; 50.00
	// authorized on the last evening and still open when the month ends.
	first := authorize(e, card, 120_00, "BOOKS").Str("id")
	e.Must(200, "POST", "/v1/simulate/clearing", map[string]any{"transactionId": first, "amount": 100_00})
	list := e.Must(200, "GET", base, nil)
	require.Empty(t, list.Data(), "January has not ended")
	require.Equal(t, false, list.JSON["hasMore"])
	advanceTo(e, utc("2024-01-31 23:00:00"))
	second := authorize(e, card, 50_00, "BOOKS").Str("id")

	// February: the hold clears, 30.00 of the first purchase is refunded,
	// 200.00 more is deposited.
	advanceTo(e, utc("2024-02-01 01:00:00"))
	e.Must(200, "POST", "/v1/simulate/clearing", map[string]any{"transactionId": second, "amount": 50_00})
	e.Must(201, "POST", "/v1/simulate/refund", map[string]any{"transactionId": first, "amount": 30_00})
	e.Must(201, "POST", "/v1/simulate/deposit", map[string]any{"userId": userID, "asset": "USDC", "chain": "base", "amount": "200"})
	advanceTo(e, utc("2024-03-01 00:30:00"))

	jan := statementWant{opening: 0, spent: 100_00, refunds: 0, closing: 100_00, creditLimit: 1000_00, pending: 50_00, available: 850_00, count: 1}
	feb := statementWant{opening: 100_00, spent: 50_00, refunds: 30_00, closing: 120_00, creditLimit: 1200_00, pending: 0, available: 1080_00, count: 2}
	list = e.Must(200, "GET", base, nil)
	data := list.Data()
	require.Len(t, data, 2)
	requireStatement(t, "feb in list", data[0], feb)
	requireStatement(t, "jan in list", data[1], jan)
	require.NotContains(t, data[0], "transactions", "a list holds summaries")
	for i, w := range []struct{ start, end int64 }{{1706745600, 1709251200}, {1704067200, 1706745600}} {
		require.EqualValues(t, w.start, data[i]["periodStart"])
		require.EqualValues(t, w.end, data[i]["periodEnd"])
		require.EqualValues(t, w.end, data[i]["createdAt"], "a month's statement is issued as it ends")
		require.Equal(t, "monthly", data[i]["type"])
		require.True(t, strings.HasPrefix(data[i]["id"].(string), "stmt_"))
	}

	// Paging: one at a time, newest first.
	p1 := e.Must(200, "GET", base+"?limit=1", nil)
	require.Equal(t, true, p1.JSON["hasMore"])
	require.Equal(t, data[0]["id"], p1.Data()[0]["id"])
	p2 := e.Must(200, "GET", base+"?limit=1&cursor="+p1.Str("cursor"), nil)
	require.Equal(t, false, p2.JSON["hasMore"])
	require.Nil(t, p2.JSON["cursor"])
	require.Equal(t, data[1]["id"], p2.Data()[0]["id"])

	// January in full, as JSON.
	janID := data[1]["id"].(string)
	full := e.Must(200, "GET", base+"/"+janID, nil)
	requireStatement(t, "jan", full.JSON, jan)
	lines := full.JSON["transactions"].([]any)
	require.Len(t, lines, 1)
	line := lines[0].(map[string]any)
	require.Equal(t, first, line["id"])
	require.EqualValues(t, 100_00, line["amount"])
	require.Equal(t, "purchase", line["type"])
	require.Equal(t, "5812", line["merchantCategoryCode"])
	require.Equal(t, "Restaurants", line["category"])
	require.Less(t, line["postedAt"].(float64), float64(1706745600), "times on a statement are epoch seconds")
	require.Equal(t, []any{map[string]any{"merchantName": "BOOKS", "transactionCount": 1.0, "totalAmount": 10000.0}}, full.JSON["summaryByMerchant"])

	// February as a PDF: a reader opens it, the page is not blank, and its
	// text holds the period, the balances and every line.
	febID := data[0]["id"].(string)
	doc := e.Must(200, "GET", base+"/"+febID, nil, "Accept", "application/pdf")
	require.Equal(t, "application/pdf", doc.Header.Get("Content-Type"))
	require.Contains(t, doc.Header.Get("Content-Disposition"), febID+".pdf")
	require.True(t, bytes.HasPrefix(doc.Body, []byte("%PDF-")))
	img := pdfcheck.Render(t, doc.Body, 1, 50)
	require.Greater(t, pdfcheck.InkFraction(img), 0.002, "the statement's page renders blank")
	text := pdfcheck.Text(t, doc.Body)
	for _, want := range []string{"2024-02-01 to 2024-02-29 (UTC)", febID, userID, "Opening balance", "$100.00", "Closing balance", "$120.00",
		"$50.00", "-$30.00", "$1,200.00", "$1,080.00", "BOOKS", "Page 1 of 1"} {
		require.Contains(t, text, want)
	}

	// A custom range over both months, up to now: its closing balance is
	// what the balance object says is due.
	now := e.Must(200, "GET", "/v1/simulate/clock", nil).Num("now") / 1000
	rangeQuery := fmt.Sprintf("?periodStart=%d&periodEnd=%d", 1704067200, now)
	customList := e.Must(200, "GET", base+rangeQuery, nil)
	require.Equal(t, false, customList.JSON["hasMore"])
	require.Len(t, customList.Data(), 1)
	custom := customList.Data()[0]
	requireStatement(t, "custom", custom, statementWant{opening: 0, spent: 150_00, refunds: 30_00, closing: 120_00,
		creditLimit: 1200_00, pending: 0, available: 1080_00, count: 3})
	require.Equal(t, "custom", custom["type"])
	require.EqualValues(t, now, custom["createdAt"])
	bal := e.Must(200, "GET", "/v1/users/"+userID+"/balance", nil)
	require.EqualValues(t, bal.Num("balanceDue"), custom["closingBalance"])
	require.EqualValues(t, bal.Num("spendingPower"), custom["availableCredit"])
	again := e.Must(200, "GET", base+"/"+custom["id"].(string), nil)
	requireStatement(t, "custom by id", again.JSON, statementWant{opening: 0, spent: 150_00, refunds: 30_00, closing: 120_00,
		creditLimit: 1200_00, pending: 0, available: 1080_00, count: 3})
	require.Len(t, again.JSON["transactions"], 3)
	doc = e.Must(200, "GET", base+"/"+custom["id"].(string), nil, "Accept", "application/pdf")
	require.Contains(t, pdfcheck.Text(t, doc.Body), "-$30.00")

	// Nothing was written: the event log is as it was.
	events := e.Must(200, "GET", "/v1/events?limit=100", nil).Data()
	for _, ev := range events {
		require.NotContains(t, ev["type"], "statement")
	}
}

// TestStatementAccept: which Accept headers get a PDF.
func TestStatementAccept(t *testing.T) {
	e := testenv.Start(t, server.Config{Clock: "virtual", VirtualStart: utc("2024-05-20 00:00:00")})
	userID, _, _ := e.Funded("acc@example.com", 10_00)
	advanceTo(e, utc("2024-06-01 00:00:00"))
	id := e.Must(200, "GET", "/v1/users/"+userID+"/statements", nil).Data()[0]["id"].(string)
	cases := []struct {
		accept string
		pdf    bool
	}{
		{"", false},
		{"*/*", false},
		{"application/json", false},
		{"application/pdf", true},
		{"application/pdf, application/json", true},
		{"application/json, application/pdf", false},
		{"application/json;q=0.5, application/pdf", true},
		{"application/pdf;q=0", false},
		{"text/html", false},
	}
	for _, c := range cases {
		r := e.Must(200, "GET", "/v1/users/"+userID+"/statements/"+id, nil, "Accept", c.accept)
		if c.pdf {
			require.Equal(t, "application/pdf", r.Header.Get("Content-Type"), c.accept)
			require.True(t, bytes.HasPrefix(r.Body, []byte("%PDF-1.4")), c.accept)
		} else {
			require.Equal(t, "application/json", r.Header.Get("Content-Type"), c.accept)
			require.True(t, json.Valid(r.Body), c.accept)
		}
	}
}

// TestStatementErrors: every bad request names what was wrong, in the
// error shape, and agent tokens cannot read statements.
func TestStatementErrors(t *testing.T) {
	e := testenv.Start(t, server.Config{Clock: "virtual", VirtualStart: utc("2024-03-10 00:00:00")})
	userID, _, token := e.Funded("err@example.com", 10_00)
	otherID, _, _ := e.Funded("err2@example.com", 10_00)
	advanceTo(e, utc("2024-05-02 00:00:00"))
	base := "/v1/users/" + userID + "/statements"
	march := e.Must(200, "GET", base, nil).Data()[1]["id"].(string)
	require.True(t, strings.HasSuffix(march, "_m202403"), march)
	otherMarch := e.Must(200, "GET", "/v1/users/"+otherID+"/statements", nil).Data()[1]["id"].(string)
	now := e.Must(200, "GET", "/v1/simulate/clock", nil).Num("now") / 1000
	cases := []struct {
		name, method, path string
		body               any
		key                string
		status             int
		code, param        string
	}{
		{"agent token lists", "GET", base, nil, token, 403, "insufficient_permissions", ""},
		{"agent token reads", "GET", base + "/" + march, nil, token, 403, "insufficient_permissions", ""},
		{"agent token asks a range", "GET", base + "?periodStart=0&periodEnd=10", nil, token, 403, "insufficient_permissions", ""},
		{"no such user", "GET", "/v1/users/user_nope/statements", nil, "", 404, "user_not_found", ""},
		{"no such user, one statement", "GET", "/v1/users/user_nope/statements/" + march, nil, "", 404, "user_not_found", ""},
		{"another user's statement", "GET", base + "/" + otherMarch, nil, "", 404, "statement_not_found", ""},
		{"not a statement id", "GET", base + "/stmt_nope", nil, "", 404, "statement_not_found", ""},
		{"this month has not ended", "GET", base + "/" + strings.TrimSuffix(march, "03") + "05", nil, "", 404, "statement_not_found", ""},
		{"before the user existed", "GET", base + "/" + strings.TrimSuffix(march, "03") + "02", nil, "", 404, "statement_not_found", ""},
		{"custom range not ended", "GET", base + "/" + strings.TrimSuffix(march, "m202403") + "c0_99999999999", nil, "", 404, "statement_not_found", ""},
		{"bad limit", "GET", base + "?limit=0", nil, "", 400, "parameter_invalid", "limit"},
		{"bad cursor", "GET", base + "?cursor=txn_01", nil, "", 400, "parameter_invalid", "cursor"},
		{"custom id as cursor", "GET", base + "?cursor=" + strings.TrimSuffix(march, "m202403") + "c0_10", nil, "", 400, "parameter_invalid", "cursor"},
		{"unknown query parameter", "GET", base + "?from=1", nil, "", 400, "parameter_unknown", "from"},
		{"range without start", "GET", base + "?periodEnd=10", nil, "", 400, "parameter_missing", "periodStart"},
		{"range without end", "GET", base + "?periodStart=10", nil, "", 400, "parameter_missing", "periodEnd"},
		{"range not a number", "GET", base + "?periodStart=jan&periodEnd=10", nil, "", 400, "parameter_invalid", "periodStart"},
		{"range in milliseconds", "GET", base + fmt.Sprintf("?periodStart=0&periodEnd=%d", now*1000), nil, "", 400, "parameter_invalid", "periodEnd"},
		{"range backwards", "GET", base + "?periodStart=100&periodEnd=100", nil, "", 400, "parameter_invalid", "periodEnd"},
		{"negative start", "GET", base + "?periodStart=-1&periodEnd=100", nil, "", 400, "parameter_invalid", "periodStart"},
		{"range in the future", "GET", base + fmt.Sprintf("?periodStart=0&periodEnd=%d", now+60), nil, "", 400, "parameter_invalid", "periodEnd"},
		{"range with a cursor", "GET", base + "?periodStart=0&periodEnd=10&cursor=" + march, nil, "", 400, "parameter_invalid", "cursor"},
		{"range for no such user", "GET", "/v1/users/user_nope/statements?periodStart=0&periodEnd=10", nil, "", 404, "user_not_found", ""},
		{"POST is not a route", "POST", base, map[string]any{"periodStart": 0, "periodEnd": 10}, "", 405, "method_not_allowed", ""},
	}
	for _, c := range cases {
		var r *testenv.Resp
		if c.key != "" {
			r = e.Do(c.method, c.path, c.body, "Api-Key", c.key, "Accept", "application/pdf")
		} else {
			r = e.Do(c.method, c.path, c.body, "Accept", "application/pdf")
		}
		require.Equal(t, c.status, r.Status, "%s: %s", c.name, r.Body)
		require.Equal(t, "application/json", r.Header.Get("Content-Type"), "%s: errors are JSON even when a PDF was asked for", c.name)
		require.Equal(t, c.code, r.ErrCode(), "%s: %s", c.name, r.Body)
		require.Equal(t, c.param, r.ErrParam(), c.name)
		require.NotEmpty(t, r.Str("requestId"), c.name)
	}
}
