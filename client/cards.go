package client

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
)

// Card types, credential exposures and drift actions.
const (
	CardSingle = "single"
	CardMulti  = "multi"

	ExposureNever         = "never"
	ExposureExtensionOnly = "extensionOnly"
	ExposureRawPAN        = "rawPan"

	DriftFreeze = "freeze"
	DriftNotify = "notify"
	DriftNone   = "none"
)

// CreateCardParams is the body of CreateCard.
type CreateCardParams struct {
	// Purpose says what the card is for. Required.
	Purpose string `json:"purpose"`
	// Type is CardSingle (default) or CardMulti.
	Type string `json:"type,omitempty"`
	// CredentialExposure is ExposureExtensionOnly (default), ExposureNever
	// or ExposureRawPAN (which needs AcknowledgeRawPanRisk).
	CredentialExposure    string  `json:"credentialExposure,omitempty"`
	AcknowledgeRawPanRisk bool    `json:"acknowledgeRawPanRisk,omitempty"`
	Limits                *Limits `json:"limits,omitempty"`
	MaxAmount             *int64  `json:"maxAmount,omitempty"`
	MerchantHint          string  `json:"merchantHint,omitempty"`
	MaxAuthCount          *int64  `json:"maxAuthCount,omitempty"`
	TTLDays               *int64  `json:"ttlDays,omitempty"`
	// AttestationWindowMinutes is 1 to 60; default 10.
	AttestationWindowMinutes *int64 `json:"attestationWindowMinutes,omitempty"`
	OnDrift                  string `json:"onDrift,omitempty"`
	// PolicyID names the card's policy; without it, the agent's
	// defaultPolicyId applies. Controls are the card's own, which win.
	PolicyID string `json:"policyId,omitempty"`
	// Status is "" or active, or notActivated: the card declines until
	// ActivateCard.
	Status string `json:"status,omitempty"`
	Controls
}

// CreateCard issues a card to an agent (POST /v1/agents/{id}/cards).
func (c *Client) CreateCard(ctx context.Context, agentID string, p CreateCardParams, opts ...RequestOption) (*Card, error) {
	return call[Card](ctx, c, request{method: http.MethodPost, path: "/v1/agents/" + seg(agentID) + "/cards", body: p}, opts)
}

// GetCard reads a card (GET /v1/cards/{id}).
func (c *Client) GetCard(ctx context.Context, id string, opts ...RequestOption) (*Card, error) {
	return call[Card](ctx, c, request{method: http.MethodGet, path: "/v1/cards/" + seg(id)}, opts)
}

// ListAgentCards reads one page of an agent's cards
// (GET /v1/agents/{id}/cards).
func (c *Client) ListAgentCards(ctx context.Context, agentID string, p ListParams, opts ...RequestOption) (*Page[Card], error) {
	return listPage[Card](ctx, c, "/v1/agents/"+seg(agentID)+"/cards", p, nil, opts)
}

// AgentCards iterates every card of an agent.
func (c *Client) AgentCards(ctx context.Context, agentID string, p ListParams, opts ...RequestOption) iter.Seq2[Card, error] {
	return all(func(p ListParams) (*Page[Card], error) { return c.ListAgentCards(ctx, agentID, p, opts...) }, p)
}

// UpdateCardParams is the body of UpdateCard: only the fields set are
// changed.
type UpdateCardParams struct {
	Limits       *Limits
	MerchantHint *string
	OnDrift      *string
	// MaxAuthCount sets the count; ClearMaxAuthCount removes it.
	MaxAuthCount      *int64
	ClearMaxAuthCount bool
	MaxAmount         *int64
	// Status is active or frozen.
	Status *string
	// PolicyID sets the card's policy; "" removes it.
	PolicyID *string
	// Controls are the card's own controls to set; ClearControls names
	// (by their JSON names) those to remove.
	Controls      *Controls
	ClearControls []string
}

// MarshalJSON sends the fields that are set, and null for a cleared one.
func (p UpdateCardParams) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	setPtr(m, "limits", p.Limits)
	setPtr(m, "merchantHint", p.MerchantHint)
	setPtr(m, "onDrift", p.OnDrift)
	setPtr(m, "maxAmount", p.MaxAmount)
	setPtr(m, "status", p.Status)
	if p.PolicyID != nil {
		if *p.PolicyID == "" {
			m["policyId"] = nil
		} else {
			m["policyId"] = *p.PolicyID
		}
	}
	if p.Controls != nil {
		raw, err := json.Marshal(p.Controls)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, err
		}
	}
	for _, k := range p.ClearControls {
		m[k] = nil
	}
	switch {
	case p.ClearMaxAuthCount:
		m["maxAuthCount"] = nil
	case p.MaxAuthCount != nil:
		m["maxAuthCount"] = *p.MaxAuthCount
	}
	return json.Marshal(m)
}

