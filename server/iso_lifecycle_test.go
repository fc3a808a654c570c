package server_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/server"
)

// TestISORepeats: a repeat (0101, 0401, 0421, or the same message sent
// again) gets the first reply and applies nothing twice.
func TestISORepeats(t *testing.T) {
	h := startISO(t, server.Config{})

	h.run(t, "0101 after 0100 returns the first reply and holds once", func(t *testing.T) {
		c := h.fundedCard(10_000, nil)
		f := h.purchase(c, 1000)
		first := h.send("0100", f)
		h.requireApproved(first, "0110")
		again := h.send("0101", f)
		h.requireApproved(again, "0110")
		require.Equal(t, first.wire, again.wire, "the repeat's reply is the first reply")
		require.Equal(t, isoBalance{Available: 9000, Pending: 1000, Settled: 10_000}, h.balance(c.UserID))
		require.Len(t, h.txns("cardId="+c.ID), 1)
	})
	h.run(t, "the same 0100 sent again is answered with the first reply", func(t *testing.T) {
		c := h.fundedCard(10_000, nil)
		f := h.purchase(c, 1000)
		first := h.send("0100", f)
		again := h.send("0100", f)
		require.Equal(t, first.wire, again.wire)
		require.Equal(t, int64(1000), h.balance(c.UserID).Pending)
		require.Len(t, h.txns("cardId="+c.ID), 1)
	})
	h.run(t, "a repeated decline stays the first decision", func(t *testing.T) {
		c := h.fundedCard(500, nil)
		f := h.purchase(c, 1000)
		h.requireReply(h.send("0100", f), "0110", "51")
		h.Must(201, "POST", "/v1/simulate/deposit", map[string]any{"userId": c.UserID, "asset": "USDC", "chain": "base", "amount": "10"})
		h.requireReply(h.send("0101", f), "0110", "51")
		require.Equal(t, int64(0), h.balance(c.UserID).Pending)
		require.Len(t, h.txns("cardId="+c.ID), 1)
	})
	h.run(t, "0401 after 0400 applies once", func(t *testing.T) {
		c := h.fundedCard(10_000, nil)
		orig := h.purchase(c, 1000)
		h.requireApproved(h.send("0200", orig), "0210")
		require.Equal(t, int64(9000), h.balance(c.UserID).Settled)
		rev := h.followUp(orig, 1000).with(95, isoDE95(400))
		first := h.send("0400", rev)
		h.requireApproved(first, "0410")
		require.Equal(t, int64(9600), h.balance(c.UserID).Settled, "600 credited back")
		again := h.send("0401", rev)
		require.Equal(t, first.wire, again.wire)
		require.Equal(t, isoBalance{Available: 9600, Pending: 0, Settled: 9600}, h.balance(c.UserID))
	})
	h.run(t, "0421 after 0420 applies once", func(t *testing.T) {
		c := h.fundedCard(10_000, nil)
		orig := h.purchase(c, 1000)
		h.requireApproved(h.send("0100", orig), "0110")
		rev := h.followUp(orig, 1000).with(95, isoDE95(700))
		first := h.send("0420", rev)
		h.requireApproved(first, "0430")
		require.Equal(t, int64(700), h.balance(c.UserID).Pending)
		again := h.send("0421", rev)
		require.Equal(t, first.wire, again.wire)
		require.Equal(t, int64(700), h.balance(c.UserID).Pending)
		tx := h.lastTxn(c.ID)
		require.EqualValues(t, 700, tx["amount"])
		require.EqualValues(t, 300, tx["reversedAmount"])
	})
	h.run(t, "a clearing sent twice captures once", func(t *testing.T) {
		c := h.fundedCard(10_000, nil)
		orig := h.purchase(c, 1000)
		h.requireApproved(h.send("0100", orig), "0110")
		clr := h.followUp(orig, 800)
		first := h.send("0220", clr)
		h.requireApproved(first, "0230")
		require.Equal(t, first.wire, h.send("0220", clr).wire)
		// Another clearing of the same authorization (a new STAN) is
		// acknowledged and changes nothing.
		h.requireApproved(h.send("0220", h.followUp(orig, 900)), "0230")
		require.Equal(t, isoBalance{Available: 9200, Pending: 0, Settled: 9200}, h.balance(c.UserID))
	})
}

