package authz

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/model"
)

func i64(v int64) *int64 { return &v }

var now = time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)

func baseInput() (*Request, *model.Card, *model.Agent, *model.User) {
	r := &Request{Kind: Purchase, AmountCents: 1000, Currency: "840", Expiry: "2903", MerchantID: "M1", MerchantKey: "DOORDASH"}
	c := &model.Card{ID: "card_1", Type: model.CardMulti, Status: model.CardActive, ExpMonth: "03", ExpYear: "2029",
		CreatedAt: now.Add(-time.Hour).UnixMilli()}
	a := &model.Agent{ID: "agent_1", Status: model.AgentActive}
	u := &model.User{ID: "user_1", Status: model.UserApproved, SettledCents: 100000}
	return r, c, a, u
}

func TestDecide(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(r *Request, c *model.Card, a *model.Agent, u *model.User, hint *string)
		code   string
		reason string
		check  func(t *testing.T, d Decision)
	}{
		{"approve", nil, CodeApproved, "", nil},
		{"closed card", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) { c.Status = model.CardClosed }, CodeNotPermitted, ReasonCardClosed, nil},
		{"frozen card", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) { c.Status = model.CardFrozen }, CodeRestrictedCard, ReasonCardFrozen, nil},
		{"not activated", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) {
			c.Status = model.CardNotActivated
		}, CodeRestrictedCard, ReasonCardNotActivated, nil},
		{"user not approved", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) {
			u.Status = model.UserPending
		}, CodeRestrictedCard, ReasonUserNotVerified, nil},
		{"agent suspended", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) {
			a.Status = model.AgentSuspended
		}, CodeRestrictedCard, ReasonAgentSuspended, nil},
		{"wrong expiry", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) { r.Expiry = "2904" }, CodeExpiredCard, ReasonInvalidExpiry, nil},
		{"no expiry presented", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) { r.Expiry = "" }, CodeApproved, "", nil},
		{"ttl over", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) {
			c.TTLDays = i64(1)
			c.CreatedAt = now.Add(-25 * time.Hour).UnixMilli()
		}, CodeExpiredCard, ReasonExpiredCard, nil},
		{"ttl not over", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) { c.TTLDays = i64(2) }, CodeApproved, "", nil},
		{"past expiry month", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) {
			c.ExpYear, c.ExpMonth, r.Expiry = "2026", "02", "2602"
		}, CodeExpiredCard, ReasonExpiredCard, nil},
		{"cvv mismatch", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) { r.CVVPresent = true }, CodeCVVMismatch, ReasonCVVMismatch, nil},
		{"cvv match", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) {
			r.CVVPresent, r.CVVMatch = true, true
		}, CodeApproved, "", nil},
		{"currency", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) { r.Currency = "978" }, CodeNotPermitted, ReasonCurrency, nil},
		{"zero purchase amount", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) { r.AmountCents = 0 }, CodeInvalidAmount, ReasonInvalidAmount, nil},
		{"single used", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) {
			c.Type, c.Usage.Used = model.CardSingle, true
		}, CodeFrequencyLimit, ReasonCardUsed, nil},
		{"auth count", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) {
			c.MaxAuthCount, c.Usage.AuthCount = i64(3), 3
		}, CodeFrequencyLimit, ReasonAuthCount, nil},
		{"maxAmount", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) { c.MaxAmount = i64(999) }, CodeAmountLimit, ReasonSpendingLimit, nil},
		{"maxAmount equal", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) { c.MaxAmount = i64(1000) }, CodeApproved, "", nil},
		{"perAuth", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) { c.Limits.PerAuth = i64(500) }, CodeAmountLimit, ReasonSpendingLimit, nil},
		{"perDay used today", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) {
			c.Limits.PerDay = i64(1500)
			c.Usage.DayStart, c.Usage.DayCents = DayStart(now), 600
		}, CodeAmountLimit, ReasonSpendingLimit, nil},
		{"perDay used yesterday", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) {
			c.Limits.PerDay = i64(1500)
			c.Usage.DayStart, c.Usage.DayCents = DayStart(now.Add(-24*time.Hour)), 1400
		}, CodeApproved, "", nil},
		{"perMonth", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) {
			c.Limits.PerMonth = i64(5000)
			c.Usage.MonthStart, c.Usage.MonthCents = MonthStart(now), 4500
		}, CodeAmountLimit, ReasonSpendingLimit, nil},
		{"perMonth last month", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) {
			c.Limits.PerMonth = i64(5000)
			c.Usage.MonthStart, c.Usage.MonthCents = MonthStart(now.AddDate(0, -1, 0)), 4500
		}, CodeApproved, "", nil},
		{"locked merchant", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) {
			c.Usage.LockedMerchant = "M9|WALMART"
		}, CodeDoNotHonor, ReasonBlockedMerchant, nil},
		{"same locked merchant", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) {
			c.Usage.LockedMerchant = "M1|DOORDASH"
		}, CodeApproved, "", nil},
		{"drift freeze", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) {
			*h, c.OnDrift = "AMAZON", model.DriftFreeze
		}, CodeDoNotHonor, ReasonMerchantDrift, func(t *testing.T, d Decision) { require.True(t, d.FreezeCard) }},
		{"drift notify", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) {
			*h, c.OnDrift = "AMAZON", model.DriftNotify
		}, CodeApproved, "", func(t *testing.T, d Decision) { require.True(t, d.Drift) }},
		{"drift none", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) {
			*h, c.OnDrift = "AMAZON", model.DriftNone
		}, CodeApproved, "", func(t *testing.T, d Decision) { require.False(t, d.Drift) }},
		{"hint matches", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) {
			*h, c.OnDrift = "DOORDASH", model.DriftFreeze
		}, CodeApproved, "", nil},
		{"agent limit none", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) {
			a.SpendingLimit, a.SpendingLimitFrequency, a.OnLimitExceeded = i64(5000), model.FreqPerMonth, model.OnLimitNone
			a.Spend.WindowStart, a.Spend.Cents = MonthStart(now), 4500
		}, CodeAmountLimit, ReasonAgentLimit, nil},
		{"agent limit suspend", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) {
			a.SpendingLimit, a.SpendingLimitFrequency, a.OnLimitExceeded = i64(500), model.FreqPerTransaction, model.OnLimitSuspend
		}, CodeAmountLimit, ReasonAgentLimit, func(t *testing.T, d Decision) { require.True(t, d.SuspendAgent) }},
		{"agent limit notify", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) {
			a.SpendingLimit, a.SpendingLimitFrequency, a.OnLimitExceeded = i64(500), model.FreqAllTime, model.OnLimitNotify
		}, CodeApproved, "", func(t *testing.T, d Decision) { require.True(t, d.LimitExceeded) }},
		{"agent limit previous week", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) {
			a.SpendingLimit, a.SpendingLimitFrequency = i64(5000), model.FreqPerWeek
			a.Spend.WindowStart, a.Spend.Cents = WeekStart(now.AddDate(0, 0, -7)), 4500
		}, CodeApproved, "", nil},
		{"insufficient funds", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) { u.PendingCents = 99500 }, CodeInsufficientFunds, ReasonInsufficientFunds, nil},
		{"exactly available", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) { u.PendingCents = 99000 }, CodeApproved, "", nil},
		{"advice ignores policy", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) {
			r.Advice, c.Status, u.PendingCents = true, model.CardFrozen, 100000
		}, CodeApproved, "", nil},
		{"refund on closed card", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) {
			r.Kind, c.Status = Refund, model.CardClosed
		}, CodeApproved, "", nil},
		{"refund foreign currency", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) {
			r.Kind, r.Currency = Refund, "978"
		}, CodeNotPermitted, ReasonCurrency, nil},
		{"refund up to the balance cap", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) {
			r.Kind, u.SettledCents = Refund, MaxBalanceCents-r.AmountCents
		}, CodeApproved, "", nil},
		{"refund past the balance cap", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) {
			r.Kind, u.SettledCents = Refund, MaxBalanceCents-r.AmountCents+1
		}, CodeInvalidAmount, ReasonBalanceCap, nil},
		{"huge refund does not overflow", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) {
			r.Kind, r.AmountCents, u.SettledCents = Refund, 1<<62, 1<<62
		}, CodeInvalidAmount, ReasonBalanceCap, nil},
		{"verification skips amount rules", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) {
			r.Kind, r.AmountCents, u.SettledCents = Verification, 0, 0
		}, CodeApproved, "", nil},
		{"balance inquiry checks the card", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) {
			r.Kind, c.Status = BalanceInquiry, model.CardFrozen
		}, CodeRestrictedCard, ReasonCardFrozen, nil},
		{"order: frozen before funds", func(r *Request, c *model.Card, a *model.Agent, u *model.User, h *string) {
			c.Status, u.SettledCents = model.CardFrozen, 0
		}, CodeRestrictedCard, ReasonCardFrozen, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, c, a, u := baseInput()
			hint := ""
			if tc.mutate != nil {
				tc.mutate(r, c, a, u, &hint)
			}
			d := Decide(&Input{Req: r, Card: c, Agent: a, User: u, HintKey: hint, Now: now})
			require.Equal(t, tc.code, d.Code)
			require.Equal(t, tc.reason, d.Reason)
			if tc.check != nil {
				tc.check(t, d)
			}
		})
	}
}

