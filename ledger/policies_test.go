package ledger_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/model"
	"github.com/ledgersim/ledgersim/risk"
)

// TestPolicyOverISOAndRestart: a policy applied through the agent's
// defaultPolicyId declines an ISO purchase at a blocked MCC with 57; after
// a restart the policy, the card's reference to it and the card's
// lifetime spend and last purchase are all back, and still enforced.
func TestPolicyOverISOAndRestart(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1)
	p := model.Policy{Name: "No gambling"}
	p.BlockedMCCs, p.CumulativeMax = []string{"7995"}, ptr64(1000)
	pol, err := f.l.CreatePolicy(ctx, p)
	require.NoError(t, err)
	_, err = f.l.CreatePolicy(ctx, model.Policy{Name: " no GAMBLING"})
	require.Error(t, err, "names are unique without case")
	card, err := f.l.GetCard(f.cards[0])
	require.NoError(t, err)
	_, err = f.l.UpdateAgent(ctx, card.AgentID, ledger.AgentPatch{DefaultPolicyID: &pol.ID})
	require.NoError(t, err)

	auth := func(l *ledger.Ledger, mcc, stan string, amount int64) ledger.Outcome {
		t.Helper()
		out, err := l.Authorize(ctx, &ledger.AuthRequest{Source: "iso", MTI: "0100", Class: ledger.ClassAuth, PAN: f.pans[0],
			Kind: authz.Purchase, AmountCents: amount, Currency: "840", MerchantID: "M1", Merchant: "SHOP", MCC: mcc,
			STAN: stan, RRN: "0000000" + stan[1:], TxnTime: "1206101500"})
		require.NoError(t, err)
		return out
	}
	out := auth(f.l, "7995", "000001", 100)
	require.Equal(t, authz.CodeNotPermitted, out.Code)
	require.Equal(t, authz.ReasonBlockedMCC, out.Reason)
	out = auth(f.l, "5812", "000002", 600)
	require.Equal(t, authz.CodeApproved, out.Code)
	before, err := f.l.GetCard(f.cards[0])
	require.NoError(t, err)
	require.EqualValues(t, 600, before.Usage.TotalCents)
	require.NotZero(t, before.Usage.LastAuthAt)

	l := reopen(t, f)
	got, err := l.GetPolicy(pol.ID)
	require.NoError(t, err)
	require.Equal(t, pol, got)
	after, err := l.GetCard(f.cards[0])
	require.NoError(t, err)
	require.Equal(t, before.Usage.TotalCents, after.Usage.TotalCents)
	require.Equal(t, before.Usage.LastAuthAt, after.Usage.LastAuthAt)
	out = auth(l, "5812", "000003", 500)
	require.Equal(t, authz.ReasonCumulativeLimit, out.Reason, "600 + 500 is past the cumulative 1000")
	out = auth(l, "7995", "000004", 100)
	require.Equal(t, authz.ReasonBlockedMCC, out.Reason)
	_, err = l.CreatePolicy(ctx, model.Policy{Name: "no gambling"})
	require.Error(t, err, "the names are back too")
}

func ptr64(v int64) *int64 { return &v }

// TestRiskSettingsSurviveRestart: the organization's settings and an
// agent's own rules are back after a restart.
func TestRiskSettingsSurviveRestart(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1)
	card, err := f.l.GetCard(f.cards[0])
	require.NoError(t, err)
	_, err = f.l.UpdateRisk(ctx, ledger.RiskScope{}, func(cur *risk.Settings, _ *risk.Overlay) error {
		*cur = risk.MustPreset(risk.PresetStrict)
		return nil
	})
	require.NoError(t, err)
	agentScope := ledger.RiskScope{AgentID: card.AgentID}
	want, err := f.l.UpdateRisk(ctx, agentScope, func(cur *risk.Settings, o *risk.Overlay) error {
		cur.VelocityLimit.MaxPerHour = 3
		o.VelocityLimit = &cur.VelocityLimit
		return nil
	})
	require.NoError(t, err)
	require.EqualValues(t, 3, want.VelocityLimit.MaxPerHour)
	l := reopen(t, f)
	got, err := l.RiskSettings(agentScope)
	require.NoError(t, err)
	require.Equal(t, want, got)
	org, err := l.RiskSettings(ledger.RiskScope{})
	require.NoError(t, err)
	require.Equal(t, risk.MustPreset(risk.PresetStrict), org)
}
