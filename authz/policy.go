package authz

import (
	"math"
	"slices"
	"time"

	"github.com/ledgersim/ledgersim/model"
)

// Decline reasons of a card's policy controls. blocked_mcc is the
// platform's; the others say which control declined.
const (
	ReasonBlockedMCC          = "blocked_mcc"
	ReasonOutsideActiveHours  = "outside_active_hours"
	ReasonCooldown            = "cooldown_active"
	ReasonCumulativeLimit     = "cumulative_limit_exceeded"
	ReasonAttestationRequired = "attestation_required"
	ReasonIntentTolerance     = "intent_tolerance_exceeded"
)

const minuteMs = int64(time.Minute / time.Millisecond)

// WithPolicy returns the card as its decisions see it: every control the
// card leaves unset taken from its policy (nil: none). The card's own
// values always win. Slices are shared with c and p, never modified.
func WithPolicy(c *model.Card, p *model.Policy) model.Card {
	e := *c
	if p == nil {
		return e
	}
	e.Limits.PerAuth = orInt(e.Limits.PerAuth, p.LimitPerAuth)
	e.Limits.PerDay = orInt(e.Limits.PerDay, p.LimitPerDay)
	e.Limits.PerMonth = orInt(e.Limits.PerMonth, p.LimitPerMonth)
	e.MaxAmount = orInt(e.MaxAmount, p.MaxAmount)
	e.MaxAuthCount = orInt(e.MaxAuthCount, p.MaxAuthCount)
	if e.MerchantHint == "" {
		e.MerchantHint = p.MerchantHint
	}
	if e.OnDrift == "" {
		e.OnDrift = p.OnDrift
	}
	e.CumulativeMax = orInt(e.CumulativeMax, p.CumulativeMax)
	e.CooldownMinutes = orInt(e.CooldownMinutes, p.CooldownMinutes)
	e.TTLMinutes = orInt(e.TTLMinutes, p.TTLMinutes)
	if e.OnExpiry == "" {
		e.OnExpiry = p.OnExpiry
	}
	// The active window is one control: hours, days and zone go together.
	if e.ActiveHoursStart == nil && e.ActiveHoursEnd == nil && len(e.ActiveDays) == 0 {
		e.ActiveHoursStart, e.ActiveHoursEnd, e.ActiveDays = p.ActiveHoursStart, p.ActiveHoursEnd, p.ActiveDays
		if e.ActiveTimezone == "" {
			e.ActiveTimezone = p.ActiveTimezone
		}
	}
	if e.AllowedMCCs == nil {
		e.AllowedMCCs = p.AllowedMCCs
	}
	if e.BlockedMCCs == nil {
		e.BlockedMCCs = p.BlockedMCCs
	}
	if e.RequireAttestation == nil {
		e.RequireAttestation = p.RequireAttestation
	}
	if e.IntentTolerance == nil {
		e.IntentTolerance = p.IntentTolerance
	}
	if e.RequireApproval == nil {
		e.RequireApproval = p.RequireApproval
	}
	return e
}

func orInt(own, policy *int64) *int64 {
	if own != nil {
		return own
	}
	return policy
}

// TTLEnd is when the card's ttlMinutes run out, epoch ms (MaxInt64 when
// it has none).
func TTLEnd(c *model.Card) int64 {
	if c.TTLMinutes == nil {
		return math.MaxInt64
	}
	return c.CreatedAt + *c.TTLMinutes*minuteMs
}

// ExpireAction is what the end of the card's lifetime does to it at now,
// and why: its onExpiry (freeze, the default, or close) when its
// ttlMinutes ran out, close when its ttlDays or expiry date did. It is ""
// while the lifetime lasts, once the end was recorded (ExpiredAt), and for
// a closed card.
func ExpireAction(c *model.Card, now time.Time) (action, reason string) {
	if c.ExpiredAt != 0 || c.Status == model.CardClosed || !Expired(c, now) {
		return "", ""
	}
	switch {
	case c.TTLMinutes != nil && now.UnixMilli() >= TTLEnd(c):
		if c.OnExpiry == model.ExpiryClose {
			return model.ExpiryClose, ExpiryTTL
		}
		return model.ExpiryFreeze, ExpiryTTL
	case c.TTLDays != nil && now.UnixMilli() >= c.CreatedAt+*c.TTLDays*dayMs:
		return model.ExpiryClose, ExpiryTTLDays
	}
	return model.ExpiryClose, ExpiryDate
}

