package moovhost

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/ledgersim/ledgersim/bench/seed"
)

func TestDecidePurchase(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 6, 15, 0, 0, 0, 0, time.UTC)
	card := CardRules{Status: seed.StatusActive, Expiry: "3012", MaxAmountCents: 1_000}
	req := func(amount int64) *Request {
		return &Request{AmountCents: amount, Expiry: "3012", Currency: "840"}
	}
	assert.Equal(t, CodeApproved, DecidePurchase(card, false, 1_000, req(1_000), now))
	assert.Equal(t, CodeApproved, DecidePurchase(card, false, 0, req(0), now), "verification")
	assert.Equal(t, CodeInsufficientFunds, DecidePurchase(card, false, 999, req(1_000), now))
	assert.Equal(t, CodeAmountLimit, DecidePurchase(card, false, 1e9, req(1_001), now))
	assert.Equal(t, CodeCVVMismatch, DecidePurchase(card, true, 1e9, req(1), now))
	r := req(1)
	r.Expiry = "3011"
	assert.Equal(t, CodeExpiredCard, DecidePurchase(card, false, 1e9, r, now))
	r = req(1)
	r.Currency = "978"
	assert.Equal(t, CodeNotPermitted, DecidePurchase(card, false, 1e9, r, now))
	old := card
	old.Expiry = "3005"
	r = req(1)
	r.Expiry = ""
	assert.Equal(t, CodeExpiredCard, DecidePurchase(old, false, 1e9, r, now), "past its expiry month")
	frozen := card
	frozen.Status = seed.StatusFrozen
	assert.Equal(t, CodeRestrictedCard, DecidePurchase(frozen, false, 1e9, req(1), now))
	closed := card
	closed.Status = seed.StatusClosed
	assert.Equal(t, CodeNotPermitted, DecidePurchase(closed, false, 1e9, req(1), now))
}

func TestExpired(t *testing.T) {
	t.Parallel()
	at := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	assert.False(t, Expired("3006", at(2030, 6, 30)))
	assert.True(t, Expired("3006", at(2030, 7, 1)))
	assert.True(t, Expired("3013", at(2020, 1, 1)), "month 13")
	assert.True(t, Expired("30x6", at(2020, 1, 1)))
	assert.True(t, Expired("", at(2020, 1, 1)))
}

func TestDecideRefundAndCaptureLimit(t *testing.T) {
	t.Parallel()
	assert.Equal(t, CodeApproved, DecideRefund(&Request{AmountCents: 1, Currency: "840"}))
	assert.Equal(t, CodeInvalidAmount, DecideRefund(&Request{AmountCents: 0, Currency: "840"}))
	assert.Equal(t, CodeNotPermitted, DecideRefund(&Request{AmountCents: 1, Currency: "978"}))
	assert.Equal(t, int64(1_200), CaptureLimit(1_000))
}

func TestParseDE48(t *testing.T) {
	t.Parallel()
	cvv, has, ok := parseDE48("R9203123")
	assert.True(t, ok)
	assert.True(t, has)
	assert.Equal(t, "123", cvv)
	_, has, ok = parseDE48("R1102AB")
	assert.True(t, ok)
	assert.False(t, has)
	_, _, ok = parseDE48("R9209123")
	assert.False(t, ok, "sub-element longer than the field")
}
