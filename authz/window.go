package authz

import (
	"time"

	"github.com/ledgersim/ledgersim/model"
)

// DayStart is the start of now's UTC calendar day, in epoch ms.
func DayStart(now time.Time) int64 {
	y, m, d := now.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).UnixMilli()
}

// MonthStart is the start of now's UTC calendar month, in epoch ms.
func MonthStart(now time.Time) int64 {
	y, m, _ := now.UTC().Date()
	return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
}

// WeekStart is the start of now's ISO week (Monday 00:00 UTC), in epoch ms.
func WeekStart(now time.Time) int64 {
	t := now.UTC()
	wd := (int(t.Weekday()) + 6) % 7 // Monday = 0
	y, m, d := t.AddDate(0, 0, -wd).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).UnixMilli()
}

// YearStart is the start of now's UTC calendar year, in epoch ms.
func YearStart(now time.Time) int64 {
	return time.Date(now.UTC().Year(), 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
}

// windowStart is the start of the agent's current limit period. The rolling
// 24-hour period is kept in hourly buckets instead (see AgentSpend).
func windowStart(freq string, now time.Time) int64 {
	switch freq {
	case model.FreqPerWeek:
		return WeekStart(now)
	case model.FreqPerMonth:
		return MonthStart(now)
	case model.FreqPerYear:
		return YearStart(now)
	default: // allTime, perTransaction
		return 0
	}
}

func hourIndex(now time.Time) int64 { return now.UnixMilli() / int64(time.Hour/time.Millisecond) }

// AgentSpend is what the agent has spent in its current period at now.
func AgentSpend(a *model.Agent, now time.Time) int64 {
	switch a.SpendingLimitFrequency {
	case model.FreqPerTransaction:
		return 0
	case model.FreqPer24Hours:
		h := hourIndex(now)
		var sum int64
		for i := range a.Spend.Hours {
			if idx := a.Spend.HourIndex[i]; idx > h-24 && idx <= h {
				sum += a.Spend.Hours[i]
			}
		}
		return sum
	default:
		if a.Spend.WindowStart != windowStart(a.SpendingLimitFrequency, now) {
			return 0
		}
		return a.Spend.Cents
	}
}

// AddAgentSpend counts new spend against the agent's period at now.
func AddAgentSpend(a *model.Agent, now time.Time, amount int64) {
	switch a.SpendingLimitFrequency {
	case model.FreqPerTransaction:
	case model.FreqPer24Hours:
		h := hourIndex(now)
		slot := h % 24
		if a.Spend.HourIndex[slot] != h {
			a.Spend.HourIndex[slot], a.Spend.Hours[slot] = h, 0
		}
		a.Spend.Hours[slot] += amount
	default:
		ws := windowStart(a.SpendingLimitFrequency, now)
		if a.Spend.WindowStart != ws {
			a.Spend.WindowStart, a.Spend.Cents = ws, 0
		}
		a.Spend.Cents += amount
	}
}

// AdjustAgentSpend changes the spend counted in the agent's period for an
// amount first counted at when, if that period is still current.
func AdjustAgentSpend(a *model.Agent, when time.Time, delta int64) {
	switch a.SpendingLimitFrequency {
	case model.FreqPerTransaction:
	case model.FreqPer24Hours:
		h := hourIndex(when)
		if slot := h % 24; a.Spend.HourIndex[slot] == h {
			a.Spend.Hours[slot] = max(0, a.Spend.Hours[slot]+delta)
		}
	default:
		if a.Spend.WindowStart == windowStart(a.SpendingLimitFrequency, when) {
			a.Spend.Cents = max(0, a.Spend.Cents+delta)
		}
	}
}
