package api_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/testenv"
	"github.com/ledgersim/ledgersim/server"
)

// TestBalanceModel walks a funded account through a deposit, a hold, a
// clearing, a refund and a second hold, and checks the platform's balance
// fields beside ledgersim's own at each step, on both balance paths:
// creditLimit is what was deposited, pendingCharges the open holds,
// postedCharges the cleared purchases less refunds, balanceDue equals
// postedCharges and spendingPower = creditLimit - pendingCharges -
// postedCharges = available.
func TestBalanceModel(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	userID, agentID, _ := e.Funded("bal@example.com", 1000_00)
	card := multiCard(e, agentID, nil)
	var first, second string
	steps := []struct {
		name                                             string
		do                                               func()
		creditLimit, pending, posted, spendingPower, due int64
	}{
		{"funded", func() {}, 1000_00, 0, 0, 1000_00, 0},
		{"authorized", func() { first = authorize(e, card, 120_00, "BOOKS").Str("id") }, 1000_00, 120_00, 0, 880_00, 0},
		{"cleared for less", func() {
			e.Must(200, "POST", "/v1/simulate/clearing", map[string]any{"transactionId": first, "amount": 100_00})
		}, 1000_00, 0, 100_00, 900_00, 100_00},
		{"refunded in part", func() {
			e.Must(201, "POST", "/v1/simulate/refund", map[string]any{"transactionId": first, "amount": 30_00})
		}, 1000_00, 0, 70_00, 930_00, 70_00},
		{"second hold", func() {
			r := authorize(e, card, 50_00, "BOOKS")
			require.Equal(t, "00", r.Str("responseCode"), string(r.Body))
			second = r.Str("id")
		}, 1000_00, 50_00, 70_00, 880_00, 70_00},
		{"second deposit", func() {
			e.Must(201, "POST", "/v1/simulate/deposit", map[string]any{"userId": userID, "asset": "USDT", "chain": "polygon", "amount": "200"})
		}, 1200_00, 50_00, 70_00, 1080_00, 70_00},
		{"second reversed", func() {
			e.Must(200, "POST", "/v1/simulate/reversal", map[string]any{"transactionId": second})
		}, 1200_00, 0, 70_00, 1130_00, 70_00},
	}
	for _, s := range steps {
		s.do()
		for _, path := range []string{"/v1/users/" + userID + "/balance", "/v1/balances/" + userID} {
			b := e.Must(200, "GET", path, nil)
			require.Equal(t, "balance", b.Str("object"), s.name)
			require.Equal(t, userID, b.Str("userId"), s.name)
			require.Equal(t, "USD", b.Str("currency"), s.name)
			require.EqualValues(t, s.creditLimit, b.Num("creditLimit"), "%s %s creditLimit", s.name, path)
			require.EqualValues(t, s.pending, b.Num("pendingCharges"), "%s %s pendingCharges", s.name, path)
			require.EqualValues(t, s.posted, b.Num("postedCharges"), "%s %s postedCharges", s.name, path)
			require.EqualValues(t, s.due, b.Num("balanceDue"), "%s %s balanceDue", s.name, path)
			require.EqualValues(t, s.spendingPower, b.Num("spendingPower"), "%s %s spendingPower", s.name, path)
			// The platform's fields agree with ledgersim's own.
			require.Equal(t, b.Num("available"), b.Num("spendingPower"), s.name)
			require.Equal(t, b.Num("deposited"), b.Num("creditLimit"), s.name)
			require.Equal(t, b.Num("pending"), b.Num("pendingCharges"), s.name)
			require.Equal(t, b.Num("deposited")-b.Num("settled"), b.Num("postedCharges"), s.name)
		}
	}
}

// TestUserBalanceAccess: the platform's balance path answers an agent
// token for its own user only, as /v1/balances does, and names a missing
// user.
func TestUserBalanceAccess(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	userID, _, token := e.Funded("own@example.com", 10_00)
	otherID, _, _ := e.Funded("other@example.com", 10_00)
	cases := []struct {
		name, path, key string
		status          int
		code            string
	}{
		{"api key", "/v1/users/" + otherID + "/balance", testenv.APIKey, 200, ""},
		{"own user", "/v1/users/" + userID + "/balance", token, 200, ""},
		{"other user", "/v1/users/" + otherID + "/balance", token, 404, "user_not_found"},
		{"missing user", "/v1/users/user_nope/balance", testenv.APIKey, 404, "user_not_found"},
		{"no key", "/v1/users/" + userID + "/balance", "", 401, "missing_api_key"},
	}
	for _, c := range cases {
		r := e.Do("GET", c.path, nil, "Api-Key", c.key)
		require.Equal(t, c.status, r.Status, "%s: %s", c.name, r.Body)
		require.Equal(t, c.code, r.ErrCode(), c.name)
	}
}
