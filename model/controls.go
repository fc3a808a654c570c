package model

// ID prefixes of withdrawals and disputes (dsp_ is the platform's).
const (
	PrefixWithdrawal = "wdr"
	PrefixDispute    = "dsp"
)

// Withdrawal statuses (the platform's enum). A withdrawal is submitted
// when it is made (its funds leave at once) and stays so until the
// simulated chain decides it (POST /v1/simulate/withdrawal/{id}/resolve):
// confirmed, or failed, which returns the funds. pending is never reached.
const (
	WithdrawalPending   = "pending"
	WithdrawalSubmitted = "submitted"
	WithdrawalConfirmed = "confirmed"
	WithdrawalFailed    = "failed"
)

// Withdrawal moves funds out of a user's deposits to an address on a
// chain. Amount is in cents; it leaves both the deposits (creditLimit) and
// the settled balance, so what the user owes does not change.
type Withdrawal struct {
	ID               string `json:"id"`
	UserID           string `json:"userId"`
	ChainID          int    `json:"chainId"`
	TokenAddress     string `json:"tokenAddress"`
	AmountCents      int64  `json:"amountCents"`
	RecipientAddress string `json:"recipientAddress"`
	Status           string `json:"status"`
	TransactionHash  string `json:"transactionHash,omitempty"`
	CreatedAt        int64  `json:"createdAt"`
	UpdatedAt        int64  `json:"updatedAt"`
	ConfirmedAt      int64  `json:"confirmedAt,omitempty"`
	FailedAt         int64  `json:"failedAt,omitempty"`
	FailureReason    string `json:"failureReason,omitempty"`
}

// Dispute statuses: the platform's API enum (accepted is a chargeback won,
// rejected one lost).
const (
	DisputePending  = "pending"
	DisputeInReview = "inReview"
	DisputeAccepted = "accepted"
	DisputeRejected = "rejected"
	DisputeCanceled = "canceled"
)

// Dispute outcomes, as the simulated resolution names them.
const (
	DisputeWon  = "won"
	DisputeLost = "lost"
)

// DisputeReasons are the reasons a dispute may give.
var DisputeReasons = []string{"unauthorized", "duplicate", "product_not_received", "product_unacceptable", "credit_not_processed", "other"}

// Dispute contests a completed purchase with its issuer.
type Dispute struct {
	ID            string `json:"id"`
	TransactionID string `json:"transactionId"`
	CardID        string `json:"cardId"`
	AgentID       string `json:"agentId"`
	UserID        string `json:"userId"`
	// AmountCents is what the purchase had captured, less what was
	// refunded, when the dispute was opened.
	AmountCents  int64  `json:"amountCents"`
	Reason       string `json:"reason"`
	Description  string `json:"description,omitempty"`
	TextEvidence string `json:"textEvidence,omitempty"`
	// IssuerDisputeID is the card issuer's own reference (the platform's
	// rainDisputeId).
	IssuerDisputeID string           `json:"issuerDisputeId"`
	Status          string           `json:"status"`
	Outcome         string           `json:"outcome,omitempty"`
	Evidence        *DisputeEvidence `json:"evidence,omitempty"`
	// CreditTransactionID is the refund a won dispute credited.
	CreditTransactionID string `json:"creditTransactionId,omitempty"`
	CreditCents         int64  `json:"creditCents,omitempty"`
	CreatedAt           int64  `json:"createdAt"`
	UpdatedAt           int64  `json:"updatedAt"`
	ResolvedAt          int64  `json:"resolvedAt,omitempty"`
	CanceledAt          int64  `json:"canceledAt,omitempty"`
}

// DisputeEvidence describes the file uploaded for a dispute; the bytes
// are a blob of their own.
type DisputeEvidence struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	MimeType   string `json:"mimeType"`
	SizeBytes  int64  `json:"sizeBytes"`
	UploadedAt int64  `json:"uploadedAt"`
}
