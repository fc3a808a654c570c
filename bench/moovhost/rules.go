package moovhost

import (
	"context"
	"time"

	"github.com/ledgersim/ledgersim/bench/seed"
)

// Response codes (DE 39) the peer hosts answer, a subset of the profile's.
const (
	CodeApproved          = "00"
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
	CodeCVVMismatch       = "82"
	CodeDuplicate         = "94"
	CodeSystemError       = "96"
)

// OverCapturePct is how far above the authorized amount a clearing may
// capture, as ledgersim's default --over-capture-pct.
const OverCapturePct = 20

// Request is what the rules read of a message.
type Request struct {
	MTI              string // 0100, 0101, 0220, 0400, 0401
	PAN              string // DE 2
	ProcessingCode   string // DE 3, six digits
	AmountCents      int64  // DE 4
	STAN             string // DE 11, six digits
	Expiry           string // DE 14, YYMM; "" when absent
	RRN              string // DE 37
	AuthCode         string // DE 38, on clearings and reversals
	CVV              string // DE 48 sub-element 92
	HasCVV           bool
	Currency         string // DE 49
	ReplacementCents int64  // DE 95, first 12 digits: what remains after a partial reversal
	HasReplacement   bool
}

// Refund reports whether the request is a credit (processing code 20xxxx).
func (r *Request) Refund() bool { return len(r.ProcessingCode) == 6 && r.ProcessingCode[:2] == "20" }

// Answer is a ledger's reply to one request.
type Answer struct {
	Code     string // DE 39
	AuthCode string // DE 38, on approvals of 0100/0101
}

// Ledger keeps the cards, balances and authorizations of a peer host and
// applies the rules to each request. Memory keeps them in Go maps; the
// PostgreSQL peer (bench/pghost) in tables. Methods are called from many
// goroutines at once.
type Ledger interface {
	// Authorize answers an 0100 or an 0101: a purchase, a refund, or the
	// repeat of one (the same STAN and RRN get the first answer again).
	Authorize(ctx context.Context, r *Request) Answer
	// Capture answers an 0220: the clearing of the approval found by
	// DE 37, DE 38 and DE 2.
	Capture(ctx context.Context, r *Request) Answer
	// Reverse answers an 0400 or 0401: the reversal of the approval
	// found like a clearing's, partial when DE 95 is present.
	Reverse(ctx context.Context, r *Request) Answer
}

// CardRules is what a purchase decision reads of a card.
type CardRules struct {
	Status         string // seed.StatusActive, StatusFrozen or StatusClosed
	Expiry         string // YYMM
	MaxAmountCents int64
}

// DecidePurchase applies the core rules to a purchase, in the order
// ledgersim applies them: card status, the expiry date presented (DE 14)
// and the card's own, the CVV2, the currency, the per-card limit, then
// funds. cvvMismatch is the caller's comparison of the CVV2 presented with
// the card's; availableCents is the account's balance less its holds. It
// is a pure function: the two peers share it, so they decide alike.
func DecidePurchase(c CardRules, cvvMismatch bool, availableCents int64, r *Request, now time.Time) string {
	switch c.Status {
	case seed.StatusActive:
	case seed.StatusClosed:
		return CodeNotPermitted
	default:
		return CodeRestrictedCard
	}
	if r.Expiry != "" && r.Expiry != c.Expiry {
		return CodeExpiredCard
	}
	if Expired(c.Expiry, now) {
		return CodeExpiredCard
	}
	if cvvMismatch {
		return CodeCVVMismatch
	}
	if r.Currency != "840" {
		return CodeNotPermitted
	}
	switch {
	case r.AmountCents < 0:
		return CodeInvalidAmount
	case r.AmountCents == 0:
		return CodeApproved // an account verification: nothing is held
	case r.AmountCents > c.MaxAmountCents:
		return CodeAmountLimit
	case r.AmountCents > availableCents:
		return CodeInsufficientFunds
	}
	return CodeApproved
}

// DecideRefund applies the rules to a credit: accepted on any known card,
// in dollars, for a positive amount.
func DecideRefund(r *Request) string {
	switch {
	case r.Currency != "840":
		return CodeNotPermitted
	case r.AmountCents <= 0:
		return CodeInvalidAmount
	}
	return CodeApproved
}

// Expired reports whether a card with expiry yymm (20YY) is past the end
// of its expiry month at now. A malformed expiry counts as expired.
func Expired(yymm string, now time.Time) bool {
	if len(yymm) != 4 {
		return true
	}
	n := 0
	for i := 0; i < 4; i++ {
		c := yymm[i]
		if c < '0' || c > '9' {
			return true
		}
		n = n*10 + int(c-'0')
	}
	y, m := 2000+n/100, n%100
	if m < 1 || m > 12 {
		return true
	}
	return !now.Before(time.Date(y, time.Month(m)+1, 1, 0, 0, 0, 0, time.UTC))
}

// CaptureLimit is the most a clearing of an authorization of amount may
// capture.
func CaptureLimit(amountCents int64) int64 {
	return amountCents + amountCents*OverCapturePct/100
}
