package verify

import (
	"fmt"
	"time"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/model"
)

const hourMs = int64(time.Hour / time.Millisecond)

// inWindow reports whether an amount first counted at atMs is in the
// agent's spend window that contains now, by the same periods authz uses:
// the 24 whole hours up to now's hour for per24HourPeriod, the UTC week,
// month or year otherwise, and everything for allTime (and for any
// frequency authz does not know, which it treats as one window).
func inWindow(freq string, now time.Time, atMs int64) bool {
	at := time.UnixMilli(atMs).UTC()
	switch freq {
	case model.FreqPerTransaction:
		return false
	case model.FreqPer24Hours:
		h, ah := now.UnixMilli()/hourMs, atMs/hourMs
		return ah > h-24 && ah <= h
	case model.FreqPerWeek:
		return authz.WeekStart(at) == authz.WeekStart(now)
	case model.FreqPerMonth:
		return authz.MonthStart(at) == authz.MonthStart(now)
	case model.FreqPerYear:
		return authz.YearStart(at) == authz.YearStart(now)
	}
	return true
}

// excuse is the spend in an agent's current window that no limit check
// stood in front of: captures above the authorized amount (tips, allowed
// up to the over-capture percentage) and stand-in advices, which the
// network approved before the issuer saw them.
type excuse struct{ tips, advices int64 }

// checkAgentSpend: for every agent with a spending limit whose
// onLimitExceeded is none or suspend (the ones authz declines at the
// limit),
//
//	authz.AgentSpend(agent, now) ≤ spendingLimit
//
// A window spend above the limit by no more than the window's tips and
// advices is reported in the notes, not as a breach. Agents with notify
// may exceed their limit by design; only their count is reported. A
// perTransaction limit has no window (AgentSpend is 0), so there is
// nothing to compare.
func (s *state) checkAgentSpend() {
	c := &s.agt
	c.Checked = len(s.agentIDs)
	ex := map[string]*excuse{}
	for _, id := range s.txnIDs {
		t := s.txns[id]
		a := s.agents[t.AgentID]
		if a == nil || a.SpendingLimit == nil || t.Kind != model.KindPurchase || t.Status == model.TxnDeclined ||
			t.ForcePost || t.AuthorizedAt == 0 || !inWindow(a.SpendingLimitFrequency, s.now, t.AuthorizedAt) {
			// Force posts never count against an agent's spend.
			continue
		}
		e := ex[a.ID]
		if e == nil {
			e = &excuse{}
			ex[a.ID] = e
		}
		if t.StandIn {
			e.advices += t.AuthorizedAmountCents
		}
		if t.Status == model.TxnCompleted && t.AmountCents > t.AuthorizedAmountCents {
			e.tips += t.AmountCents - t.AuthorizedAmountCents
		}
	}
	var notifyOver, perTxn int
	var explained []string
	for _, id := range s.agentIDs {
		a := s.agents[id]
		if a.SpendingLimit == nil {
			continue
		}
		if a.SpendingLimitFrequency == model.FreqPerTransaction {
			perTxn++
			continue
		}
		limit := *a.SpendingLimit
		spend := authz.AgentSpend(a, s.now)
		if spend <= limit {
			continue
		}
		if a.OnLimitExceeded == model.OnLimitNotify {
			notifyOver++
			continue
		}
		over := spend - limit
		e := ex[id]
		if e == nil {
			e = &excuse{}
		}
		if over <= e.tips+e.advices {
			explained = append(explained, describe("agent %s over its %s limit by %d cents, within its window's tips and advices (%d)",
				id, a.SpendingLimitFrequency, over, e.tips+e.advices))
			continue
		}
		format := "agent %s (onLimitExceeded %s): spend %d cents in its %s window exceeds its limit %d by %d, tips and advices explain %d"
		if a.UpdatedAt >= windowStartMs(a.SpendingLimitFrequency, s.now) {
			// The store keeps no history of an agent's limit: a limit
			// lowered after the spend looks the same as spend past it, so
			// the example says the agent changed within the window.
			format += "; the agent was updated in this window"
		}
		c.breach(format, id, a.OnLimitExceeded, spend, a.SpendingLimitFrequency, limit, over, e.tips+e.advices)
	}
	if len(explained) > 0 {
		c.Notes = append(c.Notes, fmt.Sprintf("%d agents over their limit by tips or advices (allowed)", len(explained)))
		c.Notes = append(c.Notes, explained[:min(len(explained), MaxExamples)]...)
	}
	if notifyOver > 0 {
		c.Notes = append(c.Notes, fmt.Sprintf("%d agents with onLimitExceeded notify over their limit (allowed)", notifyOver))
	}
	if perTxn > 0 {
		c.Notes = append(c.Notes, fmt.Sprintf("%d agents with a perTransaction limit (no window to check)", perTxn))
	}
}

// windowStartMs is the first instant of the agent's window containing now.
func windowStartMs(freq string, now time.Time) int64 {
	switch freq {
	case model.FreqPer24Hours:
		return (now.UnixMilli()/hourMs - 23) * hourMs
	case model.FreqPerWeek:
		return authz.WeekStart(now)
	case model.FreqPerMonth:
		return authz.MonthStart(now)
	case model.FreqPerYear:
		return authz.YearStart(now)
	}
	return 0
}
