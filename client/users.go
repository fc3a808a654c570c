package client

import (
	"context"
	"iter"
	"net/http"
)

// CreateUserParams is the body of CreateUser.
type CreateUserParams struct {
	FirstName string         `json:"firstName"`
	LastName  string         `json:"lastName"`
	Email     string         `json:"email"`
	Metadata  map[string]any `json:"metadata,omitempty"`
}

// CreateUser creates a user (POST /v1/users). A new user is pending until
// KYC approves them.
func (c *Client) CreateUser(ctx context.Context, p CreateUserParams, opts ...RequestOption) (*User, error) {
	return call[User](ctx, c, request{method: http.MethodPost, path: "/v1/users", body: p}, opts)
}

// GetUser reads a user (GET /v1/users/{id}).
func (c *Client) GetUser(ctx context.Context, id string, opts ...RequestOption) (*User, error) {
	return call[User](ctx, c, request{method: http.MethodGet, path: "/v1/users/" + seg(id)}, opts)
}

// ListUsers reads one page of users, newest first (GET /v1/users).
func (c *Client) ListUsers(ctx context.Context, p ListParams, opts ...RequestOption) (*Page[User], error) {
	return listPage[User](ctx, c, "/v1/users", p, nil, opts)
}

// Users iterates every user from p.Cursor on.
func (c *Client) Users(ctx context.Context, p ListParams, opts ...RequestOption) iter.Seq2[User, error] {
	return all(func(p ListParams) (*Page[User], error) { return c.ListUsers(ctx, p, opts...) }, p)
}

// ListUserCards reads one page of a user's cards (GET /v1/users/{id}/cards).
func (c *Client) ListUserCards(ctx context.Context, userID string, p ListParams, opts ...RequestOption) (*Page[Card], error) {
	return listPage[Card](ctx, c, "/v1/users/"+seg(userID)+"/cards", p, nil, opts)
}

// UserCards iterates every card of a user.
func (c *Client) UserCards(ctx context.Context, userID string, p ListParams, opts ...RequestOption) iter.Seq2[Card, error] {
	return all(func(p ListParams) (*Page[Card], error) { return c.ListUserCards(ctx, userID, p, opts...) }, p)
}

// GetFunding lists a user's deposit addresses (GET /v1/users/{id}/funding).
func (c *Client) GetFunding(ctx context.Context, userID string, opts ...RequestOption) (*Funding, error) {
	return call[Funding](ctx, c, request{method: http.MethodGet, path: "/v1/users/" + seg(userID) + "/funding"}, opts)
}

// StartVerification starts a user's KYC and returns the hosted page's URL
// (POST /v1/verification/user).
func (c *Client) StartVerification(ctx context.Context, userID string, opts ...RequestOption) (*Verification, error) {
	body := map[string]string{"userId": userID}
	return call[Verification](ctx, c, request{method: http.MethodPost, path: "/v1/verification/user", body: body}, opts)
}

// GetVerification reads a user's KYC state (GET /v1/verification/user/{id}).
func (c *Client) GetVerification(ctx context.Context, userID string, opts ...RequestOption) (*Verification, error) {
	return call[Verification](ctx, c, request{method: http.MethodGet, path: "/v1/verification/user/" + seg(userID)}, opts)
}

// KYC decisions for SimulateKYC: the application status to move to.
// Only approved may spend.
const (
	KYCApproved          = "approved"
	KYCRejected          = "rejected" // another name for KYCDenied
	KYCDenied            = "denied"
	KYCPending           = "pending"
	KYCNeedsInformation  = "needsInformation"
	KYCNeedsVerification = "needsVerification"
	KYCManualReview      = "manualReview"
	KYCLocked            = "locked"
	KYCCanceled          = "canceled"
)

// SimulateKYC moves a user's KYC application to a status as the
// verification provider would (POST /v1/simulate/kyc): decision is one of
// the KYC constants. Denied and canceled are final; an approved user may
// be sent back to needsVerification or locked, and a locked one approved
// again.
func (c *Client) SimulateKYC(ctx context.Context, userID, decision string, opts ...RequestOption) (*User, error) {
	body := map[string]string{"userId": userID, "decision": decision}
	return call[User](ctx, c, request{method: http.MethodPost, path: "/v1/simulate/kyc", body: body}, opts)
}

// SimulateDepositParams is the body of SimulateDeposit.
type SimulateDepositParams struct {
	UserID string `json:"userId"`
	// Asset is USDC or USDT.
	Asset string `json:"asset"`
	// Chain is one of the chains GetFunding lists (base, ethereum, ...).
	Chain string `json:"chain"`
	// Amount is in token units, at most 2 decimal places: "12.50" is
	// 1250 cents.
	Amount string `json:"amount"`
}

// SimulateDeposit credits a user as an on-chain deposit would
// (POST /v1/simulate/deposit).
func (c *Client) SimulateDeposit(ctx context.Context, p SimulateDepositParams, opts ...RequestOption) (*DepositResult, error) {
	return call[DepositResult](ctx, c, request{method: http.MethodPost, path: "/v1/simulate/deposit", body: p}, opts)
}

// GetBalance reads a user's balance (GET /v1/balances/{userId}). An agent
// token reads only its own user's.
func (c *Client) GetBalance(ctx context.Context, userID string, opts ...RequestOption) (*Balance, error) {
	return call[Balance](ctx, c, request{method: http.MethodGet, path: "/v1/balances/" + seg(userID)}, opts)
}

// GetUserBalance reads a user's balance at the platform's path
// (GET /v1/users/{id}/balance); the same object as GetBalance.
func (c *Client) GetUserBalance(ctx context.Context, userID string, opts ...RequestOption) (*Balance, error) {
	return call[Balance](ctx, c, request{method: http.MethodGet, path: "/v1/users/" + seg(userID) + "/balance"}, opts)
}
