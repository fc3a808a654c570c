package authz

import (
	"time"

	"github.com/ledgersim/ledgersim/model"
)

// Response codes (ISO 8583 DE 39) of the profile.
const (
	CodeApproved          = "00"
	CodeDoNotHonor        = "05"
	CodeInvalidTxn        = "12"
	CodeInvalidAmount     = "13"
	CodeInvalidCard       = "14"
	CodeNoOriginal        = "25"
	CodeFormatError       = "30"
	CodeInsufficientFunds = "51"
	CodeExpiredCard       = "54"
	CodeNotPermitted      = "57"
	CodeAmountLimit       = "61"
	CodeRestrictedCard    = "62"
	CodeFrequencyLimit    = "65"
	CodeCVVMismatch       = "82"
	CodeDuplicate         = "94"
	CodeSystemError       = "96"
)

// Decline reasons: the platform's, and more precise ones where the response
// code says more.
const (
	ReasonInsufficientFunds = "insufficient_funds"
	ReasonCardFrozen        = "card_frozen"
	ReasonCardClosed        = "card_closed"
	ReasonCardNotActivated  = "card_not_activated"
	ReasonSpendingLimit     = "spending_limit_exceeded"
	ReasonBlockedMerchant   = "blocked_merchant"
	ReasonMerchantDrift     = "merchant_drift"
	ReasonUserNotVerified   = "user_not_verified"
	ReasonUserDenied        = "user_denied"
	ReasonUserLocked        = "user_locked"
	ReasonUserCanceled      = "user_canceled"
	ReasonAgentSuspended    = "agent_suspended"
	ReasonExpiredCard       = "card_expired"
	ReasonInvalidExpiry     = "invalid_expiry"
	ReasonCVVMismatch       = "cvv_mismatch"
	ReasonCurrency          = "currency_not_supported"
	ReasonCardUsed          = "card_already_used"
	ReasonAuthCount         = "auth_count_exceeded"
	ReasonAgentLimit        = "agent_spending_limit_exceeded"
	ReasonInvalidCard       = "invalid_card_number"
	ReasonInvalidAmount     = "invalid_amount"
	ReasonDuplicate         = "duplicate_transmission"
	ReasonInvalidTxn        = "invalid_transaction"
	ReasonFormat            = "format_error"
	ReasonBalanceCap        = "balance_cap_exceeded"
)

// MaxBalanceCents bounds a user's balance: deposits and credits that would
// take it past this are refused, so that no sum of balances can overflow
// int64.
const MaxBalanceCents = int64(1) << 50

// Kind of authorization request.
type Kind uint8

// Request kinds.
const (
	Purchase Kind = iota
	Refund
	BalanceInquiry
	Verification // a zero-amount purchase: checks the card, holds nothing
)

// Request is a decoded authorization, whatever its source.
type Request struct {
	Kind        Kind
	AmountCents int64
	Currency    string // ISO 4217 numeric, e.g. "840"
	Expiry      string // YYMM as presented, "" when absent
	// CVVPresent and CVVMatch are filled by the caller, which holds the key
	// to derive the card's CVV2.
	CVVPresent bool
	CVVMatch   bool
	MerchantID string
	// MerchantKey is the merchant as compared for locks and hints: the
	// caller's normalization of the merchant name.
	MerchantKey string
	MCC         string
	// Advice marks a stand-in authorization (0120) the network already
	// approved: it is recorded, never declined on policy.
	Advice bool
}

// Input is everything a decision reads. Nothing is modified.
type Input struct {
	Req   *Request
	Card  *model.Card
	Agent *model.Agent
	User  *model.User
	// HintKey is the normalized merchantHint ("" when none).
	HintKey string
	Now     time.Time
	// Zone is the location of the card's activeTimezone (nil: UTC); the
	// caller loads it, so that deciding reads no files.
	Zone *time.Location
	// Declared is the amount the purchase was declared at, by the card's
	// pending intent or its last credential access, for intentTolerance;
	// HasDeclared is false when nothing declared an amount.
	Declared    int64
	HasDeclared bool
}

// Decision is the outcome. A decline is a result, not an error.
type Decision struct {
	Code   string
	Reason string
	// Effects beyond the approval itself.
	Drift         bool // merchant differs from merchantHint
	FreezeCard    bool // onDrift freeze
	LimitExceeded bool // agent's spending limit exceeded
	SuspendAgent  bool // onLimitExceeded suspend
	// Expire is what the end of the card's lifetime does to it (freeze or
	// close, see ExpireAction) when that end is not yet recorded, and
	// ExpireReason why it ended.
	Expire, ExpireReason string
}

