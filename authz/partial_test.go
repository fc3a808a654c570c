package authz

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ledgersim/ledgersim/model"
)

func TestDecidePartial(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(r *Request, c *model.Card, a *model.Agent, u *model.User)
		code   string
		amount int64
	}{
		{"fits: approved in full", nil, CodeApproved, 1000},
		{"available balance", func(r *Request, c *model.Card, a *model.Agent, u *model.User) {
			u.SettledCents, u.PendingCents = 900, 300
		}, CodeApproved, 600},
		{"nothing available", func(r *Request, c *model.Card, a *model.Agent, u *model.User) { u.SettledCents = 0 }, CodeInsufficientFunds, 1000},
		{"card per-auth limit", func(r *Request, c *model.Card, a *model.Agent, u *model.User) { c.Limits.PerAuth = i64(250) }, CodeApproved, 250},
		{"card max amount", func(r *Request, c *model.Card, a *model.Agent, u *model.User) { c.MaxAmount = i64(700) }, CodeApproved, 700},
		{"card daily limit partly spent", func(r *Request, c *model.Card, a *model.Agent, u *model.User) {
			c.Limits.PerDay = i64(500)
			AddCardSpend(c, now, 200)
		}, CodeApproved, 300},
		{"agent limit, decline", func(r *Request, c *model.Card, a *model.Agent, u *model.User) {
			a.SpendingLimit, a.SpendingLimitFrequency = i64(400), model.FreqPerTransaction
		}, CodeApproved, 400},
		{"agent limit, suspend: approved for what is left, no suspension", func(r *Request, c *model.Card, a *model.Agent, u *model.User) {
			a.SpendingLimit, a.SpendingLimitFrequency, a.OnLimitExceeded = i64(400), model.FreqPerTransaction, model.OnLimitSuspend
		}, CodeApproved, 400},
		{"smallest of several", func(r *Request, c *model.Card, a *model.Agent, u *model.User) {
			c.Limits.PerAuth, u.SettledCents = i64(800), 350
		}, CodeApproved, 350},
		{"other decline stays", func(r *Request, c *model.Card, a *model.Agent, u *model.User) {
			c.Status, u.SettledCents = model.CardFrozen, 10
		}, CodeRestrictedCard, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, c, a, u := baseInput()
			if tt.mutate != nil {
				tt.mutate(r, c, a, u)
			}
			d, amount := DecidePartial(&Input{Req: r, Card: c, Agent: a, User: u, Now: now})
			assert.Equal(t, tt.code, d.Code)
			assert.Equal(t, tt.amount, amount)
			assert.False(t, d.SuspendAgent)
			assert.Equal(t, int64(1000), r.AmountCents, "the request is not changed")
		})
	}
}
