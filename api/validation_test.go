package api_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/internal/testenv"
	"github.com/ledgersim/ledgersim/server"
)

// TestValidation checks every validation rule: status, code and the param
// named, and that nothing was created by a refused request.
func TestValidation(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	userID, agentID, _ := e.Funded("v@example.com", 1000)
	pending := e.Must(201, "POST", "/v1/users", map[string]any{"firstName": "P", "lastName": "Q", "email": "p@example.com"}).Str("id")
	cards := "/v1/agents/" + agentID + "/cards"

	tests := []struct {
		name   string
		method string
		path   string
		body   any
		status int
		code   string
		param  string
	}{
		{"user: not json", "POST", "/v1/users", `{"firstName":`, 400, "body_parse_error", ""},
		{"user: array body", "POST", "/v1/users", `[1,2]`, 400, "body_parse_error", ""},
		{"user: trailing data", "POST", "/v1/users", `{"firstName":"a"} {}`, 400, "body_parse_error", ""},
		{"user: missing firstName", "POST", "/v1/users", map[string]any{"lastName": "x", "email": "x@example.com"}, 400, "parameter_missing", "firstName"},
		{"user: empty lastName", "POST", "/v1/users", map[string]any{"firstName": "x", "lastName": " ", "email": "x@example.com"}, 400, "parameter_invalid", "lastName"},
		{"user: bad email", "POST", "/v1/users", map[string]any{"firstName": "x", "lastName": "y", "email": "not-an-email"}, 400, "parameter_invalid", "email"},
		{"user: email without domain dot", "POST", "/v1/users", map[string]any{"firstName": "x", "lastName": "y", "email": "a@b"}, 400, "parameter_invalid", "email"},
		{"user: wrong type", "POST", "/v1/users", map[string]any{"firstName": 12, "lastName": "y", "email": "x@example.com"}, 400, "parameter_invalid", "firstName"},
		{"user: unknown field", "POST", "/v1/users", map[string]any{"firstName": "x", "lastName": "y", "email": "x@example.com", "age": 3}, 400, "parameter_unknown", "age"},
		{"user: too long", "POST", "/v1/users", map[string]any{"firstName": strings.Repeat("x", 101), "lastName": "y", "email": "x@example.com"}, 400, "parameter_invalid", "firstName"},
		{"user: not found", "GET", "/v1/users/user_nope", nil, 404, "user_not_found", ""},
		{"verification: unknown user", "POST", "/v1/verification/user", map[string]any{"userId": "user_nope"}, 404, "user_not_found", "userId"},
		{"kyc: bad decision", "POST", "/v1/simulate/kyc", map[string]any{"userId": userID, "decision": "maybe"}, 400, "parameter_invalid", "decision"},
		{"deposit: bad asset", "POST", "/v1/simulate/deposit", map[string]any{"userId": userID, "asset": "BTC", "chain": "base", "amount": 1}, 400, "parameter_invalid", "asset"},
		{"deposit: bad chain", "POST", "/v1/simulate/deposit", map[string]any{"userId": userID, "asset": "USDC", "chain": "moon", "amount": 1}, 400, "parameter_invalid", "chain"},
		{"deposit: zero", "POST", "/v1/simulate/deposit", map[string]any{"userId": userID, "asset": "USDC", "chain": "base", "amount": 0}, 400, "parameter_invalid", "amount"},
		{"deposit: negative", "POST", "/v1/simulate/deposit", map[string]any{"userId": userID, "asset": "USDC", "chain": "base", "amount": -5}, 400, "parameter_invalid", "amount"},
		{"deposit: sub-cent", "POST", "/v1/simulate/deposit", map[string]any{"userId": userID, "asset": "USDC", "chain": "base", "amount": "1.001"}, 400, "parameter_invalid", "amount"},
		{"deposit: missing amount", "POST", "/v1/simulate/deposit", map[string]any{"userId": userID, "asset": "USDC", "chain": "base"}, 400, "parameter_missing", "amount"},
		{"deposit: unapproved user", "POST", "/v1/simulate/deposit", map[string]any{"userId": pending, "asset": "USDC", "chain": "base", "amount": 1}, 409, "user_not_verified", ""},
		{"deposit: unknown user", "POST", "/v1/simulate/deposit", map[string]any{"userId": "user_x", "asset": "USDC", "chain": "base", "amount": 1}, 404, "user_not_found", "userId"},
		{"agent: missing name", "POST", "/v1/agents/register", map[string]any{"userId": userID}, 400, "parameter_missing", "name"},
		{"agent: bad frequency", "POST", "/v1/agents/register", map[string]any{"userId": userID, "name": "a", "spendingLimitFrequency": "perFortnight"}, 400, "parameter_invalid", "spendingLimitFrequency"},
		{"agent: bad onLimitExceeded", "POST", "/v1/agents/register", map[string]any{"userId": userID, "name": "a", "onLimitExceeded": "explode"}, 400, "parameter_invalid", "onLimitExceeded"},
		{"agent: negative limit", "POST", "/v1/agents/register", map[string]any{"userId": userID, "name": "a", "spendingLimit": -1}, 400, "parameter_invalid", "spendingLimit"},
		{"agent: fractional limit", "POST", "/v1/agents/register", map[string]any{"userId": userID, "name": "a", "spendingLimit": 10.5}, 400, "parameter_invalid", "spendingLimit"},
		{"agent: string limit", "POST", "/v1/agents/register", map[string]any{"userId": userID, "name": "a", "spendingLimit": "100"}, 400, "parameter_invalid", "spendingLimit"},
		{"agent: huge limit", "POST", "/v1/agents/register", map[string]any{"userId": userID, "name": "a", "spendingLimit": 1e30}, 400, "parameter_invalid", "spendingLimit"},
		{"agent: metadata not object", "POST", "/v1/agents/register", map[string]any{"userId": userID, "name": "a", "metadata": []int{1}}, 400, "parameter_invalid", "metadata"},
		{"agent: unknown user", "POST", "/v1/agents/register", map[string]any{"userId": "user_x", "name": "a"}, 404, "user_not_found", "userId"},
		{"agent: unapproved user", "POST", "/v1/agents/register", map[string]any{"userId": pending, "name": "a"}, 409, "user_not_verified", ""},
		{"agent: patch bad status", "PATCH", "/v1/agents/" + agentID, map[string]any{"status": "deregistered"}, 400, "parameter_invalid", "status"},
		{"agent: not found", "GET", "/v1/agents/agent_x", nil, 404, "agent_not_found", ""},
		{"card: missing purpose", "POST", cards, map[string]any{"type": "single"}, 400, "parameter_missing", "purpose"},
		{"card: bad type", "POST", cards, map[string]any{"purpose": "p", "type": "double"}, 400, "parameter_invalid", "type"},
		{"card: bad exposure", "POST", cards, map[string]any{"purpose": "p", "credentialExposure": "always"}, 400, "parameter_invalid", "credentialExposure"},
		{"card: rawPan without ack", "POST", cards, map[string]any{"purpose": "p", "credentialExposure": "rawPan"}, 400, "parameter_invalid", "acknowledgeRawPanRisk"},
		{"card: rawPan with false ack", "POST", cards, map[string]any{"purpose": "p", "credentialExposure": "rawPan", "acknowledgeRawPanRisk": false}, 400, "parameter_invalid", "acknowledgeRawPanRisk"},
		{"card: ack not bool", "POST", cards, map[string]any{"purpose": "p", "acknowledgeRawPanRisk": "yes"}, 400, "parameter_invalid", "acknowledgeRawPanRisk"},
		{"card: window 0", "POST", cards, map[string]any{"purpose": "p", "attestationWindowMinutes": 0}, 400, "parameter_invalid", "attestationWindowMinutes"},
		{"card: window 61", "POST", cards, map[string]any{"purpose": "p", "attestationWindowMinutes": 61}, 400, "parameter_invalid", "attestationWindowMinutes"},
		{"card: bad onDrift", "POST", cards, map[string]any{"purpose": "p", "onDrift": "explode"}, 400, "parameter_invalid", "onDrift"},
		{"card: maxAmount 0", "POST", cards, map[string]any{"purpose": "p", "maxAmount": 0}, 400, "parameter_invalid", "maxAmount"},
		{"card: maxAuthCount negative", "POST", cards, map[string]any{"purpose": "p", "maxAuthCount": -2}, 400, "parameter_invalid", "maxAuthCount"},
		{"card: ttlDays 0", "POST", cards, map[string]any{"purpose": "p", "ttlDays": 0}, 400, "parameter_invalid", "ttlDays"},
		{"card: limits not object", "POST", cards, map[string]any{"purpose": "p", "limits": 5}, 400, "parameter_invalid", "limits"},
		{"card: limits.perDay negative", "POST", cards, map[string]any{"purpose": "p", "limits": map[string]any{"perDay": -1}}, 400, "parameter_invalid", "limits.perDay"},
		{"card: limits unknown key", "POST", cards, map[string]any{"purpose": "p", "limits": map[string]any{"perDecade": 1}}, 400, "parameter_unknown", "limits.perDecade"},
		{"card: unknown agent", "POST", "/v1/agents/agent_x/cards", map[string]any{"purpose": "p"}, 404, "agent_not_found", ""},
		{"card: not found", "GET", "/v1/cards/card_x", nil, 404, "card_not_found", ""},
		{"details: missing summary", "POST", "/v1/cards/card_x/details", map[string]any{}, 404, "card_not_found", ""},
		{"route: unknown", "GET", "/v1/nothing", nil, 404, "not_found", ""},
		{"route: wrong method", "DELETE", "/v1/users", nil, 405, "method_not_allowed", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.Do(tc.method, tc.path, tc.body)
			require.Equal(t, tc.status, r.Status, "%s", r.Body)
			require.Equal(t, tc.code, r.ErrCode(), "%s", r.Body)
			require.Equal(t, tc.param, r.ErrParam(), "%s", r.Body)
			require.True(t, strings.HasPrefix(r.Str("requestId"), "req_"), "%s", r.Body)
			errObj := r.JSON["error"].(map[string]any)
			require.NotEmpty(t, errObj["type"])
			require.NotEmpty(t, errObj["message"])
		})
	}

	// Nothing refused was applied.
	require.Len(t, e.Must(200, "GET", "/v1/users", nil).Data(), 2)
	require.Len(t, e.Must(200, "GET", "/v1/agents", nil).Data(), 1)
	require.Empty(t, e.Must(200, "GET", cards, nil).Data())
	require.EqualValues(t, 1000, e.Must(200, "GET", "/v1/balances/"+userID, nil).Num("available"))

	// Details needs a summary (checked on a real card).
	card := e.Must(201, "POST", cards, map[string]any{"purpose": "p", "credentialExposure": "rawPan", "acknowledgeRawPanRisk": true})
	r := e.Must(400, "POST", "/v1/cards/"+card.Str("id")+"/details", map[string]any{"expectedAmount": 5})
	require.Equal(t, "summary", r.ErrParam())
	r = e.Must(400, "POST", "/v1/cards/"+card.Str("id")+"/details", map[string]any{"summary": "s", "reason": "whim"})
	require.Equal(t, "reason", r.ErrParam())
}

