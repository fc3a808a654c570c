package api

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDefaultCardLimitFrequencies: every defaultCardLimitFrequency an agent
// accepts becomes the card limit it names, is returned on the card, and
// limits purchases in its window on the virtual clock (which starts on
// Sunday 1 March 2026, 12:00 UTC). Purchases are cleared at once, so that
// no hold expiring later gives spend back.
func TestDefaultCardLimitFrequencies(t *testing.T) {
	tests := []struct {
		freq  string
		field string
		// minutes to the next window (0: the limit never resets).
		nextWindowMinutes int
	}{
		{"perTransaction", "perAuth", 0},
		{"per24HourPeriod", "perDay", 12 * 60},      // next UTC day
		{"perWeek", "perWeek", 12 * 60},             // Monday 00:00 UTC
		{"perMonth", "perMonth", (30*24 + 12) * 60}, // 1 April
		{"perYear", "perYear", (306*24 - 12) * 60},  // 1 January 2027
		{"allTime", "allTime", 0},
	}
	for _, tt := range tests {
		t.Run(tt.freq, func(t *testing.T) {
			e := newIdemEnv(t)
			ag := e.must(201, "POST", "/v1/agents/register", map[string]any{"userId": e.user(), "name": "b",
				"defaultCardLimit": 1000, "defaultCardLimitFrequency": tt.freq})
			require.Equal(t, tt.freq, ag.json["defaultCardLimitFrequency"])
			got := e.must(200, "GET", "/v1/agents/"+ag.str("id"), nil)
			require.Equal(t, tt.freq, got.json["defaultCardLimitFrequency"], "stored")
			card := e.must(201, "POST", "/v1/agents/"+ag.str("id")+"/cards", map[string]any{"purpose": "p", "type": "multi"})
			limits := card.json["limits"].(map[string]any)
			require.EqualValues(t, 1000, limits[tt.field], "%s", card.raw)
			for k, v := range limits {
				if k != tt.field {
					require.Nil(t, v, "only %s is set: %s", tt.field, card.raw)
				}
			}
			buy := func(amount int) *idemResp {
				d := e.must(201, "POST", "/v1/simulate/authorization", map[string]any{"cardId": card.str("id"), "amount": amount, "merchantName": "CAFE"})
				if d.json["approved"] == true {
					e.must(200, "POST", "/v1/simulate/clearing", map[string]any{"transactionId": d.str("id"), "amount": amount})
				}
				return d
			}
			if tt.freq == "perTransaction" {
				require.Equal(t, true, buy(1000).json["approved"])
				require.Equal(t, true, buy(1000).json["approved"])
				d := buy(1001)
				require.Equal(t, "61", d.json["responseCode"], "%s", d.raw)
				return
			}
			require.Equal(t, true, buy(600).json["approved"])
			d := buy(401)
			require.Equal(t, "61", d.json["responseCode"], "%s", d.raw)
			require.Equal(t, "spending_limit_exceeded", d.json["declinedReason"])
			if tt.nextWindowMinutes == 0 {
				e.must(200, "POST", "/v1/simulate/clock/advance", map[string]any{"minutes": 366 * 24 * 60})
				require.Equal(t, "61", buy(401).json["responseCode"], "an allTime limit never resets")
				require.Equal(t, true, buy(400).json["approved"])
				return
			}
			// One minute before the next window the limit still holds.
			e.must(200, "POST", "/v1/simulate/clock/advance", map[string]any{"minutes": tt.nextWindowMinutes - 1})
			require.Equal(t, "61", buy(401).json["responseCode"])
			e.must(200, "POST", "/v1/simulate/clock/advance", map[string]any{"minutes": 1})
			require.Equal(t, true, buy(1000).json["approved"], "a new window")
			require.Equal(t, "61", buy(1).json["responseCode"])
		})
	}
}
