package server_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/server"
)

// settle authorizes amount on c and captures it in full, so the spend stays
// counted whatever the hold expiry does.
func (h *isoHarness) settle(c isoCard, amount int64) {
	h.t.Helper()
	f := h.purchase(c, amount)
	h.requireApproved(h.send("0100", f), "0110")
	h.requireApproved(h.send("0220", h.followUp(f, amount)), "0230")
}

// TestISOLimitWindows moves the virtual clock across UTC day and month
// boundaries and over the agent's rolling 24 hours.
func TestISOLimitWindows(t *testing.T) {
	t.Run("limits.perDay resets at UTC midnight", func(t *testing.T) {
		h := startISO(t, server.Config{Clock: "virtual"})
		c := h.fundedCard(100_000, map[string]any{"limits": map[string]any{"perDay": 1000}})
		h.settle(c, 800)
		require.Equal(t, "61", h.send("0100", h.purchase(c, 300)).Code)
		now := h.now()
		midnight := now.Truncate(24 * time.Hour).Add(24 * time.Hour)
		if left := midnight.Sub(now); left > 2*time.Minute {
			h.advance(left - 2*time.Minute)
			require.Equal(t, "61", h.send("0100", h.purchase(c, 300)).Code, "still the same UTC day")
		}
		h.advance(midnight.Sub(h.now()) + time.Minute)
		h.requireApproved(h.send("0100", h.purchase(c, 300)), "0110")
		h.requireApproved(h.send("0100", h.purchase(c, 700)), "0110")
		require.Equal(t, "61", h.send("0100", h.purchase(c, 1)).Code)
	})
	t.Run("limits.perMonth resets at the UTC month boundary", func(t *testing.T) {
		h := startISO(t, server.Config{Clock: "virtual"})
		c := h.fundedCard(100_000, map[string]any{"limits": map[string]any{"perMonth": 1000}})
		h.settle(c, 800)
		require.Equal(t, "61", h.send("0100", h.purchase(c, 300)).Code)
		now := h.now()
		nextMonth := time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, time.UTC)
		if left := nextMonth.Sub(now); left > 2*time.Minute {
			h.advance(left - 2*time.Minute)
			require.Equal(t, "61", h.send("0100", h.purchase(c, 300)).Code, "still the same UTC month")
		}
		h.advance(nextMonth.Sub(h.now()) + time.Minute)
		h.requireApproved(h.send("0100", h.purchase(c, 1000)), "0110")
		require.Equal(t, "61", h.send("0100", h.purchase(c, 1)).Code)
	})
	t.Run("the agent's per24HourPeriod limit rolls", func(t *testing.T) {
		h := startISO(t, server.Config{Clock: "virtual"})
		c := h.fundedCard(100_000, nil)
		agentLimit(h, c, 1000, "per24HourPeriod", "none")
		h.settle(c, 800)
		require.Equal(t, "61", h.send("0100", h.purchase(c, 300)).Code)
		h.advance(22 * time.Hour)
		require.Equal(t, "61", h.send("0100", h.purchase(c, 300)).Code, "22 hours later the spend still counts")
		require.EqualValues(t, 800, h.Must(200, "GET", "/v1/agents/"+c.AgentID, nil).Num("currentSpend"))
		h.advance(2 * time.Hour)
		require.EqualValues(t, 0, h.Must(200, "GET", "/v1/agents/"+c.AgentID, nil).Num("currentSpend"))
		h.requireApproved(h.send("0100", h.purchase(c, 1000)), "0110")
		require.Equal(t, "61", h.send("0100", h.purchase(c, 1)).Code)
	})
	t.Run("the agent's perMonth limit resets with the month", func(t *testing.T) {
		h := startISO(t, server.Config{Clock: "virtual"})
		c := h.fundedCard(100_000, nil)
		agentLimit(h, c, 1000, "perMonth", "none")
		h.settle(c, 1000)
		require.Equal(t, "61", h.send("0100", h.purchase(c, 1)).Code)
		now := h.now()
		h.advance(time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, time.UTC).Sub(now) + time.Minute)
		h.requireApproved(h.send("0100", h.purchase(c, 1000)), "0110")
	})
}

