package server_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/server"
)

// partialOK is DE 48 with the card's CVV2 and sub-element 61 saying the
// terminal takes a partial approval.
func partialOK(cvv string) string { return isoDE48(cvv) + "61011" }

// TestISOPartialApproval: a purchase above what is left is declined 51
// without DE 48 sub-element 61, and with it approved for what is left (10,
// DE 4 the approved amount, DE 54 a type 57 block with the requested one);
// the hold is the approved amount and the transaction records both.
func TestISOPartialApproval(t *testing.T) {
	h := startISO(t, server.Config{})
	c := h.fundedCard(1_000, nil)
	h.requireReply(h.send("0100", h.purchase(c, 1_500)), "0110", "51")

	req := h.purchase(c, 1_500).with(48, partialOK(c.CVV))
	r := h.send("0100", req)
	h.requireReply(r, "0110", "10")
	require.NotEmpty(t, r.AuthCode)
	amount, err := r.Msg.GetString(4)
	require.NoError(t, err)
	require.Equal(t, "1000", amount)
	de54, err := r.Msg.GetString(54)
	require.NoError(t, err)
	require.Equal(t, "0057840C000000001500", de54)
	require.Equal(t, isoBalance{Available: 0, Pending: 1_000, Settled: 1_000}, h.balance(c.UserID))
	tx := h.lastTxn(c.ID)
	require.Equal(t, "10", isoStr(tx, "responseCode"))
	require.EqualValues(t, 1_000, isoNum(tx, "authorizedAmount"))
	require.EqualValues(t, 1_500, isoNum(tx, "requestedAmount"))
	// A repeat gets the same reply, amounts included.
	again := h.send("0101", req)
	require.Equal(t, r.wire, again.wire)
	// Nothing left: declined, never approved for 0.
	h.requireReply(h.send("0100", h.purchase(c, 500).with(48, partialOK(c.CVV))), "0110", "51")
	// A malformed sub-element 61 is a format error and records nothing.
	h.requireReply(h.send("0100", h.purchase(c, 500).with(48, isoDE48(c.CVV)+"6100")), "0110", "30")
	// The clearing of the partial approval covers what was approved.
	h.requireApproved(h.send("0220", h.followUp(req, 1_000)), "0230")
	require.Equal(t, isoBalance{Available: 0, Pending: 0, Settled: 0}, h.balance(c.UserID))
}

// TestISOIncrementAndAdvice: an 0100 with DE 90 of an open authorization
// grows its hold (the reply carries the original's approval code); an 0120
// with DE 90 sets its amount; a reversal then releases the total. DE 90
// naming nothing open, or another card's authorization, is 25.
func TestISOIncrementAndAdvice(t *testing.T) {
	h := startISO(t, server.Config{})
	c := h.fundedCard(10_000, nil)
	other := h.fundedCard(10_000, nil)
	orig := h.purchase(c, 1_000)
	first := h.send("0100", orig)
	h.requireApproved(first, "0110")

	inc := h.purchase(c, 400).with(90, isoDE90("0100", orig[11], orig[7]))
	r := h.send("0100", inc)
	h.requireApproved(r, "0110")
	require.Equal(t, first.AuthCode, r.AuthCode)
	require.Equal(t, isoBalance{Available: 8_600, Pending: 1_400, Settled: 10_000}, h.balance(c.UserID))
	require.Len(t, h.txns("cardId="+c.ID), 1, "no new transaction")
	require.Equal(t, r.wire, h.send("0101", inc).wire, "a repeat changes nothing")
	require.EqualValues(t, 1_400, h.balance(c.UserID).Pending)
	// Over what is available: declined, nothing changes.
	h.requireReply(h.send("0100", h.purchase(c, 9_000).with(90, isoDE90("0100", orig[11], orig[7]))), "0110", "51")
	// Another card's authorization, or none: 25.
	h.requireReply(h.send("0100", h.purchase(other, 10).with(90, isoDE90("0100", orig[11], orig[7]))), "0110", "25")
	h.requireReply(h.send("0100", h.purchase(c, 10).with(90, isoDE90("0100", "999999", orig[7]))), "0110", "25")

	// An advice sets the amount, down.
	adv := h.purchase(c, 800).with(90, isoDE90("0100", orig[11], orig[7])).with(48, "")
	h.requireApproved(h.send("0120", adv), "0130")
	require.Equal(t, isoBalance{Available: 9_200, Pending: 800, Settled: 10_000}, h.balance(c.UserID))
	require.EqualValues(t, 800, isoNum(h.lastTxn(c.ID), "amount"))
	h.requireReply(h.send("0120", h.purchase(other, 10).with(90, isoDE90("0100", orig[11], orig[7])).with(48, "")), "0130", "25")
	// The reversal covers the total.
	h.requireApproved(h.send("0400", h.followUp(orig, 800)), "0410")
	require.Equal(t, isoBalance{Available: 10_000, Pending: 0, Settled: 10_000}, h.balance(c.UserID))
	h.requireReply(h.send("0100", h.purchase(c, 10).with(90, isoDE90("0100", orig[11], orig[7]))), "0110", "25")
}

// TestISOAutoSettle: an authorization still open AutoSettle after its
// approval is completed for its amount on the server's clock, with
// transaction.completed; with a shorter hold expiry, the expiry comes first.
func TestISOAutoSettle(t *testing.T) {
	h := startISO(t, server.Config{Clock: "virtual", AutoSettle: 48 * time.Hour})
	c := h.fundedCard(10_000, nil)
	h.requireApproved(h.send("0100", h.purchase(c, 1_200)), "0110")
	h.advance(47 * time.Hour)
	require.Equal(t, isoBalance{Available: 8_800, Pending: 1_200, Settled: 10_000}, h.balance(c.UserID))
	h.advance(2 * time.Hour)
	require.Equal(t, isoBalance{Available: 8_800, Pending: 0, Settled: 8_800}, h.balance(c.UserID))
	tx := h.lastTxn(c.ID)
	require.Equal(t, "completed", isoStr(tx, "status"))
	require.NotEmpty(t, h.eventsFor("transaction.completed", "transactionId", isoStr(tx, "id")))

	short := startISO(t, server.Config{Clock: "virtual", AutoSettle: 48 * time.Hour, HoldExpiry: time.Hour})
	c = short.fundedCard(10_000, nil)
	short.requireApproved(short.send("0100", short.purchase(c, 1_200)), "0110")
	short.advance(2 * time.Hour)
	require.Equal(t, "reversed", isoStr(short.lastTxn(c.ID), "status"))
	require.Equal(t, isoBalance{Available: 10_000, Pending: 0, Settled: 10_000}, short.balance(c.UserID))
}