// TestISORepeatWindow: STAN and RRN are remembered for the repeat window;
// after it the same pair is a new message.
func TestISORepeatWindow(t *testing.T) {
	h := startISO(t, server.Config{Clock: "virtual", RepeatWindow: 10 * time.Minute})
	c := h.fundedCard(500, nil)
	f := h.purchase(c, 1000)
	h.requireReply(h.send("0100", f), "0110", "51")
	h.Must(201, "POST", "/v1/simulate/deposit", map[string]any{"userId": c.UserID, "asset": "USDC", "chain": "base", "amount": "10"})
	h.advance(9 * time.Minute)
	h.requireReply(h.send("0101", f), "0110", "51")
	require.Equal(t, "94", h.send("0100", f.with(4, isoAmount(1))).Code, "within the window")
	h.advance(2 * time.Minute)
	later := h.send("0101", f)
	h.requireApproved(later, "0110")
	require.Equal(t, int64(1000), h.balance(c.UserID).Pending)
	require.Len(t, h.txns("cardId="+c.ID), 2)

	h.run(t, "a restart does not change how a late repeat of an open authorization is answered", func(t *testing.T) {
		a := h.fundedCard(10_000, nil)
		b := h.fundedCard(10_000, nil)
		fa, fb := h.purchase(a, 1000), h.purchase(b, 1000)
		ra, rb := h.send("0100", fa), h.send("0100", fb)
		h.advance(11 * time.Minute)
		lateA := h.send("0101", fa)
		h.restart()
		lateB := h.send("0101", fb)
		require.Equal(t, lateA.AuthCode == ra.AuthCode, lateB.AuthCode == rb.AuthCode,
			"a late repeat is either replayed or decided again, whether or not the server restarted")
		require.Equal(t, h.balance(a.UserID).Pending, h.balance(b.UserID).Pending)
	})
}

