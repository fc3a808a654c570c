package api_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/testenv"
	"github.com/ledgersim/ledgersim/server"
)

// TestInputIsNotGuessed: what a client may have got wrong is refused with
// the param named, never resolved silently (a repeated key, a misspelt
// query filter, a cursor the API did not hand out), and a deposit that is
// too large says so and gives the bound.
func TestInputIsNotGuessed(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	userID, agentID, _ := e.Funded("in@example.com", 1000)
	dep := func(amount string) string {
		return `{"userId":"` + userID + `","asset":"USDC","chain":"base","amount":` + amount + `}`
	}
	tests := []struct {
		name, method, path, body string
		code, param, msg         string
	}{
		{"duplicate key", "POST", "/v1/users", `{"firstName":"a","lastName":"b","email":"a@example.com","email":"c@example.com"}`,
			"parameter_duplicated", "email", "more than once"},
		{"duplicate nested key", "POST", "/v1/agents/" + agentID + "/cards", `{"purpose":"p","limits":{"perAuth":100,"perAuth":100000}}`,
			"parameter_duplicated", "limits.perAuth", "more than once"},
		{"deposit too large", "POST", "/v1/simulate/deposit", dep(`"99999999999999"`), "parameter_invalid", "amount", "too large: it must be at most 11,258,999,068,426.24"},
		{"deposit far too large", "POST", "/v1/simulate/deposit", dep(`123456789012345678901234567890`), "parameter_invalid", "amount", "too large"},
		{"deposit not a number", "POST", "/v1/simulate/deposit", dep(`"12a"`), "parameter_invalid", "amount", "at most 2 decimal places"},
		{"misspelt filter", "GET", "/v1/transactions?cardID=card_x", "", "parameter_unknown", "cardID", "cardId"},
		{"query on a route without any", "GET", "/v1/users/" + userID + "?expand=cards", "", "parameter_unknown", "expand", "takes none"},
		{"query on a write", "POST", "/v1/users?dryRun=true", `{"firstName":"a","lastName":"b","email":"q@example.com"}`, "parameter_unknown", "dryRun", ""},
		{"garbage cursor", "GET", "/v1/transactions?cursor=garbage", "", "parameter_invalid", "cursor", "not a cursor"},
		{"garbage cursor, users", "GET", "/v1/users?cursor=user_", "", "parameter_invalid", "cursor", "not a cursor"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.body != "" {
				body = tc.body
			}
			r := e.Do(tc.method, tc.path, body)
			require.Equal(t, 400, r.Status, "%s", r.Body)
			require.Equal(t, tc.code, r.ErrCode(), "%s", r.Body)
			require.Equal(t, tc.param, r.ErrParam(), "%s", r.Body)
			require.Contains(t, string(r.Body), tc.msg)
		})
	}
	// Nothing the refused writes named was created.
	for _, u := range e.Must(200, "GET", "/v1/users?limit=100", nil).Data() {
		require.NotEqual(t, "q@example.com", u["email"])
		require.NotEqual(t, "c@example.com", u["email"])
	}

	// What the lists do accept still works, a returned cursor included.
	for _, email := range []string{"p1@example.com", "p2@example.com", "p3@example.com"} {
		e.Must(201, "POST", "/v1/users", map[string]any{"firstName": "p", "lastName": "q", "email": email})
	}
	first := e.Must(200, "GET", "/v1/users?limit=2", nil)
	require.Equal(t, true, first.JSON["hasMore"])
	next := e.Must(200, "GET", "/v1/users?limit=2&cursor="+first.Str("cursor"), nil)
	require.NotEmpty(t, next.Data())
	e.Must(200, "GET", "/v1/transactions?cardId=card_x&status=pending&limit=5", nil)
}
