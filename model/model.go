package model

// User statuses. Status is the coarse state that gates spending;
// ApplicationStatus is the platform's finer KYC state. Both use the
// platform's words (notStarted, pending, approved, denied, ...).
const (
	UserPending  = "pending"
	UserApproved = "approved"
	UserDenied   = "denied"
	// UserRejected is the old name of UserDenied.
	//
	// Deprecated: use UserDenied.
	UserRejected = UserDenied
	// RejectedAlias is how stores written before the platform's vocabulary
	// was adopted spell UserDenied, and a decision clients may still send;
	// it is read as UserDenied.
	RejectedAlias = "rejected"

	// UserLocked and UserCanceled are the coarse statuses of a locked
	// account and a canceled application.
	UserLocked   = "locked"
	UserCanceled = "canceled"

	AppNotStarted        = "notStarted"
	AppPending           = "pending"
	AppNeedsInformation  = "needsInformation"
	AppNeedsVerification = "needsVerification"
	AppManualReview      = "manualReview"
	AppApproved          = "approved"
	AppDenied            = "denied"
	AppLocked            = "locked"
	AppCanceled          = "canceled"
)

// ApplicationStatuses lists the platform's KYC application statuses.
var ApplicationStatuses = []string{AppNotStarted, AppPending, AppNeedsInformation, AppNeedsVerification,
	AppManualReview, AppApproved, AppDenied, AppLocked, AppCanceled}

// UserStatuses lists the coarse statuses.
var UserStatuses = []string{UserPending, UserApproved, UserDenied, UserLocked, UserCanceled}

// StatusOfApplication is the coarse status an application status gives:
// everything short of a decision is pending; only approved may spend.
func StatusOfApplication(app string) string {
	switch app {
	case AppApproved:
		return UserApproved
	case AppDenied:
		return UserDenied
	case AppLocked:
		return UserLocked
	case AppCanceled:
		return UserCanceled
	}
	return UserPending
}

// User is a funding account holder and the unit of sharding: the user, their
// agents, cards and holds live in one shard.
type User struct {
	ID                string         `json:"id"`
	FirstName         string         `json:"firstName"`
	LastName          string         `json:"lastName"`
	Email             string         `json:"email"`
	Status            string         `json:"status"`
	ApplicationStatus string         `json:"applicationStatus"`
	Metadata          map[string]any `json:"metadata,omitempty"`
	CreatedAt         int64          `json:"createdAt"`
	UpdatedAt         int64          `json:"updatedAt"`
	ApprovedAt        int64          `json:"approvedAt,omitempty"`
	RejectedAt        int64          `json:"rejectedAt,omitempty"`
	// VerificationToken is the secret part of the hosted KYC page's URL.
	VerificationToken string `json:"verificationToken,omitempty"`

	// Balance, in cents. Available is derived: SettledCents - PendingCents.
	DepositedCents int64 `json:"depositedCents"`
	SettledCents   int64 `json:"settledCents"`
	PendingCents   int64 `json:"pendingCents"`
}

// Canonicalize rewrites a status spelled the old way in the platform's
// vocabulary.
func (u *User) Canonicalize() {
	if u.Status == RejectedAlias {
		u.Status = UserDenied
	}
}

// AvailableCents is what the user can spend now.
func (u *User) AvailableCents() int64 { return u.SettledCents - u.PendingCents }

// Agent statuses.
const (
	AgentActive       = "active"
	AgentSuspended    = "suspended"
	AgentDeregistered = "deregistered"
)

// Spending-limit frequencies of an agent.
const (
	FreqPerTransaction = "perTransaction"
	FreqPer24Hours     = "per24HourPeriod"
	FreqPerWeek        = "perWeek"
	FreqPerMonth       = "perMonth"
	FreqPerYear        = "perYear"
	FreqAllTime        = "allTime"
)

// Frequencies lists every valid spending-limit frequency.
var Frequencies = []string{FreqPerTransaction, FreqPer24Hours, FreqPerWeek, FreqPerMonth, FreqPerYear, FreqAllTime}

// What happens when an agent's spending limit would be exceeded.
const (
	OnLimitSuspend = "suspend"
	OnLimitNotify  = "notify"
	OnLimitNone    = "none"
)

// OnLimitActions lists every valid onLimitExceeded value.
var OnLimitActions = []string{OnLimitSuspend, OnLimitNotify, OnLimitNone}

