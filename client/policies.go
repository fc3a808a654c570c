package client

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
)

// Controls are the spending controls a policy sets and a card may set for
// itself (the card's own win over its policy's). Unset fields are nil or
// empty.
type Controls struct {
	// CumulativeMax caps what the card may ever spend, in cents.
	CumulativeMax *int64 `json:"cumulativeMax,omitempty"`
	// CooldownMinutes is the least time between two approved purchases.
	CooldownMinutes *int64 `json:"cooldownMinutes,omitempty"`
	// TTLMinutes ends the card's life that long after its creation;
	// OnExpiry ("freeze", the default, or "close") is what it becomes.
	TTLMinutes *int64 `json:"ttlMinutes,omitempty"`
	OnExpiry   string `json:"onExpiry,omitempty"`
	// ActiveHoursStart and ActiveHoursEnd (0..23, set together) bound the
	// hours, in ActiveTimezone (an IANA name; UTC when empty), in which
	// the card approves; ActiveDays (0 = Sunday) the days.
	ActiveHoursStart *int64  `json:"activeHoursStart,omitempty"`
	ActiveHoursEnd   *int64  `json:"activeHoursEnd,omitempty"`
	ActiveTimezone   string  `json:"activeTimezone,omitempty"`
	ActiveDays       []int64 `json:"activeDays,omitempty"`
	// AllowedMCCs, when not empty, are the only merchant categories
	// approved; BlockedMCCs decline with blocked_mcc.
	AllowedMCCs []string `json:"allowedMccs,omitempty"`
	BlockedMCCs []string `json:"blockedMccs,omitempty"`
	// RequireAttestation declines a purchase with no credential access
	// within the card's attestation window; IntentTolerance (0..1) bounds
	// how far it may differ from the amount declared.
	RequireAttestation *bool    `json:"requireAttestation,omitempty"`
	IntentTolerance    *float64 `json:"intentTolerance,omitempty"`
	// RequireApproval makes every intent declared on the card start
	// pending_approval; an intent's own requireApproval false does not
	// waive it, and a card's own false overrides its policy's true.
	RequireApproval *bool `json:"requireApproval,omitempty"`
}

// PolicyFields are a policy's fields as POST /v1/policies takes them.
type PolicyFields struct {
	Name               string `json:"name,omitempty"`
	Description        string `json:"description,omitempty"`
	LimitPerAuth       *int64 `json:"limitPerAuth,omitempty"`
	LimitPerDay        *int64 `json:"limitPerDay,omitempty"`
	LimitPerMonth      *int64 `json:"limitPerMonth,omitempty"`
	MaxAmount          *int64 `json:"maxAmount,omitempty"`
	MaxAuthCount       *int64 `json:"maxAuthCount,omitempty"`
	MerchantHint       string `json:"merchantHint,omitempty"`
	OnDrift            string `json:"onDrift,omitempty"`
	CredentialExposure string `json:"credentialExposure,omitempty"`
	Controls
}

// Policy is a named template of spending controls, its fields grouped as
// the platform answers them. Unset fields are nil.
type Policy struct {
	Object           string  `json:"object"`
	ID               string  `json:"id"`
	Name             string  `json:"name"`
	Description      *string `json:"description"`
	TimeRestrictions struct {
		TTLMinutes       *int64  `json:"ttlMinutes"`
		OnExpiry         *string `json:"onExpiry"`
		ActiveHoursStart *int64  `json:"activeHoursStart"`
		ActiveHoursEnd   *int64  `json:"activeHoursEnd"`
		ActiveTimezone   *string `json:"activeTimezone"`
		ActiveDays       []int64 `json:"activeDays"`
	} `json:"timeRestrictions"`
	SpendingRestrictions struct {
		LimitPerAuth    *int64 `json:"limitPerAuth"`
		LimitPerDay     *int64 `json:"limitPerDay"`
		LimitPerMonth   *int64 `json:"limitPerMonth"`
		MaxAmount       *int64 `json:"maxAmount"`
		CumulativeMax   *int64 `json:"cumulativeMax"`
		MaxAuthCount    *int64 `json:"maxAuthCount"`
		CooldownMinutes *int64 `json:"cooldownMinutes"`
	} `json:"spendingRestrictions"`
	MerchantRestrictions struct {
		AllowedMCCs  []string `json:"allowedMccs"`
		BlockedMCCs  []string `json:"blockedMccs"`
		MerchantHint *string  `json:"merchantHint"`
		OnDrift      *string  `json:"onDrift"`
	} `json:"merchantRestrictions"`
	Attestation struct {
		RequireAttestation *bool    `json:"requireAttestation"`
		IntentTolerance    *float64 `json:"intentTolerance"`
		CredentialExposure *string  `json:"credentialExposure"`
		RequireApproval    *bool    `json:"requireApproval"`
	} `json:"attestation"`
	CreatedAt int64 `json:"createdAt"`
	UpdatedAt int64 `json:"updatedAt"`
}

// CreatePolicy creates a policy (POST /v1/policies). Names are unique in
// the organization: a taken one is a 409 policy_name_taken.
func (c *Client) CreatePolicy(ctx context.Context, p PolicyFields, opts ...RequestOption) (*Policy, error) {
	return call[Policy](ctx, c, request{method: http.MethodPost, path: "/v1/policies", body: p}, opts)
}

