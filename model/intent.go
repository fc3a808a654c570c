package model

// Intent statuses.
const (
	IntentPending    = "pending"
	IntentMatched    = "matched"
	IntentMismatched = "mismatched"
	IntentExpired    = "expired"
	IntentCanceled   = "canceled"
	// IntentPendingApproval waits for a person to approve or reject it;
	// IntentRejected was refused, and refuses the card's credentials.
	IntentPendingApproval = "pending_approval"
	IntentRejected        = "rejected"

	// What required an intent's approval.
	ApprovalByIntent = "intent"
	ApprovalByCard   = "card"
	ApprovalByPolicy = "policy"
)

// Attestation statuses of a transaction.
const (
	Attested   = "attested"
	Unattested = "unattested"
	Stale      = "stale"
)

// MatchResult is how a transaction compared with the intent it resolved.
type MatchResult struct {
	AmountMatch    bool   `json:"amountMatch"`
	MerchantMatch  bool   `json:"merchantMatch"`
	ActualAmount   int64  `json:"actualAmount"`
	ActualMerchant string `json:"actualMerchant"`
}

// Intent is a declaration, before spending, of what a card is about to be
// used for.
type Intent struct {
	ID                string         `json:"id"`
	CardID            string         `json:"cardId"`
	AgentID           string         `json:"agentId"`
	UserID            string         `json:"userId"`
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
	CreatedAt         int64          `json:"createdAt"`
	UpdatedAt         int64          `json:"updatedAt"`
	ExpiresAt         int64          `json:"expiresAt"`
	MatchedAt         int64          `json:"matchedAt,omitempty"`
	MismatchedAt      int64          `json:"mismatchedAt,omitempty"`
	ExpiredAt         int64          `json:"expiredAt,omitempty"`
	CanceledAt        int64          `json:"canceledAt,omitempty"`
	// Approval: an intent declared with approval required starts
	// pending_approval; ApprovedBy and RejectedBy name the API key that
	// decided (its display prefix).
	ApprovalRequired bool `json:"approvalRequired,omitempty"`
	// ApprovalRequiredBy says what required the approval: the intent's
	// own requireApproval, the card's or the card's policy's.
	ApprovalRequiredBy string `json:"approvalRequiredBy,omitempty"`
	ApprovedAt         int64  `json:"approvedAt,omitempty"`
	ApprovedBy         string `json:"approvedBy,omitempty"`
	RejectedAt         int64  `json:"rejectedAt,omitempty"`
	RejectedBy         string `json:"rejectedBy,omitempty"`
	RejectionReason    string `json:"rejectionReason,omitempty"`
}

// DetailsToken is a single-use token an extensionOnly card's details call
// returns; the browser extension redeems it once for the credentials.
type DetailsToken struct {
	Hash          []byte `json:"hash"`
	CardID        string `json:"cardId"`
	UserID        string `json:"userId"`
	AccessEventID string `json:"accessEventId"`
	ExpiresAt     int64  `json:"expiresAt"`
	RedeemedAt    int64  `json:"redeemedAt,omitempty"`
}