// Agent spends on behalf of a user through its cards.
type Agent struct {
	ID                        string         `json:"id"`
	ExternalID                string         `json:"externalId,omitempty"`
	UserID                    string         `json:"userId"`
	Name                      string         `json:"name"`
	Description               string         `json:"description,omitempty"`
	Status                    string         `json:"status"`
	SpendingLimit             *int64         `json:"spendingLimit,omitempty"`
	SpendingLimitFrequency    string         `json:"spendingLimitFrequency,omitempty"`
	OnLimitExceeded           string         `json:"onLimitExceeded"`
	MaxCards                  *int64         `json:"maxCards,omitempty"`
	CardCount                 int64          `json:"cardCount"`
	DefaultCardLimit          *int64         `json:"defaultCardLimit,omitempty"`
	DefaultCardLimitFrequency string         `json:"defaultCardLimitFrequency,omitempty"`
	DefaultPolicyID           string         `json:"defaultPolicyId,omitempty"`
	Metadata                  map[string]any `json:"metadata,omitempty"`
	CreatedAt                 int64          `json:"createdAt"`
	UpdatedAt                 int64          `json:"updatedAt"`
	DeregisteredAt            int64          `json:"deregisteredAt,omitempty"`

	// Spend tracks the agent's spending against its limit (see SpendWindow).
	Spend SpendWindow `json:"spend"`
}

// SpendWindow is an agent's spend in its current limit period. The window is
// identified by its start (epoch ms); a decision in a later window starts
// from zero.
type SpendWindow struct {
	WindowStart int64 `json:"windowStart"`
	Cents       int64 `json:"cents"`
	// Recent holds the per-hour buckets of the last 24 hours for the rolling
	// per24HourPeriod frequency: Hours[i] is the spend of the hour whose
	// index (epoch hours) is HourIndex[i].
	HourIndex [24]int64 `json:"hourIndex"`
	Hours     [24]int64 `json:"hours"`
}

// Card types.
const (
	CardSingle = "single"
	CardMulti  = "multi"
)

// Card statuses.
const (
	CardActive       = "active"
	CardFrozen       = "frozen"
	CardClosed       = "closed"
	CardNotActivated = "notActivated"
)

// Credential exposure modes.
const (
	ExposureNever     = "never"
	ExposureExtension = "extensionOnly"
	ExposureRawPAN    = "rawPan"
)

// onDrift actions.
const (
	DriftFreeze = "freeze"
	DriftNotify = "notify"
	DriftNone   = "none"
)

// Limits are a card's amount limits in cents; nil means no limit.
type Limits struct {
	PerAuth  *int64 `json:"perAuth,omitempty"`
	PerDay   *int64 `json:"perDay,omitempty"`
	PerMonth *int64 `json:"perMonth,omitempty"`
	// PerWeek, PerYear and AllTime hold an agent's defaultCardLimit given
	// with those frequencies (weeks start Monday 00:00 UTC, years on
	// 1 January UTC; allTime is the card's whole life).
	PerWeek *int64 `json:"perWeek,omitempty"`
	PerYear *int64 `json:"perYear,omitempty"`
	AllTime *int64 `json:"allTime,omitempty"`
}