// Approved reports whether the decision approves.
func (d Decision) Approved() bool { return d.Code == CodeApproved }

func decline(code, reason string) Decision { return Decision{Code: code, Reason: reason} }

// Decide applies the card's, the agent's and the user's rules to a request,
// in the order an issuer would: the card's state, the cardholder, the card
// data presented, then policy limits, then funds. It allocates nothing.
func Decide(in *Input) Decision {
	r, c, a, u := in.Req, in.Card, in.Agent, in.User
	if r.Advice {
		return Decision{Code: CodeApproved}
	}
	if r.Kind == Refund {
		// A credit is accepted on any known card, closed ones included: a
		// single-use card closes after its purchase, and its merchant must
		// still be able to refund it.
		switch {
		case r.Currency != "840":
			return decline(CodeNotPermitted, ReasonCurrency)
		case r.AmountCents <= 0:
			return decline(CodeInvalidAmount, ReasonInvalidAmount)
		case u != nil && u.SettledCents > MaxBalanceCents-r.AmountCents:
			// Written so that the sum cannot overflow.
			return decline(CodeInvalidAmount, ReasonBalanceCap)
		}
		return Decision{Code: CodeApproved}
	}
	// A card past its lifetime declines as expired whatever its status:
	// the end of the lifetime froze or closed it, or will now.
	if Expired(c, in.Now) {
		d := decline(CodeExpiredCard, ReasonExpiredCard)
		d.Expire, d.ExpireReason = ExpireAction(c, in.Now)
		return d
	}
	switch c.Status {
	case model.CardClosed:
		return decline(CodeNotPermitted, ReasonCardClosed)
	case model.CardFrozen:
		return decline(CodeRestrictedCard, ReasonCardFrozen)
	case model.CardNotActivated:
		return decline(CodeRestrictedCard, ReasonCardNotActivated)
	}
	if u.Status != model.UserApproved {
		return decline(CodeRestrictedCard, UserDeclineReason(u))
	}
	if a.Status != model.AgentActive {
		return decline(CodeRestrictedCard, ReasonAgentSuspended)
	}
	if r.Expiry != "" && !expiryMatches(c, r.Expiry) {
		return decline(CodeExpiredCard, ReasonInvalidExpiry)
	}
	if r.CVVPresent && !r.CVVMatch {
		return decline(CodeCVVMismatch, ReasonCVVMismatch)
	}
	if r.Currency != "840" {
		return decline(CodeNotPermitted, ReasonCurrency)
	}
	if r.Kind == BalanceInquiry || r.Kind == Verification {
		return Decision{Code: CodeApproved}
	}
	amt := r.AmountCents
	if amt <= 0 {
		return decline(CodeInvalidAmount, ReasonInvalidAmount)
	}
	if c.Type == model.CardSingle && c.Usage.Used {
		return decline(CodeFrequencyLimit, ReasonCardUsed)
	}
	if d, stop := checkControls(in); stop {
		return d
	}
	if c.MaxAuthCount != nil && c.Usage.AuthCount >= *c.MaxAuthCount {
		return decline(CodeFrequencyLimit, ReasonAuthCount)
	}
	if c.MaxAmount != nil && amt > *c.MaxAmount {
		return decline(CodeAmountLimit, ReasonSpendingLimit)
	}
	if l := c.Limits.PerAuth; l != nil && amt > *l {
		return decline(CodeAmountLimit, ReasonSpendingLimit)
	}
	if l := c.Limits.PerDay; l != nil && DaySpend(c, in.Now)+amt > *l {
		return decline(CodeAmountLimit, ReasonSpendingLimit)
	}
	if l := c.Limits.PerMonth; l != nil && MonthSpend(c, in.Now)+amt > *l {
		return decline(CodeAmountLimit, ReasonSpendingLimit)
	}
	if !withinLongLimits(c, in.Now, amt) {
		return decline(CodeAmountLimit, ReasonSpendingLimit)
	}
	var d Decision
	// Merchant controls: a hint, when set, governs by onDrift; otherwise a
	// multi-use card locks to the first merchant it was used at.
	if in.HintKey != "" {
		if r.MerchantKey != in.HintKey {
			switch c.OnDrift {
			case model.DriftFreeze:
				return Decision{Code: CodeDoNotHonor, Reason: ReasonMerchantDrift, Drift: true, FreezeCard: true}
			case model.DriftNone:
			default: // notify, the default for a hinted card
				d.Drift = true
			}
		}
	} else if c.Type == model.CardMulti && c.Usage.LockedMerchant != "" && c.Usage.LockedMerchant != LockKey(r.MerchantID, r.MerchantKey) {
		return decline(CodeDoNotHonor, ReasonBlockedMerchant)
	}
	if a.SpendingLimit != nil {
		over := amt > *a.SpendingLimit
		if a.SpendingLimitFrequency != model.FreqPerTransaction {
			over = AgentSpend(a, in.Now)+amt > *a.SpendingLimit
		}
		if over {
			switch a.OnLimitExceeded {
			case model.OnLimitNotify:
				d.LimitExceeded = true
			case model.OnLimitSuspend:
				return Decision{Code: CodeAmountLimit, Reason: ReasonAgentLimit, LimitExceeded: true, SuspendAgent: true}
			default:
				return decline(CodeAmountLimit, ReasonAgentLimit)
			}
		}
	}
	if amt > u.AvailableCents() {
		return Decision{Code: CodeInsufficientFunds, Reason: ReasonInsufficientFunds}
	}
	d.Code = CodeApproved
	return d
}

