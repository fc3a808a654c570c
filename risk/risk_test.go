package risk

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEvaluate(t *testing.T) {
	const now = int64(100 * dayMs)
	hist := func(n int, every int64, amount int64, merchant string) []Purchase {
		var out []Purchase
		for i := 1; i <= n; i++ {
			out = append(out, Purchase{AtMs: now - int64(i)*every, AmountCents: amount, MerchantKey: merchant})
		}
		return out
	}
	tests := []struct {
		name string
		in   Input
		want []string // rules that fire
	}{
		{"clean", Input{Approved: true, AmountCents: 500, MerchantKey: "A"}, nil},
		{"duplicate within the window", Input{Approved: true, AmountCents: 500, MerchantKey: "A", History: hist(1, 4*minuteMs, 500, "A")}, []string{RuleDuplicate}},
		{"duplicate after the window", Input{Approved: true, AmountCents: 500, MerchantKey: "A", History: hist(1, 6*minuteMs, 500, "A")}, nil},
		{"another amount", Input{Approved: true, AmountCents: 501, MerchantKey: "A", History: hist(1, minuteMs, 500, "A")}, nil},
		{"velocity per hour", Input{Approved: true, AmountCents: 1, MerchantKey: "B", History: hist(20, 2*minuteMs, 2, "C")}, []string{RuleVelocity}},
		{"velocity at the limit", Input{Approved: true, AmountCents: 1, MerchantKey: "B", History: hist(19, 2*minuteMs, 2, "C")}, nil},
		{"velocity per day (and a spike over a quiet baseline)", Input{Approved: true, AmountCents: 1, MerchantKey: "B", History: hist(100, 14*minuteMs, 2, "C")}, []string{RuleVelocity, RuleSpendSpike}},
		// Baseline: 7 days of 100 cents every 2 hours = 84 windows' worth, 50 per 60-minute window on average.
		{"spike", Input{Approved: true, AmountCents: 151, MerchantKey: "B", History: hist(84, 2*hourMs, 100, "C")}, []string{RuleSpendSpike}},
		{"no spike", Input{Approved: true, AmountCents: 150, MerchantKey: "B", History: hist(84, 2*hourMs, 100, "C")}, nil},
		{"no baseline, no spike", Input{Approved: true, AmountCents: 1_000_000, MerchantKey: "B"}, nil},
		{"unattested", Input{Approved: true, AmountCents: 5, Unattested: true}, []string{RuleUnattested}},
		{"intent mismatch and drift", Input{Approved: true, AmountCents: 5, IntentMismatched: true, Drift: true}, []string{RuleIntent, RuleDrift}},
		{"cooldown attempt, declined", Input{CooldownDeclined: true, AmountCents: 5, Unattested: true}, []string{RuleCooldown}},
	}
	s := MustPreset(PresetModerate)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.NowMs = now
			var got []string
			for _, f := range Evaluate(&s, &tt.in) {
				got = append(got, f.Rule)
			}
			require.Equal(t, tt.want, got)
		})
	}
	off := Off()
	require.False(t, off.Any())
	require.Empty(t, Evaluate(&off, &Input{NowMs: now, Approved: true, Unattested: true, Drift: true}))
}

func TestPresetsAndInheritance(t *testing.T) {
	for _, p := range Presets {
		s := MustPreset(p)
		require.True(t, s.Any(), p)
	}
	require.Equal(t, ActionAlert, MustPreset(PresetPermissive).DuplicateDetection.Action)
	require.Equal(t, ActionFreezeCard, MustPreset(PresetStrict).VelocityLimit.Action)
	require.Equal(t, ActionSuspendAgent, MustPreset(PresetParanoid).UnattestedSpend.Action)
	_, ok := Preset(PresetCustom)
	require.False(t, ok)

	org := MustPreset(PresetPermissive)
	yes := true
	agent := &Overlay{VelocityLimit: &VelocityRule{Enabled: true, MaxPerHour: 1, MaxPerDay: 2, Action: ActionSuspendAgent}}
	card := &Overlay{DryRun: &yes, VelocityLimit: &VelocityRule{}}
	s := Resolve(org, agent, nil)
	require.Equal(t, PresetCustom, s.Preset)
	require.Equal(t, ActionSuspendAgent, s.VelocityLimit.Action)
	require.Equal(t, org.DuplicateDetection, s.DuplicateDetection)
	s = Resolve(org, agent, card)
	require.False(t, s.VelocityLimit.Enabled, "the card's rule replaces its agent's")
	require.True(t, s.DryRun)
	require.Equal(t, PresetPermissive, Resolve(org, nil, &Overlay{}).Preset)
	require.Equal(t, ActionSuspendAgent, Strongest([]Finding{{Action: ActionAlert}, {Action: ActionSuspendAgent}, {Action: ActionFreezeCard}}))
}
