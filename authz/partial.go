package authz

import "github.com/ledgersim/ledgersim/model"

// CodePartialApproval is DE 39 of an approval for less than was asked.
const CodePartialApproval = "10"

// DecidePartial decides a purchase whose terminal takes a partial
// approval. When Decide declines it only because the amount is above what
// is left (the user's available balance, 51, or a card or agent amount
// limit, 61), it is decided again for what is left, and approved for that
// if every rule then passes. It returns the decision and the amount it is
// for: the request's, or less (never 0).
func DecidePartial(in *Input) (Decision, int64) {
	d := Decide(in)
	asked := in.Req.AmountCents
	if d.Code != CodeInsufficientFunds && d.Code != CodeAmountLimit {
		return d, asked
	}
	left := Headroom(in)
	if left <= 0 || left >= asked {
		return d, asked
	}
	req := *in.Req
	req.AmountCents = left
	again := *in
	again.Req = &req
	if d2 := Decide(&again); d2.Approved() {
		return d2, left
	}
	return d, asked
}

// Headroom is the most a purchase could be for under the amount rules at
// in.Now: the request's amount, capped by the user's available balance,
// the card's per-authorization, daily and monthly limits, maximum amount
// and lifetime cap (cumulativeMax), and the agent's spending limit when
// exceeding it declines. It may
// be 0 or less when nothing is left.
func Headroom(in *Input) int64 {
	c, a, u := in.Card, in.Agent, in.User
	left := min(in.Req.AmountCents, u.AvailableCents())
	if c.MaxAmount != nil {
		left = min(left, *c.MaxAmount)
	}
	if l := c.Limits.PerAuth; l != nil {
		left = min(left, *l)
	}
	if l := c.Limits.PerDay; l != nil {
		left = min(left, *l-DaySpend(c, in.Now))
	}
	if l := c.Limits.PerMonth; l != nil {
		left = min(left, *l-MonthSpend(c, in.Now))
	}
	left = min(left, longLimitsLeft(c, in.Now))
	if m := c.CumulativeMax; m != nil {
		left = min(left, *m-c.Usage.TotalCents)
	}
	if a.SpendingLimit != nil && a.OnLimitExceeded != model.OnLimitNotify {
		spent := AgentSpend(a, in.Now)
		if a.SpendingLimitFrequency == model.FreqPerTransaction {
			spent = 0
		}
		left = min(left, *a.SpendingLimit-spent)
	}
	return left
}
