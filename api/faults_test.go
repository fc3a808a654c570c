package api

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFaultRules: rules are added, listed with their counts and deleted;
// every bad rule is a 400 in the documented shape naming its field, and
// adds nothing.
func TestFaultRules(t *testing.T) {
	e := newIdemEnv(t)
	bad := []struct {
		name, body, param, code string
	}{
		{"unknown action", `{"action":"explode"}`, "action", "parameter_invalid"},
		{"no action", `{"mti":"0100"}`, "action", "parameter_missing"},
		{"negative delay", `{"action":"delay","delayMs":-5}`, "delayMs", "parameter_invalid"},
		{"delay without delayMs", `{"action":"delay"}`, "delayMs", "parameter_invalid"},
		{"percent over 100", `{"action":"noReply","percent":101}`, "percent", "parameter_invalid"},
		{"percent under 0", `{"action":"noReply","percent":-1}`, "percent", "parameter_invalid"},
		{"respond 00", `{"action":"respond","responseCode":"00"}`, "responseCode", "parameter_invalid"},
		{"respond 10", `{"action":"respond","responseCode":"10"}`, "responseCode", "parameter_invalid"},
		{"respond without code", `{"action":"respond"}`, "responseCode", "parameter_invalid"},
		{"count 0", `{"action":"noReply","count":0}`, "count", "parameter_invalid"},
		{"mti not faultable", `{"action":"noReply","mti":"0800"}`, "mti", "parameter_invalid"},
		{"last4 not digits", `{"action":"noReply","last4":"12ab"}`, "last4", "parameter_invalid"},
		{"amount range upside down", `{"action":"noReply","amountMin":5,"amountMax":4}`, "amountMax", "parameter_invalid"},
		{"delayMs a string", `{"action":"delay","delayMs":"5"}`, "delayMs", "parameter_invalid"},
		{"unknown field", `{"action":"noReply","percentage":5}`, "percentage", "parameter_unknown"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			r := e.do("POST", "/v1/simulate/faults", tc.body)
			require.Equal(t, 400, r.status, "%s", r.raw)
			errObj, _ := r.json["error"].(map[string]any)
			require.Equal(t, tc.param, errObj["param"], "%s", r.raw)
			require.Equal(t, tc.code, errObj["code"])
			require.Equal(t, "validation_error", errObj["type"])
			require.Contains(t, r.str("requestId"), "req_")
		})
	}
	e.t = t
	require.Empty(t, e.a.cfg.Faults.List(), "no bad rule was added")

	made := e.do("POST", "/v1/simulate/faults", `{"cardId":"card_01hzzzzzzzzzzzzzzzzzzz","mti":"0200","amountMin":100,"amountMax":900,"action":"respond","responseCode":"91","count":3}`)
	require.Equal(t, 201, made.status, "%s", made.raw)
	id := made.str("id")
	require.Regexp(t, `^flt_`, id)
	require.Equal(t, "fault", made.str("object"))
	require.EqualValues(t, 100, made.json["percent"], "percent defaults to 100")
	require.EqualValues(t, 3, made.json["count"])
	require.EqualValues(t, 0, made.json["matched"])

	// A retry under the same Idempotency-Key replays the rule, and adds
	// no second one.
	body := `{"action":"duplicateReply","last4":"4242"}`
	first := e.do("POST", "/v1/simulate/faults", body, "Idempotency-Key", "flt-1")
	again := e.do("POST", "/v1/simulate/faults", body, "Idempotency-Key", "flt-1")
	require.Equal(t, 201, first.status)
	require.Equal(t, string(first.raw), string(again.raw))
	require.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
	require.EqualValues(t, nil, first.json["count"], "no count is no limit")

	list := e.do("GET", "/v1/simulate/faults", "")
	require.Equal(t, 200, list.status)
	data, _ := list.json["data"].([]any)
	require.Len(t, data, 2)
	require.Equal(t, id, data[0].(map[string]any)["id"], "rules are listed in the order they are tried")

	del := e.do("DELETE", "/v1/simulate/faults/"+id, "")
	require.Equal(t, 200, del.status, "%s", del.raw)
	require.Equal(t, true, del.json["deleted"])
	gone := e.do("DELETE", "/v1/simulate/faults/"+id, "")
	require.Equal(t, 404, gone.status)
	require.Contains(t, string(gone.raw), "fault_not_found")
	require.Len(t, e.a.cfg.Faults.List(), 1)
}

// TestFaultRoutesWithoutFaults: a server without fault injection answers
// its routes 503.
func TestFaultRoutesWithoutFaults(t *testing.T) {
	e := newIdemEnvWith(t, func(c *Config) { c.Faults = nil })
	for _, call := range [][2]string{{"POST", "/v1/simulate/faults"}, {"GET", "/v1/simulate/faults"}, {"DELETE", "/v1/simulate/faults/flt_x"}} {
		r := e.do(call[0], call[1], `{"action":"noReply"}`)
		require.Equal(t, 503, r.status, "%s %s", call[0], call[1])
		require.Contains(t, string(r.raw), "faults_unavailable")
	}
}
