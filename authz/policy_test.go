package authz

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/model"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func tz(t *testing.T, name string) *time.Location {
	z, err := time.LoadLocation(name)
	require.NoError(t, err)
	return z
}

// TestActiveHours reads the window on the zone's wall clock: daylight
// saving moves it in UTC, days are the zone's days, and a window may span
// midnight.
func TestActiveHours(t *testing.T) {
	ny := tz(t, "America/New_York")
	tests := []struct {
		name       string
		start, end int64
		days       []int64
		zone       *time.Location
		at         string
		within     bool
	}{
		{"summer 09:30 EDT", 9, 17, nil, ny, "2026-07-15T13:30:00Z", true},
		{"winter 08:30 EST", 9, 17, nil, ny, "2026-01-15T13:30:00Z", false},
		{"winter 09:30 EST", 9, 17, nil, ny, "2026-01-15T14:30:00Z", true},
		{"summer 17:00 EDT is past the end", 9, 17, nil, ny, "2026-07-15T21:00:00Z", false},
		{"winter 16:59 EST", 9, 17, nil, ny, "2026-01-15T21:59:00Z", true},
		{"spring forward: 03:30 EDT", 3, 4, nil, ny, "2026-03-08T07:30:00Z", true},
		{"the day before: 02:30 EST", 3, 4, nil, ny, "2026-03-07T07:30:00Z", false},
		{"fall back: first 01:30 (EDT)", 1, 2, nil, ny, "2026-11-01T05:30:00Z", true},
		{"fall back: second 01:30 (EST)", 1, 2, nil, ny, "2026-11-01T06:30:00Z", true},
		{"fall back: 02:30 EST", 1, 2, nil, ny, "2026-11-01T07:30:00Z", false},
		{"across midnight, late", 22, 6, nil, ny, "2026-07-16T03:00:00Z", true},
		{"across midnight, early", 22, 6, nil, ny, "2026-07-16T09:30:00Z", true},
		{"across midnight, midday", 22, 6, nil, ny, "2026-07-16T16:00:00Z", false},
		{"Saturday evening in New York, Sunday in UTC", 0, 0, []int64{6}, ny, "2026-07-19T02:00:00Z", true},
		{"not Sunday in New York yet", 0, 0, []int64{0}, ny, "2026-07-19T02:00:00Z", false},
		{"no zone is UTC", 9, 17, nil, nil, "2026-01-15T09:30:00Z", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &model.Card{}
			c.ActiveHoursStart, c.ActiveHoursEnd, c.ActiveDays = i64(tt.start), i64(tt.end), tt.days
			require.Equal(t, tt.within, WithinActiveHours(c, tt.zone, utc(tt.at)))

			r, card, a, u := baseInput()
			card.ExpYear, card.ExpMonth, r.Expiry = "2030", "01", "3001"
			card.Controls = c.Controls
			d := Decide(&Input{Req: r, Card: card, Agent: a, User: u, Now: utc(tt.at), Zone: tt.zone})
			if tt.within {
				require.Equal(t, CodeApproved, d.Code, d.Reason)
			} else {
				require.Equal(t, CodeNotPermitted, d.Code)
				require.Equal(t, ReasonOutsideActiveHours, d.Reason)
			}
		})
	}
}

