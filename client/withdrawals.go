package client

import (
	"context"
	"iter"
	"net/http"
)

// CreateWithdrawalParams is the body of CreateWithdrawal.
type CreateWithdrawalParams struct {
	// ChainID is one of the deposit chains: 137, 8453, 10, 42161, 43114.
	ChainID      int    `json:"chainId"`
	TokenAddress string `json:"tokenAddress"`
	// Amount in cents; at most what the user has available.
	Amount           int64  `json:"amount"`
	RecipientAddress string `json:"recipientAddress"`
}

// Withdrawal moves funds from a user's deposits to an address.
type Withdrawal struct {
	Object           string `json:"object"`
	ID               string `json:"id"`
	UserID           string `json:"userId"`
	ChainID          int    `json:"chainId"`
	TokenAddress     string `json:"tokenAddress"`
	Amount           int64  `json:"amount"`
	Currency         string `json:"currency"`
	RecipientAddress string `json:"recipientAddress"`
	// Status is submitted when made (the funds leave at once), then
	// confirmed or failed (the funds returned) once ResolveWithdrawal
	// decides it.
	Status          string `json:"status"`
	TransactionHash string `json:"transactionHash,omitempty"`
	CreatedAt       int64  `json:"createdAt"`
	UpdatedAt       int64  `json:"updatedAt"`
	ConfirmedAt     int64  `json:"confirmedAt,omitempty"`
	FailedAt        int64  `json:"failedAt,omitempty"`
	FailureReason   string `json:"failureReason,omitempty"`
}

// Withdrawal outcomes of ResolveWithdrawal.
const (
	WithdrawalConfirmed = "confirmed"
	WithdrawalFailed    = "failed"
)

// ResolveWithdrawal decides a submitted withdrawal as the chain would
// (POST /v1/simulate/withdrawal/{id}/resolve): WithdrawalConfirmed, or
// WithdrawalFailed with an optional reason, which returns the funds. API
// key only.
func (c *Client) ResolveWithdrawal(ctx context.Context, id, outcome, reason string, opts ...RequestOption) (*Withdrawal, error) {
	body := map[string]string{"outcome": outcome}
	if reason != "" {
		body["reason"] = reason
	}
	return call[Withdrawal](ctx, c, request{method: http.MethodPost, path: "/v1/simulate/withdrawal/" + seg(id) + "/resolve", body: body}, opts)
}

func withdrawalsPath(userID string) string { return "/v1/users/" + seg(userID) + "/withdrawals" }

// CreateWithdrawal withdraws funds to an address
// (POST /v1/users/{id}/withdrawals). It lowers the user's creditLimit and
// leaves what is owed as it was. API key only.
func (c *Client) CreateWithdrawal(ctx context.Context, userID string, p CreateWithdrawalParams, opts ...RequestOption) (*Withdrawal, error) {
	return call[Withdrawal](ctx, c, request{method: http.MethodPost, path: withdrawalsPath(userID), body: p}, opts)
}

// GetWithdrawal reads one of a user's withdrawals
// (GET /v1/users/{id}/withdrawals/{withdrawalId}).
func (c *Client) GetWithdrawal(ctx context.Context, userID, id string, opts ...RequestOption) (*Withdrawal, error) {
	return call[Withdrawal](ctx, c, request{method: http.MethodGet, path: withdrawalsPath(userID) + "/" + seg(id)}, opts)
}

// ListWithdrawals reads one page of a user's withdrawals, newest first
// (GET /v1/users/{id}/withdrawals).
func (c *Client) ListWithdrawals(ctx context.Context, userID string, p ListParams, opts ...RequestOption) (*Page[Withdrawal], error) {
	return listPage[Withdrawal](ctx, c, withdrawalsPath(userID), p, nil, opts)
}

// Withdrawals iterates every withdrawal of a user.
func (c *Client) Withdrawals(ctx context.Context, userID string, p ListParams, opts ...RequestOption) iter.Seq2[Withdrawal, error] {
	return all(func(p ListParams) (*Page[Withdrawal], error) { return c.ListWithdrawals(ctx, userID, p, opts...) }, p)
}
