package client

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"net/url"
)

// AgentParams is the body of RegisterAgent and CreateAgent.
type AgentParams struct {
	UserID string `json:"userId"`
	Name   string `json:"name"`
	// ExternalID makes registration idempotent: registering the same
	// externalId again returns the existing agent (Created false).
	ExternalID  string `json:"externalId,omitempty"`
	Description string `json:"description,omitempty"`
	// SpendingLimit in cents, over SpendingLimitFrequency (perTransaction,
	// per24HourPeriod, perWeek, perMonth, perYear, allTime).
	SpendingLimit          *int64 `json:"spendingLimit,omitempty"`
	SpendingLimitFrequency string `json:"spendingLimitFrequency,omitempty"`
	// OnLimitExceeded is suspend, notify or none.
	OnLimitExceeded           string         `json:"onLimitExceeded,omitempty"`
	MaxCards                  *int64         `json:"maxCards,omitempty"`
	DefaultCardLimit          *int64         `json:"defaultCardLimit,omitempty"`
	DefaultCardLimitFrequency string         `json:"defaultCardLimitFrequency,omitempty"`
	Metadata                  map[string]any `json:"metadata,omitempty"`
	// DefaultPolicyID is accepted by RegisterAgent only.
	DefaultPolicyID string `json:"defaultPolicyId,omitempty"`
}

// RegisterAgent registers an agent and returns its first token, shown only
// now (POST /v1/agents/register).
func (c *Client) RegisterAgent(ctx context.Context, p AgentParams, opts ...RequestOption) (*AgentRegistration, error) {
	return call[AgentRegistration](ctx, c, request{method: http.MethodPost, path: "/v1/agents/register", body: p}, opts)
}

// CreateAgent is RegisterAgent under the platform's other path
// (POST /v1/agents); it does not take DefaultPolicyID.
func (c *Client) CreateAgent(ctx context.Context, p AgentParams, opts ...RequestOption) (*AgentRegistration, error) {
	return call[AgentRegistration](ctx, c, request{method: http.MethodPost, path: "/v1/agents", body: p}, opts)
}

// GetAgent reads an agent (GET /v1/agents/{id}).
func (c *Client) GetAgent(ctx context.Context, id string, opts ...RequestOption) (*Agent, error) {
	return call[Agent](ctx, c, request{method: http.MethodGet, path: "/v1/agents/" + seg(id)}, opts)
}

// ListAgentsParams filters ListAgents.
type ListAgentsParams struct {
	ListParams
	// UserID, when set, lists only that user's agents.
	UserID string
}

// ListAgents reads one page of agents (GET /v1/agents).
func (c *Client) ListAgents(ctx context.Context, p ListAgentsParams, opts ...RequestOption) (*Page[Agent], error) {
	return listPage[Agent](ctx, c, "/v1/agents", p.ListParams, url.Values{"userId": {p.UserID}}, opts)
}

// Agents iterates every agent matching p.
func (c *Client) Agents(ctx context.Context, p ListAgentsParams, opts ...RequestOption) iter.Seq2[Agent, error] {
	return all(func(lp ListParams) (*Page[Agent], error) {
		q := p
		q.ListParams = lp
		return c.ListAgents(ctx, q, opts...)
	}, p.ListParams)
}

// UpdateAgentParams is the body of UpdateAgent: only the fields set are
// changed.
type UpdateAgentParams struct {
	Name        *string
	Description *string
	// Status is active or suspended.
	Status *string
	// SpendingLimit sets the limit; ClearSpendingLimit removes it.
	SpendingLimit          *int64
	ClearSpendingLimit     bool
	SpendingLimitFrequency *string
	OnLimitExceeded        *string
	MaxCards               *int64
	// Metadata replaces the metadata; ClearMetadata removes it.
	Metadata      map[string]any
	ClearMetadata bool
	// DefaultPolicyID sets the policy of the agent's cards that have none
	// of their own; "" removes it.
	DefaultPolicyID *string
}