// Card is a virtual card issued to an agent.
type Card struct {
	ID                       string `json:"id"`
	AgentID                  string `json:"agentId"`
	UserID                   string `json:"userId"`
	Type                     string `json:"type"`
	Purpose                  string `json:"purpose"`
	Status                   string `json:"status"`
	CredentialExposure       string `json:"credentialExposure"`
	AcknowledgeRawPanRisk    bool   `json:"acknowledgeRawPanRisk,omitempty"`
	MaxAmount                *int64 `json:"maxAmount,omitempty"`
	MerchantHint             string `json:"merchantHint,omitempty"`
	Limits                   Limits `json:"limits"`
	MaxAuthCount             *int64 `json:"maxAuthCount,omitempty"`
	TTLDays                  *int64 `json:"ttlDays,omitempty"`
	AttestationWindowMinutes int64  `json:"attestationWindowMinutes"`
	OnDrift                  string `json:"onDrift,omitempty"`
	// PolicyID names the card's own policy; without one, its agent's
	// defaultPolicyId applies. The card's own Controls override it.
	PolicyID string `json:"policyId,omitempty"`
	Controls
	CreatedAt int64 `json:"createdAt"`
	UpdatedAt int64 `json:"updatedAt"`
	ClosedAt  int64 `json:"closedAt,omitempty"`
	// AwaitingActivation marks a card issued notActivated and not yet
	// activated: frozen and unfrozen meanwhile, it is notActivated again.
	// ActivatedAt is when it was activated.
	AwaitingActivation bool  `json:"awaitingActivation,omitempty"`
	ActivatedAt        int64 `json:"activatedAt,omitempty"`
	// ExpiredAt is when the end of the card's lifetime was recorded
	// (card.expired): its onExpiry froze or closed it then.
	ExpiredAt int64 `json:"expiredAt,omitempty"`
	// FrozenBySuspension marks a card frozen because its agent was
	// suspended, so that reactivating the agent unfreezes exactly those.
	FrozenBySuspension bool `json:"frozenBySuspension,omitempty"`

	// Card data. PANEnc is the PAN sealed with the vault's key; PANHash is
	// its keyed hash (hex), the only form in which a PAN is looked up.
	PANEnc   []byte `json:"panEnc"`
	PANHash  string `json:"panHash"`
	BIN      string `json:"bin"`
	Last4    string `json:"last4"`
	ExpMonth string `json:"expMonth"`
	ExpYear  string `json:"expYear"`

	// Usage counters, maintained by decisions.
	Usage CardUsage `json:"usage"`
}

// Expiry returns the card's expiry as YYMM, the form of ISO 8583 DE 14.
func (c *Card) Expiry() string {
	return c.ExpYear[len(c.ExpYear)-2:] + c.ExpMonth
}

// MaskedPAN is the PAN as it may be shown anywhere but the card-details
// response: BIN and last four.
func (c *Card) MaskedPAN() string { return c.BIN + "******" + c.Last4 }

// CardUsage is what a card's limits are checked against. Day and month
// windows are UTC calendar periods identified by their start (epoch ms).
type CardUsage struct {
	AuthCount      int64  `json:"authCount"`
	DayStart       int64  `json:"dayStart"`
	DayCents       int64  `json:"dayCents"`
	MonthStart     int64  `json:"monthStart"`
	MonthCents     int64  `json:"monthCents"`
	LockedMerchant string `json:"lockedMerchant,omitempty"`
	// Used marks a single-use card that has an open or settled authorization.
	Used bool `json:"used,omitempty"`
	// The last card-details access, for attestation correlation.
	LastAccessAt      int64  `json:"lastAccessAt,omitempty"`
	LastAccessEventID string `json:"lastAccessEventId,omitempty"`
	// RecentAccesses are the times of the last accesses (newest last), for
	// the limit on credential retrievals per hour.
	RecentAccesses []int64 `json:"recentAccesses,omitempty"`
	// LastAuthAt is the time of the last approved purchase (cooldown);
	// TotalCents is everything the card has spent, less what was released
	// (cumulativeMax).
	LastAuthAt int64 `json:"lastAuthAt,omitempty"`
	TotalCents int64 `json:"totalCents,omitempty"`
	// Week and year windows, like the day and month ones: the ISO week
	// (from Monday 00:00 UTC) and the UTC calendar year.
	WeekStart int64 `json:"weekStart,omitempty"`
	WeekCents int64 `json:"weekCents,omitempty"`
	YearStart int64 `json:"yearStart,omitempty"`
	YearCents int64 `json:"yearCents,omitempty"`
}

// AgentToken is an agent-scoped credential. Only its hash is kept.
type AgentToken struct {
	ID          string `json:"id"`
	AgentID     string `json:"agentId"`
	UserID      string `json:"userId"`
	Hash        []byte `json:"hash"`
	TokenPrefix string `json:"tokenPrefix"`
	Name        string `json:"name,omitempty"`
	CreatedAt   int64  `json:"createdAt"`
	ExpiresAt   int64  `json:"expiresAt,omitempty"`
	LastUsedAt  int64  `json:"lastUsedAt,omitempty"`
	RevokedAt   int64  `json:"revokedAt,omitempty"`
}

// Active reports whether the token may be used at nowMs.
func (t *AgentToken) Active(nowMs int64) bool {
	return t.RevokedAt == 0 && (t.ExpiresAt == 0 || nowMs < t.ExpiresAt)
}

