package verify

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ledgersim/ledgersim/authz"
	"github.com/ledgersim/ledgersim/ledger"
	"github.com/ledgersim/ledgersim/model"
)

// These tests drive the ledger through legitimate operations that leave
// an invariant broken. Each asserts the invariant as it should hold, and
// is skipped while the ledger bug it reproduces is open: remove the Skip
// to see the breach.

// freshHistory is a new ledger on its own directory at start.
func freshHistory(t *testing.T, dir string, at time.Time) *history {
	t.Helper()
	h, err := newHistory(dir, at)
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.db.Close() })
	return h
}

// verifyHistory runs every check over h's store, at the store's newest
// event.
func verifyHistory(t *testing.T, h *history) *Report {
	t.Helper()
	now, ok, err := LatestEventTime(h.db)
	require.NoError(t, err)
	require.True(t, ok)
	rep, err := Run(h.db, h.v, now)
	require.NoError(t, err)
	return rep
}

func assertClean(t *testing.T, rep *Report) {
	t.Helper()
	for _, c := range rep.Checks {
		assert.Zerof(t, c.Breaches, "%s: %v", c.Name, c.Examples)
	}
}

// TestBugReversalOfRefundCredits (fixed): Reverse accepted any transaction, refunds
// included, and reverseLocked treats a completed refund like a completed
// purchase: it credits the user the refund's amount a second time instead
// of taking it back (ledger/lifecycle.go, Reverse and reverseLocked: the
// !wasOpen branch does nu.SettledCents += released). Through the API this
// is POST /v1/simulate/reversal {"transactionId": <refund>}.
func TestBugReversalOfRefundCredits(t *testing.T) {
	h := freshHistory(t, t.TempDir(), start)
	err := h.run(func() {
		u := h.user("gina", 10_000)
		a := h.agent(u, "gina-bot", nil, "")
		_, pan := h.card(a, model.CardMulti, 2_000)
		p := h.buy(pan, 2_000)
		h.clear(p, 2_000)
		r := h.refund(p, 500)
		h.reverse(r, nil)
	})
	// The reversal of a refund is refused (12) and changes nothing; the
	// store holds its invariants.
	require.ErrorContains(t, err, "response 12 (original_not_reversible)")
	assertClean(t, verifyHistory(t, h))
}

// TestBugRefundLinkedToOpenAuthorizationOverdraws (fixed): an ISO refund whose DE
// 90 quotes a purchase that is still open is linked to it (linkRefund
// does not check the original's status) and raises its refundedCents;
// Clear then captures less than was refunded (it does not compare the
// final amount with refundedCents); a full reversal of the completed
// purchase then "gives back" amountCents − refundedCents, a negative
// amount: it debits the user, with no funds check, and reversedCents goes
// negative (ledger/txns.go linkRefund, ledger/lifecycle.go Clear and
// reverseLocked). Every step is an ordinary ISO 8583 message.
func TestBugRefundLinkedToOpenAuthorizationOverdraws(t *testing.T) {
	h := freshHistory(t, t.TempDir(), start)
	err := h.run(func() {
		u := h.user("hank", 1_000)
		a := h.agent(u, "hank-bot", nil, "")
		_, pan := h.card(a, model.CardMulti, 1_000)
		p := h.buy(pan, 1_000) // available 0
		orig := h.txn(p)
		// A merchant credit of 800 quoting the open purchase.
		h.buy(pan, 800, func(r *ledger.AuthRequest) { r.Kind, r.OriginalData = authz.Refund, "0100"+orig.STAN+orig.TxnTime })
		h.clear(p, 100)   // captured 100 of 1000, 800 of it "refunded": settled 1700, available 1700
		h.buy(pan, 1_700) // available 0
		h.reverse(p, nil) // released = 100 − 800 = −700: settled 1000
	})
	// The refund of a purchase that is still open is refused (12), so the
	// rest of the sequence never starts; the store holds its invariants.
	require.ErrorContains(t, err, "response 12 (original_not_settled)")
	assertClean(t, verifyHistory(t, h))
}

// TestBugIDOrderAcrossRestartAtOneInstant (fixed by IDGen.Observe): model.IDGen kept IDs
// increasing within a process only; a restarted process starts its
// sequence at 0. With a virtual clock that was advanced into the future,
// a restart resumes at exactly the persisted instant and the clock does
// not move until the next advance, so every ID made after the restart
// shares the millisecond of the IDs made before it and can sort before
// them (model/ids.go IDGen.New; server/server.go restoreVirtualTime).
// Event order by ID, which the key layout promises is creation order, then
// puts a reversal before the clearing it reverses.
func TestBugIDOrderAcrossRestartAtOneInstant(t *testing.T) {
	dir := t.TempDir()
	h, err := newHistory(dir, start)
	require.NoError(t, err)
	var p string
	require.NoError(t, h.run(func() {
		u := h.user("ivy", 10_000)
		a := h.agent(u, "ivy-bot", nil, "")
		_, pan := h.card(a, model.CardMulti, 2_000)
		p = h.buy(pan, 2_000)
		h.clear(p, 2_000)
	}))
	require.NoError(t, h.db.Close())

	// The restarted server's virtual clock reads the same instant.
	h2 := freshHistory(t, dir, start)
	require.NoError(t, h2.run(func() { h2.reverse(p, nil) }))
	// The reversal's event sorts before the clearing's: "completed after
	// its full reversal".
	assertClean(t, verifyHistory(t, h2))
}
