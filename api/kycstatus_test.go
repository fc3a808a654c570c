package api

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestKYCStatusesGateSpending walks a user with a funded card through the
// application statuses of POST /v1/simulate/kyc: each status short of
// approved declines the card's authorizations (62, its reason) and refuses
// new agents, cards and deposits, with its event; approving again lets the
// card spend.
func TestKYCStatusesGateSpending(t *testing.T) {
	tests := []struct {
		// path of statuses after approval; the last one is checked.
		path   []string
		status string // coarse
		reason string
		event  string
		// back is whether approving again is allowed.
		back bool
	}{
		{[]string{"needsVerification"}, "pending", "user_not_verified", "user.updated", true},
		{[]string{"locked"}, "locked", "user_locked", "user.updated", true},
		{[]string{"locked", "needsVerification", "needsInformation"}, "pending", "user_not_verified", "user.application.needs_info", true},
		{[]string{"needsVerification", "manualReview"}, "pending", "user_not_verified", "user.updated", true},
		{[]string{"locked", "denied"}, "denied", "user_denied", "user.rejected", false},
		{[]string{"needsVerification", "canceled"}, "canceled", "user_canceled", "user.updated", false},
	}
	for _, tt := range tests {
		last := tt.path[len(tt.path)-1]
		t.Run(last, func(t *testing.T) {
			e := newIdemEnv(t)
			user := e.user()
			agent := e.must(201, "POST", "/v1/agents/register", map[string]any{"userId": user, "name": "b"}).str("id")
			card := e.must(201, "POST", "/v1/agents/"+agent+"/cards", map[string]any{"purpose": "p", "type": "multi"}).str("id")
			buy := func() *idemResp {
				return e.must(201, "POST", "/v1/simulate/authorization", map[string]any{"cardId": card, "amount": 100, "merchantName": "CAFE"})
			}
			require.Equal(t, true, buy().json["approved"])

			var u *idemResp
			for _, st := range tt.path {
				u = e.must(200, "POST", "/v1/simulate/kyc", map[string]any{"userId": user, "decision": st})
			}
			require.Equal(t, last, u.str("applicationStatus"))
			require.Equal(t, tt.status, u.str("status"))
			got := e.must(200, "GET", "/v1/users/"+user, nil)
			require.Equal(t, last, got.str("applicationStatus"))
			evs := e.eventsOf(tt.event)
			require.NotEmpty(t, evs)
			data := evs[0].(map[string]any)["data"].(map[string]any)
			require.Equal(t, user, data["userId"])
			require.Equal(t, last, data["applicationStatus"])

			d := buy()
			require.Equal(t, "62", d.json["responseCode"], "%s", d.raw)
			require.Equal(t, tt.reason, d.json["declinedReason"])
			for _, refused := range []struct{ path string }{{"/v1/agents/register"}, {"/v1/agents/" + agent + "/cards"}, {"/v1/simulate/deposit"}} {
				body := map[string]any{"userId": user, "name": "c", "purpose": "p", "asset": "USDC", "chain": "base", "amount": 1}
				switch refused.path {
				case "/v1/agents/register":
					body = map[string]any{"userId": user, "name": "c"}
				case "/v1/simulate/deposit":
					body = map[string]any{"userId": user, "asset": "USDC", "chain": "base", "amount": 1}
				default:
					body = map[string]any{"purpose": "p"}
				}
				r := e.must(409, "POST", refused.path, body)
				require.Equal(t, "user_not_verified", r.json["error"].(map[string]any)["code"], "%s", r.raw)
				require.Contains(t, r.json["error"].(map[string]any)["message"], last)
			}

			if !tt.back {
				r := e.must(409, "POST", "/v1/simulate/kyc", map[string]any{"userId": user, "decision": "approved"})
				require.Equal(t, "kyc_already_decided", r.json["error"].(map[string]any)["code"])
				return
			}
			// The same status again changes nothing.
			before := len(e.eventsOf(tt.event))
			e.must(200, "POST", "/v1/simulate/kyc", map[string]any{"userId": user, "decision": last})
			require.Len(t, e.eventsOf(tt.event), before)
			e.must(200, "POST", "/v1/simulate/kyc", map[string]any{"userId": user, "decision": "approved"})
			require.Equal(t, true, buy().json["approved"])
		})
	}
}

// TestKYCTransitions: the statuses a decision may not reach from where
// the user is, and bad decisions.
func TestKYCTransitions(t *testing.T) {
	e := newIdemEnv(t)
	user := e.user() // approved
	for _, st := range []string{"pending", "manualReview", "needsInformation", "canceled", "denied"} {
		r := e.must(409, "POST", "/v1/simulate/kyc", map[string]any{"userId": user, "decision": st})
		require.Equal(t, "kyc_already_decided", r.json["error"].(map[string]any)["code"], st)
	}
	e.must(200, "POST", "/v1/simulate/kyc", map[string]any{"userId": user, "decision": "locked"})
	r := e.must(409, "POST", "/v1/simulate/kyc", map[string]any{"userId": user, "decision": "manualReview"})
	require.Equal(t, "kyc_transition_invalid", r.json["error"].(map[string]any)["code"])

	for _, bad := range []any{"notStarted", "frozen", "", 7} {
		r := e.must(400, "POST", "/v1/simulate/kyc", map[string]any{"userId": user, "decision": bad})
		require.Equal(t, "decision", r.json["error"].(map[string]any)["param"], "%v: %s", bad, r.raw)
	}
	r = e.must(404, "POST", "/v1/simulate/kyc", map[string]any{"userId": "user_missing", "decision": "locked"})
	require.Equal(t, "user_not_found", r.json["error"].(map[string]any)["code"])

	// A new user may go anywhere short of approval and back.
	p := e.pendingUser()
	for _, st := range []string{"manualReview", "needsInformation", "pending", "needsVerification", "approved"} {
		u := e.must(200, "POST", "/v1/simulate/kyc", map[string]any{"userId": p, "decision": st})
		require.Equal(t, st, u.str("applicationStatus"))
	}
}