// AccessEvent records one read of a card's credentials and what the caller
// claimed it was for (the attestation).
type AccessEvent struct {
	ID               string         `json:"id"`
	CardID           string         `json:"cardId"`
	AgentID          string         `json:"agentId"`
	UserID           string         `json:"userId"`
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

// Event is a recorded state change, written in the same batch as the change.
type Event struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	CreatedAt int64  `json:"createdAt"`
	Data      any    `json:"data"`
}

// Event types.
const (
	EvtUserApproved = "user.approved"
	EvtUserRejected = "user.rejected"
	// EvtUserNeedsInfo is the catalogue's event for an application that
	// needs more information; EvtUserUpdated records the other KYC status
	// changes short of approval and denial.
	EvtUserNeedsInfo         = "user.application.needs_info"
	EvtUserUpdated           = "user.updated"
	EvtDepositCompleted      = "deposit.completed"
	EvtAgentCreated          = "agent.created"
	EvtAgentSuspended        = "agent.suspended"
	EvtAgentActivated        = "agent.activated"
	EvtAgentDeregistered     = "agent.deregistered"
	EvtAgentLimitExceeded    = "agent.limit_exceeded"
	EvtCardCreated           = "card.created"
	EvtCardFrozen            = "card.frozen"
	EvtCardUnfrozen          = "card.unfrozen"
	EvtCardClosed            = "card.closed"
	EvtCardExpired           = "card.expired"
	EvtCardActivated         = "card.activated"
	EvtCardMerchantDrift     = "card.merchant_drift"
	EvtCardAnomaly           = "card.anomaly"
	EvtCredentialAccessed    = "credential.accessed"
	EvtIntentMatched         = "intent.matched"
	EvtIntentMismatched      = "intent.mismatched"
	EvtIntentExpired         = "intent.expired"
	EvtIntentCanceled        = "intent.canceled"
	EvtTxnAuthorized         = "transaction.authorized"
	EvtTxnCompleted          = "transaction.completed"
	EvtTxnReversed           = "transaction.reversed"
	EvtTxnDeclined           = "transaction.declined"
	EvtTxnRefunded           = "transaction.refunded"
	EvtCardAutoFrozen        = "card.auto_frozen"
	EvtAgentAutoSuspended    = "agent.auto_suspended"
	EvtRiskAlert             = "risk.alert"
	EvtIntentPendingApproval = "intent.pending_approval"
	EvtIntentApproved        = "intent.approved"
	EvtIntentRejected        = "intent.rejected"
	EvtDisputeCreated        = "dispute.created"
	EvtDisputeResolved       = "dispute.resolved"
	EvtWithdrawalSubmitted   = "withdrawal.submitted"
	EvtWithdrawalConfirmed   = "withdrawal.confirmed"
	EvtWithdrawalFailed      = "withdrawal.failed"
	// EvtDisputeCanceled is ledgersim's: the platform's catalogue names no
	// event for a dispute withdrawn by the cardholder.
	EvtDisputeCanceled = "dispute.canceled"
)

// EventTypes lists every event type the ledger records, in catalogue order.
var EventTypes = []string{
	EvtUserApproved, EvtUserRejected, EvtUserNeedsInfo, EvtUserUpdated, EvtDepositCompleted,
	EvtAgentCreated, EvtAgentSuspended, EvtAgentActivated, EvtAgentDeregistered, EvtAgentLimitExceeded,
	EvtCardCreated, EvtCardFrozen, EvtCardUnfrozen, EvtCardClosed, EvtCardExpired, EvtCardActivated, EvtCardMerchantDrift, EvtCardAnomaly,
	EvtCredentialAccessed,
	EvtIntentMatched, EvtIntentMismatched, EvtIntentExpired, EvtIntentCanceled,
	EvtTxnAuthorized, EvtTxnCompleted, EvtTxnReversed, EvtTxnDeclined, EvtTxnRefunded,
	EvtPolicyCreated, EvtPolicyUpdated, EvtCardAutoFrozen, EvtAgentAutoSuspended, EvtRiskAlert, EvtRiskSettingsUpdated,
	EvtIntentPendingApproval, EvtIntentApproved, EvtIntentRejected,
	EvtDisputeCreated, EvtDisputeResolved,
	EvtWithdrawalSubmitted, EvtWithdrawalConfirmed,
	EvtWithdrawalFailed, EvtDisputeCanceled,
}