func TestWindows(t *testing.T) {
	c := &model.Card{}
	day1 := time.Date(2026, 1, 31, 23, 0, 0, 0, time.UTC)
	AddCardSpend(c, day1, 700)
	require.EqualValues(t, 700, DaySpend(c, day1))
	require.EqualValues(t, 700, MonthSpend(c, day1))
	next := day1.Add(2 * time.Hour) // Feb 1st: new day and new month
	require.EqualValues(t, 0, DaySpend(c, next))
	require.EqualValues(t, 0, MonthSpend(c, next))
	AddCardSpend(c, next, 100)
	AdjustCardSpend(c, day1, -700) // a reversal of yesterday's spend frees nothing today
	require.EqualValues(t, 100, DaySpend(c, next))
	AdjustCardSpend(c, next, -150)
	require.EqualValues(t, 0, DaySpend(c, next), "never below zero")

	a := &model.Agent{SpendingLimitFrequency: model.FreqPer24Hours}
	t0 := time.Date(2026, 5, 1, 10, 30, 0, 0, time.UTC)
	AddAgentSpend(a, t0, 100)
	AddAgentSpend(a, t0.Add(5*time.Hour), 200)
	require.EqualValues(t, 300, AgentSpend(a, t0.Add(6*time.Hour)))
	require.EqualValues(t, 200, AgentSpend(a, t0.Add(24*time.Hour)), "the first hour rolled out")
	require.EqualValues(t, 0, AgentSpend(a, t0.Add(30*time.Hour)))
	AdjustAgentSpend(a, t0.Add(5*time.Hour), -50)
	require.EqualValues(t, 250, AgentSpend(a, t0.Add(6*time.Hour)))

	w := &model.Agent{SpendingLimitFrequency: model.FreqPerWeek}
	sun := time.Date(2026, 5, 3, 23, 0, 0, 0, time.UTC) // a Sunday
	AddAgentSpend(w, sun, 100)
	require.EqualValues(t, 100, AgentSpend(w, sun))
	require.EqualValues(t, 0, AgentSpend(w, sun.Add(2*time.Hour)), "weeks start on Monday")
	y := &model.Agent{SpendingLimitFrequency: model.FreqPerYear}
	AddAgentSpend(y, sun, 100)
	require.EqualValues(t, 100, AgentSpend(y, sun.AddDate(0, 6, 0)))
	require.EqualValues(t, 0, AgentSpend(y, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)))
}

