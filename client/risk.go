package client

import (
	"context"
	"net/http"
	"net/url"
)

// Risk actions and presets.
const (
	RiskAlert        = "alert"
	RiskFreezeCard   = "freeze_card"
	RiskSuspendAgent = "suspend_agent"

	PresetPermissive = "permissive"
	PresetModerate   = "moderate"
	PresetStrict     = "strict"
	PresetParanoid   = "paranoid"
)

// RiskRule is one detection rule; the parameters a rule does not take
// are zero.
type RiskRule struct {
	Enabled       bool    `json:"enabled"`
	Action        string  `json:"action"`
	WindowMinutes int64   `json:"windowMinutes,omitempty"`
	MaxPerHour    int64   `json:"maxPerHour,omitempty"`
	MaxPerDay     int64   `json:"maxPerDay,omitempty"`
	Multiplier    float64 `json:"multiplier,omitempty"`
	BaselineDays  int64   `json:"baselineDays,omitempty"`
}

// RiskConfig is the risk configuration in force at a scope.
type RiskConfig struct {
	Object             string   `json:"object"`
	Scope              string   `json:"scope"`
	AgentID            string   `json:"agentId,omitempty"`
	CardID             string   `json:"cardId,omitempty"`
	Preset             string   `json:"preset"`
	DryRun             bool     `json:"dryRun"`
	DuplicateDetection RiskRule `json:"duplicateDetection"`
	VelocityLimit      RiskRule `json:"velocityLimit"`
	SpendSpike         RiskRule `json:"spendSpike"`
	UnattestedSpend    RiskRule `json:"unattestedSpend"`
	IntentMismatch     RiskRule `json:"intentMismatch"`
	CooldownViolation  RiskRule `json:"cooldownViolation"`
	MerchantDrift      RiskRule `json:"merchantDrift"`
}

// RiskScope names whose settings: the organization (zero value), an agent
// or a card.
type RiskScope struct {
	AgentID, CardID string
}

func (s RiskScope) query() url.Values {
	q := url.Values{}
	if s.AgentID != "" {
		q.Set("agentId", s.AgentID)
	}
	if s.CardID != "" {
		q.Set("cardId", s.CardID)
	}
	return q
}

// GetRiskSettings reads the settings in force at a scope
// (GET /v1/settings/risk).
func (c *Client) GetRiskSettings(ctx context.Context, scope RiskScope, opts ...RequestOption) (*RiskConfig, error) {
	return call[RiskConfig](ctx, c, request{method: http.MethodGet, path: "/v1/settings/risk", query: scope.query()}, opts)
}

// UpdateRiskSettings changes settings (PATCH /v1/settings/risk). The body
// is the platform's: "dryRun" and rule objects by name, each with the
// fields to change, e.g.
//
//	map[string]any{"velocityLimit": map[string]any{"maxPerHour": 5, "action": client.RiskFreezeCard}}
func (c *Client) UpdateRiskSettings(ctx context.Context, scope RiskScope, patch map[string]any, opts ...RequestOption) (*RiskConfig, error) {
	return call[RiskConfig](ctx, c, request{method: http.MethodPatch, path: "/v1/settings/risk", query: scope.query(), body: patch}, opts)
}

// ApplyRiskPreset replaces the organization's rules with a preset
// (POST /v1/settings/risk/preset); dryRun nil keeps the current one.
func (c *Client) ApplyRiskPreset(ctx context.Context, preset string, dryRun *bool, opts ...RequestOption) (*RiskConfig, error) {
	body := map[string]any{"preset": preset}
	if dryRun != nil {
		body["dryRun"] = *dryRun
	}
	return call[RiskConfig](ctx, c, request{method: http.MethodPost, path: "/v1/settings/risk/preset", body: body}, opts)
}