// TestISOHoldExpiry: an authorization that is not cleared within the hold
// expiry is reversed with reason "expired" and its hold released.
func TestISOHoldExpiry(t *testing.T) {
	h := startISO(t, server.Config{Clock: "virtual", HoldExpiry: time.Hour})
	c := h.fundedCard(10_000, nil)
	single := h.newCard(c.AgentID, map[string]any{"type": "single"})
	orig := h.purchase(c, 1000)
	h.requireApproved(h.send("0100", orig), "0110")
	partial := h.purchase(c, 2000)
	h.requireApproved(h.send("0100", partial), "0110")
	h.requireApproved(h.send("0400", h.followUp(partial, 2000).with(95, isoDE95(500))), "0410")
	cleared := h.purchase(c, 700)
	h.requireApproved(h.send("0100", cleared), "0110")
	h.requireApproved(h.send("0220", h.followUp(cleared, 700)), "0230")
	su := h.purchase(single, 300)
	h.requireApproved(h.send("0100", su), "0110")
	require.Equal(t, isoBalance{Available: 7500, Pending: 1800, Settled: 9300}, h.balance(c.UserID))

	h.advance(59 * time.Minute)
	require.Equal(t, int64(1800), h.balance(c.UserID).Pending, "not yet")
	require.Len(t, h.txns("status=authorized&userId="+c.UserID), 3)

	h.advance(2 * time.Minute)
	require.Equal(t, isoBalance{Available: 9300, Pending: 0, Settled: 9300}, h.balance(c.UserID))
	require.Empty(t, h.txns("status=authorized&userId="+c.UserID))
	expired := h.txns("status=reversed&userId=" + c.UserID)
	require.Len(t, expired, 3)
	for _, tx := range expired {
		require.Equal(t, "expired", tx["reversalReason"])
		require.EqualValues(t, 0, tx["pendingAmount"])
		require.NotNil(t, tx["reversedAt"])
	}
	require.Equal(t, "completed", h.txns("status=completed&userId=" + c.UserID)[0]["status"])
	// The single-use card's authorization was voided, so it can be used.
	h.requireApproved(h.send("0100", h.purchase(single, 300)), "0110")
	// A late reversal of an expired authorization is acknowledged.
	h.requireApproved(h.send("0400", h.followUp(orig, 1000)), "0410")
	require.Equal(t, int64(300), h.balance(c.UserID).Pending)
}

// TestISORestart: holds, counters and the repeat window survive a restart.
func TestISORestart(t *testing.T) {
	h := startISO(t, server.Config{})
	c := h.fundedCard(10_000, map[string]any{"limits": map[string]any{"perDay": 1500}, "maxAuthCount": 2})
	f := h.purchase(c, 1000)
	first := h.send("0100", f)
	h.requireApproved(first, "0110")
	declined := h.purchase(c, 600)
	h.requireReply(h.send("0100", declined), "0110", "61")
	verify := h.purchase(c, 0)
	h.requireApproved(h.send("0100", verify), "0110")
	before := h.balance(c.UserID)
	txnsBefore := h.txns("cardId=" + c.ID)

	h.restart()

	again := h.send("0101", f)
	h.requireApproved(again, "0110")
	require.Equal(t, first.wire, again.wire, "the repeat after a restart gets the first reply")
	h.requireReply(h.send("0101", declined), "0110", "61")
	require.Equal(t, "94", h.send("0100", f.with(4, isoAmount(999))).Code, "the repeat window survives")
	require.Equal(t, before, h.balance(c.UserID), "nothing applied twice")
	require.Equal(t, txnsBefore, h.txns("cardId="+c.ID))

	require.Equal(t, "61", h.send("0100", h.purchase(c, 501)).Code, "the daily counter survives")
	h.requireApproved(h.send("0100", h.purchase(c, 500)), "0110")
	require.Equal(t, "65", h.send("0100", h.purchase(c, 1)).Code, "the authorization count survives")

	clr := h.send("0220", h.followUp(f, 1000))
	h.requireApproved(clr, "0230")
	require.Equal(t, first.AuthCode, clr.AuthCode, "the clearing found the original")
	require.Equal(t, isoBalance{Available: 8500, Pending: 500, Settled: 9000}, h.balance(c.UserID))
	for _, tx := range h.txns("cardId=" + c.ID) {
		require.Nil(t, tx["forcePost"], "no force post")
	}
}

// TestISORestartFollowUpRepeats: the repeat window of clearings and
// reversals survives a restart like that of authorizations.
func TestISORestartFollowUpRepeats(t *testing.T) {
	h := startISO(t, server.Config{})
	c := h.fundedCard(10_000, nil)
	orig := h.purchase(c, 1000)
	h.requireApproved(h.send("0100", orig), "0110")
	rev := h.followUp(orig, 1000).with(95, isoDE95(600))
	first := h.send("0400", rev)
	h.requireApproved(first, "0410")
	h.restart()
	require.Equal(t, first.wire, h.send("0401", rev).wire)
	h.requireReply(h.send("0401", rev.with(95, isoDE95(500))), "0410", "94")
	require.Equal(t, int64(600), h.balance(c.UserID).Pending)
}