// BenchmarkDecide measures one full authorization decision with every limit
// configured, the path the ISO listener and the simulate endpoints share.
func BenchmarkDecide(b *testing.B) {
	r, c, a, u := baseInput()
	c.MaxAmount, c.Limits = i64(50000), model.Limits{PerAuth: i64(50000), PerDay: i64(500000), PerMonth: i64(5000000)}
	c.MaxAuthCount = i64(1 << 40)
	c.Usage.LockedMerchant = "M1|DOORDASH"
	c.Usage.DayStart, c.Usage.MonthStart = DayStart(now), MonthStart(now)
	a.SpendingLimit, a.SpendingLimitFrequency, a.OnLimitExceeded = i64(1<<40), model.FreqPer24Hours, model.OnLimitSuspend
	in := &Input{Req: r, Card: c, Agent: a, User: u, Now: now}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if d := Decide(in); d.Code != CodeApproved {
			b.Fatal(d.Code)
		}
	}
}

func TestDecideAllocatesNothing(t *testing.T) {
	r, c, a, u := baseInput()
	c.Limits = model.Limits{PerDay: i64(500000), PerMonth: i64(5000000)}
	a.SpendingLimit, a.SpendingLimitFrequency = i64(1<<40), model.FreqPerMonth
	in := &Input{Req: r, Card: c, Agent: a, User: u, Now: now}
	require.Zero(t, testing.AllocsPerRun(100, func() { Decide(in) }))
}
