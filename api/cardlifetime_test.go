package api

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCardLifetimeEndsOnTheClock: the server's sweep ends a card's
// lifetime when the clock reaches it, without waiting for an
// authorization: the card takes the status that stands for the end, and
// card.expired is recorded once, however often the clock moves on.
func TestCardLifetimeEndsOnTheClock(t *testing.T) {
	tests := []struct {
		name string
		// setup returns the card and the minutes to its lifetime's end.
		setup  func(e *idemEnv) (card string, minutes int)
		status string
		reason string
	}{
		{"ttlDays closes", func(e *idemEnv) (string, int) {
			return e.card(map[string]any{"type": "multi", "ttlDays": 2}), 2 * 24 * 60
		}, "closed", "ttl_days_expired"},
		{"policy ttlMinutes freezes by default", func(e *idemEnv) (string, int) {
			pol := e.must(201, "POST", "/v1/policies", map[string]any{"name": "Hour", "ttlMinutes": 60}).str("id")
			return e.card(map[string]any{"type": "multi", "policyId": pol}), 60
		}, "frozen", "ttl_expired"},
		{"a policy shortened after issue", func(e *idemEnv) (string, int) {
			pol := e.must(201, "POST", "/v1/policies", map[string]any{"name": "Day", "ttlMinutes": 24 * 60, "onExpiry": "close"}).str("id")
			card := e.card(map[string]any{"type": "multi", "policyId": pol})
			e.must(200, "POST", "/v1/simulate/clock/advance", map[string]any{"minutes": 5})
			// The sweep has seen the card's end a day away; the change
			// brings it to 30 minutes after issue.
			e.must(200, "PATCH", "/v1/policies/"+pol, map[string]any{"ttlMinutes": 30})
			return card, 25
		}, "closed", "ttl_expired"},
		{"a card's own ttlMinutes set after issue", func(e *idemEnv) (string, int) {
			card := e.card(map[string]any{"type": "multi"})
			e.must(200, "POST", "/v1/simulate/clock/advance", map[string]any{"minutes": 5})
			e.must(200, "PATCH", "/v1/cards/"+card, map[string]any{"ttlMinutes": 10})
			return card, 5
		}, "frozen", "ttl_expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newIdemEnv(t)
			card, minutes := tt.setup(e)
			e.must(200, "POST", "/v1/simulate/clock/advance", map[string]any{"minutes": minutes - 1})
			got := e.must(200, "GET", "/v1/cards/"+card, nil)
			require.Equal(t, "active", got.str("status"), "a minute before the end")
			require.Empty(t, e.eventsOf("card.expired"))

			e.must(200, "POST", "/v1/simulate/clock/advance", map[string]any{"minutes": 1})
			got = e.must(200, "GET", "/v1/cards/"+card, nil)
			require.Equal(t, tt.status, got.str("status"), "%s", got.raw)
			require.NotNil(t, got.json["expiredAt"], "%s", got.raw)
			evs := e.eventsOf("card.expired")
			require.Len(t, evs, 1)
			data := evs[0].(map[string]any)["data"].(map[string]any)
			require.Equal(t, card, data["cardId"])
			require.Equal(t, tt.status, data["status"])
			require.Equal(t, "active", data["previousStatus"])
			require.Equal(t, tt.reason, data["reason"])

			d := e.must(201, "POST", "/v1/simulate/authorization", map[string]any{"cardId": card, "amount": 100, "merchantName": "CAFE"})
			require.Equal(t, "54", d.json["responseCode"], "%s", d.raw)
			require.Equal(t, "card_expired", d.json["declinedReason"])
			e.must(200, "POST", "/v1/simulate/clock/advance", map[string]any{"minutes": 60})
			if tt.status == "frozen" {
				// Unfrozen, it still declines as expired, and nothing is
				// recorded again.
				e.must(200, "POST", "/v1/cards/"+card+"/unfreeze", map[string]any{})
				e.must(200, "POST", "/v1/simulate/clock/advance", map[string]any{"minutes": 60})
				d = e.must(201, "POST", "/v1/simulate/authorization", map[string]any{"cardId": card, "amount": 100, "merchantName": "CAFE"})
				require.Equal(t, "card_expired", d.json["declinedReason"])
			}
			require.Len(t, e.eventsOf("card.expired"), 1, "recorded once")
		})
	}
}