func TestBodyLimits(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	// A body past a route's bound is refused from its Content-Length,
	// before it is read, with the documented JSON and the connection
	// closed. The request is sent over a bare connection, headers and one
	// byte only: a client still writing the rest of a refused body can
	// have its connection reset before it reads the reply, which would
	// test TCP rather than the server.
	tests := []struct {
		name          string
		contentLength int
	}{
		{"just past the 1 MiB JSON bound", 1<<20 + 1},
		{"past the receipt upload bound too", 11 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", strings.TrimPrefix(e.Base, "http://"))
			require.NoError(t, err)
			defer conn.Close()
			_, err = fmt.Fprintf(conn, "POST /v1/users HTTP/1.1\r\nHost: x\r\nApi-Key: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", testenv.APIKey, tt.contentLength)
			require.NoError(t, err)
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			require.NoError(t, err)
			raw, _ := io.ReadAll(res.Body)
			require.Equal(t, 413, res.StatusCode)
			require.Contains(t, string(raw), `"code":"body_too_large"`)
			require.True(t, res.Close, "the connection is closed after a refused body")
		})
	}
	// A body within the bound is read whole.
	near := `{"firstName":"` + strings.Repeat("x", 1<<20-100) + `","lastName":"y","email":"x@example.com"}`
	r := e.Must(400, "POST", "/v1/users", near)
	require.NotEqual(t, "body_too_large", r.ErrCode())
	require.Empty(t, e.Must(200, "GET", "/v1/users", nil).Data())
}

func TestAuthentication(t *testing.T) {
	e := testenv.Start(t, server.Config{})
	r := e.Must(401, "GET", "/v1/users", nil, "Api-Key", "")
	require.Equal(t, "missing_api_key", r.ErrCode())
	r = e.Must(401, "GET", "/v1/users", nil, "Api-Key", "lk_test_wrong_key_00000000000")
	require.Equal(t, "invalid_api_key", r.ErrCode())
	require.NotContains(t, string(r.Body), "lk_test_wrong", "a presented key is never echoed")
	r = e.Must(401, "GET", "/v1/users", nil, "Api-Key", "at_test_notatoken")
	require.Equal(t, "invalid_api_key", r.ErrCode())
	e.Must(200, "GET", "/healthz", nil, "Api-Key", "")
	e.Must(200, "GET", "/readyz", nil, "Api-Key", "")
}
