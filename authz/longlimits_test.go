package authz

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/model"
)

// TestLongLimits runs purchases on a clock through the weekly, yearly and
// lifetime limits: each step decides at its instant and, when approved,
// counts the spend as the ledger does; a step with release gives back an
// earlier approval's amount (a reversal) counted at its time.
func TestLongLimits(t *testing.T) {
	type step struct {
		at       string
		amount   int64
		approved bool
		// release gives back amount counted at at instead of buying.
		release bool
	}
	tests := []struct {
		name   string
		limits model.Limits
		steps  []step
	}{
		{"perWeek resets at Monday 00:00 UTC", model.Limits{PerWeek: i64(1000)}, []step{
			{at: "2026-03-09T00:00:00Z", amount: 600, approved: true}, // Monday
			{at: "2026-03-15T23:59:59.999Z", amount: 400, approved: true},
			{at: "2026-03-15T23:59:59.999Z", amount: 1, approved: false}, // Sunday, last instant
			{at: "2026-03-16T00:00:00Z", amount: 1000, approved: true},   // next Monday
			{at: "2026-03-16T00:00:00Z", amount: 1, approved: false},
		}},
		{"perWeek across a year end", model.Limits{PerWeek: i64(1000)}, []step{
			{at: "2026-12-29T10:00:00Z", amount: 700, approved: true},  // Tuesday
			{at: "2027-01-02T10:00:00Z", amount: 301, approved: false}, // same ISO week, new year
			{at: "2027-01-04T00:00:00Z", amount: 1000, approved: true}, // Monday
		}},
		{"perYear resets at 1 January UTC", model.Limits{PerYear: i64(5000)}, []step{
			{at: "2026-01-01T00:00:00Z", amount: 3000, approved: true},
			{at: "2026-07-01T00:00:00Z", amount: 2000, approved: true},
			{at: "2026-12-31T23:59:59.999Z", amount: 1, approved: false},
			{at: "2027-01-01T00:00:00Z", amount: 5000, approved: true},
			{at: "2027-06-01T00:00:00Z", amount: 1, approved: false},
		}},
		{"allTime never resets", model.Limits{AllTime: i64(2000)}, []step{
			{at: "2026-01-01T00:00:00Z", amount: 1500, approved: true},
			{at: "2027-01-01T00:00:00Z", amount: 501, approved: false},
			{at: "2028-06-01T00:00:00Z", amount: 500, approved: true},
			{at: "2028-06-01T00:00:01Z", amount: 1, approved: false},
		}},
		{"a reversal in the same week frees the week", model.Limits{PerWeek: i64(1000)}, []step{
			{at: "2026-03-10T00:00:00Z", amount: 1000, approved: true},
			{at: "2026-03-11T00:00:00Z", amount: 1, approved: false},
			{at: "2026-03-10T00:00:00Z", amount: 400, release: true},
			{at: "2026-03-11T00:00:00Z", amount: 400, approved: true},
		}},
		{"a reversal from last week frees nothing of this one", model.Limits{PerWeek: i64(1000)}, []step{
			{at: "2026-03-13T00:00:00Z", amount: 600, approved: true},  // Friday
			{at: "2026-03-16T00:00:00Z", amount: 1000, approved: true}, // Monday
			{at: "2026-03-13T00:00:00Z", amount: 600, release: true},
			{at: "2026-03-17T00:00:00Z", amount: 1, approved: false},
		}},
		{"the tightest limit decides", model.Limits{PerDay: i64(900), PerWeek: i64(1500), PerYear: i64(1800)}, []step{
			{at: "2026-03-09T12:00:00Z", amount: 900, approved: true},
			{at: "2026-03-09T13:00:00Z", amount: 1, approved: false},   // day
			{at: "2026-03-10T12:00:00Z", amount: 601, approved: false}, // week
			{at: "2026-03-10T12:00:00Z", amount: 600, approved: true},
			{at: "2026-03-16T12:00:00Z", amount: 301, approved: false}, // year
			{at: "2026-03-16T12:00:00Z", amount: 300, approved: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, c, a, u := baseInput()
			c.Limits = tt.limits
			c.CreatedAt = time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
			u.SettledCents = 1 << 40
			for i, s := range tt.steps {
				at, err := time.Parse(time.RFC3339Nano, s.at)
				require.NoError(t, err)
				if s.release {
					AdjustCardSpend(c, at, -s.amount)
					continue
				}
				r.AmountCents = s.amount
				d := Decide(&Input{Req: r, Card: c, Agent: a, User: u, Now: at})
				if !s.approved {
					require.Equal(t, CodeAmountLimit, d.Code, "step %d at %s", i, s.at)
					require.Equal(t, ReasonSpendingLimit, d.Reason, "step %d", i)
					// A partial approval takes no more than the limits leave.
					require.LessOrEqual(t, Headroom(&Input{Req: r, Card: c, Agent: a, User: u, Now: at}), s.amount-1, "step %d", i)
					continue
				}
				require.Equal(t, CodeApproved, d.Code, "step %d at %s: %s", i, s.at, d.Reason)
				AddCardSpend(c, at, s.amount)
			}
		})
	}
}