// TestISOClearing covers partial capture, over-capture within the limit,
// the two ways of naming the original, and force posts.
func TestISOClearing(t *testing.T) {
	h := startISO(t, server.Config{})

	h.run(t, "partial capture releases the rest of the hold", func(t *testing.T) {
		c := h.fundedCard(10_000, nil)
		orig := h.purchase(c, 1000)
		auth := h.send("0100", orig)
		h.requireApproved(auth, "0110")
		require.Equal(t, isoBalance{Available: 9000, Pending: 1000, Settled: 10_000}, h.balance(c.UserID))
		clr := h.send("0220", h.followUp(orig, 700))
		h.requireApproved(clr, "0230")
		require.Equal(t, auth.AuthCode, clr.AuthCode, "the 0230 quotes the authorization's approval code")
		require.Equal(t, isoBalance{Available: 9300, Pending: 0, Settled: 9300}, h.balance(c.UserID))
		tx := h.lastTxn(c.ID)
		require.Equal(t, "completed", tx["status"])
		require.EqualValues(t, 700, tx["amount"])
		require.EqualValues(t, 1000, tx["authorizedAmount"])
		require.EqualValues(t, 0, tx["pendingAmount"])
		require.NotNil(t, tx["settledAt"])
	})
	h.run(t, "over-capture within 20 percent is approved", func(t *testing.T) {
		c := h.fundedCard(10_000, nil)
		orig := h.purchase(c, 1000)
		h.requireApproved(h.send("0100", orig), "0110")
		h.requireApproved(h.send("0220", h.followUp(orig, 1200)), "0230")
		require.Equal(t, isoBalance{Available: 8800, Pending: 0, Settled: 8800}, h.balance(c.UserID))
		require.EqualValues(t, 1200, h.lastTxn(c.ID)["amount"])
	})
	h.run(t, "the original is found by DE 37 and DE 38 with DE 2", func(t *testing.T) {
		c := h.fundedCard(10_000, nil)
		orig := h.purchase(c, 1000)
		auth := h.send("0100", orig)
		clr := h.followUp(orig, 1000).with(90, "").with(38, auth.AuthCode)
		h.requireApproved(h.send("0220", clr), "0230")
		require.Equal(t, "completed", h.lastTxn(c.ID)["status"])
		require.Len(t, h.txns("cardId="+c.ID), 1, "no force post")
	})
	h.run(t, "DE 37 with another approval code does not find the original", func(t *testing.T) {
		c := h.fundedCard(10_000, nil)
		orig := h.purchase(c, 1000)
		h.requireApproved(h.send("0100", orig), "0110")
		h.requireReply(h.send("0400", h.followUp(orig, 1000).with(90, "").with(38, "ZZZZZZ")), "0410", "25")
	})
	h.run(t, "a clearing without an original is a force post", func(t *testing.T) {
		c := h.fundedCard(10_000, nil)
		f := h.followUp(h.purchase(c, 1), 2500)
		r := h.send("0220", f)
		h.requireApproved(r, "0230")
		require.Equal(t, isoBalance{Available: 7500, Pending: 0, Settled: 7500}, h.balance(c.UserID))
		tx := h.lastTxn(c.ID)
		require.Equal(t, "completed", tx["status"])
		require.Equal(t, true, tx["forcePost"])
		require.EqualValues(t, 2500, tx["amount"])
		require.Equal(t, r.AuthCode, tx["authorizationCode"])
		require.Equal(t, "ACME GROCERY", tx["merchantName"])
	})
	h.run(t, "a force post on an unknown PAN is 14", func(t *testing.T) {
		c := h.fundedCard(10_000, nil)
		h.requireReply(h.send("0220", h.followUp(h.purchase(c, 1), 100).with(2, unissuedPAN(c))), "0230", "14")
	})
	h.run(t, "clearing a single-use card closes it", func(t *testing.T) {
		c := h.fundedCard(10_000, map[string]any{"type": "single"})
		orig := h.purchase(c, 1000)
		h.requireApproved(h.send("0100", orig), "0110")
		require.Equal(t, "active", h.cardStatus(c.ID))
		h.requireApproved(h.send("0220", h.followUp(orig, 1000)), "0230")
		require.Equal(t, "closed", h.cardStatus(c.ID))
		// A refund still reaches the closed card.
		h.requireApproved(h.send("0100", h.purchase(c, 1000).with(3, "200000")), "0110")
		require.Equal(t, int64(10_000), h.balance(c.UserID).Settled)
	})
	h.run(t, "clearing a reversed authorization", func(t *testing.T) {
		c := h.fundedCard(10_000, nil)
		orig := h.purchase(c, 1000)
		h.requireApproved(h.send("0100", orig), "0110")
		h.requireApproved(h.send("0400", h.followUp(orig, 1000)), "0410")
		// The original is found but can no longer be captured.
		h.requireReply(h.send("0220", h.followUp(orig, 1000)), "0230", "12")
		require.Equal(t, int64(10_000), h.balance(c.UserID).Settled)
	})
	h.run(t, "0200 authorizes and completes in one", func(t *testing.T) {
		c := h.fundedCard(10_000, nil)
		h.requireApproved(h.send("0200", h.purchase(c, 1500)), "0210")
		require.Equal(t, isoBalance{Available: 8500, Pending: 0, Settled: 8500}, h.balance(c.UserID))
		tx := h.lastTxn(c.ID)
		require.Equal(t, "completed", tx["status"])
		require.NotNil(t, tx["settledAt"])
	})
}

