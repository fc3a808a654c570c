package model

// Controls are the spending controls a policy sets and a card may set for
// itself: wherever a card sets one, the card's value wins over its policy's.
// Nil pointers and empty values are unset.
type Controls struct {
	// CumulativeMax caps what the card may ever spend, in cents.
	CumulativeMax *int64 `json:"cumulativeMax,omitempty"`
	// CooldownMinutes is the least time between two approved purchases.
	CooldownMinutes *int64 `json:"cooldownMinutes,omitempty"`
	// TTLMinutes ends the card's life that many minutes after its
	// creation; OnExpiry (freeze or close) is what then happens to it.
	TTLMinutes *int64 `json:"ttlMinutes,omitempty"`
	OnExpiry   string `json:"onExpiry,omitempty"`
	// ActiveHoursStart and ActiveHoursEnd (0..23, in ActiveTimezone, an
	// IANA name; UTC when empty) bound the hours in which the card
	// approves: from the start of hour Start to the start of hour End,
	// across midnight when End <= Start. ActiveDays (0 Sunday .. 6
	// Saturday) are the days on which it approves; empty is every day.
	ActiveHoursStart *int64  `json:"activeHoursStart,omitempty"`
	ActiveHoursEnd   *int64  `json:"activeHoursEnd,omitempty"`
	ActiveTimezone   string  `json:"activeTimezone,omitempty"`
	ActiveDays       []int64 `json:"activeDays,omitempty"`
	// AllowedMCCs, when not empty, are the only merchant categories the
	// card approves; BlockedMCCs are declined (blocked_mcc).
	AllowedMCCs []string `json:"allowedMccs,omitempty"`
	BlockedMCCs []string `json:"blockedMccs,omitempty"`
	// RequireAttestation declines a purchase not attested by a
	// credential access within the card's attestation window.
	RequireAttestation *bool `json:"requireAttestation,omitempty"`
	// IntentTolerance (0..1) is how far, as a fraction of the declared
	// amount, an attested purchase may differ from what was declared.
	IntentTolerance *float64 `json:"intentTolerance,omitempty"`
	// RequireApproval makes every intent declared on the card start
	// pending_approval, as an intent's own requireApproval does; the
	// card's credentials are held back until a person approves it.
	RequireApproval *bool `json:"requireApproval,omitempty"`
}

// onExpiry actions.
const (
	ExpiryFreeze = "freeze"
	ExpiryClose  = "close"
)

// Policy is a named template of spending controls, applied to a card
// through the card's policyId or its agent's defaultPolicyId.
type Policy struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`

	LimitPerAuth       *int64 `json:"limitPerAuth,omitempty"`
	LimitPerDay        *int64 `json:"limitPerDay,omitempty"`
	LimitPerMonth      *int64 `json:"limitPerMonth,omitempty"`
	MaxAmount          *int64 `json:"maxAmount,omitempty"`
	MaxAuthCount       *int64 `json:"maxAuthCount,omitempty"`
	MerchantHint       string `json:"merchantHint,omitempty"`
	OnDrift            string `json:"onDrift,omitempty"`
	CredentialExposure string `json:"credentialExposure,omitempty"`
	Controls

	CreatedAt int64 `json:"createdAt"`
	UpdatedAt int64 `json:"updatedAt"`
}

// PrefixPolicy is the ID prefix of policies.
const PrefixPolicy = "pol"

// Policy events.
const (
	EvtPolicyCreated = "policy.created"
	EvtPolicyUpdated = "policy.updated"
	// EvtRiskSettingsUpdated records a change of risk settings.
	EvtRiskSettingsUpdated = "risk.settings_updated"
)
