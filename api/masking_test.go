package api

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestErrorsMaskCardNumbers: wherever an error echoes what the caller sent
// (the path of an unmatched route, an unknown parameter's name in the
// message and in param, an ID), a card number in it comes back masked.
func TestErrorsMaskCardNumbers(t *testing.T) {
	e := newIdemEnv(t)
	const pan = "4859320000000006"
	const masked = "485932******0006"
	cases := []struct{ name, method, path, body string }{
		{"unmatched route", "GET", "/v1/" + pan, ""},
		{"unmatched route, POST", "POST", "/v1/" + pan + "/x", "{}"},
		{"unknown body parameter", "POST", "/v1/users", `{"firstName":"a","lastName":"b","email":"m@example.com","` + pan + `":1}`},
		{"unknown query parameter", "GET", "/v1/transactions?" + pan + "=1", ""},
		{"card id", "GET", "/v1/cards/" + pan, ""},
		{"transaction id", "GET", "/v1/transactions/" + pan, ""},
		{"id in a body", "POST", "/v1/simulate/authorization", `{"cardId":"` + pan + `","amount":1}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, tc.body)
			require.GreaterOrEqual(t, r.status, 400, "%s", r.raw)
			require.NotContains(t, string(r.raw), pan)
			errObj := r.json["error"].(map[string]any)
			require.NotEmpty(t, errObj["message"])
			if strings.Contains(tc.name, "unmatched") || strings.Contains(tc.name, "unknown") {
				require.Contains(t, string(r.raw), masked, "the masked form still says what was sent")
			}
		})
	}
}

// TestOneRuleForIDsInErrors: every kind of ID is echoed the same way: as
// given, but for its runs of 12 or more digits.
func TestOneRuleForIDsInErrors(t *testing.T) {
	e := newIdemEnv(t)
	for _, p := range []string{"/v1/cards/", "/v1/transactions/", "/v1/users/", "/v1/agents/", "/v1/intents/"} {
		for _, id := range []string{"x_01kjmma2g0002k82dxt98q", "x_012345678901234a"} {
			r := e.do("GET", p+id, "")
			require.Equal(t, 404, r.status, "%s", r.raw)
			msg := r.json["error"].(map[string]any)["message"].(string)
			want := id
			if id == "x_012345678901234a" {
				want = "x_012345*****1234a"
			}
			require.Contains(t, msg, "'"+want+"'", p)
		}
	}
}