// TestISOOverCapturePercent: the over-capture limit is configurable; a
// negative setting (the flag's 0) allows none.
func TestISOOverCapturePercent(t *testing.T) {
	tests := []struct {
		name     string
		pct      int64
		ok, over int64
	}{
		{"5 percent", 5, 1050, 1051},
		{"none", -1, 1000, 1001},
		{"default 20 percent", 0, 1200, 1201},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := startISO(t, server.Config{OverCapturePct: tc.pct})
			c := h.fundedCard(10_000, nil)
			orig := h.purchase(c, 1000)
			h.requireApproved(h.send("0100", orig), "0110")
			h.requireReply(h.send("0220", h.followUp(orig, tc.over)), "0230", "13")
			h.requireApproved(h.send("0220", h.followUp(orig, tc.ok)), "0230")
			require.Equal(t, 10_000-tc.ok, h.balance(c.UserID).Settled)
		})
	}
}

// TestISOReversal covers full and partial reversals, before and after
// completion.
func TestISOReversal(t *testing.T) {
	h := startISO(t, server.Config{})

	h.run(t, "full reversal releases the hold", func(t *testing.T) {
		c := h.fundedCard(10_000, nil)
		orig := h.purchase(c, 1000)
		auth := h.send("0100", orig)
		rev := h.send("0400", h.followUp(orig, 1000))
		h.requireApproved(rev, "0410")
		require.Equal(t, auth.AuthCode, rev.AuthCode)
		require.Equal(t, isoBalance{Available: 10_000, Pending: 0, Settled: 10_000}, h.balance(c.UserID))
		tx := h.lastTxn(c.ID)
		require.Equal(t, "reversed", tx["status"])
		require.Equal(t, "reversal", tx["reversalReason"])
		require.EqualValues(t, 1000, tx["reversedAmount"])
		require.NotNil(t, tx["reversedAt"])
		// Reversed already: acknowledged, nothing changes.
		h.requireApproved(h.send("0400", h.followUp(orig, 1000)), "0410")
		require.Equal(t, int64(10_000), h.balance(c.UserID).Available)
	})
	h.run(t, "partial reversals by DE 95 keep what remains", func(t *testing.T) {
		c := h.fundedCard(10_000, nil)
		orig := h.purchase(c, 1000)
		h.requireApproved(h.send("0100", orig), "0110")
		h.requireApproved(h.send("0400", h.followUp(orig, 1000).with(95, isoDE95(600))), "0410")
		require.Equal(t, isoBalance{Available: 9400, Pending: 600, Settled: 10_000}, h.balance(c.UserID))
		tx := h.lastTxn(c.ID)
		require.Equal(t, "authorized", tx["status"])
		require.EqualValues(t, 600, tx["amount"])
		require.EqualValues(t, 600, tx["pendingAmount"])
		require.EqualValues(t, 400, tx["reversedAmount"])
		h.requireApproved(h.send("0420", h.followUp(orig, 600).with(95, isoDE95(250))), "0430")
		require.Equal(t, int64(250), h.balance(c.UserID).Pending)
		// DE 95 equal to what remains changes nothing.
		h.requireApproved(h.send("0400", h.followUp(orig, 250).with(95, isoDE95(250))), "0410")
		require.Equal(t, int64(250), h.balance(c.UserID).Pending)
		// What remains can be captured; over-capture is measured from it.
		h.requireReply(h.send("0220", h.followUp(orig, 301)), "0230", "13")
		h.requireApproved(h.send("0220", h.followUp(orig, 300)), "0230")
		require.Equal(t, isoBalance{Available: 9700, Pending: 0, Settled: 9700}, h.balance(c.UserID))
	})
	h.run(t, "reversal after completion credits back", func(t *testing.T) {
		c := h.fundedCard(10_000, nil)
		orig := h.purchase(c, 1000)
		h.requireApproved(h.send("0100", orig), "0110")
		h.requireApproved(h.send("0220", h.followUp(orig, 1000)), "0230")
		require.Equal(t, int64(9000), h.balance(c.UserID).Settled)
		h.requireApproved(h.send("0400", h.followUp(orig, 1000).with(95, isoDE95(300))), "0410")
		require.Equal(t, isoBalance{Available: 9700, Pending: 0, Settled: 9700}, h.balance(c.UserID))
		require.Equal(t, "completed", h.lastTxn(c.ID)["status"])
		h.requireApproved(h.send("0420", h.followUp(orig, 300)), "0430")
		require.Equal(t, isoBalance{Available: 10_000, Pending: 0, Settled: 10_000}, h.balance(c.UserID))
		tx := h.lastTxn(c.ID)
		require.Equal(t, "reversed", tx["status"])
		require.EqualValues(t, 1000, tx["reversedAmount"])
	})
	h.run(t, "a reversal names its original by DE 37, DE 38 and DE 2", func(t *testing.T) {
		c := h.fundedCard(10_000, nil)
		orig := h.purchase(c, 1000)
		auth := h.send("0100", orig)
		h.requireApproved(h.send("0400", h.followUp(orig, 1000).with(90, "").with(38, auth.AuthCode)), "0410")
		require.Equal(t, int64(0), h.balance(c.UserID).Pending)
	})
	h.run(t, "a reversal without DE 2 is found by DE 90", func(t *testing.T) {
		c := h.fundedCard(10_000, nil)
		orig := h.purchase(c, 1000)
		h.requireApproved(h.send("0100", orig), "0110")
		h.requireApproved(h.send("0400", h.followUp(orig, 1000).with(2, "")), "0410")
		require.Equal(t, int64(0), h.balance(c.UserID).Pending)
	})
	h.run(t, "voiding a single-use card's authorization makes it usable again", func(t *testing.T) {
		c := h.fundedCard(10_000, map[string]any{"type": "single"})
		orig := h.purchase(c, 1000)
		h.requireApproved(h.send("0100", orig), "0110")
		require.Equal(t, "65", h.send("0100", h.purchase(c, 1000)).Code)
		h.requireApproved(h.send("0400", h.followUp(orig, 1000)), "0410")
		h.requireApproved(h.send("0100", h.purchase(c, 1000)), "0110")
	})
	h.run(t, "a reversal frees the card's daily limit", func(t *testing.T) {
		c := h.fundedCard(10_000, map[string]any{"limits": map[string]any{"perDay": 1000}})
		orig := h.purchase(c, 1000)
		h.requireApproved(h.send("0100", orig), "0110")
		require.Equal(t, "61", h.send("0100", h.purchase(c, 1)).Code)
		h.requireApproved(h.send("0400", h.followUp(orig, 1000).with(95, isoDE95(400))), "0410")
		h.requireApproved(h.send("0100", h.purchase(c, 600)), "0110")
		require.Equal(t, "61", h.send("0100", h.purchase(c, 1)).Code)
	})
	h.run(t, "a reversal in another currency is refused like a clearing", func(t *testing.T) {
		c := h.fundedCard(10_000, nil)
		orig := h.purchase(c, 1000)
		h.requireApproved(h.send("0100", orig), "0110")
		h.requireReply(h.send("0400", h.followUp(orig, 1000).with(49, "978")), "0410", "57")
		require.Equal(t, int64(1000), h.balance(c.UserID).Pending)
	})
	h.run(t, "the same STAN and RRN with another DE 95 is a duplicate", func(t *testing.T) {
		c := h.fundedCard(10_000, nil)
		orig := h.purchase(c, 1000)
		h.requireApproved(h.send("0100", orig), "0110")
		rev := h.followUp(orig, 1000).with(95, isoDE95(600))
		h.requireApproved(h.send("0400", rev), "0410")
		h.requireReply(h.send("0401", rev.with(95, isoDE95(500))), "0410", "94")
		require.Equal(t, int64(600), h.balance(c.UserID).Pending)
	})
	h.run(t, "a reversal on an unknown PAN is an invalid card, as a clearing is", func(t *testing.T) {
		c := h.fundedCard(10_000, nil)
		orig := h.purchase(c, 1000)
		h.requireApproved(h.send("0100", orig), "0110")
		h.requireReply(h.send("0400", h.followUp(orig, 1000).with(2, unissuedPAN(c))), "0410", "14")
		require.Equal(t, int64(1000), h.balance(c.UserID).Pending)
	})
	h.run(t, "a reversal after a partial refund credits no more than was paid", func(t *testing.T) {
		c := h.fundedCard(10_000, nil)
		orig := h.purchase(c, 1000)
		h.requireApproved(h.send("0200", orig), "0210")
		refund := h.purchase(c, 300).with(3, "200000").with(90, isoDE90("0200", orig[11], orig[7]))
		h.requireApproved(h.send("0100", refund), "0110")
		require.Equal(t, int64(9300), h.balance(c.UserID).Settled)
		r := h.send("0400", h.followUp(orig, 1000))
		require.Contains(t, []string{"00", "13"}, r.Code)
		require.LessOrEqual(t, h.balance(c.UserID).Settled, int64(10_000),
			"a purchase of 1000, refunded 300, then reversed, must not credit more than 1000 in all")
	})
}

