package client_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/client"
)

// TestPolicies creates, reads, lists and changes a policy, applies it to
// an agent's cards, and reads the card's and the agent's policy state.
func TestPolicies(t *testing.T) {
	ls := newServer(t)
	c, ctx := ls.Client, context.Background()
	cooldown := int64(10)
	p, err := c.CreatePolicy(ctx, client.PolicyFields{Name: "No gambling", Controls: client.Controls{BlockedMCCs: []string{"7995"}, CooldownMinutes: &cooldown}})
	require.NoError(t, err)
	require.Equal(t, []string{"7995"}, p.MerchantRestrictions.BlockedMCCs)
	_, err = c.CreatePolicy(ctx, client.PolicyFields{Name: "no gambling"})
	require.True(t, client.HasCode(err, "policy_name_taken"), "%v", err)

	got, err := c.GetPolicy(ctx, p.ID)
	require.NoError(t, err)
	require.Equal(t, p.Name, got.Name)
	page, err := c.ListPolicies(ctx, client.ListParams{Limit: 1})
	require.NoError(t, err)
	require.Len(t, page.Data, 1)
	n := 0
	for range c.Policies(ctx, client.ListParams{}) {
		n++
	}
	require.Equal(t, 1, n)
	up, err := c.UpdatePolicy(ctx, p.ID, client.UpdatePolicyParams{Set: client.PolicyFields{Description: "casinos"}, Clear: []string{"cooldownMinutes"}})
	require.NoError(t, err)
	require.Nil(t, up.SpendingRestrictions.CooldownMinutes)
	require.Equal(t, "casinos", *up.Description)

	f := ls.FundedAgent("pol@example.com", 100_00)
	_, err = c.UpdateAgent(ctx, f.AgentID, client.UpdateAgentParams{DefaultPolicyID: &p.ID})
	require.NoError(t, err)
	card, err := f.Agent.CreateCard(ctx, f.AgentID, client.CreateCardParams{Purpose: "games", Type: client.CardMulti})
	require.NoError(t, err)
	dec, err := c.SimulateAuthorization(ctx, client.SimulateAuthorizationParams{CardID: card.ID, Amount: 5_00, MerchantName: "CASINO", MerchantCategory: "7995"})
	require.NoError(t, err)
	require.Equal(t, "blocked_mcc", *dec.DeclinedReason)

	st, err := f.Agent.GetCardPolicy(ctx, card.ID)
	require.NoError(t, err)
	require.Equal(t, p.ID, *st.PolicyID)
	require.Equal(t, []string{"7995"}, st.MerchantCategories.BlockedMCCs)
	ap, err := f.Agent.GetAgentPolicy(ctx, f.AgentID)
	require.NoError(t, err)
	require.Equal(t, p.ID, *ap.DefaultPolicyID)

	// The card's own list overrides the policy's.
	own, err := c.UpdateCard(ctx, card.ID, client.UpdateCardParams{Controls: &client.Controls{BlockedMCCs: []string{"5812"}}})
	require.NoError(t, err)
	require.Equal(t, []string{"5812"}, own.BlockedMCCs)
	dec, err = c.SimulateAuthorization(ctx, client.SimulateAuthorizationParams{CardID: card.ID, Amount: 5_00, MerchantName: "CASINO", MerchantCategory: "7995"})
	require.NoError(t, err)
	require.True(t, dec.Approved, "%+v", dec)
}

// TestRiskSettings applies a preset, overrides a rule for one agent, and
// sees the rule freeze a card.
func TestRiskSettings(t *testing.T) {
	ls := newServer(t)
	c, ctx := ls.Client, context.Background()
	def, err := c.GetRiskSettings(ctx, client.RiskScope{})
	require.NoError(t, err)
	require.False(t, def.VelocityLimit.Enabled)
	cfg, err := c.ApplyRiskPreset(ctx, client.PresetPermissive, nil)
	require.NoError(t, err)
	require.Equal(t, client.RiskAlert, cfg.DuplicateDetection.Action)
	f := ls.FundedAgent("risk@example.com", 100_00)
	ag, err := c.UpdateRiskSettings(ctx, client.RiskScope{AgentID: f.AgentID}, map[string]any{"duplicateDetection": map[string]any{"action": client.RiskFreezeCard}})
	require.NoError(t, err)
	require.Equal(t, "agent", ag.Scope)
	require.Equal(t, client.RiskFreezeCard, ag.DuplicateDetection.Action)
	card, err := f.Agent.CreateCard(ctx, f.AgentID, client.CreateCardParams{Purpose: "p", Type: client.CardMulti})
	require.NoError(t, err)
	for range 2 {
		_, err := c.SimulateAuthorization(ctx, client.SimulateAuthorizationParams{CardID: card.ID, Amount: 3_00, MerchantName: "SHOP"})
		require.NoError(t, err)
	}
	got, err := c.GetCard(ctx, card.ID)
	require.NoError(t, err)
	require.Equal(t, "frozen", got.Status)
}