// MarshalJSON sends the fields that are set, and null for a cleared one.
func (p UpdateAgentParams) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	setPtr(m, "name", p.Name)
	setPtr(m, "description", p.Description)
	setPtr(m, "status", p.Status)
	setPtr(m, "spendingLimitFrequency", p.SpendingLimitFrequency)
	setPtr(m, "onLimitExceeded", p.OnLimitExceeded)
	setPtr(m, "maxCards", p.MaxCards)
	if p.DefaultPolicyID != nil {
		if *p.DefaultPolicyID == "" {
			m["defaultPolicyId"] = nil
		} else {
			m["defaultPolicyId"] = *p.DefaultPolicyID
		}
	}
	switch {
	case p.ClearSpendingLimit:
		m["spendingLimit"] = nil
	case p.SpendingLimit != nil:
		m["spendingLimit"] = *p.SpendingLimit
	}
	switch {
	case p.ClearMetadata:
		m["metadata"] = nil
	case p.Metadata != nil:
		m["metadata"] = p.Metadata
	}
	return json.Marshal(m)
}

func setPtr[T any](m map[string]any, k string, v *T) {
	if v != nil {
		m[k] = *v
	}
}

// UpdateAgent changes an agent (PATCH /v1/agents/{id}).
func (c *Client) UpdateAgent(ctx context.Context, id string, p UpdateAgentParams, opts ...RequestOption) (*Agent, error) {
	return call[Agent](ctx, c, request{method: http.MethodPatch, path: "/v1/agents/" + seg(id), body: p}, opts)
}

func (c *Client) agentAction(ctx context.Context, id, action string, opts []RequestOption) (*AgentStatusChange, error) {
	return call[AgentStatusChange](ctx, c, request{method: http.MethodPost, path: "/v1/agents/" + seg(id) + "/" + action}, opts)
}

// SuspendAgent suspends an agent and freezes its cards
// (POST /v1/agents/{id}/suspend).
func (c *Client) SuspendAgent(ctx context.Context, id string, opts ...RequestOption) (*AgentStatusChange, error) {
	return c.agentAction(ctx, id, "suspend", opts)
}

// ActivateAgent reactivates a suspended agent (POST /v1/agents/{id}/activate).
func (c *Client) ActivateAgent(ctx context.Context, id string, opts ...RequestOption) (*AgentStatusChange, error) {
	return c.agentAction(ctx, id, "activate", opts)
}

// DeregisterAgent deregisters an agent for good, closing its cards and
// revoking its tokens (POST /v1/agents/{id}/deregister).
func (c *Client) DeregisterAgent(ctx context.Context, id string, opts ...RequestOption) (*AgentStatusChange, error) {
	return c.agentAction(ctx, id, "deregister", opts)
}

// CreateTokenParams is the body of CreateToken.
type CreateTokenParams struct {
	Name string `json:"name,omitempty"`
	// ExpiresAt, in epoch milliseconds, when set.
	ExpiresAt *int64 `json:"expiresAt,omitempty"`
}

// CreateToken issues a new token for an agent; its secret is in Token, shown
// only now (POST /v1/agents/{id}/tokens).
func (c *Client) CreateToken(ctx context.Context, agentID string, p CreateTokenParams, opts ...RequestOption) (*AgentToken, error) {
	return call[AgentToken](ctx, c, request{method: http.MethodPost, path: "/v1/agents/" + seg(agentID) + "/tokens", body: p}, opts)
}

// ListTokens lists an agent's tokens (GET /v1/agents/{id}/tokens); the list
// is not paged.
func (c *Client) ListTokens(ctx context.Context, agentID string, opts ...RequestOption) ([]AgentToken, error) {
	p, err := call[Page[AgentToken]](ctx, c, request{method: http.MethodGet, path: "/v1/agents/" + seg(agentID) + "/tokens"}, opts)
	if err != nil {
		return nil, err
	}
	return p.Data, nil
}

// RevokeToken revokes an agent's token
// (POST /v1/agents/{id}/tokens/{tokenId}/revoke).
func (c *Client) RevokeToken(ctx context.Context, agentID, tokenID string, opts ...RequestOption) (*AgentToken, error) {
	return call[AgentToken](ctx, c, request{method: http.MethodPost,
		path: "/v1/agents/" + seg(agentID) + "/tokens/" + seg(tokenID) + "/revoke"}, opts)
}

// DeleteToken revokes an agent's token with the platform's other verb
// (DELETE /v1/agents/{id}/tokens/{tokenId}).
func (c *Client) DeleteToken(ctx context.Context, agentID, tokenID string, opts ...RequestOption) (*AgentToken, error) {
	return call[AgentToken](ctx, c, request{method: http.MethodDelete,
		path: "/v1/agents/" + seg(agentID) + "/tokens/" + seg(tokenID)}, opts)
}
