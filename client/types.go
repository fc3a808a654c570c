package client

import "encoding/json"

// The resources the API returns. Amounts are int64 cents and times are
// epoch milliseconds, as on the wire; a field the server may leave out is
// a pointer or its zero value, as its comment says.

// User is a funding account holder.
type User struct {
	Object    string `json:"object"`
	ID        string `json:"id"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Email     string `json:"email"`
	// Status gates spending: pending (any application status short of a
	// decision), approved (the only one that may spend), denied, locked or
	// canceled.
	Status string `json:"status"`
	// ApplicationStatus is the KYC application's state: notStarted,
	// pending, needsInformation, needsVerification, manualReview, approved,
	// denied, locked or canceled.
	ApplicationStatus string         `json:"applicationStatus"`
	Metadata          map[string]any `json:"metadata,omitempty"`
	CreatedAt         int64          `json:"createdAt"`
	UpdatedAt         int64          `json:"updatedAt"`
	ApprovedAt        int64          `json:"approvedAt,omitempty"`
	RejectedAt        int64          `json:"rejectedAt,omitempty"`
}

// Verification is a user's identity verification.
type Verification struct {
	Object            string `json:"object"`
	UserID            string `json:"userId"`
	Status            string `json:"status"`
	ApplicationStatus string `json:"applicationStatus"`
	// VerificationURL is the hosted KYC page; empty before verification
	// was started.
	VerificationURL string `json:"verificationUrl,omitempty"`
}

// Balance is a user's money in cents.
type Balance struct {
	Object    string `json:"object"`
	UserID    string `json:"userId"`
	Available int64  `json:"available"`
	Pending   int64  `json:"pending"`
	Settled   int64  `json:"settled"`
	Deposited int64  `json:"deposited"`
	// The platform's balance model: CreditLimit is what was deposited,
	// PendingCharges the open holds, PostedCharges the cleared purchases
	// less refunds, BalanceDue what is owed (PostedCharges) and
	// SpendingPower what can be spent (Available).
	CreditLimit    int64  `json:"creditLimit"`
	PendingCharges int64  `json:"pendingCharges"`
	PostedCharges  int64  `json:"postedCharges"`
	BalanceDue     int64  `json:"balanceDue"`
	SpendingPower  int64  `json:"spendingPower"`
	Currency       string `json:"currency"`
}

// FundingAddress is where a user deposits one asset on one chain.
type FundingAddress struct {
	Asset   string `json:"asset"`
	Chain   string `json:"chain"`
	ChainID int    `json:"chainId"`
	Address string `json:"address"`
}

// Funding lists a user's deposit addresses.
type Funding struct {
	Object    string           `json:"object"`
	UserID    string           `json:"userId"`
	Addresses []FundingAddress `json:"addresses"`
}

// Deposit is one simulated on-chain deposit.
type Deposit struct {
	ID     string `json:"id"`
	UserID string `json:"userId"`
	Asset  string `json:"asset"`
	Chain  string `json:"chain"`
	// ChainID is the chain's numeric id.
	ChainID int `json:"chainId"`
	// Amount is in token units as given; AmountCents what it credited.
	Amount      string `json:"amount"`
	AmountCents int64  `json:"amountCents"`
	Address     string `json:"address"`
	Status      string `json:"status"`
	CreatedAt   int64  `json:"createdAt"`
}

// DepositResult is the answer to SimulateDeposit.
type DepositResult struct {
	Object  string  `json:"object"`
	Deposit Deposit `json:"deposit"`
	Balance Balance `json:"balance"`
}

// Agent spends on a user's behalf through its cards.
type Agent struct {
	Object                    string         `json:"object"`
	ID                        string         `json:"id"`
	ExternalID                string         `json:"externalId,omitempty"`
	UserID                    string         `json:"userId"`
	Name                      string         `json:"name"`
	Description               string         `json:"description,omitempty"`
	Status                    string         `json:"status"`
	SpendingLimit             *int64         `json:"spendingLimit"`
	SpendingLimitFrequency    string         `json:"spendingLimitFrequency,omitempty"`
	CurrentSpend              int64          `json:"currentSpend"`
	OnLimitExceeded           string         `json:"onLimitExceeded"`
	MaxCards                  *int64         `json:"maxCards"`
	CardCount                 int64          `json:"cardCount"`
	DefaultCardLimit          *int64         `json:"defaultCardLimit,omitempty"`
	DefaultCardLimitFrequency string         `json:"defaultCardLimitFrequency,omitempty"`
	DefaultPolicyID           string         `json:"defaultPolicyId,omitempty"`
	Metadata                  map[string]any `json:"metadata,omitempty"`
	CreatedAt                 int64          `json:"createdAt"`
	UpdatedAt                 int64          `json:"updatedAt"`
	DeregisteredAt            int64          `json:"deregisteredAt,omitempty"`
}

// AgentRegistration is the answer to RegisterAgent and CreateAgent: the
// agent, whether it was created (false when an agent with the same
// externalId already existed), and on creation its first token, shown only
// now.
type AgentRegistration struct {
	Agent
	Created bool   `json:"created"`
	Token   string `json:"token,omitempty"`
	TokenID string `json:"tokenId,omitempty"`
}

// AgentStatusChange is the answer to suspending, activating or
// deregistering an agent.
type AgentStatusChange struct {
	Object         string `json:"object"`
	ID             string `json:"id"`
	Status         string `json:"status"`
	PreviousStatus string `json:"previousStatus"`
	ExternalID     string `json:"externalId,omitempty"`
	DeregisteredAt int64  `json:"deregisteredAt,omitempty"`
}

// AgentToken is an agent's API token. Token (the secret) is set only in
// the answer to CreateToken.
type AgentToken struct {
	Object      string `json:"object"`
	ID          string `json:"id"`
	AgentID     string `json:"agentId"`
	TokenPrefix string `json:"tokenPrefix"`
	IsActive    bool   `json:"isActive"`
	Name        string `json:"name,omitempty"`
	Token       string `json:"token,omitempty"`
	CreatedAt   int64  `json:"createdAt"`
	ExpiresAt   *int64 `json:"expiresAt"`
	LastUsedAt  *int64 `json:"lastUsedAt"`
	RevokedAt   *int64 `json:"revokedAt"`
}

// Limits are a card's amount limits in cents; nil means none.
type Limits struct {
	PerAuth  *int64 `json:"perAuth,omitempty"`
	PerDay   *int64 `json:"perDay,omitempty"`
	PerMonth *int64 `json:"perMonth,omitempty"`
	// PerWeek (ISO week, UTC), PerYear (UTC calendar year) and AllTime
	// (the card's whole life) come from an agent's defaultCardLimit with
	// those frequencies, or may be set directly.
	PerWeek *int64 `json:"perWeek,omitempty"`
	PerYear *int64 `json:"perYear,omitempty"`
	AllTime *int64 `json:"allTime,omitempty"`
}

// Card is a virtual card. Its number is never part of it: read it with
// CardDetails.
type Card struct {
	Object                   string  `json:"object"`
	ID                       string  `json:"id"`
	AgentID                  string  `json:"agentId"`
	UserID                   string  `json:"userId"`
	Type                     string  `json:"type"`
	Purpose                  string  `json:"purpose"`
	Status                   string  `json:"status"`
	Last4                    string  `json:"last4"`
	CreatedAt                int64   `json:"createdAt"`
	UpdatedAt                int64   `json:"updatedAt"`
	CredentialExposure       string  `json:"credentialExposure"`
	ExpirationMonth          string  `json:"expirationMonth"`
	ExpirationYear           string  `json:"expirationYear"`
	Limits                   Limits  `json:"limits"`
	MaxAmount                *int64  `json:"maxAmount"`
	MerchantHint             *string `json:"merchantHint"`
	MaxAuthCount             *int64  `json:"maxAuthCount"`
	TTLDays                  *int64  `json:"ttlDays"`
	AttestationWindowMinutes int64   `json:"attestationWindowMinutes"`
	OnDrift                  *string `json:"onDrift"`
	AuthCount                int64   `json:"authCount"`
	ClosedAt                 int64   `json:"closedAt,omitempty"`
	// ActivatedAt is when a card issued notActivated was activated;
	// ExpiredAt when the end of its lifetime froze or closed it.
	ActivatedAt int64 `json:"activatedAt,omitempty"`
	ExpiredAt   int64 `json:"expiredAt,omitempty"`
	// PolicyID is the card's own policy; Controls its own controls.
	PolicyID string `json:"policyId,omitempty"`
	Controls
}

// CardTransition is the answer to freezing, unfreezing or closing a card.
type CardTransition struct {
	Object         string `json:"object"`
	ID             string `json:"id"`
	Status         string `json:"status"`
	PreviousStatus string `json:"previousStatus"`
}

// CardCredentials is the answer to CardDetails and RedeemDetailsToken. PAN
// and CVV are set for a rawPan card (and for a redeemed token);
// DetailsToken for an extensionOnly card. Treat PAN and CVV as secrets:
// never log them.
type CardCredentials struct {
	Object          string `json:"object"`
	AccessEventID   string `json:"accessEventId"`
	ExposureMode    string `json:"exposureMode"`
	IntentID        string `json:"intentId,omitempty"`
	PAN             string `json:"pan,omitempty"`
	CVV             string `json:"cvv,omitempty"`
	ExpirationMonth string `json:"expirationMonth,omitempty"`
	ExpirationYear  string `json:"expirationYear,omitempty"`
	Last4           string `json:"last4"`
	DetailsToken    string `json:"detailsToken,omitempty"`
	TokenExpiresAt  int64  `json:"tokenExpiresAt,omitempty"`
}

// AccessEvent records one read of a card's details.
type AccessEvent struct {
	Object           string         `json:"object"`
	ID               string         `json:"id"`
	CardID           string         `json:"cardId"`
	AgentID          string         `json:"agentId"`
	Actor            string         `json:"actor"`
	ExposureMode     string         `json:"exposureMode"`
	Summary          string         `json:"summary"`
	ExpectedAmount   *int64         `json:"expectedAmount,omitempty"`
	ExpectedCurrency string         `json:"expectedCurrency,omitempty"`
	MerchantText     string         `json:"merchantText,omitempty"`
	Reason           string         `json:"reason,omitempty"`
	ClientContext    map[string]any `json:"clientContext,omitempty"`
	IntentID         string         `json:"intentId,omitempty"`
	CreatedAt        int64          `json:"createdAt"`
}

// Receipt describes a transaction's receipt.
type Receipt struct {
	HasReceipt bool   `json:"hasReceipt"`
	MimeType   string `json:"mimeType,omitempty"`
	SizeBytes  int64  `json:"sizeBytes,omitempty"`
	FileName   string `json:"fileName,omitempty"`
	URL        string `json:"url,omitempty"`
	UploadedAt int64  `json:"uploadedAt,omitempty"`
}

// Transaction is one authorization, clearing, refund or decline.
type Transaction struct {
	Object  string `json:"object"`
	ID      string `json:"id"`
	CardID  string `json:"cardId"`
	UserID  string `json:"userId"`
	AgentID string `json:"agentId"`
	Type    string `json:"type"`
	Amount  int64  `json:"amount"`
	// RequestedAmount is what the message that made the transaction asked
	// for: more than AuthorizedAmount after a partial approval
	// (ResponseCode 10).
	RequestedAmount       int64    `json:"requestedAmount"`
	AuthorizedAmount      int64    `json:"authorizedAmount"`
	PendingAmount         int64    `json:"pendingAmount"`
	ReversedAmount        int64    `json:"reversedAmount,omitempty"`
	RefundedAmount        int64    `json:"refundedAmount,omitempty"`
	Currency              string   `json:"currency"`
	MerchantName          string   `json:"merchantName"`
	MerchantID            string   `json:"merchantId,omitempty"`
	MerchantCity          string   `json:"merchantCity,omitempty"`
	MerchantCountry       string   `json:"merchantCountry,omitempty"`
	MerchantCategory      string   `json:"merchantCategory"`
	MerchantCategoryCode  string   `json:"merchantCategoryCode"`
	MerchantCategoryName  *string  `json:"merchantCategoryName"`
	Status                string   `json:"status"`
	ResponseCode          string   `json:"responseCode"`
	AuthorizationCode     *string  `json:"authorizationCode"`
	DeclinedReason        *string  `json:"declinedReason,omitempty"`
	ReversalReason        string   `json:"reversalReason,omitempty"`
	ForcePost             bool     `json:"forcePost,omitempty"`
	StandIn               bool     `json:"standIn,omitempty"`
	OriginalTransactionID string   `json:"originalTransactionId,omitempty"`
	Notes                 *string  `json:"notes"`
	Tags                  []string `json:"tags"`
	Category              *string  `json:"category"`
	ReceiptURL            *string  `json:"receiptUrl"`
	Receipt               Receipt  `json:"receipt"`
	IntentID              *string  `json:"intentId"`
	AttestationStatus     *string  `json:"attestationStatus,omitempty"`
	AccessEventID         *string  `json:"accessEventId,omitempty"`
	Source                string   `json:"source"`
	STAN                  string   `json:"stan,omitempty"`
	RRN                   string   `json:"rrn,omitempty"`
	CreatedAt             int64    `json:"createdAt"`
	UpdatedAt             int64    `json:"updatedAt"`
	AuthorizedAt          *int64   `json:"authorizedAt"`
	SettledAt             *int64   `json:"settledAt"`
	PostedAt              *int64   `json:"postedAt"`
	ReversedAt            *int64   `json:"reversedAt,omitempty"`
}

// Decision is the answer to a simulate endpoint: the transaction and the
// ISO 8583 response code the network would have seen ("00" approves).
type Decision struct {
	Transaction
	Approved bool `json:"approved"`
}

// MatchResult is how a transaction compared with the intent it resolved.
type MatchResult struct {
	AmountMatch    bool   `json:"amountMatch"`
	MerchantMatch  bool   `json:"merchantMatch"`
	ActualAmount   int64  `json:"actualAmount"`
	ActualMerchant string `json:"actualMerchant"`
}

// Intent declares, before spending, what a card is about to be used for.
type Intent struct {
	Object            string         `json:"object"`
	ID                string         `json:"id"`
	CardID            string         `json:"cardId"`
	IntentID          string         `json:"intentId"`
	Summary           string         `json:"summary"`
	ExpectedAmount    *int64         `json:"expectedAmount,omitempty"`
	ExpectedCurrency  string         `json:"expectedCurrency"`
	ExpectedMerchant  string         `json:"expectedMerchant,omitempty"`
	Tolerance         int64          `json:"tolerance"`
	TTLMinutes        int64          `json:"ttlMinutes"`
	Metadata          map[string]any `json:"metadata,omitempty"`
	Status            string         `json:"status"`
	TransactionID     string         `json:"transactionId,omitempty"`
	MatchResult       *MatchResult   `json:"matchResult,omitempty"`
	AccessEventID     string         `json:"accessEventId,omitempty"`
	DetailsAccessedAt int64          `json:"detailsAccessedAt,omitempty"`
	ExpiresAt         int64          `json:"expiresAt"`
	CreatedAt         int64          `json:"createdAt"`
	UpdatedAt         int64          `json:"updatedAt"`
	MatchedAt         int64          `json:"matchedAt,omitempty"`
	MismatchedAt      int64          `json:"mismatchedAt,omitempty"`
	ExpiredAt         int64          `json:"expiredAt,omitempty"`
	CanceledAt        int64          `json:"canceledAt,omitempty"`
	// ApprovalRequired is set on an intent declared with RequireApproval,
	// or on a card (or under a policy) with RequireApproval;
	// ApprovalRequiredBy says which: "intent", "card" or "policy".
	ApprovalRequired   bool   `json:"approvalRequired"`
	ApprovalRequiredBy string `json:"approvalRequiredBy,omitempty"`
	ApprovedAt         int64  `json:"approvedAt,omitempty"`
	// ApprovedBy and RejectedBy are the display prefix of the API key
	// that decided.
	ApprovedBy      string `json:"approvedBy,omitempty"`
	RejectedAt      int64  `json:"rejectedAt,omitempty"`
	RejectedBy      string `json:"rejectedBy,omitempty"`
	RejectionReason string `json:"rejectionReason,omitempty"`
}

// Clock is the server's clock.
type Clock struct {
	Object string `json:"object"`
	// Now is the server's time in epoch milliseconds.
	Now int64 `json:"now"`
	// Virtual is true when the server runs with --clock virtual.
	Virtual bool `json:"virtual"`
}

// Event is one entry of the event log, as a webhook delivers it.
type Event struct {
	ID        string `json:"id"`
	Object    string `json:"object"`
	Type      string `json:"type"`
	CreatedAt int64  `json:"createdAt"`
	// Data is the event's payload; its shape depends on Type.
	Data json.RawMessage `json:"data"`
}

// Webhook is a webhook endpoint. Secret is set only in the answers to
// CreateWebhook and RotateWebhookSecret.
type Webhook struct {
	Object                  string   `json:"object"`
	ID                      string   `json:"id"`
	URL                     string   `json:"url"`
	Description             string   `json:"description"`
	Events                  []string `json:"events"`
	Status                  string   `json:"status"`
	DisabledReason          string   `json:"disabledReason,omitempty"`
	Secret                  string   `json:"secret,omitempty"`
	PreviousSecretExpiresAt int64    `json:"previousSecretExpiresAt,omitempty"`
	CreatedAt               int64    `json:"createdAt"`
	UpdatedAt               int64    `json:"updatedAt"`
}

// WebhookDelivery is one attempt to deliver an event to an endpoint.
type WebhookDelivery struct {
	Object    string `json:"object"`
	ID        string `json:"id"`
	WebhookID string `json:"webhookId"`
	EventID   string `json:"eventId"`
	EventType string `json:"eventType"`
	Attempt   int    `json:"attempt"`
	Status    string `json:"status"`
	// StatusCode is nil when the receiver gave no response.
	StatusCode    *int    `json:"statusCode"`
	LatencyMs     int64   `json:"latencyMs"`
	Error         *string `json:"error"`
	AttemptedAt   int64   `json:"attemptedAt"`
	DeliveredAt   *int64  `json:"deliveredAt"`
	NextAttemptAt *int64  `json:"nextAttemptAt"`
}

// Deleted is the answer to a delete.
type Deleted struct {
	Object  string `json:"object"`
	ID      string `json:"id"`
	Deleted bool   `json:"deleted"`
}