func TestControls(t *testing.T) {
	yes := true
	tol := 0.1
	tests := []struct {
		name   string
		mutate func(r *Request, c *model.Card, in *Input)
		code   string
		reason string
		expire string
	}{
		{"blocked mcc", func(r *Request, c *model.Card, in *Input) { r.MCC, c.BlockedMCCs = "7995", []string{"7995"} }, CodeNotPermitted, ReasonBlockedMCC, ""},
		{"other mcc", func(r *Request, c *model.Card, in *Input) { r.MCC, c.BlockedMCCs = "5812", []string{"7995"} }, CodeApproved, "", ""},
		{"not allowed mcc", func(r *Request, c *model.Card, in *Input) { r.MCC, c.AllowedMCCs = "7995", []string{"5812"} }, CodeNotPermitted, ReasonBlockedMCC, ""},
		{"allowed mcc", func(r *Request, c *model.Card, in *Input) { r.MCC, c.AllowedMCCs = "5812", []string{"5812"} }, CodeApproved, "", ""},
		{"in cooldown", func(r *Request, c *model.Card, in *Input) {
			c.CooldownMinutes, c.Usage.LastAuthAt = i64(10), now.Add(-9*time.Minute).UnixMilli()
		}, CodeFrequencyLimit, ReasonCooldown, ""},
		{"cooldown over", func(r *Request, c *model.Card, in *Input) {
			c.CooldownMinutes, c.Usage.LastAuthAt = i64(10), now.Add(-10*time.Minute).UnixMilli()
		}, CodeApproved, "", ""},
		{"cumulative over", func(r *Request, c *model.Card, in *Input) { c.CumulativeMax, c.Usage.TotalCents = i64(5000), 4001 }, CodeAmountLimit, ReasonCumulativeLimit, ""},
		{"cumulative at the cap", func(r *Request, c *model.Card, in *Input) { c.CumulativeMax, c.Usage.TotalCents = i64(5000), 4000 }, CodeApproved, "", ""},
		{"ttl minutes over, freeze", func(r *Request, c *model.Card, in *Input) {
			c.TTLMinutes, c.CreatedAt = i64(30), now.Add(-30*time.Minute).UnixMilli()
		}, CodeExpiredCard, ReasonExpiredCard, model.ExpiryFreeze},
		{"ttl minutes over, close", func(r *Request, c *model.Card, in *Input) {
			c.TTLMinutes, c.OnExpiry, c.CreatedAt = i64(30), model.ExpiryClose, now.Add(-31*time.Minute).UnixMilli()
		}, CodeExpiredCard, ReasonExpiredCard, model.ExpiryClose},
		{"ttl minutes not over", func(r *Request, c *model.Card, in *Input) {
			c.TTLMinutes, c.CreatedAt = i64(30), now.Add(-29*time.Minute).UnixMilli()
		}, CodeApproved, "", ""},
		{"attestation required, none", func(r *Request, c *model.Card, in *Input) { c.RequireAttestation = &yes }, CodeNotPermitted, ReasonAttestationRequired, ""},
		{"attestation stale", func(r *Request, c *model.Card, in *Input) {
			c.RequireAttestation, c.AttestationWindowMinutes, c.Usage.LastAccessAt = &yes, 10, now.Add(-11*time.Minute).UnixMilli()
		}, CodeNotPermitted, ReasonAttestationRequired, ""},
		{"attested", func(r *Request, c *model.Card, in *Input) {
			c.RequireAttestation, c.AttestationWindowMinutes, c.Usage.LastAccessAt = &yes, 10, now.Add(-time.Minute).UnixMilli()
		}, CodeApproved, "", ""},
		{"attested, within tolerance", func(r *Request, c *model.Card, in *Input) {
			c.RequireAttestation, c.AttestationWindowMinutes, c.Usage.LastAccessAt, c.IntentTolerance = &yes, 10, now.UnixMilli(), &tol
			in.Declared, in.HasDeclared = 1100, true // 1000 is 9.1% under
		}, CodeApproved, "", ""},
		{"attested, at the tolerance", func(r *Request, c *model.Card, in *Input) {
			c.RequireAttestation, c.AttestationWindowMinutes, c.Usage.LastAccessAt, c.IntentTolerance = &yes, 10, now.UnixMilli(), &tol
			in.Declared, in.HasDeclared = 909, true // 1000 is 91 over; 10% of 909 is 90.9
		}, CodeNotPermitted, ReasonIntentTolerance, ""},
		{"attested, nothing declared", func(r *Request, c *model.Card, in *Input) {
			c.RequireAttestation, c.AttestationWindowMinutes, c.Usage.LastAccessAt, c.IntentTolerance = &yes, 10, now.UnixMilli(), &tol
		}, CodeApproved, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, c, a, u := baseInput()
			in := &Input{Req: r, Card: c, Agent: a, User: u, Now: now}
			tt.mutate(r, c, in)
			d := Decide(in)
			require.Equal(t, tt.code, d.Code, d.Reason)
			require.Equal(t, tt.reason, d.Reason)
			require.Equal(t, tt.expire, d.Expire)
		})
	}
}

// TestWithPolicy: a card's own value wins; what it leaves unset comes from
// its policy; the active window moves as one.
func TestWithPolicy(t *testing.T) {
	p := &model.Policy{LimitPerAuth: i64(100), MaxAmount: i64(500), MerchantHint: "ACME", OnDrift: model.DriftFreeze}
	p.BlockedMCCs, p.CooldownMinutes = []string{"7995"}, i64(5)
	p.ActiveHoursStart, p.ActiveHoursEnd, p.ActiveTimezone = i64(9), i64(17), "Europe/Paris"
	c := &model.Card{Limits: model.Limits{PerAuth: i64(50)}}
	c.BlockedMCCs = []string{}
	c.ActiveDays = []int64{1}
	e := WithPolicy(c, p)
	require.EqualValues(t, 50, *e.Limits.PerAuth)
	require.EqualValues(t, 500, *e.MaxAmount)
	require.Equal(t, "ACME", e.MerchantHint)
	require.Empty(t, e.BlockedMCCs, "an empty list on the card is the card's own")
	require.EqualValues(t, 5, *e.CooldownMinutes)
	require.Nil(t, e.ActiveHoursStart, "the card set its own window")
	require.Empty(t, e.ActiveTimezone)
	require.Nil(t, c.MaxAmount, "the card itself is unchanged")

	// A policy decides as the card's own controls would.
	r, card, a, u := baseInput()
	r.MCC = "7995"
	pol := &model.Policy{}
	pol.BlockedMCCs = []string{"7995"}
	eff := WithPolicy(card, pol)
	d := Decide(&Input{Req: r, Card: &eff, Agent: a, User: u, Now: now})
	require.Equal(t, ReasonBlockedMCC, d.Reason)
}

// TestCooldownAfterApproval is a sequence on the virtual clock: each
// approval starts the cooldown; the next purchase waits it out.
func TestCooldownAfterApproval(t *testing.T) {
	r, c, a, u := baseInput()
	c.CooldownMinutes, c.CumulativeMax = i64(15), i64(2500)
	at := now
	steps := []struct {
		after time.Duration
		code  string
	}{{0, CodeApproved}, {14 * time.Minute, CodeFrequencyLimit}, {time.Minute, CodeApproved}, {15 * time.Minute, CodeAmountLimit}}
	for i, s := range steps {
		at = at.Add(s.after)
		d := Decide(&Input{Req: r, Card: c, Agent: a, User: u, Now: at})
		require.Equal(t, s.code, d.Code, "step %d: %s", i, d.Reason)
		if d.Approved() {
			AddCardSpend(c, at, r.AmountCents)
		}
	}
	// A reversal gives the cumulative cap back.
	AdjustCardSpend(c, at, -r.AmountCents)
	require.Equal(t, CodeApproved, Decide(&Input{Req: r, Card: c, Agent: a, User: u, Now: at}).Code)
}