// LockKey is what a multi-use card locks to: the acquirer's merchant ID and
// the normalized merchant name.
func LockKey(merchantID, merchantKey string) string {
	if merchantID == "" {
		return merchantKey
	}
	return merchantID + "|" + merchantKey
}

func expiryMatches(c *model.Card, yymm string) bool {
	y, m := c.ExpYear, c.ExpMonth
	return len(yymm) == 4 && len(y) == 4 && yymm[0:2] == y[2:4] && yymm[2:4] == m
}

// Expired reports whether the card's lifetime (ttlDays, or its expiry date)
// is over at now.
func Expired(c *model.Card, now time.Time) bool {
	return now.UnixMilli() >= ExpiresAt(c)
}

// ExpiresAt is the instant, epoch ms, from which the card declines as
// expired: the end of its ttlDays, or of its expiry month if that is sooner.
func ExpiresAt(c *model.Card) int64 {
	end := ExpiryEnd(c)
	if c.TTLDays != nil {
		end = min(end, c.CreatedAt+*c.TTLDays*int64(24*time.Hour/time.Millisecond))
	}
	if c.TTLMinutes != nil {
		end = min(end, TTLEnd(c))
	}
	return end
}

// ExpiryEnd is the first instant after the card's expiry month, epoch ms.
func ExpiryEnd(c *model.Card) int64 {
	y := atoi(c.ExpYear)
	m := atoi(c.ExpMonth)
	return time.Date(y, time.Month(m)+1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// DaySpend is the card's authorized spend in now's UTC day.
func DaySpend(c *model.Card, now time.Time) int64 {
	if c.Usage.DayStart != DayStart(now) {
		return 0
	}
	return c.Usage.DayCents
}

// MonthSpend is the card's authorized spend in now's UTC month.
func MonthSpend(c *model.Card, now time.Time) int64 {
	if c.Usage.MonthStart != MonthStart(now) {
		return 0
	}
	return c.Usage.MonthCents
}

// AddCardSpend counts new spend against the card's windows at now.
func AddCardSpend(c *model.Card, now time.Time, amount int64) {
	if ds := DayStart(now); c.Usage.DayStart != ds {
		c.Usage.DayStart, c.Usage.DayCents = ds, 0
	}
	if ms := MonthStart(now); c.Usage.MonthStart != ms {
		c.Usage.MonthStart, c.Usage.MonthCents = ms, 0
	}
	c.Usage.DayCents += amount
	c.Usage.MonthCents += amount
	addLongSpend(c, now, amount)
	c.Usage.TotalCents += amount
	c.Usage.LastAuthAt = now.UnixMilli()
}

// AdjustCardSpend changes the spend counted in the card's windows for an
// amount first counted at when (a partial capture, a reversal). It applies
// only to windows that still are the ones containing when: a reversal
// tomorrow does not free today's limit twice.
func AdjustCardSpend(c *model.Card, when time.Time, delta int64) {
	if c.Usage.DayStart == DayStart(when) {
		c.Usage.DayCents = max(0, c.Usage.DayCents+delta)
	}
	if c.Usage.MonthStart == MonthStart(when) {
		c.Usage.MonthCents = max(0, c.Usage.MonthCents+delta)
	}
	adjustLongSpend(c, when, delta)
	// The card's lifetime is always the window containing when.
	c.Usage.TotalCents = max(0, c.Usage.TotalCents+delta)
}