// TestISORefundsVerificationAdvice covers the transactions that are not
// purchases: refunds, account verifications, balance inquiries and
// stand-in advices.
func TestISORefundsVerificationAdvice(t *testing.T) {
	h := startISO(t, server.Config{})

	h.run(t, "a refund credits the balance as its own transaction", func(t *testing.T) {
		c := h.fundedCard(10_000, nil)
		r := h.send("0100", h.purchase(c, 2500).with(3, "200000"))
		h.requireApproved(r, "0110")
		require.Equal(t, isoBalance{Available: 12_500, Pending: 0, Settled: 12_500}, h.balance(c.UserID))
		tx := h.lastTxn(c.ID)
		require.Equal(t, "refund", tx["type"])
		require.Equal(t, "completed", tx["status"])
		require.EqualValues(t, 2500, tx["amount"])
		require.Equal(t, r.AuthCode, tx["authorizationCode"])
		require.NotNil(t, tx["settledAt"])
	})
	h.run(t, "a refund that names its purchase by DE 90 is linked to it", func(t *testing.T) {
		c := h.fundedCard(10_000, nil)
		orig := h.purchase(c, 1000)
		h.requireApproved(h.send("0200", orig), "0210")
		purchase := h.lastTxn(c.ID)
		h.requireApproved(h.send("0100", h.purchase(c, 400).with(3, "200000").with(90, isoDE90("0200", orig[11], orig[7]))), "0110")
		refund := h.lastTxn(c.ID)
		require.Equal(t, "refund", refund["type"])
		require.Equal(t, purchase["id"], refund["originalTransactionId"])
		require.EqualValues(t, 400, h.txn(isoStr(purchase, "id"))["refundedAmount"])
		require.Equal(t, int64(9400), h.balance(c.UserID).Settled)
	})
	h.run(t, "a refund is accepted on frozen and closed cards", func(t *testing.T) {
		c := h.fundedCard(10_000, nil)
		h.Must(200, "POST", "/v1/cards/"+c.ID+"/freeze", nil)
		h.requireApproved(h.send("0100", h.purchase(c, 100).with(3, "200000")), "0110")
		h.Must(200, "POST", "/v1/cards/"+c.ID+"/close", nil)
		h.requireApproved(h.send("0100", h.purchase(c, 100).with(3, "200000")), "0110")
		require.Equal(t, int64(10_200), h.balance(c.UserID).Settled)
	})
	h.run(t, "a zero-amount purchase is an account verification without a hold", func(t *testing.T) {
		c := h.fundedCard(10_000, map[string]any{"maxAuthCount": 1})
		r := h.send("0100", h.purchase(c, 0))
		h.requireApproved(r, "0110")
		require.Equal(t, isoBalance{Available: 10_000, Pending: 0, Settled: 10_000}, h.balance(c.UserID))
		tx := h.lastTxn(c.ID)
		require.Equal(t, "verification", tx["type"])
		require.Equal(t, "completed", tx["status"])
		require.Equal(t, r.AuthCode, tx["authorizationCode"])
		// It does not count against maxAuthCount.
		h.requireApproved(h.send("0100", h.purchase(c, 100)), "0110")
	})
	h.run(t, "an account verification checks the card", func(t *testing.T) {
		c := h.fundedCard(10_000, nil)
		require.Equal(t, "82", h.send("0100", h.purchase(c, 0).with(48, isoDE48(wrongCVV(c)))).Code)
		require.Equal(t, "54", h.send("0100", h.purchase(c, 0).with(14, otherExpiry(c))).Code)
	})
	h.run(t, "a declined refund or verification is recorded with its own type", func(t *testing.T) {
		c := h.fundedCard(10_000, nil)
		h.requireReply(h.send("0100", h.purchase(c, 0).with(3, "200000")), "0110", "13")
		require.Equal(t, "refund", h.lastTxn(c.ID)["type"])
		h.requireReply(h.send("0100", h.purchase(c, 0).with(49, "978")), "0110", "57")
		require.Equal(t, "verification", h.lastTxn(c.ID)["type"])
	})
	h.run(t, "a balance inquiry reports the available balance in DE 54", func(t *testing.T) {
		c := h.fundedCard(123_456, nil)
		h.requireApproved(h.send("0100", h.purchase(c, 456)), "0110")
		r := h.send("0100", h.purchase(c, 0).with(3, "310000"))
		h.requireReply(r, "0110", "00")
		avail, ok := r.balance()
		require.True(t, ok)
		require.Equal(t, int64(123_000), avail)
		require.Equal(t, "0200002840C000000123000", r.wire[54], "LLL length and one 20-character block")
		require.Len(t, h.txns("cardId="+c.ID), 1, "a balance inquiry records nothing")
		// A declined inquiry reports no balance.
		h.Must(200, "POST", "/v1/cards/"+c.ID+"/freeze", nil)
		r = h.send("0100", h.purchase(c, 0).with(3, "310000"))
		h.requireReply(r, "0110", "62")
		require.False(t, r.has(54))
	})
	h.run(t, "an 0120 advice is recorded even above limits and balance", func(t *testing.T) {
		c := h.fundedCard(1000, map[string]any{"maxAmount": 500})
		h.Must(200, "POST", "/v1/cards/"+c.ID+"/freeze", nil)
		adv := h.purchase(c, 2000)
		r := h.send("0120", adv)
		h.requireApproved(r, "0130")
		require.Equal(t, isoBalance{Available: -1000, Pending: 2000, Settled: 1000}, h.balance(c.UserID))
		tx := h.lastTxn(c.ID)
		require.Equal(t, "authorized", tx["status"])
		require.Equal(t, true, tx["standIn"])
		require.Equal(t, r.AuthCode, tx["authorizationCode"])
		// A negative balance is reported with the D sign.
		h.Must(200, "POST", "/v1/cards/"+c.ID+"/unfreeze", nil)
		bi := h.send("0100", h.purchase(c, 0).with(3, "310000"))
		avail, ok := bi.balance()
		require.True(t, ok)
		require.Equal(t, int64(-1000), avail)
		require.Equal(t, "0002840D000000001000", bi.wire[54][3:])
		// The advice is cleared like any authorization.
		clr := h.followUp(adv, 2000).with(90, isoDE90("0120", adv[11], adv[7]))
		h.requireApproved(h.send("0220", clr), "0230")
		require.Equal(t, isoBalance{Available: -1000, Pending: 0, Settled: -1000}, h.balance(c.UserID))
	})
}
