package client

import (
	"context"
	"net/http"
	"net/url"
)

// Intent statuses.
const (
	IntentPending    = "pending"
	IntentMatched    = "matched"
	IntentMismatched = "mismatched"
	IntentExpired    = "expired"
	IntentCanceled   = "canceled"
	// IntentPendingApproval waits for a person (ApproveIntent,
	// RejectIntent); IntentRejected was refused.
	IntentPendingApproval = "pending_approval"
	IntentRejected        = "rejected"
)

// CreateIntentParams is the body of CreateIntent.
type CreateIntentParams struct {
	// IntentID is the caller's own id of the intent; declaring the same
	// IntentID again returns the existing intent.
	IntentID string `json:"intentId"`
	// Summary says what will be bought. Required.
	Summary          string `json:"summary"`
	ExpectedAmount   *int64 `json:"expectedAmount,omitempty"`
	ExpectedCurrency string `json:"expectedCurrency,omitempty"`
	ExpectedMerchant string `json:"expectedMerchant,omitempty"`
	// Tolerance is how far, in cents, the amount may differ and still match.
	Tolerance *int64 `json:"tolerance,omitempty"`
	// TTLMinutes is how long the intent waits for its transaction, 1 to 1440.
	TTLMinutes *int64         `json:"ttlMinutes,omitempty"`
	Metadata   map[string]any `json:"metadata,omitempty"`
	// RequireApproval makes the intent start pending_approval: the card's
	// credentials are held back until it is approved.
	RequireApproval bool `json:"requireApproval,omitempty"`
}

// CreateIntent declares what a card is about to be used for
// (POST /v1/cards/{id}/intents).
func (c *Client) CreateIntent(ctx context.Context, cardID string, p CreateIntentParams, opts ...RequestOption) (*Intent, error) {
	return call[Intent](ctx, c, request{method: http.MethodPost, path: "/v1/cards/" + seg(cardID) + "/intents", body: p}, opts)
}

// ListIntents lists a card's intents, optionally only those with status
// (GET /v1/cards/{id}/intents); the list is not paged.
func (c *Client) ListIntents(ctx context.Context, cardID, status string, opts ...RequestOption) ([]Intent, error) {
	var q url.Values
	if status != "" {
		q = url.Values{"status": {status}}
	}
	out, err := call[struct {
		Intents []Intent `json:"intents"`
	}](ctx, c, request{method: http.MethodGet, path: "/v1/cards/" + seg(cardID) + "/intents", query: q}, opts)
	if err != nil {
		return nil, err
	}
	return out.Intents, nil
}

// GetIntent reads an intent (GET /v1/intents/{id}).
func (c *Client) GetIntent(ctx context.Context, id string, opts ...RequestOption) (*Intent, error) {
	return call[Intent](ctx, c, request{method: http.MethodGet, path: "/v1/intents/" + seg(id)}, opts)
}

// CancelIntent cancels a pending intent (POST /v1/intents/{id}/cancel).
func (c *Client) CancelIntent(ctx context.Context, id string, opts ...RequestOption) (*Intent, error) {
	return call[Intent](ctx, c, request{method: http.MethodPost, path: "/v1/intents/" + seg(id) + "/cancel"}, opts)
}

// ApproveIntent approves an intent waiting for approval; it becomes
// pending (POST /v1/intents/{id}/approve). API key only.
func (c *Client) ApproveIntent(ctx context.Context, id string, opts ...RequestOption) (*Intent, error) {
	return call[Intent](ctx, c, request{method: http.MethodPost, path: "/v1/intents/" + seg(id) + "/approve"}, opts)
}

// RejectIntent rejects an intent waiting for approval, with an optional
// reason; the card's credentials are then refused until a newer intent is
// declared (POST /v1/intents/{id}/reject). API key only.
func (c *Client) RejectIntent(ctx context.Context, id, reason string, opts ...RequestOption) (*Intent, error) {
	var body any
	if reason != "" {
		body = map[string]string{"reason": reason}
	}
	return call[Intent](ctx, c, request{method: http.MethodPost, path: "/v1/intents/" + seg(id) + "/reject", body: body}, opts)
}