// UpdateCard changes a card's controls (PATCH /v1/cards/{id}); it needs the
// organization's API key.
func (c *Client) UpdateCard(ctx context.Context, id string, p UpdateCardParams, opts ...RequestOption) (*Card, error) {
	return call[Card](ctx, c, request{method: http.MethodPatch, path: "/v1/cards/" + seg(id), body: p}, opts)
}

func (c *Client) cardAction(ctx context.Context, id, action string, opts []RequestOption) (*CardTransition, error) {
	return call[CardTransition](ctx, c, request{method: http.MethodPost, path: "/v1/cards/" + seg(id) + "/" + action}, opts)
}

// FreezeCard freezes a card (POST /v1/cards/{id}/freeze).
func (c *Client) FreezeCard(ctx context.Context, id string, opts ...RequestOption) (*CardTransition, error) {
	return c.cardAction(ctx, id, "freeze", opts)
}

// UnfreezeCard unfreezes a card (POST /v1/cards/{id}/unfreeze); it needs
// the organization's API key.
func (c *Client) UnfreezeCard(ctx context.Context, id string, opts ...RequestOption) (*CardTransition, error) {
	return c.cardAction(ctx, id, "unfreeze", opts)
}

// ActivateCard activates a card issued notActivated
// (POST /v1/cards/{id}/activate); it needs the organization's API key.
func (c *Client) ActivateCard(ctx context.Context, id string, opts ...RequestOption) (*CardTransition, error) {
	return c.cardAction(ctx, id, "activate", opts)
}

// CloseCard closes a card for good (POST /v1/cards/{id}/close).
func (c *Client) CloseCard(ctx context.Context, id string, opts ...RequestOption) (*CardTransition, error) {
	return c.cardAction(ctx, id, "close", opts)
}

// CardDetailsParams is the attestation that goes with a read of a card's
// details.
type CardDetailsParams struct {
	// Summary says what the details are read for. Required.
	Summary        string `json:"summary"`
	ExpectedAmount *int64 `json:"expectedAmount,omitempty"`
	// ExpectedCurrency is USD when set.
	ExpectedCurrency string `json:"expectedCurrency,omitempty"`
	MerchantText     string `json:"merchantText,omitempty"`
	// Reason is one-time, subscription or preauth.
	Reason        string         `json:"reason,omitempty"`
	ClientContext map[string]any `json:"clientContext,omitempty"`
}

// CardDetails reads a card's credentials with an attestation
// (POST /v1/cards/{id}/details). The result holds the PAN and CVV for a
// rawPan card and a single-use details token for an extensionOnly card.
func (c *Client) CardDetails(ctx context.Context, id string, p CardDetailsParams, opts ...RequestOption) (*CardCredentials, error) {
	return call[CardCredentials](ctx, c, request{method: http.MethodPost, path: "/v1/cards/" + seg(id) + "/details", body: p}, opts)
}

// RedeemDetailsToken exchanges an extensionOnly card's single-use details
// token for the credentials, as the browser extension does
// (POST /v1/extension/redeem). It sends no Api-Key: the token is the
// credential.
func (c *Client) RedeemDetailsToken(ctx context.Context, detailsToken string, opts ...RequestOption) (*CardCredentials, error) {
	body := map[string]string{"detailsToken": detailsToken}
	return call[CardCredentials](ctx, c, request{method: http.MethodPost, path: "/v1/extension/redeem", body: body, noAuth: true}, opts)
}

// ListAccessEvents reads one page of a card's detail reads
// (GET /v1/cards/{id}/access-events).
func (c *Client) ListAccessEvents(ctx context.Context, cardID string, p ListParams, opts ...RequestOption) (*Page[AccessEvent], error) {
	return listPage[AccessEvent](ctx, c, "/v1/cards/"+seg(cardID)+"/access-events", p, nil, opts)
}

// AccessEvents iterates every access event of a card.
func (c *Client) AccessEvents(ctx context.Context, cardID string, p ListParams, opts ...RequestOption) iter.Seq2[AccessEvent, error] {
	return all(func(p ListParams) (*Page[AccessEvent], error) { return c.ListAccessEvents(ctx, cardID, p, opts...) }, p)
}
