package model

// Transaction statuses, as the Transactions page names them.
const (
	TxnAuthorized = "authorized"
	TxnCompleted  = "completed"
	TxnReversed   = "reversed"
	TxnDeclined   = "declined"
)

// Transaction kinds.
const (
	KindPurchase     = "purchase"
	KindRefund       = "refund"
	KindVerification = "verification"
)

// Transaction is one card transaction: an authorization and what became of
// it (clearing, reversal, expiry), a force post, a refund or a decline.
type Transaction struct {
	ID      string `json:"id"`
	CardID  string `json:"cardId"`
	AgentID string `json:"agentId"`
	UserID  string `json:"userId"`
	Kind    string `json:"kind"`
	Status  string `json:"status"`

	// AmountCents is the transaction's current amount: the authorized amount
	// until clearing, then the captured one; less after a partial reversal.
	AmountCents           int64 `json:"amountCents"`
	AuthorizedAmountCents int64 `json:"authorizedAmountCents"`
	// RequestedAmountCents is what the authorization asked for when a
	// partial approval authorized less (response code 10); 0 otherwise.
	RequestedAmountCents int64 `json:"requestedAmountCents,omitempty"`
	// HoldCents is what the transaction holds of the user's balance now.
	HoldCents     int64  `json:"holdCents"`
	ReversedCents int64  `json:"reversedCents,omitempty"`
	RefundedCents int64  `json:"refundedCents,omitempty"`
	Currency      string `json:"currency"`

	MerchantName    string `json:"merchantName"`
	MerchantID      string `json:"merchantId,omitempty"`
	MerchantCity    string `json:"merchantCity,omitempty"`
	MerchantCountry string `json:"merchantCountry,omitempty"`
	MCC             string `json:"mcc,omitempty"`

	ResponseCode      string `json:"responseCode"`
	AuthorizationCode string `json:"authorizationCode,omitempty"`
	DeclinedReason    string `json:"declinedReason,omitempty"`
	ReversalReason    string `json:"reversalReason,omitempty"`
	ForcePost         bool   `json:"forcePost,omitempty"`
	StandIn           bool   `json:"standIn,omitempty"`
	OriginalID        string `json:"originalId,omitempty"`

	// Network identity of the message that created the transaction.
	Source     string `json:"source"` // "iso" or "api"
	MTI        string `json:"mti,omitempty"`
	STAN       string `json:"stan,omitempty"`
	RRN        string `json:"rrn,omitempty"`
	TxnTime    string `json:"txnTime,omitempty"` // DE 7
	TerminalID string `json:"terminalId,omitempty"`
	AcquirerID string `json:"acquirerId,omitempty"`
	// Fingerprint identifies the content of the message that created the
	// transaction, so that a repeat can be told from a reuse of its STAN
	// and RRN with other content.
	Fingerprint uint64 `json:"fingerprint,omitempty"`

	IntentID          string `json:"intentId,omitempty"`
	AttestationStatus string `json:"attestationStatus,omitempty"`
	AccessEventID     string `json:"accessEventId,omitempty"`

	Notes    *string  `json:"notes,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	Category *string  `json:"category,omitempty"`
	Receipt  *Receipt `json:"receipt,omitempty"`

	CreatedAt    int64 `json:"createdAt"`
	UpdatedAt    int64 `json:"updatedAt"`
	AuthorizedAt int64 `json:"authorizedAt,omitempty"`
	SettledAt    int64 `json:"settledAt,omitempty"`
	ReversedAt   int64 `json:"reversedAt,omitempty"`
	// HoldExpiresAt is when an uncleared authorization releases its hold.
	HoldExpiresAt int64 `json:"holdExpiresAt,omitempty"`
	// AutoSettleAt is when an authorization still open is completed for
	// its amount, as a network's clearing file would (auto-settle); 0 when
	// auto-settle was off when it was approved.
	AutoSettleAt int64 `json:"autoSettleAt,omitempty"`
}

// Open reports whether the transaction still holds funds.
func (t *Transaction) Open() bool { return t.Status == TxnAuthorized }

// Receipt is what is known of a transaction's receipt. The file itself is
// stored under its own key.
type Receipt struct {
	MimeType   string `json:"mimeType"`
	URL        string `json:"url,omitempty"`
	SizeBytes  int64  `json:"sizeBytes,omitempty"`
	FileName   string `json:"fileName,omitempty"`
	UploadedAt int64  `json:"uploadedAt"`
}