// GetPolicy reads a policy (GET /v1/policies/{id}).
func (c *Client) GetPolicy(ctx context.Context, id string, opts ...RequestOption) (*Policy, error) {
	return call[Policy](ctx, c, request{method: http.MethodGet, path: "/v1/policies/" + seg(id)}, opts)
}

// ListPolicies reads one page of policies, newest first (GET /v1/policies).
func (c *Client) ListPolicies(ctx context.Context, p ListParams, opts ...RequestOption) (*Page[Policy], error) {
	return listPage[Policy](ctx, c, "/v1/policies", p, nil, opts)
}

// Policies iterates every policy, newest first.
func (c *Client) Policies(ctx context.Context, p ListParams, opts ...RequestOption) iter.Seq2[Policy, error] {
	return all(func(p ListParams) (*Page[Policy], error) { return c.ListPolicies(ctx, p, opts...) }, p)
}

// UpdatePolicyParams is the body of UpdatePolicy: the fields set in Set
// are changed, and the fields named in Clear (by their JSON names, such as
// "limitPerAuth") are removed.
type UpdatePolicyParams struct {
	Set   PolicyFields
	Clear []string
}

// MarshalJSON sends the fields that are set, and null for a cleared one.
func (p UpdatePolicyParams) MarshalJSON() ([]byte, error) {
	raw, err := json.Marshal(p.Set)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	for _, k := range p.Clear {
		m[k] = nil
	}
	return json.Marshal(m)
}

// UpdatePolicy changes a policy (PATCH /v1/policies/{id}); its cards
// decide by the new value from their next authorization.
func (c *Client) UpdatePolicy(ctx context.Context, id string, p UpdatePolicyParams, opts ...RequestOption) (*Policy, error) {
	return call[Policy](ctx, c, request{method: http.MethodPatch, path: "/v1/policies/" + seg(id), body: p}, opts)
}

// CardPolicy is a card's live policy state: the controls in force (its
// own over its policy's) and where the card stands against each, at the
// server's clock.
type CardPolicy struct {
	Object   string  `json:"object"`
	CardID   string  `json:"cardId"`
	PolicyID *string `json:"policyId"`
	TTL      struct {
		Minutes   *int64  `json:"minutes"`
		ExpiresAt *int64  `json:"expiresAt"`
		IsExpired bool    `json:"isExpired"`
		OnExpiry  *string `json:"onExpiry"`
	} `json:"ttl"`
	ActiveHours struct {
		Start               *int64  `json:"start"`
		End                 *int64  `json:"end"`
		Timezone            string  `json:"timezone"`
		ActiveDays          []int64 `json:"activeDays"`
		IsWithinActiveHours bool    `json:"isWithinActiveHours"`
	} `json:"activeHours"`
	Cumulative struct {
		Max       *int64 `json:"max"`
		Spent     int64  `json:"spent"`
		Remaining *int64 `json:"remaining"`
	} `json:"cumulative"`
	Cooldown struct {
		Minutes           *int64 `json:"minutes"`
		LastTransactionAt *int64 `json:"lastTransactionAt"`
		CooldownEndsAt    *int64 `json:"cooldownEndsAt"`
		IsInCooldown      bool   `json:"isInCooldown"`
	} `json:"cooldown"`
	AuthCount struct {
		Max       *int64 `json:"max"`
		Current   int64  `json:"current"`
		Remaining *int64 `json:"remaining"`
	} `json:"authCount"`
	Attestation struct {
		Required        bool     `json:"required"`
		IntentTolerance *float64 `json:"intentTolerance"`
		WindowMinutes   int64    `json:"windowMinutes"`
		// ApprovalRequired: every intent on the card waits for a person.
		ApprovalRequired bool `json:"approvalRequired"`
	} `json:"attestation"`
	MerchantDrift struct {
		Action         *string `json:"action"`
		MerchantHint   *string `json:"merchantHint"`
		PinnedMerchant *string `json:"pinnedMerchant"`
	} `json:"merchantDrift"`
	MerchantCategories struct {
		AllowedMCCs []string `json:"allowedMccs"`
		BlockedMCCs []string `json:"blockedMccs"`
	} `json:"merchantCategories"`
	ComputedAt int64 `json:"computedAt"`
}

// GetCardPolicy reads a card's live policy state (GET /v1/cards/{id}/policy).
func (c *Client) GetCardPolicy(ctx context.Context, cardID string, opts ...RequestOption) (*CardPolicy, error) {
	return call[CardPolicy](ctx, c, request{method: http.MethodGet, path: "/v1/cards/" + seg(cardID) + "/policy"}, opts)
}

// AgentPolicy is an agent's spending limit and what is left of it.
type AgentPolicy struct {
	Object                 string  `json:"object"`
	AgentID                string  `json:"agentId"`
	DefaultPolicyID        *string `json:"defaultPolicyId"`
	SpendingLimit          *int64  `json:"spendingLimit"`
	SpendingLimitFrequency *string `json:"spendingLimitFrequency"`
	OnLimitExceeded        string  `json:"onLimitExceeded"`
	CurrentSpend           int64   `json:"currentSpend"`
	Remaining              *int64  `json:"remaining"`
	ComputedAt             int64   `json:"computedAt"`
}

// GetAgentPolicy reads an agent's spending state (GET /v1/agents/{id}/policy).
func (c *Client) GetAgentPolicy(ctx context.Context, agentID string, opts ...RequestOption) (*AgentPolicy, error) {
	return call[AgentPolicy](ctx, c, request{method: http.MethodGet, path: "/v1/agents/" + seg(agentID) + "/policy"}, opts)
}