// Why a card's lifetime ended, as card.expired says.
const (
	ExpiryTTL     = "ttl_expired"        // ttlMinutes
	ExpiryTTLDays = "ttl_days_expired"   // ttlDays
	ExpiryDate    = "expiry_date_passed" // the end of its expiry month
)

const dayMs = int64(24 * time.Hour / time.Millisecond)

// checkControls applies the policy controls to a purchase: merchant
// category, active hours, cooldown, cumulative cap, attestation and the
// declared amount. stop reports a decline.
func checkControls(in *Input) (Decision, bool) {
	r, c := in.Req, in.Card
	if len(c.BlockedMCCs) > 0 && slices.Contains(c.BlockedMCCs, r.MCC) ||
		len(c.AllowedMCCs) > 0 && !slices.Contains(c.AllowedMCCs, r.MCC) {
		return decline(CodeNotPermitted, ReasonBlockedMCC), true
	}
	if !WithinActiveHours(c, in.Zone, in.Now) {
		return decline(CodeNotPermitted, ReasonOutsideActiveHours), true
	}
	if end := CooldownEnd(c); end > in.Now.UnixMilli() {
		return decline(CodeFrequencyLimit, ReasonCooldown), true
	}
	if m := c.CumulativeMax; m != nil && c.Usage.TotalCents+r.AmountCents > *m {
		return decline(CodeAmountLimit, ReasonCumulativeLimit), true
	}
	if c.RequireAttestation != nil && *c.RequireAttestation {
		last := c.Usage.LastAccessAt
		if last == 0 || in.Now.UnixMilli()-last > c.AttestationWindowMinutes*minuteMs {
			return decline(CodeNotPermitted, ReasonAttestationRequired), true
		}
		if tol := c.IntentTolerance; tol != nil && in.HasDeclared && !WithinTolerance(r.AmountCents, in.Declared, *tol) {
			return decline(CodeNotPermitted, ReasonIntentTolerance), true
		}
	}
	return Decision{}, false
}

// WithinTolerance reports whether amount is within tol (a fraction, 0..1)
// of declared. The bound is rounded to whole cents, in integers, so that
// the answer does not depend on floating-point rounding near the edge.
func WithinTolerance(amount, declared int64, tol float64) bool {
	bps := int64(math.Round(tol * 10000))
	diff := amount - declared
	if diff < 0 {
		diff = -diff
	}
	// declared*bps fits: amounts are bounded far below 2^50.
	return diff*10000 <= declared*bps
}

// CooldownEnd is when the card's cooldown after its last purchase ends,
// epoch ms (0 when it has no cooldown or no purchase).
func CooldownEnd(c *model.Card) int64 {
	if c.CooldownMinutes == nil || *c.CooldownMinutes <= 0 || c.Usage.LastAuthAt == 0 {
		return 0
	}
	return c.Usage.LastAuthAt + *c.CooldownMinutes*minuteMs
}

// WithinActiveHours reports whether now falls in the card's active hours
// and days, read in zone (the card's activeTimezone; nil is UTC). The
// wall clock of the zone is what counts, so the window follows daylight
// saving: 09..17 in America/New_York is 13..21 UTC in summer and 14..22
// in winter.
func WithinActiveHours(c *model.Card, zone *time.Location, now time.Time) bool {
	if c.ActiveHoursStart == nil && c.ActiveHoursEnd == nil && len(c.ActiveDays) == 0 {
		return true
	}
	if zone == nil {
		zone = time.UTC
	}
	local := now.In(zone)
	if len(c.ActiveDays) > 0 && !slices.Contains(c.ActiveDays, int64(local.Weekday())) {
		return false
	}
	if c.ActiveHoursStart == nil || c.ActiveHoursEnd == nil {
		return true
	}
	h, start, end := int64(local.Hour()), *c.ActiveHoursStart, *c.ActiveHoursEnd
	if start < end {
		return h >= start && h < end
	}
	// Across midnight (22..6), or the whole day when start == end.
	return h >= start || h < end
}
